pool_layer <- function(class_name, object, pool_size, strides, padding, name, input_shape,
                       batch_input_shape, batch_size, weights, n = 2, data_format = "channels_last") {
  fn <- paste0("layer_", snake_case(sub("([0-9])D$", "_\\1d", class_name)))
  check_sizes(pool_size, fn, "pool_size", n)
  check_sizes(strides, fn, "strides", n, null_ok = TRUE)
  check_padding(padding, fn)
  check_layer_common(fn, name)
  size <- if (n == 2) pair(pool_size) else as_int_list(pool_size)
  create_layer(class_name, object,
               list(name = name, pool_size = size,
                    strides = if (is.null(strides)) NULL else if (n == 2) pair(strides) else as_int_list(strides),
                    padding = tolower(padding), data_format = data_format),
               input_shape, batch_input_shape, batch_size, weights)
}

#' Max pooling operation for spatial data
#' @inheritParams layer_conv_2d
#' @param pool_size Integer or vector of 2 integers: factors by which to
#'   downscale (vertical, horizontal).
#' @param strides Integer, vector of 2 integers, or `NULL` (= `pool_size`).
#' @param padding `"valid"` or `"same"`.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_2d(filters = 4, kernel_size = 3, input_shape = c(8, 8, 1)) %>%
#'   layer_max_pooling_2d(pool_size = c(2, 2))
#' @export
layer_max_pooling_2d <- function(object, pool_size = c(2L, 2L), strides = NULL, padding = "valid",
                                 data_format = NULL, batch_size = NULL, name = NULL,
                                 trainable = NULL, weights = NULL) {
  df <- spatial_format(data_format, "layer_max_pooling_2d")
  pool_layer("MaxPooling2D", if (missing(object)) NULL else object, pool_size, strides, padding,
             name, NULL, NULL, batch_size, weights, data_format = df)
}

#' Average pooling operation for spatial data
#' @inheritParams layer_max_pooling_2d
#' @param input_shape Input shape (without the batch size) when used as the
#'   first layer of a Sequential model.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_average_pooling_2d(pool_size = 2, input_shape = c(8, 8, 1))
#' @export
layer_average_pooling_2d <- function(object, pool_size = c(2L, 2L), strides = NULL,
                                     padding = "valid", data_format = NULL, batch_size = NULL,
                                     name = NULL, trainable = NULL, weights = NULL,
                                     input_shape = NULL) {
  df <- spatial_format(data_format, "layer_average_pooling_2d")
  pool_layer("AveragePooling2D", if (missing(object)) NULL else object, pool_size, strides, padding,
             name, input_shape, NULL, batch_size, weights, data_format = df)
}

#' Max pooling operation for temporal data
#' @inheritParams layer_max_pooling_2d
#' @param pool_size Integer, size of the max pooling windows.
#' @param strides Integer, or `NULL` (= `pool_size`).
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_1d(filters = 4, kernel_size = 3, input_shape = c(10, 2)) %>%
#'   layer_max_pooling_1d(pool_size = 2)
#' @export
layer_max_pooling_1d <- function(object, pool_size = 2L, strides = NULL, padding = "valid",
                                 batch_size = NULL, name = NULL, trainable = NULL, weights = NULL) {
  pool_layer("MaxPooling1D", if (missing(object)) NULL else object, pool_size, strides, padding,
             name, NULL, NULL, batch_size, weights, n = 1)
}

#' Global max / average pooling operation for spatial data
#' @inheritParams layer_max_pooling_2d
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_2d(filters = 4, kernel_size = 3, input_shape = c(8, 8, 1)) %>%
#'   layer_global_average_pooling_2d()
#' @export
layer_global_max_pooling_2d <- function(object, data_format = NULL, batch_size = NULL,
                                        name = NULL, trainable = NULL, weights = NULL) {
  df <- spatial_format(data_format, "layer_global_max_pooling_2d")
  create_layer("GlobalMaxPooling2D", if (missing(object)) NULL else object,
               list(name = name, data_format = df), NULL, NULL, batch_size, weights)
}

#' @rdname layer_global_max_pooling_2d
#' @export
layer_global_average_pooling_2d <- function(object, data_format = NULL, batch_size = NULL,
                                            name = NULL, trainable = NULL, weights = NULL) {
  df <- spatial_format(data_format, "layer_global_average_pooling_2d")
  create_layer("GlobalAveragePooling2D", if (missing(object)) NULL else object,
               list(name = name, data_format = df), NULL, NULL, batch_size, weights)
}

#' Pooling operations for 3D data (spatial or spatio-temporal)
#'
#' Channels-last `(batch, D, H, W, C)`. Max / average pooling over
#' `pool_size` windows (average pooling with `"same"` padding averages the
#' cells inside the input only, as TensorFlow); the global versions pool over
#' all of D, H and W, giving `(batch, C)`.
#' @inheritParams layer_max_pooling_2d
#' @param pool_size Integer or 3 integers.
#' @param strides Integer, 3 integers, or `NULL` (= `pool_size`).
#' @param data_format `"channels_last"` (default; `NULL`) or `"channels_first"`
#'   (`(batch, channels, spatial...)`, computed as the channels-last layer between
#'   transposes; the weights have the same layout). The 1D and locally connected
#'   layers take only `"channels_last"`.
#' @param input_shape Input shape without the batch size, when the layer is
#'   the first of a sequential model.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_max_pooling_3d(pool_size = 2, input_shape = c(4, 4, 4, 1))
#' @name layer_max_pooling_3d
NULL

pool3d_layer <- function(fn, cls, object, pool_size, strides, padding, data_format, batch_size, name, trainable,
                         weights, input_shape = NULL) {
  df <- spatial_format(data_format, fn)
  check_sizes(pool_size, fn, "pool_size", 3)
  check_sizes(strides, fn, "strides", 3, null_ok = TRUE)
  check_padding(padding, fn)
  surface_layer(fn, cls, object,
                list(pool_size = n_ints(pool_size, 3), strides = n_ints(strides, 3), padding = tolower(padding),
                     data_format = df),
                input_shape, NULL, batch_size, NULL, name, trainable, weights)
}

#' @rdname layer_max_pooling_3d
#' @export
layer_max_pooling_3d <- function(object, pool_size = c(2L, 2L, 2L), strides = NULL, padding = "valid",
                                 data_format = NULL, batch_size = NULL, name = NULL, trainable = NULL,
                                 weights = NULL, input_shape = NULL) {
  pool3d_layer("layer_max_pooling_3d", "MaxPooling3D", if (missing(object)) NULL else object, pool_size, strides,
               padding, data_format, batch_size, name, trainable, weights, input_shape)
}

#' @rdname layer_max_pooling_3d
#' @export
layer_average_pooling_3d <- function(object, pool_size = c(2L, 2L, 2L), strides = NULL, padding = "valid",
                                     data_format = NULL, batch_size = NULL, name = NULL, trainable = NULL,
                                     weights = NULL, input_shape = NULL) {
  pool3d_layer("layer_average_pooling_3d", "AveragePooling3D", if (missing(object)) NULL else object, pool_size,
               strides, padding, data_format, batch_size, name, trainable, weights, input_shape)
}

#' @rdname layer_max_pooling_3d
#' @export
layer_global_max_pooling_3d <- function(object, data_format = NULL, batch_size = NULL, name = NULL,
                                        trainable = NULL, weights = NULL, input_shape = NULL) {
  fn <- "layer_global_max_pooling_3d"
  df <- spatial_format(data_format, fn)
  surface_layer(fn, "GlobalMaxPooling3D", if (missing(object)) NULL else object, list(data_format = df),
                input_shape, NULL, batch_size, NULL, name, trainable, weights)
}

#' @rdname layer_max_pooling_3d
#' @export
layer_global_average_pooling_3d <- function(object, data_format = NULL, batch_size = NULL, name = NULL,
                                            trainable = NULL, weights = NULL, input_shape = NULL) {
  fn <- "layer_global_average_pooling_3d"
  df <- spatial_format(data_format, fn)
  surface_layer(fn, "GlobalAveragePooling3D", if (missing(object)) NULL else object,
                list(data_format = df), input_shape, NULL, batch_size, NULL, name, trainable, weights)
}
