# layer_lambda(): an R function of tensors, traced once into the op
# sub-graph of an engine CustomLayer of class "Lambda" (see layers-custom.R).

#' Wraps an arbitrary expression as a layer
#'
#' The function `f` is called once, when the layer is first applied, on
#' symbolic tensors; the backend functions (`k_*`) and tensor arithmetic it
#' uses become the layer's operations, trained through like any layer.
#'
#' Saved models ([save_model_hdf5()], [model_to_json()]) hold Keras's Lambda
#' config with the function's name (the name `f` was given by, else the
#' layer's name) in place of its code; loading needs the function:
#' `load_model_hdf5(f, custom_objects = list(<name> = <function>))`. A
#' Keras file whose Lambda holds Python code loads the same way, the R
#' function given under the layer's name.
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
#' @param trainable Whether the layer is trainable (a lambda has no weights).
#' @param weights Must be `NULL` (a lambda has no weights).
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
  fname <- substitute(f)
  if (!is.function(f)) stop("layer_lambda(): `f` must be a function", call. = FALSE)
  if (!is.null(mask)) stop("layer_lambda(): `mask` is not supported", call. = FALSE)
  if (!is.null(arguments) && (!is.list(arguments) || is.null(names(arguments))))
    stop("layer_lambda(): `arguments` must be a named list", call. = FALSE)
  if (!is.null(weights) && length(weights))
    stop("layer_lambda(): a Lambda layer has no weights, but `weights` were given", call. = FALSE)
  name <- name %||% unique_name("lambda")
  # Saved configs name the function (Keras's function_type "function"): the
  # name it was given by (layer_lambda(x, my_fn)), else the layer's name.
  fname <- attr(f, "py_function_name") %||% (if (is.name(fname)) as.character(fname) else name)
  layer <- new_lambda_layer(f, fname, output_shape, arguments, name, trainable %||% TRUE,
                            batch_input_shape_of(input_shape, batch_input_shape, batch_size))
  if (missing(object) || is.null(object)) return(layer)
  compose_layer(object, layer)
}

# A Lambda layer: an engine CustomLayer of class "Lambda" with Keras's Lambda
# config (the function by name, see lambda_from_config()).
new_lambda_layer <- function(f, fname, output_shape, arguments, name, trainable, bis) {
  if (!is.null(arguments) && !json_able(arguments))
    stop("layer_lambda(): `arguments` must hold numbers, strings or lists of them (they are saved with the ",
         "model)", call. = FALSE)
  extra <- list(`function` = fname, function_type = "function",
                output_shape = if (is.null(output_shape)) NULL else as.list(as.integer(unlist(output_shape))),
                output_shape_type = "raw", arguments = if (length(arguments)) arguments else structure(list(), names = character(0)))
  spec <- list(kind = "lambda", f = f, output_shape = output_shape, arguments = arguments, name = name)
  new_custom_layer(spec, "Lambda", name, trainable, bis, extra)
}

# custom_objects entry for Lambda layers in a saved config: the R function is
# looked up in `custom_objects` by its saved name (then by the layer's name).
lambda_from_config <- function(config, custom_objects) {
  name <- config$name %||% "lambda"
  fn <- config[["function"]]
  key <- if (identical(config$function_type, "function") && is.character(fn)) fn else name
  f <- custom_objects[[key]] %||% custom_objects[[name]]
  if (!is.function(f)) {
    what <- if (identical(config$function_type, "lambda")) "holds Python code" else
      sprintf("uses the function '%s'", key)
    stop(sprintf("Lambda layer '%s' %s: give the R function in `custom_objects`, e.g. custom_objects = list(%s = function(x) ...)",
                 name, what, key), call. = FALSE)
  }
  os <- config$output_shape
  if (!is.null(os) && !identical(config$output_shape_type %||% "raw", "raw"))
    os <- NULL  # a Python function of the input shape: the traced shape is used
  bis <- config$batch_input_shape
  args <- config$arguments
  new_lambda_layer(f, key, os, if (length(args)) args else NULL, name, config$trainable %||% TRUE,
                   if (is.null(bis)) NULL else lapply(bis, function(d) if (is.null(d)) NULL else as.integer(d)))
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
