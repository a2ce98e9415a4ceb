#' Noise and regularization layers
#'
#' Active only in training (`fit()`, `train_on_batch()`); identities at inference.
#' - `layer_gaussian_noise()`: adds zero-centred Gaussian noise of standard deviation `stddev`.
#' - `layer_gaussian_dropout()`: multiplies by Gaussian noise of mean 1 and
#'   standard deviation `sqrt(rate / (1 - rate))`.
#' - `layer_alpha_dropout()`: dropout that keeps the mean and variance of
#'   SELU activations (dropped values set to SELU's negative saturation, then an affine correction).
#' - `layer_spatial_dropout_1d/2d/3d()`: drops whole feature maps (one draw per sample and channel).
#' - `layer_activity_regularization()`: identity whose output adds
#'   `l1 * sum(abs(x)) + l2 * sum(x^2)` to the training loss.
#' @inheritParams layer_dense
#' @param stddev Standard deviation of the noise.
#' @param rate Fraction of the input units to drop, in `[0, 1)`.
#' @param noise_shape Must be `NULL` for `layer_alpha_dropout()`.
#' @param seed Integer seed (recorded in the config; draws follow R's `set.seed()`).
#' @param data_format `"channels_last"` (default) or `"channels_first"`.
#' @param l1,l2 Activity penalty factors.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 8, input_shape = 4) %>%
#'   layer_gaussian_noise(stddev = 0.1)
#' @name layer_gaussian_noise
NULL

noise_rate <- function(rate, fn) {
  if (missing(rate)) stop(fn, "(): `rate` is required", call. = FALSE)
  check_number(rate, fn, "rate", 0, 1, max_open = TRUE)
}
spatial_data_format <- function(data_format, fn) {
  if (is.null(data_format)) return("channels_last")
  check_string(data_format, fn, "data_format", choices = c("channels_last", "channels_first"))
  data_format
}

#' @rdname layer_gaussian_noise
#' @export
layer_gaussian_noise <- function(object, stddev, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                                 dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_gaussian_noise"
  if (missing(stddev)) stop(fn, "(): `stddev` is required", call. = FALSE)
  surface_layer(fn, "GaussianNoise", if (missing(object)) NULL else object,
                list(stddev = check_number(stddev, fn, "stddev", 0)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_gaussian_noise
#' @export
layer_gaussian_dropout <- function(object, rate, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                                   dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  surface_layer("layer_gaussian_dropout", "GaussianDropout", if (missing(object)) NULL else object,
                list(rate = noise_rate(rate, "layer_gaussian_dropout")),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_gaussian_noise
#' @export
layer_alpha_dropout <- function(object, rate, noise_shape = NULL, seed = NULL, input_shape = NULL,
                                batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                                trainable = NULL, weights = NULL) {
  fn <- "layer_alpha_dropout"
  if (!is.null(noise_shape)) stop(fn, "(): `noise_shape` is not supported; leave it NULL", call. = FALSE)
  check_whole(seed, fn, "seed", min = 0, null_ok = TRUE)
  surface_layer(fn, "AlphaDropout", if (missing(object)) NULL else object, list(rate = noise_rate(rate, fn)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_gaussian_noise
#' @export
layer_spatial_dropout_1d <- function(object, rate, batch_size = NULL, name = NULL, trainable = NULL,
                                     weights = NULL) {
  surface_layer("layer_spatial_dropout_1d", "SpatialDropout1D", if (missing(object)) NULL else object,
                list(rate = noise_rate(rate, "layer_spatial_dropout_1d")),
                batch_size = batch_size, name = name, trainable = trainable, weights = weights)
}

#' @rdname layer_gaussian_noise
#' @export
layer_spatial_dropout_2d <- function(object, rate, data_format = NULL, batch_size = NULL, name = NULL,
                                     trainable = NULL, weights = NULL) {
  fn <- "layer_spatial_dropout_2d"
  surface_layer(fn, "SpatialDropout2D", if (missing(object)) NULL else object,
                list(rate = noise_rate(rate, fn), data_format = spatial_data_format(data_format, fn)),
                batch_size = batch_size, name = name, trainable = trainable, weights = weights)
}

#' @rdname layer_gaussian_noise
#' @export
layer_spatial_dropout_3d <- function(object, rate, data_format = NULL, batch_size = NULL, name = NULL,
                                     trainable = NULL, weights = NULL) {
  fn <- "layer_spatial_dropout_3d"
  surface_layer(fn, "SpatialDropout3D", if (missing(object)) NULL else object,
                list(rate = noise_rate(rate, fn), data_format = spatial_data_format(data_format, fn)),
                batch_size = batch_size, name = name, trainable = trainable, weights = weights)
}

#' @rdname layer_gaussian_noise
#' @export
layer_activity_regularization <- function(object, l1 = 0, l2 = 0, input_shape = NULL, batch_input_shape = NULL,
                                          batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                                          weights = NULL) {
  fn <- "layer_activity_regularization"
  surface_layer(fn, "ActivityRegularization", if (missing(object)) NULL else object,
                list(l1 = check_number(l1, fn, "l1", 0), l2 = check_number(l2, fn, "l2", 0)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}
