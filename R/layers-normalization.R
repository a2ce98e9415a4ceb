#' Batch normalization layer
#'
#' Normalizes the activations of the previous layer at each batch; keeps
#' moving averages of mean and variance (non-trainable weights) used at
#' inference, as Keras.
#' @inheritParams layer_dense
#' @param axis Integer, the axis that should be normalized (only -1, the
#'   channels axis).
#' @param momentum Momentum for the moving mean and the moving variance.
#' @param epsilon Small float added to variance to avoid dividing by zero.
#' @param center,scale Whether to use the `beta` offset / `gamma` scale.
#' @param beta_initializer,gamma_initializer,moving_mean_initializer,moving_variance_initializer
#'   Initializers.
#' @param beta_regularizer,gamma_regularizer,beta_constraint,gamma_constraint Regularizers
#'   (penalty in the training loss) and constraints (applied after every update) of beta and gamma.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 8, input_shape = 4) %>%
#'   layer_batch_normalization()
#' @export
layer_batch_normalization <- function(object, axis = -1L, momentum = 0.99, epsilon = 0.001,
                                      center = TRUE, scale = TRUE, beta_initializer = "zeros",
                                      gamma_initializer = "ones",
                                      moving_mean_initializer = "zeros",
                                      moving_variance_initializer = "ones",
                                      beta_regularizer = NULL, gamma_regularizer = NULL,
                                      beta_constraint = NULL, gamma_constraint = NULL,
                                      input_shape = NULL, batch_input_shape = NULL,
                                      batch_size = NULL, dtype = NULL, name = NULL,
                                      trainable = NULL, weights = NULL) {
  fn <- "layer_batch_normalization"
  pen <- penalty_args(fn, beta_regularizer = beta_regularizer, gamma_regularizer = gamma_regularizer,
                      beta_constraint = beta_constraint, gamma_constraint = gamma_constraint)
  axis <- check_whole(axis, fn, "axis", min = -16, max = 16)
  check_number(momentum, fn, "momentum", 0, 1)
  check_number(epsilon, fn, "epsilon", 0, min_open = TRUE)
  check_flag(center, fn, "center")
  check_flag(scale, fn, "scale")
  check_layer_common(fn, name)
  res <- create_layer("BatchNormalization", if (missing(object)) NULL else object,
    c(list(name = name, axis = as.integer(axis), momentum = momentum, epsilon = epsilon,
         center = center, scale = scale, beta_initializer = beta_initializer,
         gamma_initializer = gamma_initializer, moving_mean_initializer = moving_mean_initializer,
         moving_variance_initializer = moving_variance_initializer), pen),
    input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(res, trainable)
}

#' Leaky version of a Rectified Linear Unit
#' @inheritParams layer_dense
#' @param alpha float >= 0. Negative slope coefficient.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 8, input_shape = 4) %>%
#'   layer_activation_leaky_relu()
#' @export
layer_activation_leaky_relu <- function(object, alpha = 0.3, input_shape = NULL,
                                        batch_input_shape = NULL, batch_size = NULL, dtype = NULL,
                                        name = NULL, trainable = NULL, weights = NULL) {
  alpha <- check_number(alpha, "layer_activation_leaky_relu", "alpha")
  check_layer_common("layer_activation_leaky_relu", name)
  create_layer("LeakyReLU", if (missing(object)) NULL else object, list(name = name, alpha = alpha),
               input_shape, batch_input_shape, batch_size, weights)
}
