new_model_handle <- function(ptr, sequential, name) {
  env <- new.env(parent = emptyenv())
  env$ptr <- ptr
  env$sequential <- sequential
  env$name <- name
  env$compiled <- NULL
  # Serialized with the model by saveRDS()/serialize(): see model_ptr().
  env$state <- cpp_model_state(ptr, sequential)
  cls <- c(if (sequential) "keras.engine.sequential.Sequential",
           "keras.engine.training.Model", "keras.engine.network.Network",
           "keras.engine.base_layer.Layer", "kerasnative_model")
  class(env) <- cls
  env
}

# The engine handle of a model. A handle read back by readRDS() or
# unserialize() is null: the engine model is then rebuilt from the model's
# state, which R wrote as the model's bytes (see src/r_serialize.cpp).
model_ptr <- function(model) {
  p <- .subset2(model, "ptr")
  if (cpp_ptr_is_null(p)) p <- model_reattach(model)
  p
}

#' Keras Model composed of a linear stack of layers
#'
#' @param layers List of layers to add to the model.
#' @param name Name of model.
#' @param ... Ignored (for compatibility).
#' @return A Sequential model; `layer_*()` functions applied to it add layers
#'   in place.
#' @examples
#' model <- keras_model_sequential()
#' model %>%
#'   layer_dense(units = 32, activation = "relu", input_shape = c(784)) %>%
#'   layer_dense(units = 10, activation = "softmax")
#' model
#' @export
keras_model_sequential <- function(layers = NULL, name = NULL, ...) {
  if (inherits(layers, "kerasnative_layer")) layers <- list(layers)
  if (!is.null(layers) && (!is.list(layers) || !all(vapply(layers, inherits, TRUE, "kerasnative_layer"))))
    arg_fail("keras_model_sequential", "layers", "a list of layers", layers)
  check_string(name, "keras_model_sequential", "name", null_ok = TRUE)
  name <- name %||% unique_name("sequential")
  model <- new_model_handle(cpp_model_new(name, r_seed()), TRUE, name)
  for (layer in layers) sequential_add(model, layer)
  model
}

sequential_add <- function(model, layer) {
  ptr <- model_ptr(model)
  lptr <- layer_ptr(layer)
  if (is.null(lptr)) stop("only layers can be added to a Sequential model", call. = FALSE)
  nodes <- cpp_model_nodes(ptr)
  lname <- cpp_layer_name(lptr)
  if (lname %in% nodes$name)
    stop(sprintf("all layers in a model must have unique names; '%s' is already used", lname), call. = FALSE)
  if (length(nodes$name) == 0) {
    bis <- cpp_layer_batch_input_shape(lptr)
    if (is.null(bis))
      stop("the first layer in a sequential model must get an `input_shape` or ",
           "`batch_input_shape` argument (layer '", lname, "')", call. = FALSE)
    fixed <- if (is.na(bis[1])) -1 else bis[1]
    input <- cpp_model_add_input(ptr, bis[-1], paste0(lname, "_input"), fixed)
    last <- input
  } else {
    input <- nodes$model_inputs
    last <- length(nodes$name) - 1L
  }
  if (isTRUE(get_config(layer)$return_state))
    stop("layer '", lname, "' has several outputs (return_state = TRUE); a Sequential model needs ",
         "single-output layers: use the functional API (keras_model())", call. = FALSE)
  id <- cpp_model_add(ptr, lptr, last)
  apply_initial_weights(layer)
  cpp_model_set_io(ptr, input, id)
  invisible(model)
}

#' Input layer
#'
#' Creates a symbolic tensor, the start of a functional model.
#' @param shape Shape, not including the batch size (e.g. `c(28, 28, 1)`).
#' @param batch_shape Shape including the batch size (`NA`/`NULL` first for any).
#' @param name Optional name.
#' @param dtype Data type (only `"float32"`).
#' @param sparse Not supported.
#' @param tensor A symbolic tensor to use as the input, e.g. a batch of
#'   `tf$train$shuffle_batch()` (or ops recorded on one): the model is then fed
#'   from that input queue by `fit()` with no `x`.
#' @return A tensor.
#' @examples
#' inputs <- layer_input(shape = c(784))
#' outputs <- inputs %>% layer_dense(units = 10, activation = "softmax")
#' model <- keras_model(inputs, outputs)
#' @export
layer_input <- function(shape = NULL, batch_shape = NULL, name = NULL, dtype = "float32",
                        sparse = FALSE, tensor = NULL) {
  if (!is.null(tensor)) return(input_from_tensor(tensor, batch_shape, shape, name))
  if (!is.null(dtype) && !dtype %in% c("float32", "float64"))
    stop("layer_input(): only float inputs are supported, got dtype '", dtype, "'", call. = FALSE)
  fixed <- NA
  if (!is.null(batch_shape)) {
    b <- lapply(as.list(batch_shape), function(d) if (is.null(d)) NA else d)
    fixed <- b[[1]]
    shape <- unlist(b[-1])
  }
  if (is.null(shape)) stop("layer_input(): `shape` or `batch_shape` is required", call. = FALSE)
  # NULL or NA: a dimension of unknown size (list(NULL, 8): sequences of any length)
  shape <- vapply(as.list(shape), function(d)
    if (is.null(d) || (length(d) == 1 && is.na(d))) NA_real_ else if (is.numeric(d) && length(d) == 1) d else NaN,
    numeric(1))
  known <- shape[!is.na(shape)]
  if (any(is.nan(shape)) || any(known <= 0) || any(!is.finite(known)) ||
      any(known != round(known)) || any(known > .Machine$integer.max))
    stop("layer_input(): every dimension of `shape` must be a positive integer or NULL/NA (unknown), got c(",
         paste(shape, collapse = ", "), ")", call. = FALSE)
  new_tensor(NULL, list(), shape, input_name = name %||% unique_name("input"), fixed_batch = fixed)
}

#' Keras Model (functional API)
#'
#' @param inputs Input tensor(s) from [layer_input()].
#' @param outputs Output tensor(s).
#' @param name Optional model name.
#' @param ... Ignored.
#' @return A model.
#' @examples
#' inputs <- layer_input(shape = c(4))
#' outputs <- inputs %>% layer_dense(units = 3, activation = "softmax")
#' model <- keras_model(inputs, outputs)
#' summary(model)
#' @export
keras_model <- function(inputs, outputs = NULL, name = NULL, ...) {
  if (is_tensor(inputs)) inputs <- list(inputs)
  if (is_tensor(outputs)) outputs <- list(outputs)
  if (!length(inputs) || !all(vapply(inputs, is_tensor, logical(1))))
    stop("keras_model(): `inputs` must be a tensor from layer_input() or a list of them", call. = FALSE)
  if (!length(outputs) || !all(vapply(outputs, is_tensor, logical(1))))
    stop("keras_model(): `outputs` must be a tensor or a list of tensors", call. = FALSE)
  inputs <- expand_tensor_inputs(inputs)
  for (t in inputs) if (!is.null(t$layer))
    stop("keras_model(): inputs must come from layer_input()", call. = FALSE)
  name <- name %||% unique_name("model")
  ptr <- cpp_model_new(name, r_seed())
  ids <- new.env(parent = emptyenv())  # tensor id -> node id
  key <- function(t) as.character(t$id)
  input_keys <- vapply(inputs, key, "")
  for (t in inputs) {
    assign(key(t), cpp_model_add_input(ptr, t$shape, t$input_name,
                                       if (is.na(t$fixed_batch)) -1 else t$fixed_batch), envir = ids)
  }
  seen_names <- vapply(inputs, function(t) t$input_name, "")
  layer_of_name <- list()
  visit <- function(t) {
    k <- key(t)
    if (exists(k, envir = ids, inherits = FALSE)) return(get(k, envir = ids))
    if (!tensor_kind(t) %in% c("input", "layer"))
      return(add_tensor_ops(ptr, t, ids, visit))
    if (is.null(t$layer))
      stop("graph disconnected: cannot reach input '", t$input_name, "' from the model inputs ",
           "(pass it in `inputs`)", call. = FALSE)
    if (!is.null(t$primary)) {  # output i of a multi-output layer call
      id <- cpp_model_add_output(ptr, visit(t$primary), t$output_index)
      assign(k, id, envir = ids)
      return(id)
    }
    in_ids <- vapply(t$inputs, visit, numeric(1))
    lptr <- layer_ptr(t$layer)
    nm <- cpp_layer_name(lptr)
    prev <- layer_of_name[[nm]]
    if (!is.null(prev) && !identical(prev, t$layer) || nm %in% seen_names && is.null(prev))
      stop(sprintf("all layers in a model must have unique names; '%s' is used twice", nm), call. = FALSE)
    layer_of_name[[nm]] <<- t$layer
    id <- cpp_model_add(ptr, lptr, as.integer(in_ids))
    assign(k, id, envir = ids)
    id
  }
  out_ids <- vapply(outputs, visit, numeric(1))
  in_ids <- vapply(inputs, function(t) get(key(t), envir = ids), numeric(1))
  cpp_model_set_io(ptr, as.integer(in_ids), as.integer(out_ids))
  model <- new_model_handle(ptr, FALSE, name)
  assign("tensor_nodes", ids, envir = model)  # for model$add_loss() on the model's tensors
  attach_queue_feed(model, inputs)
  model
}

model_layers <- function(model) {
  nodes <- cpp_model_nodes(model_ptr(model))
  keep <- !vapply(nodes$layer, is.null, logical(1))
  out <- lapply(nodes$layer[keep], new_layer_object)
  is_input <- nodes$class == "InputLayer"
  nm <- nodes$name[keep]
  out <- out[!duplicated(nm)]
  if (!isTRUE(model$sequential)) {
    inputs <- nodes$name[is_input]
    out <- c(lapply(inputs, function(n) structure(list(name = n), class = "kerasnative_input_layer")), out)
  }
  out
}

#' @export
`$.kerasnative_model` <- function(x, name) {
  if (name %in% c("ptr", "sequential", "name", "compiled", "state")) return(.subset2(x, name))
  ptr <- model_ptr(x)
  switch(name,
    layers = model_layers(x),
    input_shape = {
      n <- cpp_model_nodes(ptr)
      s <- lapply(n$model_inputs, function(i) c(list(NULL), as.list(n$shape[[i + 1]])))
      if (length(s) == 1) s[[1]] else s
    },
    output_shape = {
      n <- cpp_model_nodes(ptr)
      s <- lapply(n$model_outputs, function(i) c(list(NULL), as.list(n$shape[[i + 1]])))
      if (length(s) == 1) s[[1]] else s
    },
    optimizer = {
      o <- cpp_model_optimizer(ptr)
      if (!length(o)) NULL else new_optimizer(o$class_name, jsonlite::fromJSON(o$config), model = x)
    },
    loss = .subset2(x, "compiled")$loss,
    metrics_names = cpp_model_metric_names(ptr),
    trainable_weights = unname(unlist(lapply(model_layers(x), function(l) {
      if (!inherits(l, "kerasnative_layer") || !l$trainable) return(NULL)
      w <- cpp_layer_weights(layer_ptr(l))
      unname(w[attr(w, "trainable")])  # without non-trainable weights (moving statistics, add_weight(trainable = FALSE))
    }), recursive = FALSE)),
    weights = get_weights(x),
    count_params = function() count_params(x),
    get_weights = function() get_weights(x),
    set_weights = function(weights) set_weights(x, weights),
    get_layer = function(name = NULL, index = NULL) get_layer(x, name, index),
    reset_states = function() reset_states(x),
    add_loss = function(losses, inputs = NULL) model_add_loss(x, losses),
    .subset2(x, name))
}

#' Retrieves a layer based on either its name (unique) or index
#'
#' @param object Keras model object.
#' @param name String, name of layer.
#' @param index Integer, index of layer (1-based, as in keras R).
#' @return A layer instance.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3, name = "hidden")
#' get_layer(model, "hidden")
#' @export
get_layer <- function(object, name = NULL, index = NULL) {
  if (!is_model(object)) arg_fail("get_layer", "object", "a model", object)
  check_string(name, "get_layer", "name", null_ok = TRUE)
  index <- check_whole(index, "get_layer", "index", null_ok = TRUE, min = -Inf)
  layers <- model_layers(object)
  names <- vapply(layers, function(l) l$name, "")
  if (!is.null(name)) {
    i <- match(name, names)
    if (is.na(i)) stop("no such layer: '", name, "' (layers: ", paste(names, collapse = ", "), ")", call. = FALSE)
    return(layers[[i]])
  }
  if (!is.null(index)) {
    if (index < 1 || index > length(layers))
      stop(sprintf("`index` %d is out of range: the model has %d layers", index, length(layers)), call. = FALSE)
    return(layers[[index]])
  }
  stop("provide either `name` or `index`", call. = FALSE)
}

#' Remove the last layer in a Sequential model
#' @param object Sequential model object.
#' @return The model (modified in place), invisibly.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3) %>%
#'   layer_dense(units = 2)
#' pop_layer(model)
#' length(model$layers)
#' @export
pop_layer <- function(object) {
  if (!is_model(object)) arg_fail("pop_layer", "object", "a Sequential model", object)
  if (!isTRUE(object$sequential)) stop("pop_layer() only works on Sequential models", call. = FALSE)
  cpp_model_pop(model_ptr(object))
  invisible(object)
}

#' Layer/Model configuration and parameter counts
#'
#' @param object A model or layer.
#' @return `count_params()`: the number of parameters.
#' @examples
#' model <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3)
#' count_params(model)
#' @export
count_params <- function(object) {
  if (is_model(object)) {
    return(sum(vapply(model_layers(object), function(l)
      if (inherits(l, "kerasnative_layer")) cpp_layer_count_params(layer_ptr(l)) else 0, numeric(1))))
  }
  cpp_layer_count_params(layer_ptr(object))
}

#' Layer/Model weights as R arrays
#'
#' @param object Layer or model object.
#' @param weights Weights as R arrays, in the order `get_weights()` returns.
#' @return `get_weights()`: a list of arrays (kernel `(in, out)`, bias, ...);
#'   `set_weights()`: the object, invisibly.
#' @examples
#' model <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3)
#' w <- get_weights(model)
#' str(w)
#' set_weights(model, w)
#' @export
get_weights <- function(object) {
  if (is_model(object)) {
    ws <- lapply(model_layers(object), function(l)
      if (inherits(l, "kerasnative_layer")) unname(cpp_layer_weights(layer_ptr(l))) else list())
    return(do.call(c, ws))
  }
  unname(cpp_layer_weights(layer_ptr(object)))
}

#' @rdname get_weights
#' @export
set_weights <- function(object, weights) {
  if (!is.list(weights) || !all(vapply(weights, function(w) is.numeric(w) || is.logical(w), TRUE)))
    arg_fail("set_weights", "weights", "a list of numeric arrays", weights)
  for (w in weights) check_finite_data(w, "set_weights", "weights")
  if (is_model(object)) {
    layers <- Filter(function(l) inherits(l, "kerasnative_layer"), model_layers(object))
    counts <- vapply(layers, function(l) length(cpp_layer_weights(layer_ptr(l))), numeric(1))
    if (length(weights) != sum(counts))
      stop(sprintf("the model has %d weight arrays but %d were given", sum(counts), length(weights)),
           call. = FALSE)
    # check all shapes first so a mismatch leaves the model untouched
    old <- get_weights(object)
    ok <- tryCatch({
      pos <- 0
      for (i in seq_along(layers)) {
        if (counts[i] == 0) next
        cpp_layer_set_weights(layer_ptr(layers[[i]]), weights[pos + seq_len(counts[i])])
        pos <- pos + counts[i]
      }
      TRUE
    }, error = function(e) {
      pos <- 0
      for (i in seq_along(layers)) {
        if (counts[i] == 0) next
        cpp_layer_set_weights(layer_ptr(layers[[i]]), old[pos + seq_len(counts[i])])
        pos <- pos + counts[i]
      }
      stop(conditionMessage(e), call. = FALSE)
    })
    return(invisible(object))
  }
  cpp_layer_set_weights(layer_ptr(object), weights)
  invisible(object)
}

#' Freeze and unfreeze weights
#'
#' Frozen layers keep their weights during [fit()].
#' @param object Model or layer.
#' @param from,to Layer name or index (1-based) bounding the range to
#'   (un)freeze; default all layers.
#' @return The object, invisibly.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3, name = "a") %>%
#'   layer_dense(units = 2, name = "b")
#' freeze_weights(model, to = "a")
#' unfreeze_weights(model)
#' @export
freeze_weights <- function(object, from = NULL, to = NULL) {
  set_trainable_range(object, from, to, FALSE)
}

#' @rdname freeze_weights
#' @export
unfreeze_weights <- function(object, from = NULL, to = NULL) {
  set_trainable_range(object, from, to, TRUE)
}

set_trainable_range <- function(object, from, to, value) {
  if (!is_model(object)) { cpp_layer_set_trainable(layer_ptr(object), value); return(invisible(object)) }
  layers <- Filter(function(l) inherits(l, "kerasnative_layer"), model_layers(object))
  names <- vapply(layers, function(l) l$name, "")
  pos <- function(x, default) {
    if (is.null(x)) return(default)
    if (is.character(x)) { i <- match(x, names); if (is.na(i)) stop("no such layer: '", x, "'", call. = FALSE); i }
    else check_whole(x, "freeze_weights", "from/to", min = 1, max = length(layers))
  }
  rng <- seq(pos(from, 1L), pos(to, length(layers)))
  for (i in rng) cpp_layer_set_trainable(layer_ptr(layers[[i]]), value)
  invisible(object)
}
