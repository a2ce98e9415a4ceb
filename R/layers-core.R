check_unsupported <- function(...) {
  args <- list(...)
  for (nm in names(args)) if (!is.null(args[[nm]]))
    stop("`", nm, "` is not supported by kerasnative yet", call. = FALSE)
}

# Regularizers and constraints of Dense/Conv layers (not supported yet).
check_no_penalties <- function(kernel_regularizer, bias_regularizer, activity_regularizer,
                               kernel_constraint, bias_constraint) {
  check_unsupported(kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                    activity_regularizer = activity_regularizer,
                    kernel_constraint = kernel_constraint, bias_constraint = bias_constraint)
}

#' Add a densely-connected NN layer to an output
#'
#' `output = activation(dot(input, kernel) + bias)`.
#'
#' @param object Model or layer object: a Sequential model (the layer is
#'   added in place and the model returned), a tensor (a tensor is returned)
#'   or missing (the layer itself is returned).
#' @param units Positive integer, dimensionality of the output space.
#' @param activation Name of activation function to use (`NULL`: linear).
#' @param use_bias Whether the layer uses a bias vector.
#' @param kernel_initializer,bias_initializer Initializers: a name
#'   (`"glorot_uniform"`, `"he_normal"`, `"zeros"`, ...) or an
#'   `initializer_*()` object.
#' @param kernel_regularizer,bias_regularizer,activity_regularizer Regularizers
#'   ([regularizer_l1()] ...) of the kernel, the bias and the layer's output;
#'   their penalty is part of the training loss.
#' @param kernel_constraint,bias_constraint Constraints ([constraint_maxnorm()]
#'   ...) applied to the kernel and the bias after every update.
#' @param input_shape Dimensionality of the input (integer) not including the
#'   samples axis; required for the first layer of a Sequential model.
#' @param batch_input_shape Shapes, including the batch size.
#' @param batch_size Fixed batch size for the layer.
#' @param dtype The data type expected by the input (`"float32"`).
#' @param name An optional name string for the layer (unique in a model).
#' @param trainable Whether the layer weights will be updated during training.
#' @param weights Initial weights for the layer (list of arrays).
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 16, activation = "relu", input_shape = c(8)) %>%
#'   layer_dense(units = 1, activation = "sigmoid")
#' @export
layer_dense <- function(object, units, activation = NULL, use_bias = TRUE,
                        kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                        kernel_regularizer = NULL, bias_regularizer = NULL,
                        activity_regularizer = NULL, kernel_constraint = NULL,
                        bias_constraint = NULL, input_shape = NULL, batch_input_shape = NULL,
                        batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                        weights = NULL) {
  penalties <- penalty_args("layer_dense", kernel_regularizer = kernel_regularizer,
                            bias_regularizer = bias_regularizer, activity_regularizer = activity_regularizer,
                            kernel_constraint = kernel_constraint, bias_constraint = bias_constraint)
  if (missing(units)) stop("layer_dense(): `units` is required", call. = FALSE)
  units <- check_whole(units, "layer_dense", "units")
  check_layer_common("layer_dense", name, activation, use_bias)
  layer <- create_layer("Dense", if (missing(object)) NULL else object,
    c(list(name = name, units = as.integer(units), activation = activation %||% "linear",
           use_bias = use_bias, kernel_initializer = kernel_initializer,
           bias_initializer = bias_initializer), penalties),
    input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(layer, trainable)
}

set_trainable_arg <- function(result, trainable) {
  if (!is.null(trainable) && !isTRUE(trainable)) {
    if (inherits(result, "kerasnative_layer")) cpp_layer_set_trainable(layer_ptr(result), FALSE)
    else if (is_tensor(result)) cpp_layer_set_trainable(layer_ptr(result$layer), FALSE)
    else if (is_model(result)) {
      ls <- model_layers(result)
      cpp_layer_set_trainable(layer_ptr(ls[[length(ls)]]), FALSE)
    }
  }
  result
}

#' Applies Dropout to the input
#'
#' Randomly sets a fraction `rate` of input units to 0 at each update during
#' training (scaling the others by `1 / (1 - rate)`); does nothing at
#' inference.
#' @inheritParams layer_dense
#' @param rate Float between 0 and 1. Fraction of the input units to drop.
#' @param noise_shape Shape of the binary dropout mask (batch axis included;
#'   `NA` for "the input's size"): inputs share one draw along axes of size 1,
#'   e.g. `c(NA, 1, 64)` drops the same features at every timestep.
#' @param seed Ignored: randomness follows R's `set.seed()`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 16, input_shape = 8) %>%
#'   layer_dropout(rate = 0.5)
#' @export
layer_dropout <- function(object, rate, noise_shape = NULL, seed = NULL, input_shape = NULL,
                          batch_input_shape = NULL, batch_size = NULL, name = NULL,
                          trainable = NULL, weights = NULL) {
  if (missing(rate)) stop("layer_dropout(): `rate` is required", call. = FALSE)
  if (!is.null(noise_shape)) {  # NULL / NA entries: the input's size (the batch always draws per sample)
    ns <- lapply(as.list(noise_shape), function(d) if (is.null(d) || is.na(d)) NA else d)
    for (d in ns) if (!is.na(d)) check_whole(d, "layer_dropout", "noise_shape")
    noise_shape <- lapply(ns, function(d) if (is.na(d)) NA else as.integer(d))
  }
  rate <- check_number(rate, "layer_dropout", "rate", 0, 1, max_open = TRUE)
  check_whole(seed, "layer_dropout", "seed", min = 0, null_ok = TRUE)
  check_layer_common("layer_dropout", name)
  create_layer("Dropout", if (missing(object)) NULL else object,
               list(name = name, rate = rate, noise_shape = noise_shape, seed = seed), input_shape, batch_input_shape,
               batch_size, weights)
}

#' Apply an activation function to an output
#' @inheritParams layer_dense
#' @param activation Name of activation function to use: `"relu"`,
#'   `"sigmoid"`, `"softmax"`, `"tanh"`, `"linear"`, `"elu"`, `"selu"`,
#'   `"softplus"`, `"softsign"`, `"hard_sigmoid"`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3) %>%
#'   layer_activation("relu")
#' @export
layer_activation <- function(object, activation, input_shape = NULL, batch_input_shape = NULL,
                             batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                             weights = NULL) {
  if (missing(activation)) stop("layer_activation(): `activation` is required", call. = FALSE)
  check_string(activation, "layer_activation", "activation")
  check_layer_common("layer_activation", name)
  create_layer("Activation", if (missing(object)) NULL else object,
               list(name = name, activation = activation), input_shape, batch_input_shape,
               batch_size, weights)
}

#' Flattens an input
#'
#' Flattens `(H, W, C)` per sample to `H * W * C` with the channel index
#' fastest, as Keras, so Dense weights from Keras files line up.
#' @inheritParams layer_dense
#' @param data_format Only `NULL` or `"channels_last"`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_flatten(input_shape = c(28, 28)) %>%
#'   layer_dense(units = 10)
#' @export
layer_flatten <- function(object, data_format = NULL, input_shape = NULL, dtype = NULL,
                          name = NULL, trainable = NULL, weights = NULL) {
  if (!is.null(data_format) && data_format != "channels_last")
    stop("layer_flatten(): only data_format = 'channels_last' is supported", call. = FALSE)
  create_layer("Flatten", if (missing(object)) NULL else object, list(name = name),
               input_shape, NULL, NULL, weights)
}
