# Keras 2.2.5 advanced activation layers (layer_activation_leaky_relu is in
# layers-normalization.R).

# A layer_*() call's common arguments, checked: only float32 inputs exist here.
check_dtype <- function(dtype, fn) {
  if (!is.null(dtype) && !identical(dtype, "float32"))
    stop(fn, "(): dtype = '", paste(format(dtype), collapse = " "), "' is not supported; kerasnative layers ",
         "compute in float32 (dtype = NULL or \"float32\")", call. = FALSE)
}

# create_layer() plus the arguments every layer takes.
surface_layer <- function(fn, class_name, object, config, input_shape = NULL, batch_input_shape = NULL,
                          batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  check_layer_common(fn, name)
  check_dtype(dtype, fn)
  check_flag(trainable %||% TRUE, fn, "trainable")
  res <- create_layer(class_name, object, c(list(name = name), config), input_shape, batch_input_shape,
                      batch_size, weights)
  set_trainable_arg(res, trainable)
}

#' Advanced activation layers
#'
#' - `layer_activation_relu()`: `min(x, max_value)` above `threshold`,
#'   `negative_slope * (x - threshold)` below it.
#' - `layer_activation_elu()`: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.
#' - `layer_activation_parametric_relu()`: `x` for `x > 0`, `alpha * x`
#'   otherwise, with a learned `alpha` per input element (shared along `shared_axes`).
#' - `layer_activation_thresholded_relu()`: `x` for `x > theta`, else 0.
#' - `layer_activation_softmax()`: softmax along `axis`.
#' - `layer_activation_selu()`: the `"selu"` activation.
#' @inheritParams layer_dense
#' @param max_value Maximum output (`NULL`: unbounded).
#' @param negative_slope Slope below the threshold (>= 0).
#' @param threshold Threshold (>= 0).
#' @param alpha Scale of the negative part.
#' @param alpha_initializer,alpha_regularizer,alpha_constraint Initializer,
#'   regularizer and constraint of the learned `alpha`.
#' @param shared_axes Axes (1-based, as keras: 1 is the first axis after the
#'   batch) along which `alpha` is shared.
#' @param theta Threshold location (>= 0).
#' @param axis Axis of the softmax normalisation.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3) %>%
#'   layer_activation_relu(max_value = 6)
#' @name layer_activation_relu
NULL

#' @rdname layer_activation_relu
#' @export
layer_activation_relu <- function(object, max_value = NULL, negative_slope = 0, threshold = 0,
                                  input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                                  dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_activation_relu"
  surface_layer(fn, "ReLU", if (missing(object)) NULL else object,
                list(max_value = check_number(max_value, fn, "max_value", 0, null_ok = TRUE),
                     negative_slope = check_number(negative_slope, fn, "negative_slope", 0),
                     threshold = check_number(threshold, fn, "threshold", 0)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_activation_relu
#' @export
layer_activation_elu <- function(object, alpha = 1, input_shape = NULL, batch_input_shape = NULL,
                                 batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                                 weights = NULL) {
  surface_layer("layer_activation_elu", "ELU", if (missing(object)) NULL else object,
                list(alpha = check_number(alpha, "layer_activation_elu", "alpha")),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_activation_relu
#' @export
layer_activation_parametric_relu <- function(object, alpha_initializer = "zeros", alpha_regularizer = NULL,
                                             alpha_constraint = NULL, shared_axes = NULL, input_shape = NULL,
                                             batch_input_shape = NULL, batch_size = NULL, dtype = NULL,
                                             name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_activation_parametric_relu"
  pen <- penalty_args(fn, alpha_regularizer = alpha_regularizer, alpha_constraint = alpha_constraint)
  axes <- if (is.null(shared_axes)) NULL else as.list(check_whole(shared_axes, fn, "shared_axes", len = 1:8))
  surface_layer(fn, "PReLU", if (missing(object)) NULL else object,
                c(list(alpha_initializer = alpha_initializer, shared_axes = axes), pen),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_activation_relu
#' @export
layer_activation_thresholded_relu <- function(object, theta = 1, input_shape = NULL, batch_input_shape = NULL,
                                              batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                                              weights = NULL) {
  surface_layer("layer_activation_thresholded_relu", "ThresholdedReLU", if (missing(object)) NULL else object,
                list(theta = check_number(theta, "layer_activation_thresholded_relu", "theta", 0)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_activation_relu
#' @export
layer_activation_softmax <- function(object, axis = -1, input_shape = NULL, batch_input_shape = NULL,
                                     batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                                     weights = NULL) {
  surface_layer("layer_activation_softmax", "Softmax", if (missing(object)) NULL else object,
                list(axis = check_whole(axis, "layer_activation_softmax", "axis", min = -16)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_activation_relu
#' @export
layer_activation_selu <- function(object, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                                  dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  surface_layer("layer_activation_selu", "Activation", if (missing(object)) NULL else object,
                list(activation = "selu"), input_shape, batch_input_shape, batch_size, dtype, name,
                trainable, weights)
}
