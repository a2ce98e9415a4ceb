# Layer objects, symbolic tensors and how a layer is applied to a model or a
# tensor. Every layer_*() function ends in create_layer().

layer_module <- function(class_name) {
  switch(class_name,
    Dense = , Dropout = , Activation = , Flatten = , Reshape = "core",
    Conv2D = , Conv1D = , ZeroPadding2D = "convolutional",
    MaxPooling2D = , AveragePooling2D = , GlobalMaxPooling2D = ,
    GlobalAveragePooling2D = , MaxPooling1D = , AveragePooling1D = , GlobalAveragePooling1D = ,
    GlobalMaxPooling1D = "pooling",
    UpSampling1D = , Cropping1D = , ZeroPadding1D = "convolutional",
    Bidirectional = , TimeDistributed = "wrappers",
    BatchNormalization = "normalization",
    LeakyReLU = , ReLU = , ELU = , PReLU = , ThresholdedReLU = , Softmax = "advanced_activations",
    GaussianNoise = , GaussianDropout = , AlphaDropout = "noise",
    SpatialDropout1D = , SpatialDropout2D = , SpatialDropout3D = , ActivityRegularization = "core",
    UpSampling2D = , UpSampling3D = , Cropping2D = , Cropping3D = , ZeroPadding3D = ,
    Conv2DTranspose = , Conv3D = , Conv3DTranspose = , SeparableConv2D = , DepthwiseConv2D = "convolutional",
    MaxPooling3D = , AveragePooling3D = , GlobalMaxPooling3D = , GlobalAveragePooling3D = "pooling",
    LocallyConnected1D = , LocallyConnected2D = "local", Dot = "merge",
    Embedding = "embeddings",
    SimpleRNN = , LSTM = , GRU = "recurrent",
    Concatenate = , Add = , Subtract = , Multiply = , Average = , Maximum = , Minimum = "merge",
    "core")
}

# A layer object is an R function (as keras layers are callables): applying
# it to a tensor or model composes it.
new_layer_object <- function(ptr) {
  self <- NULL
  self <- function(object, ...) compose_layer(object, self, ...)
  cls <- cpp_layer_class(ptr)
  class(self) <- c(paste0("keras.layers.", layer_module(cls), ".", cls),
                   "keras.engine.base_layer.Layer", "kerasnative_layer")
  attr(self, "ptr") <- ptr
  self
}

layer_ptr <- function(layer) {
  p <- attr(layer, "ptr", exact = TRUE)
  if (is.null(p))
    stop("`object` must be a model or a layer, not ", arg_text(layer), call. = FALSE)
  p
}

is_tensor <- function(x) inherits(x, "kerasnative_tensor")
is_model <- function(x) inherits(x, "kerasnative_model")

# Input shape arguments of the first layer -> Keras's batch_input_shape list.
batch_input_shape_of <- function(input_shape = NULL, batch_input_shape = NULL, batch_size = NULL) {
  fn <- NULL  # shared by every layer_*() function: the message names the argument only
  if (!is.null(batch_input_shape)) {
    b <- as.list(batch_input_shape)
    for (d in b) if (!is.null(d) && !(length(d) == 1 && is.na(d)))
      check_whole(d, fn, "batch_input_shape")
    return(lapply(b, function(d) if (is.null(d) || is.na(d)) NULL else as.integer(d)))
  }
  if (!is.null(input_shape)) {
    s <- unlist(input_shape)
    if (!is.numeric(s) && !all(is.na(s))) arg_fail(fn, "input_shape", "a vector of positive whole numbers", input_shape)
    if (anyNA(s)) stop("`input_shape` cannot contain NA/NULL dimensions in kerasnative", call. = FALSE)
    s <- check_whole(s, fn, "input_shape", len = seq_len(16))
    batch_size <- check_whole(batch_size, fn, "batch_size", null_ok = TRUE)
    return(c(list(batch_size), as.list(s)))
  }
  NULL
}

# Checks of the arguments most layers share (before they are converted).
check_layer_common <- function(fn, name = NULL, activation = NULL, use_bias = TRUE) {
  check_string(name, fn, "name", null_ok = TRUE)
  if (is.function(activation)) activation_arg(activation, fn)
  else check_string(activation, fn, "activation", null_ok = TRUE)
  check_flag(use_bias, fn, "use_bias")
  invisible(TRUE)
}

to_json <- function(x) {
  as.character(jsonlite::toJSON(x, auto_unbox = TRUE, null = "null", digits = NA))
}

# Create a layer of Keras class `class_name` from `config` (a named list of
# Keras config entries; NULL entries are dropped) and apply it to `object`.
# `layer_class` may also be an R6 class inheriting from KerasLayer (keras R's
# create_layer(layer_class, object, args), see layers-custom.R).
create_layer <- function(layer_class, object, args = list(), input_shape = NULL,
                         batch_input_shape = NULL, batch_size = NULL, weights = NULL) {
  # Force the upstream object first: in a lazy pipe, earlier layers must be
  # created (and named) before this one.
  if (!missing(object)) force(object)
  if (R6::is.R6Class(layer_class))
    return(create_custom_layer(layer_class, if (missing(object)) NULL else object, args))
  # The `dtype` and `trainable` arguments every layer_*() function takes, read
  # from the calling function so that no layer ignores them.
  caller <- parent.frame()
  dtype <- get0("dtype", envir = caller, inherits = FALSE)
  if (!is.null(dtype) && !identical(dtype, "float32"))
    stop(deparse(sys.call(-1)[[1]])[1], "(): dtype = '", paste(format(dtype), collapse = " "), "' is not supported; ",
         "kerasnative layers compute in float32 (dtype = NULL or \"float32\")", call. = FALSE)
  trainable <- get0("trainable", envir = caller, inherits = FALSE)
  if (!is.null(trainable) && !(is.logical(trainable) && length(trainable) == 1 && !is.na(trainable)))
    stop("`trainable` must be TRUE or FALSE, got ", arg_text(trainable), call. = FALSE)
  class_name <- layer_class
  config <- args
  config <- config[!vapply(config, is.null, logical(1))]
  config <- lapply(config, function(v) {  # initializer/regularizer/constraint objects, activation functions
    if (inherits(v, "kerasnative_keras_object")) return(keras_object_json(v))
    if (is.function(v) && !is.null(attr(v, "py_function_name", exact = TRUE))) return(attr(v, "py_function_name"))
    v
  })
  name <- config$name %||% unique_name(snake_case(class_name))
  config$name <- NULL
  config$trainable <- NULL
  bis <- batch_input_shape_of(input_shape, batch_input_shape, batch_size)
  full <- c(list(name = name, trainable = TRUE), if (!is.null(bis)) list(batch_input_shape = bis), config)
  ptr <- cpp_layer_new(class_name, to_json(full))
  if (identical(trainable, FALSE)) cpp_layer_set_trainable(ptr, FALSE)
  layer <- new_layer_object(ptr)
  if (!is.null(weights)) attr(layer, "initial_weights") <- weights
  if (missing(object) || is.null(object)) return(layer)
  compose_layer(object, layer)
}

# Apply `layer` to a model (Sequential: add in place), a tensor or a list of tensors.
# `initial_state` (recurrent layers, as keras's `layer(x, initial_state = ...)`):
# a tensor or list of state tensors, passed to the layer as extra inputs.
compose_layer <- function(object, layer, initial_state = NULL, ...) {
  if (length(list(...)))
    stop("unknown argument(s) when calling layer '", cpp_layer_name(layer_ptr(layer)), "': ",
         paste(names(list(...)), collapse = ", "), call. = FALSE)
  if (!is.null(initial_state)) {
    if (is_tensor(initial_state)) initial_state <- list(initial_state)
    if (!is.list(initial_state) || !length(initial_state) || !all(vapply(initial_state, is_tensor, logical(1))))
      stop("`initial_state` must be a tensor or a list of tensors", call. = FALSE)
    if (!is_tensor(object))
      stop("`initial_state` needs the layer to be applied to a single tensor", call. = FALSE)
    return(apply_layer_to_tensors(layer, c(list(object), initial_state)))
  }
  if (is_model(object)) {
    if (!isTRUE(object$sequential))
      stop("layers can only be added in place to a Sequential model; apply them to tensors ",
           "for functional models", call. = FALSE)
    sequential_add(object, layer)
    return(invisible(object))
  }
  if (is_tensor(object)) object <- list(object)
  if (is.list(object) && length(object) > 0 && all(vapply(object, is_tensor, logical(1)))) {
    return(apply_layer_to_tensors(layer, object))
  }
  stop("a layer can be applied to a model created with keras_model_sequential(), a tensor ",
       "from layer_input() or a list of tensors; got an object of class ", class(object)[1],
       call. = FALSE)
}

apply_initial_weights <- function(layer) {
  w <- attr(layer, "initial_weights", exact = TRUE)
  if (!is.null(w)) {
    cpp_layer_set_weights(layer_ptr(layer), w)
  }
}

new_tensor <- function(layer, inputs, shape, input_name = NULL, fixed_batch = NA) {
  .kn$tensor_id <- (.kn$tensor_id %||% 0) + 1
  structure(list(layer = layer, inputs = inputs, shape = as.integer(shape), id = .kn$tensor_id,
                 input_name = input_name, fixed_batch = fixed_batch),
            class = c("kerasnative_tensor", "tensorflow.tensor"))
}

apply_layer_to_tensors <- function(layer, tensors) {
  for (t in tensors)
    if (!tensor_kind(t) %in% c("input", "layer", "op") || !tensor_batched(t) || anyNA(t$shape))
      stop("layer '", cpp_layer_name(layer_ptr(layer)), "' needs a tensor with a batch dimension and a known ",
           "per-sample shape, got shape ", shape_text(tensor_full_shape(t)), call. = FALSE)
  shapes <- lapply(tensors, function(t) t$shape)
  out <- cpp_layer_build(layer_ptr(layer), shapes, r_seed())
  apply_initial_weights(layer)
  extra <- attr(out, "extra")
  t0 <- new_tensor(layer, tensors, out)
  if (is.null(extra)) return(t0)
  # Several outputs (e.g. return_state): a list of tensors; output i > 0 refers
  # to the layer call through `primary` (the graph's output-selection node).
  c(list(t0), lapply(seq_along(extra), function(i) {
    t <- new_tensor(layer, tensors, extra[[i]])
    t$primary <- t0
    t$output_index <- i
    t
  }))
}

#' @export
print.kerasnative_tensor <- function(x, ...) {
  if (!tensor_kind(x) %in% c("input", "layer")) return(print_op_tensor(x))
  nm <- if (is.null(x$layer)) x$input_name else cpp_layer_name(layer_ptr(x$layer))
  fb <- if (is.na(x$fixed_batch)) "?" else x$fixed_batch
  cat(sprintf("Tensor(\"%s:%d\", shape=(%s), dtype=float32)\n", nm, x$output_index %||% 0L,
              paste(c(fb, x$shape), collapse = ", ")))
  invisible(x)
}

#' @export
dim.kerasnative_tensor <- function(x) tensor_full_shape(x)

#' @export
print.kerasnative_layer <- function(x, ...) {
  ptr <- layer_ptr(x)
  cat(sprintf("<%s layer '%s'>\n", cpp_layer_class(ptr), cpp_layer_name(ptr)))
  invisible(x)
}

#' @export
`$.kerasnative_layer` <- function(x, name) {
  ptr <- layer_ptr(x)
  switch(name,
    name = cpp_layer_name(ptr),
    trainable = cpp_layer_trainable(ptr),
    weights = unname(cpp_layer_weights(ptr)),
    built = cpp_layer_built(ptr),
    input_shape = , batch_input_shape = cpp_layer_batch_input_shape(ptr),
    get_config = function() get_config(x),
    get_weights = function() get_weights(x),
    set_weights = function(weights) set_weights(x, weights),
    count_params = function() cpp_layer_count_params(ptr),
    reset_states = function() reset_states(x),
    NULL)
}

#' @export
`$<-.kerasnative_layer` <- function(x, name, value) {
  if (name == "trainable") {
    cpp_layer_set_trainable(layer_ptr(x), isTRUE(value))
    return(x)
  }
  stop("cannot set `", name, "` on a layer", call. = FALSE)
}
