# R6 custom layers (keras R's KerasLayer and create_layer()) and the tracing
# shared with layer_lambda(): the R code of call() runs once on symbolic
# tensors (the layer's inputs and its weights); the ops it records become the
# sub-graph of an engine CustomLayer (src/nn/layers_custom.*), which owns the
# weights, so they train, count, save and load like any layer's.

#' Base R6 class for Keras layers
#'
#' Custom layers inherit from `KerasLayer` and implement `build(input_shape)`
#' (create weights with `self$add_weight()`), `call(x, mask = NULL)` (the
#' computation, with `k_*` backend functions and tensor arithmetic) and,
#' optionally, `compute_output_shape(input_shape)`. Wrap the class with
#' [create_layer()].
#'
#' `call()` runs once, when the layer is first applied, on symbolic tensors:
#' the operations it records (and the weights it uses) are what the layer
#' computes, trains and saves. `input_shape` is a list whose first element is
#' `NULL` (the batch), e.g. `list(NULL, 32L)`; a list of such lists for
#' several inputs.
#'
#' `add_weight(name, shape, dtype = NULL, initializer = NULL, regularizer =
#' NULL, trainable = TRUE, constraint = NULL)` creates a weight (float32;
#' `initializer` a name such as `"glorot_uniform"` (the default) or
#' `"random_normal"`, or a Keras initializer config `list(class_name, config)`)
#' and returns a tensor to use in `call()`. Weights with `trainable = FALSE`
#' are kept out of training. Regularizers and constraints are not supported.
#' @format An [R6::R6Class] generator.
#' @examples
#' CustomLayer <- R6::R6Class("CustomLayer",
#'   inherit = KerasLayer,
#'   public = list(
#'     output_dim = NULL,
#'     kernel = NULL,
#'     initialize = function(output_dim) self$output_dim <- output_dim,
#'     build = function(input_shape) {
#'       self$kernel <- self$add_weight(name = "kernel",
#'         shape = list(input_shape[[2]], self$output_dim),
#'         initializer = "random_normal", trainable = TRUE)
#'     },
#'     call = function(x, mask = NULL) k_dot(x, self$kernel),
#'     compute_output_shape = function(input_shape) list(input_shape[[1]], self$output_dim)
#'   )
#' )
#' layer_custom <- function(object, output_dim, name = NULL, trainable = TRUE) {
#'   create_layer(CustomLayer, object, list(output_dim = as.integer(output_dim),
#'                                          name = name, trainable = trainable))
#' }
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 8, input_shape = 4) %>%
#'   layer_custom(output_dim = 2)
#' predict(model, matrix(1, 1, 4))
#' @export
KerasLayer <- R6::R6Class("KerasLayer",
  public = list(
    build = function(input_shape) invisible(NULL),
    call = function(inputs, mask = NULL) stop("Keras custom layers must implement the call function", call. = FALSE),
    compute_output_shape = function(input_shape) input_shape,
    add_weight = function(name, shape, dtype = NULL, initializer = NULL, regularizer = NULL, trainable = TRUE,
                          constraint = NULL) {
      custom_add_weight(name, shape, dtype, initializer, regularizer, trainable, constraint)
    }
  )
)

#' Create a Keras layer from an R6 class
#'
#' @param layer_class An R6 class inheriting from [KerasLayer] (the built-in
#'   `layer_*()` functions also go through `create_layer()`, with a Keras
#'   class name).
#' @param object Model or tensor to compose the layer with (missing or `NULL`:
#'   return the layer).
#' @param args Arguments: `name`, `trainable`, `input_shape`,
#'   `batch_input_shape`, `batch_size`, `dtype` and `weights` configure the
#'   layer; the others are passed to the class's `new()`. They are written
#'   into the layer's saved configuration, so that
#'   `load_model_hdf5(custom_objects = list(<ClassName> = <R6 class>))`
#'   creates the layer again.
#' @param input_shape,batch_input_shape,batch_size,weights Used by the
#'   built-in layers (give them in `args` for R6 layers).
#' @return A layer, or the composed model/tensor.
#' @name create_layer
#' @usage create_layer(layer_class, object, args = list(), input_shape = NULL,
#'   batch_input_shape = NULL, batch_size = NULL, weights = NULL)
#' @export create_layer
NULL

create_custom_layer <- function(layer_class, object, args = list()) {
  if (!is.list(args)) stop("create_layer(): `args` must be a list", call. = FALSE)
  if (!inherits_keras_layer(layer_class))
    stop("create_layer(): the R6 class '", layer_class$classname, "' must inherit from KerasLayer", call. = FALSE)
  args <- args[!vapply(args, is.null, logical(1))]
  common <- c("input_shape", "batch_input_shape", "batch_size", "dtype", "name", "trainable", "weights")
  ctor <- args[!names(args) %in% common]
  if (!is.null(args$dtype) && !identical(args$dtype, "float32"))
    stop("create_layer(): only float32 layers are supported, got dtype '", args$dtype, "'", call. = FALSE)
  cls <- layer_class$classname
  r6 <- do.call(layer_class$new, ctor)
  name <- args$name %||% unique_name(snake_case(cls))
  extra <- lapply(ctor, function(v) if (json_able(v)) v else structure(list(), unsaveable = TRUE))
  spec <- list(kind = "r6", r6 = r6, name = name, class = cls)
  layer <- new_custom_layer(spec, cls, name, args$trainable %||% TRUE,
                            batch_input_shape_of(args$input_shape, args$batch_input_shape, args$batch_size),
                            extra[!vapply(extra, function(v) isTRUE(attr(v, "unsaveable")), logical(1))])
  if (!is.null(args$weights)) attr(layer, "initial_weights") <- args$weights
  if (is.null(object)) return(layer)
  compose_layer(object, layer)
}

inherits_keras_layer <- function(gen) {
  while (!is.null(gen)) {
    if (identical(gen$classname, "KerasLayer")) return(TRUE)
    gen <- gen$get_inherit()
  }
  FALSE
}

json_able <- function(v) {
  if (is.null(v) || (is.atomic(v) && !is.complex(v) && !is.raw(v))) return(TRUE)
  is.list(v) && !is.object(v) && all(vapply(v, json_able, logical(1)))
}

# The engine layer for `spec` (an R6 layer or a lambda): base config entries
# plus `extra` (its Keras config), traced by custom_trace() when first built.
new_custom_layer <- function(spec, class_name, name, trainable, bis, extra) {
  base <- c(list(name = name, trainable = isTRUE(trainable)), if (!is.null(bis)) list(batch_input_shape = bis))
  extra_json <- if (length(extra)) to_json(extra) else "{}"
  tracer <- function(shapes) {
    tryCatch(custom_trace(spec, shapes), error = function(e)
      list(error = sprintf("layer '%s' (%s): %s", name, class_name, conditionMessage(e))))
  }
  new_layer_object(cpp_custom_layer_new(class_name, to_json(base), extra_json, tracer))
}

# ---------------------------------------------------------------- tracing

# add_weight() of the layer being traced: records the weight and returns a
# symbolic tensor standing for it.
custom_add_weight <- function(name, shape, dtype, initializer, regularizer, trainable, constraint) {
  tr <- .kn$custom_trace
  if (is.null(tr)) stop("add_weight() can only be called from a layer's build() method", call. = FALSE)
  check_string(name, "add_weight", "name")
  check_unsupported(regularizer = regularizer, constraint = constraint)
  if (!is.null(dtype) && !identical(dtype, "float32"))
    stop("add_weight(): only float32 weights are supported, got dtype '", dtype, "'", call. = FALSE)
  if (is.list(shape) && any(vapply(shape, is.null, logical(1))))
    stop("add_weight(): weight '", name, "' has an unknown (NULL) dimension in `shape`", call. = FALSE)
  shape <- if (!length(shape)) integer(0) else check_whole(unlist(shape), "add_weight", "shape", min = 1, len = 1:16)
  init <- if (is.null(initializer)) "glorot_uniform" else initializer
  if (!(is.character(init) && length(init) == 1) && !(is.list(init) && !is.null(init$class_name)))
    stop("add_weight(): `initializer` must be an initializer name (e.g. \"glorot_uniform\") or a Keras ",
         "initializer config list(class_name, config)", call. = FALSE)
  if (name %in% vapply(tr$weights, function(w) w$name, "")) stop("add_weight(): two weights are named '", name, "'",
                                                              call. = FALSE)
  tr$weights[[length(tr$weights) + 1]] <- list(name = name, shape = as.numeric(shape), initializer = to_json(init),
                                               trainable = isTRUE(trainable))
  structure(list(kind = "weight", name = name, shape = as.integer(shape), dtype = "float32", batched = FALSE,
                 op = "variable", scope = tr$layer, owner = tr, id = new_tensor_id()),
            class = tensor_class)
}

# Runs build() and call() (or the lambda's function) on symbolic inputs of
# per-sample shapes `shapes`; returns list(weights, ops = JSON text).
custom_trace <- function(spec, shapes) {
  tr <- new.env(parent = emptyenv())
  tr$weights <- list()
  tr$layer <- spec$name
  old <- .kn$custom_trace
  .kn$custom_trace <- tr
  on.exit(.kn$custom_trace <- old)
  ins <- lapply(seq_along(shapes), function(i)
    structure(list(kind = "placeholder", slot = i - 1L, shape = as.integer(shapes[[i]]), dtype = "float32",
                   batched = TRUE, op = "input", scope = spec$name, id = new_tensor_id()),
              class = tensor_class))
  shape_list <- lapply(shapes, function(s) c(list(NULL), as.list(as.integer(s))))
  input_shape <- if (length(shape_list) == 1) shape_list[[1]] else shape_list
  if (spec$kind == "lambda") {
    out <- lambda_call(spec, ins)
  } else {
    r6 <- spec$r6
    r6$build(input_shape)
    x <- if (length(ins) == 1) ins[[1]] else ins
    out <- with_op_scope(spec$name, r6$call(x))
    if (!is_tensor(out) || tensor_kind(out) == "eager")
      stop("call() must return a tensor computed from its input, got ",
           if (is_tensor(out)) "a constant" else class(out)[1], call. = FALSE)
    check_output_shape(r6, input_shape, out)
  }
  .kn$custom_trace <- old
  list(weights = tr$weights, ops = trace_ops_json(out, length(ins), tr))
}

# compute_output_shape(), when the class defines it, must agree with call().
check_output_shape <- function(r6, input_shape, out) {
  if (identical(body(r6$compute_output_shape), body(KerasLayer$public_methods$compute_output_shape))) return()
  want <- r6$compute_output_shape(input_shape)
  want <- vapply(as.list(want), function(d) if (is.null(d) || is.na(d)) NA_integer_ else as.integer(d), 1L)
  got <- tensor_full_shape(out)
  if (length(want) != length(got) || any(!is.na(want) & !is.na(got) & want != got))
    stop("compute_output_shape() gives ", shape_text(want), " but call() returns shape ", shape_text(got),
         call. = FALSE)
}

# The ops behind `out` as the JSON list the engine's CustomLayer takes. Refs:
# inputs 0..n_in-1, weights (trainable first, as the engine stores them),
# then the ops in order.
trace_ops_json <- function(out, n_in, tr) {
  tw <- vapply(tr$weights, function(w) w$trainable, logical(1))
  wnames <- vapply(tr$weights, function(w) w$name, "")[order(!tw)]
  if (tensor_kind(out) %in% c("placeholder", "weight")) out <- record_op("identity", list(out))
  ops <- character(0)
  ids <- new.env(parent = emptyenv())
  visit <- function(t) {
    k <- as.character(t$id)
    if (exists(k, envir = ids, inherits = FALSE)) return(get(k, envir = ids))
    ref <- switch(tensor_kind(t),
      placeholder = t$slot,
      weight = {
        if (!identical(t$owner, tr))
          stop("call() uses the weight '", t$name, "' of another layer", call. = FALSE)
        n_in + match(t$name, wnames) - 1L
      },
      eager = visit(constant_op(t)),
      op = {
        ins <- vapply(t$inputs, visit, numeric(1))
        ops[length(ops) + 1] <<- paste0(
          '{"op":', to_json(t$op), ',"attrs":', t$attrs, ',"inputs":', to_json(I(as.integer(ins))),
          if (!is.null(t$value)) paste0(',"value":', to_json(I(as.numeric(t$value))),
                                        ',"value_shape":', to_json(I(as.integer(t$value_shape %||% integer(0))))),
          "}")
        n_in + length(wnames) + length(ops) - 1L
      },
      stop("the layer's computation uses a tensor that is neither its input nor one of its weights ",
           "(tensors of other layers or models cannot be captured)", call. = FALSE))
    assign(k, ref, envir = ids)
    ref
  }
  visit(out)
  paste0("[", paste(ops, collapse = ","), "]")
}
