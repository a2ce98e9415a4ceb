# layer_lambda(): an R function of tensors, traced into op nodes of the model
# graph (the ops are named after the lambda layer).

#' Wraps an arbitrary expression as a layer
#'
#' The function `f` is called once on symbolic tensors; the backend functions
#' (`k_*`) and tensor arithmetic it uses become operations of the model's
#' graph, trained through like any layer.
#' @param object Model or tensor to compose the layer with.
#' @param f Function of the input tensor (a list of tensors for several
#'   inputs), returning a tensor.
#' @param output_shape Expected output shape without the batch dimension
#'   (checked against the traced shape); `NULL` to infer it.
#' @param mask Not supported (must be `NULL`).
#' @param arguments Optional named list of extra arguments to `f`.
#' @param input_shape,batch_input_shape,batch_size Input shape when the lambda
#'   is the first layer of a sequential model.
#' @param name Optional layer name.
#' @param trainable,weights Accepted for compatibility (a lambda has no weights).
#' @return A layer, or the composed model/tensor.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3) %>%
#'   layer_lambda(function(x) k_relu(x) * 2)
#' predict(model, matrix(1, 1, 3))
#' @export
layer_lambda <- function(object, f, output_shape = NULL, mask = NULL, arguments = NULL,
                         input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                         name = NULL, trainable = NULL, weights = NULL) {
  if (!missing(object)) force(object)
  if (!is.function(f)) stop("layer_lambda(): `f` must be a function", call. = FALSE)
  if (!is.null(mask)) stop("layer_lambda(): `mask` is not supported", call. = FALSE)
  if (!is.null(arguments) && (!is.list(arguments) || is.null(names(arguments))))
    stop("layer_lambda(): `arguments` must be a named list", call. = FALSE)
  self <- NULL
  self <- function(object, ...) lambda_compose(object, self)
  attr(self, "lambda") <- list(f = f, output_shape = output_shape, arguments = arguments,
                               name = name %||% unique_name("lambda"),
                               batch_input_shape = batch_input_shape_of(input_shape, batch_input_shape, batch_size))
  class(self) <- c("keras.layers.core.Lambda", "kerasnative_lambda")
  if (missing(object) || is.null(object)) return(self)
  lambda_compose(object, self)
}

#' @export
print.kerasnative_lambda <- function(x, ...) {
  cat(sprintf("<Lambda layer '%s'>\n", attr(x, "lambda")$name))
  invisible(x)
}

# Trace the lambda on `inputs` (a list of tensors); returns the output tensor.
lambda_call <- function(spec, inputs) {
  x <- if (length(inputs) == 1) inputs[[1]] else inputs
  out <- with_op_scope(spec$name, do.call(spec$f, c(list(x), spec$arguments)))
  if (!is_tensor(out) || tensor_kind(out) == "eager")
    stop("layer_lambda() '", spec$name, "': the function must return a tensor computed from its input, got ",
         if (is_tensor(out)) "a constant" else class(out)[1], call. = FALSE)
  if (!is.null(spec$output_shape)) {
    want <- as.integer(unlist(spec$output_shape))
    if (!tensor_batched(out) || length(want) != length(out$shape) || any(!is.na(out$shape) & out$shape != want))
      stop(sprintf("layer_lambda() '%s': `output_shape` is %s but the function returns shape %s", spec$name,
                   shape_text(c(NA, want)), shape_text(tensor_full_shape(out))), call. = FALSE)
  }
  out
}

lambda_compose <- function(object, layer) {
  spec <- attr(layer, "lambda")
  if (is_model(object)) return(invisible(lambda_sequential_add(object, spec)))
  if (is_tensor(object)) object <- list(object)
  if (is.list(object) && length(object) && all(vapply(object, is_tensor, logical(1))))
    return(lambda_call(spec, object))
  stop("a lambda layer can be applied to a sequential model, a tensor or a list of tensors; got ",
       class(object)[1], call. = FALSE)
}

# Sequential models: trace on the model's last node and append the ops.
lambda_sequential_add <- function(model, spec) {
  if (!isTRUE(model$sequential))
    stop("layers can only be added in place to a Sequential model", call. = FALSE)
  ptr <- model_ptr(model)
  nodes <- cpp_model_nodes(ptr)
  if (spec$name %in% nodes$name)
    stop(sprintf("all layers in a model must have unique names; '%s' is already used", spec$name), call. = FALSE)
  if (length(nodes$name) == 0) {
    bis <- spec$batch_input_shape
    if (is.null(bis))
      stop("a layer_lambda() that is the first layer of a sequential model needs `input_shape`", call. = FALSE)
    input <- cpp_model_add_input(ptr, unlist(bis[-1]), paste0(spec$name, "_input"),
                                 if (is.null(bis[[1]])) -1 else bis[[1]])
    last <- input
  } else {
    input <- nodes$model_inputs
    last <- nodes$model_outputs[1]
  }
  out <- lambda_call(spec, list(node_tensor(ptr, last)))
  ids <- new.env(parent = emptyenv())
  id <- add_tensor_ops(ptr, out, ids, function(t)
    stop("the lambda's output depends on tensors outside this model", call. = FALSE))
  cpp_model_set_io(ptr, input, id)
  model
}

# The node table as summary() shows it: the ops traced by one lambda (one
# scope) become a single "Lambda" row fed by the scope's outside inputs;
# losses, metrics and their targets are hidden. Adds `$show`.
summary_node_table <- function(nodes) {
  show <- !nodes$class %in% c("LossOp", "Target", "OutputSelect")
  op <- which(nodes$class == "Op")
  for (sc in unique(nodes$name[op])) {
    rows <- op[nodes$name[op] == sc]
    last <- max(rows)
    show[setdiff(rows, last)] <- FALSE
    nodes$inputs[[last]] <- as.integer(setdiff(unique(unlist(nodes$inputs[rows])), rows - 1L))
    nodes$class[last] <- "Lambda"
  }
  nodes$show <- show
  nodes
}
