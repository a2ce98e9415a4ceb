# Temporal (1D, channels-last) layers: pooling, upsampling, cropping and zero
# padding along the steps of (batch, steps, channels) inputs.

#' Average pooling for temporal data
#'
#' Averages windows of `pool_size` steps of a `(batch, steps, channels)` input
#' (with `"same"` padding, cells outside the input are not counted, as
#' TensorFlow).
#' @inheritParams layer_max_pooling_1d
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_1d(filters = 4, kernel_size = 3, input_shape = c(10, 2)) %>%
#'   layer_average_pooling_1d(pool_size = 2)
#' @export
layer_average_pooling_1d <- function(object, pool_size = 2L, strides = NULL, padding = "valid",
                                     batch_size = NULL, name = NULL, trainable = NULL, weights = NULL) {
  pool_layer("AveragePooling1D", if (missing(object)) NULL else object, pool_size, strides, padding,
             name, NULL, NULL, batch_size, weights, n = 1)
}

temporal_layer <- function(class_name, fn, object, config, batch_size, name, trainable, weights) {
  check_layer_common(fn, name)
  layer <- create_layer(class_name, object, c(list(name = name), config), NULL, NULL, batch_size, weights)
  set_trainable_arg(layer, trainable)
}

#' Global average / max pooling operation for temporal data
#'
#' `(batch, steps, features)` becomes `(batch, features)`: the mean (or
#' maximum) over the steps. With a masked input (e.g. after
#' `layer_embedding(mask_zero = TRUE)`), the average is over the unmasked
#' steps only, as Keras 2.2.5; the max pooling does not support masks.
#' @inheritParams layer_max_pooling_1d
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_embedding(input_dim = 100, output_dim = 8, input_length = 10) %>%
#'   layer_global_average_pooling_1d()
#' @export
layer_global_average_pooling_1d <- function(object, batch_size = NULL, name = NULL, trainable = NULL,
                                            weights = NULL) {
  temporal_layer("GlobalAveragePooling1D", "layer_global_average_pooling_1d",
                 if (missing(object)) NULL else object, list(data_format = "channels_last"), batch_size, name,
                 trainable, weights)
}

#' @rdname layer_global_average_pooling_1d
#' @export
layer_global_max_pooling_1d <- function(object, batch_size = NULL, name = NULL, trainable = NULL,
                                        weights = NULL) {
  temporal_layer("GlobalMaxPooling1D", "layer_global_max_pooling_1d",
                 if (missing(object)) NULL else object, list(data_format = "channels_last"), batch_size, name,
                 trainable, weights)
}

#' Upsampling layer for 1D inputs
#'
#' Repeats each step `size` times along the time axis: `(batch, steps,
#' features)` becomes `(batch, size * steps, features)`.
#' @inheritParams layer_max_pooling_1d
#' @param size Integer, upsampling factor.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_1d(filters = 2, kernel_size = 1, input_shape = c(5, 3)) %>%
#'   layer_upsampling_1d(size = 2)
#' @export
layer_upsampling_1d <- function(object, size = 2L, batch_size = NULL, name = NULL, trainable = NULL,
                                weights = NULL) {
  size <- check_whole(size, "layer_upsampling_1d", "size")
  temporal_layer("UpSampling1D", "layer_upsampling_1d", if (missing(object)) NULL else object,
                 list(size = size), batch_size, name, trainable, weights)
}

#' Cropping layer for 1D input (e.g. temporal sequence)
#'
#' Removes `cropping[1]` steps at the start and `cropping[2]` at the end.
#' @inheritParams layer_max_pooling_1d
#' @param cropping Integer or vector of 2 integers: steps to trim at the
#'   beginning and end.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_1d(filters = 2, kernel_size = 1, input_shape = c(6, 3)) %>%
#'   layer_cropping_1d(cropping = c(1, 2))
#' @export
layer_cropping_1d <- function(object, cropping = c(1L, 1L), batch_size = NULL, name = NULL,
                              trainable = NULL, weights = NULL) {
  cropping <- check_whole(cropping, "layer_cropping_1d", "cropping", min = 0, len = 1:2)
  temporal_layer("Cropping1D", "layer_cropping_1d", if (missing(object)) NULL else object,
                 list(cropping = as.list(rep_len(cropping, 2))), batch_size, name, trainable, weights)
}

#' Zero-padding layer for 1D input (e.g. temporal sequence)
#'
#' Adds `padding[1]` zero steps at the start and `padding[2]` at the end.
#' @inheritParams layer_max_pooling_1d
#' @param padding Integer or vector of 2 integers: zero steps to add at the
#'   beginning and end.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_1d(filters = 2, kernel_size = 1, input_shape = c(6, 3)) %>%
#'   layer_zero_padding_1d(padding = 2)
#' @export
layer_zero_padding_1d <- function(object, padding = 1L, batch_size = NULL, name = NULL,
                                  trainable = NULL, weights = NULL) {
  padding <- check_whole(padding, "layer_zero_padding_1d", "padding", min = 0, len = 1:2)
  temporal_layer("ZeroPadding1D", "layer_zero_padding_1d", if (missing(object)) NULL else object,
                 list(padding = as.list(rep_len(padding, 2))), batch_size, name, trainable, weights)
}
