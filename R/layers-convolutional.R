as_int_list <- function(x) if (is.null(x)) NULL else as.list(as.integer(x))
pair <- function(x) if (is.null(x)) NULL else as.list(rep_len(as.integer(x), 2))
# Positive whole numbers, one per spatial dimension (or one for all of them).
check_sizes <- function(x, fn, arg, n, null_ok = FALSE) {
  check_whole(x, fn, arg, len = unique(c(1L, as.integer(n))), null_ok = null_ok)
}
check_padding <- function(padding, fn) {
  if (!is.character(padding) || length(padding) != 1 || !tolower(padding) %in% c("valid", "same"))
    arg_fail(fn, "padding", 'one of "valid", "same"', padding)
}

check_data_format <- function(data_format, fn) {
  if (!is.null(data_format) && !identical(tolower(data_format), "channels_last"))
    stop(fn, "(): data_format = '", data_format, "' is not supported; kerasnative is channels-last ",
         "(N, H, W, C): transpose the data with aperm() instead", call. = FALSE)
}

#' 2D convolution layer (e.g. spatial convolution over images)
#'
#' Channels-last cross-correlation with a `(kh, kw, in, out)` kernel, as
#' Keras; `"same"` padding is placed as TensorFlow places it.
#' @inheritParams layer_dense
#' @param filters Integer, the number of output filters.
#' @param kernel_size An integer or list of 2 integers: height and width of
#'   the convolution window.
#' @param strides An integer or list of 2 integers: the strides.
#' @param padding `"valid"` or `"same"` (case-insensitive).
#' @param data_format `"channels_last"` (default; `NULL`) or `"channels_first"`
#'   (`(batch, channels, spatial...)`, computed as the channels-last layer between
#'   transposes; the weights have the same layout). The 1D and locally connected
#'   layers take only `"channels_last"`.
#' @param dilation_rate An integer or list of 2 integers for dilated convolution.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_2d(filters = 8, kernel_size = c(3, 3), activation = "relu",
#'                 input_shape = c(28, 28, 1))
#' @export
layer_conv_2d <- function(object, filters, kernel_size, strides = c(1L, 1L), padding = "valid",
                          data_format = NULL, dilation_rate = c(1L, 1L), activation = NULL,
                          use_bias = TRUE, kernel_initializer = "glorot_uniform",
                          bias_initializer = "zeros", kernel_regularizer = NULL,
                          bias_regularizer = NULL, activity_regularizer = NULL,
                          kernel_constraint = NULL, bias_constraint = NULL, input_shape = NULL,
                          batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                          trainable = NULL, weights = NULL) {
  penalties <- penalty_args("layer_conv_2d", kernel_regularizer = kernel_regularizer,
                            bias_regularizer = bias_regularizer, activity_regularizer = activity_regularizer,
                            kernel_constraint = kernel_constraint, bias_constraint = bias_constraint)
  df <- spatial_format(data_format, "layer_conv_2d")
  if (missing(filters) || missing(kernel_size)) stop("layer_conv_2d(): `filters` and `kernel_size` are required", call. = FALSE)
  check_whole(filters, "layer_conv_2d", "filters")
  check_sizes(kernel_size, "layer_conv_2d", "kernel_size", 2)
  check_sizes(strides, "layer_conv_2d", "strides", 2)
  check_sizes(dilation_rate, "layer_conv_2d", "dilation_rate", 2)
  check_padding(padding, "layer_conv_2d")
  check_layer_common("layer_conv_2d", name, activation, use_bias)
  if (!is.null(input_shape) && length(unlist(input_shape)) != 3)
    arg_fail("layer_conv_2d", "input_shape", "3 dimensions (height, width, channels)", input_shape)
  res <- create_layer("Conv2D", if (missing(object)) NULL else object,
    c(list(name = name, filters = as.integer(filters), kernel_size = pair(kernel_size),
           strides = pair(strides), padding = tolower(padding), data_format = df,
           dilation_rate = pair(dilation_rate), activation = activation %||% "linear",
           use_bias = use_bias, kernel_initializer = kernel_initializer,
           bias_initializer = bias_initializer), penalties),
    input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(res, trainable)
}

#' 1D convolution layer (e.g. temporal convolution)
#' @inheritParams layer_conv_2d
#' @param kernel_size,strides,dilation_rate Integers.
#' @param padding `"valid"`, `"same"` or `"causal"`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_1d(filters = 4, kernel_size = 3, input_shape = c(10, 2))
#' @export
layer_conv_1d <- function(object, filters, kernel_size, strides = 1L, padding = "valid",
                          dilation_rate = 1L, activation = NULL, use_bias = TRUE,
                          kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                          kernel_regularizer = NULL, bias_regularizer = NULL,
                          activity_regularizer = NULL, kernel_constraint = NULL,
                          bias_constraint = NULL, input_shape = NULL, batch_input_shape = NULL,
                          batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                          weights = NULL) {
  pen <- penalty_args("layer_conv_1d", kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                      activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                      bias_constraint = bias_constraint)
  if (missing(filters) || missing(kernel_size)) stop("layer_conv_1d(): `filters` and `kernel_size` are required", call. = FALSE)
  check_whole(filters, "layer_conv_1d", "filters")
  check_sizes(kernel_size, "layer_conv_1d", "kernel_size", 1)
  check_sizes(strides, "layer_conv_1d", "strides", 1)
  check_sizes(dilation_rate, "layer_conv_1d", "dilation_rate", 1)
  check_padding(padding, "layer_conv_1d")
  check_layer_common("layer_conv_1d", name, activation, use_bias)
  if (!is.null(input_shape) && length(unlist(input_shape)) != 2)
    arg_fail("layer_conv_1d", "input_shape", "2 dimensions (steps, channels)", input_shape)
  res <- create_layer("Conv1D", if (missing(object)) NULL else object,
    c(list(name = name, filters = as.integer(filters), kernel_size = as_int_list(kernel_size),
           strides = as_int_list(strides), padding = tolower(padding),
           dilation_rate = as_int_list(dilation_rate), activation = activation %||% "linear",
           use_bias = use_bias, kernel_initializer = kernel_initializer,
           bias_initializer = bias_initializer), pen),
    input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(res, trainable)
}

#' Zero-padding layer for 2D input (e.g. picture)
#' @inheritParams layer_conv_2d
#' @param padding int, or list of 2 ints (symmetric height/width padding), or
#'   list of 2 lists of 2 ints: `list(c(top, bottom), c(left, right))`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_zero_padding_2d(padding = c(1, 1), input_shape = c(4, 4, 1))
#' @export
layer_zero_padding_2d <- function(object, padding = c(1L, 1L), data_format = NULL,
                                  input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                                  dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  df <- spatial_format(data_format, "layer_zero_padding_2d")
  check_layer_common("layer_zero_padding_2d", name)
  if (is.list(padding)) {
    if (length(padding) != 2) arg_fail("layer_zero_padding_2d", "padding", "a list of 2 pairs", padding)
    for (v in padding) check_whole(v, "layer_zero_padding_2d", "padding", min = 0, len = 1:2)
  } else {
    check_whole(padding, "layer_zero_padding_2d", "padding", min = 0, len = 1:2)
  }
  if (is.list(padding)) p <- lapply(padding, function(v) as.list(rep_len(as.integer(v), 2)))
  else { v <- rep_len(as.integer(padding), 2); p <- list(list(v[1], v[1]), list(v[2], v[2])) }
  create_layer("ZeroPadding2D", if (missing(object)) NULL else object,
               list(name = name, padding = p, data_format = df),
               input_shape, batch_input_shape, batch_size, weights)
}

#' Reshapes an output to a certain shape
#' @inheritParams layer_dense
#' @param target_shape Target shape, not including the samples dimension
#'   (one entry may be -1).
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_reshape(target_shape = c(28, 28, 1), input_shape = 784)
#' @export
layer_reshape <- function(object, target_shape, input_shape = NULL, batch_input_shape = NULL,
                          batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                          weights = NULL) {
  if (missing(target_shape)) stop("layer_reshape(): `target_shape` is required", call. = FALSE)
  ts <- check_whole(unlist(target_shape), "layer_reshape", "target_shape", min = -1, len = seq_len(16))
  if (any(ts == 0) || sum(ts == -1) > 1)
    arg_fail("layer_reshape", "target_shape", "positive whole numbers (at most one -1)", target_shape)
  check_layer_common("layer_reshape", name)
  create_layer("Reshape", if (missing(object)) NULL else object,
               list(name = name, target_shape = as_int_list(target_shape)),
               input_shape, batch_input_shape, batch_size, weights)
}

# (before, after) pairs per spatial axis from an int, `n` ints or `n` pairs.
spatial_pairs <- function(x, fn, arg, n) {
  if (is.list(x)) {
    if (length(x) != n) arg_fail(fn, arg, sprintf("a list of %d pairs", n), x)
    return(lapply(x, function(v) as.list(rep_len(check_whole(v, fn, arg, min = 0, len = 1:2), 2))))
  }
  v <- rep_len(check_whole(x, fn, arg, min = 0, len = unique(c(1L, n))), n)
  lapply(v, function(e) list(e, e))
}
spatial_format <- function(data_format, fn) {
  if (is.null(data_format)) return("channels_last")
  check_string(data_format, fn, "data_format", choices = c("channels_last", "channels_first"))
  data_format
}

#' Upsampling layers for 2D and 3D inputs
#'
#' Repeat each row / column (/ depth slice) `size` times (nearest neighbour).
#' @inheritParams layer_dense
#' @param size Integer or vector of 2 (3) integers: the upsampling factors.
#' @param data_format `"channels_last"` (default, `(batch, spatial..., channels)`)
#'   or `"channels_first"` (`(batch, channels, spatial...)`).
#' @param interpolation `"nearest"` (repeat) or `"bilinear"` (layer_upsampling_2d only;
#'   TensorFlow's `resize_bilinear` without aligned corners: output `i` reads input `i / size`).
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_upsampling_2d(size = c(2, 2), input_shape = c(4, 4, 1))
#' @export
layer_upsampling_2d <- function(object, size = c(2L, 2L), data_format = NULL, interpolation = "nearest",
                                input_shape = NULL, batch_input_shape = NULL, batch_size = NULL, dtype = NULL,
                                name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_upsampling_2d"
  check_sizes(size, fn, "size", 2)
  check_string(interpolation, fn, "interpolation", choices = c("nearest", "bilinear"))
  surface_layer(fn, "UpSampling2D", if (missing(object)) NULL else object,
                list(size = pair(size), data_format = spatial_format(data_format, fn), interpolation = interpolation),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_upsampling_2d
#' @export
layer_upsampling_3d <- function(object, size = c(2L, 2L, 2L), data_format = NULL, input_shape = NULL,
                                batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                                trainable = NULL, weights = NULL) {
  fn <- "layer_upsampling_3d"
  check_sizes(size, fn, "size", 3)
  surface_layer(fn, "UpSampling3D", if (missing(object)) NULL else object,
                list(size = as.list(rep_len(as.integer(size), 3)), data_format = spatial_format(data_format, fn)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' Cropping layers for 2D and 3D inputs
#'
#' Remove `cropping` rows / columns (/ depth slices) at each end.
#' @inheritParams layer_upsampling_2d
#' @param cropping An integer, 2 (3) integers (symmetric) or a list of 2 (3)
#'   pairs `c(before, after)`.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_cropping_2d(cropping = list(c(1, 1), c(2, 0)), input_shape = c(6, 6, 1))
#' @export
layer_cropping_2d <- function(object, cropping = list(c(0L, 0L), c(0L, 0L)), data_format = NULL,
                              input_shape = NULL, batch_input_shape = NULL, batch_size = NULL, dtype = NULL,
                              name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_cropping_2d"
  surface_layer(fn, "Cropping2D", if (missing(object)) NULL else object,
                list(cropping = spatial_pairs(cropping, fn, "cropping", 2), data_format = spatial_format(data_format, fn)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_cropping_2d
#' @export
layer_cropping_3d <- function(object, cropping = list(c(1L, 1L), c(1L, 1L), c(1L, 1L)), data_format = NULL,
                              input_shape = NULL, batch_input_shape = NULL, batch_size = NULL, dtype = NULL,
                              name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_cropping_3d"
  surface_layer(fn, "Cropping3D", if (missing(object)) NULL else object,
                list(cropping = spatial_pairs(cropping, fn, "cropping", 3), data_format = spatial_format(data_format, fn)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' Zero-padding layer for 3D input (e.g. spatial or spatio-temporal)
#' @inheritParams layer_upsampling_2d
#' @param padding An integer, 3 integers (symmetric) or a list of 3 pairs `c(before, after)`.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_zero_padding_3d(padding = 1, input_shape = c(3, 3, 3, 1))
#' @export
layer_zero_padding_3d <- function(object, padding = c(1L, 1L, 1L), data_format = NULL, input_shape = NULL,
                                  batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                                  trainable = NULL, weights = NULL) {
  fn <- "layer_zero_padding_3d"
  surface_layer(fn, "ZeroPadding3D", if (missing(object)) NULL else object,
                list(padding = spatial_pairs(padding, fn, "padding", 3), data_format = spatial_format(data_format, fn)),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

# Sizes -> list of n integers.
n_ints <- function(x, n) if (is.null(x)) NULL else as.list(rep_len(as.integer(x), n))
# Checks shared by the convolution layers below; returns their common config entries.
conv_common <- function(fn, n, kernel_size, strides, padding, data_format, activation, use_bias, name,
                        dilation_rate = 1L) {
  df <- spatial_format(data_format, fn)
  check_sizes(kernel_size, fn, "kernel_size", n)
  check_sizes(strides, fn, "strides", n)
  check_sizes(dilation_rate, fn, "dilation_rate", n)
  check_padding(padding, fn)
  check_layer_common(fn, name, activation, use_bias)
  list(kernel_size = n_ints(kernel_size, n), strides = n_ints(strides, n), padding = tolower(padding),
       data_format = df, dilation_rate = n_ints(dilation_rate, n),
       activation = activation %||% "linear", use_bias = use_bias)
}

#' Transposed convolution layers (deconvolution)
#'
#' The adjoint of [layer_conv_2d()] / [layer_conv_3d()]: output size per axis
#' `input * strides` (`"same"`) or `input * strides + max(kernel - strides, 0)`
#' (`"valid"`), or `(input - 1) * strides + kernel - 2 * pad + output_padding`
#' when `output_padding` is given. Kernel `(kh, kw, filters, in)` as Keras.
#' @inheritParams layer_conv_2d
#' @param output_padding `NULL` or an integer (vector) smaller than `strides`:
#'   extra rows / columns at the end of the output.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_2d_transpose(filters = 4, kernel_size = 3, strides = 2, padding = "same",
#'                           input_shape = c(7, 7, 8))
#' @export
layer_conv_2d_transpose <- function(object, filters, kernel_size, strides = c(1, 1), padding = "valid",
                                    output_padding = NULL, data_format = NULL, dilation_rate = c(1, 1),
                                    activation = NULL, use_bias = TRUE, kernel_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", kernel_regularizer = NULL, bias_regularizer = NULL,
                                    activity_regularizer = NULL, kernel_constraint = NULL, bias_constraint = NULL,
                                    input_shape = NULL, batch_input_shape = NULL, batch_size = NULL, dtype = NULL,
                                    name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_conv_2d_transpose"
  if (missing(filters) || missing(kernel_size)) stop(fn, "(): `filters` and `kernel_size` are required", call. = FALSE)
  check_whole(filters, fn, "filters")
  cfg <- conv_common(fn, 2, kernel_size, strides, padding, data_format, activation, use_bias, name, dilation_rate)
  if (any(unlist(cfg$dilation_rate) != 1) && (any(unlist(cfg$strides) != 1) || length(unique(unlist(cfg$dilation_rate))) != 1))
    stop(fn, "(): a `dilation_rate` other than 1 needs `strides = 1` and the same rate on both axes ",
         "(TensorFlow's atrous transposed convolution, as Keras uses)", call. = FALSE)
  if (!is.null(output_padding)) check_whole(output_padding, fn, "output_padding", min = 0, len = 1:2)
  pen <- penalty_args(fn, kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                      activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                      bias_constraint = bias_constraint)
  surface_layer(fn, "Conv2DTranspose", if (missing(object)) NULL else object,
                c(list(filters = as.integer(filters)), cfg,
                  list(output_padding = n_ints(output_padding, 2), kernel_initializer = kernel_initializer,
                       bias_initializer = bias_initializer), pen),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_conv_2d_transpose
#' @export
layer_conv_3d_transpose <- function(object, filters, kernel_size, strides = c(1, 1, 1), padding = "valid",
                                    output_padding = NULL, data_format = NULL, activation = NULL, use_bias = TRUE,
                                    kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                                    kernel_regularizer = NULL, bias_regularizer = NULL, activity_regularizer = NULL,
                                    kernel_constraint = NULL, bias_constraint = NULL, input_shape = NULL,
                                    batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                                    trainable = NULL, weights = NULL) {
  fn <- "layer_conv_3d_transpose"
  if (missing(filters) || missing(kernel_size)) stop(fn, "(): `filters` and `kernel_size` are required", call. = FALSE)
  check_whole(filters, fn, "filters")
  cfg <- conv_common(fn, 3, kernel_size, strides, padding, data_format, activation, use_bias, name)
  if (!is.null(output_padding)) check_whole(output_padding, fn, "output_padding", min = 0, len = c(1L, 3L))
  pen <- penalty_args(fn, kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                      activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                      bias_constraint = bias_constraint)
  surface_layer(fn, "Conv3DTranspose", if (missing(object)) NULL else object,
                c(list(filters = as.integer(filters)), cfg,
                  list(output_padding = n_ints(output_padding, 3), kernel_initializer = kernel_initializer,
                       bias_initializer = bias_initializer), pen),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' 3D convolution layer (e.g. spatial convolution over volumes)
#'
#' Channels-last `(batch, D, H, W, C)`, kernel `(kd, kh, kw, in, filters)` as Keras.
#' @inheritParams layer_conv_2d
#' @param kernel_size,strides,dilation_rate An integer or 3 integers.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_conv_3d(filters = 4, kernel_size = 3, input_shape = c(8, 8, 8, 1))
#' @export
layer_conv_3d <- function(object, filters, kernel_size, strides = c(1L, 1L, 1L), padding = "valid",
                          data_format = NULL, dilation_rate = c(1L, 1L, 1L), activation = NULL, use_bias = TRUE,
                          kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                          kernel_regularizer = NULL, bias_regularizer = NULL, activity_regularizer = NULL,
                          kernel_constraint = NULL, bias_constraint = NULL, input_shape = NULL,
                          batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                          trainable = NULL, weights = NULL) {
  fn <- "layer_conv_3d"
  if (missing(filters) || missing(kernel_size)) stop(fn, "(): `filters` and `kernel_size` are required", call. = FALSE)
  check_whole(filters, fn, "filters")
  cfg <- conv_common(fn, 3, kernel_size, strides, padding, data_format, activation, use_bias, name, dilation_rate)
  pen <- penalty_args(fn, kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                      activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                      bias_constraint = bias_constraint)
  surface_layer(fn, "Conv3D", if (missing(object)) NULL else object,
                c(list(filters = as.integer(filters)), cfg,
                  list(kernel_initializer = kernel_initializer, bias_initializer = bias_initializer), pen),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' Depthwise and depthwise separable 2D convolutions
#'
#' `layer_depthwise_conv_2d()` convolves each input channel with its own
#' `depth_multiplier` kernels (weights `(kh, kw, in, depth_multiplier)`);
#' `layer_separable_conv_2d()` follows it with a 1x1 convolution to `filters`
#' outputs (weights `(1, 1, in * depth_multiplier, filters)`).
#' @inheritParams layer_conv_2d
#' @param depth_multiplier Number of depthwise outputs per input channel.
#' @param depthwise_initializer,pointwise_initializer Initializers of the two kernels.
#' @param depthwise_regularizer,pointwise_regularizer Regularizers of the two kernels.
#' @param depthwise_constraint,pointwise_constraint Constraints of the two kernels.
#' @param bias_initializer,bias_regularizer,bias_constraint Initializer, regularizer
#'   and constraint of the bias.
#' @param activity_regularizer Regularizer of the layer's output.
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_separable_conv_2d(filters = 8, kernel_size = 3, input_shape = c(16, 16, 3))
#' @export
layer_separable_conv_2d <- function(object, filters, kernel_size, strides = c(1, 1), padding = "valid",
                                    data_format = NULL, dilation_rate = 1, depth_multiplier = 1, activation = NULL,
                                    use_bias = TRUE, depthwise_initializer = "glorot_uniform",
                                    pointwise_initializer = "glorot_uniform", bias_initializer = "zeros",
                                    depthwise_regularizer = NULL, pointwise_regularizer = NULL,
                                    bias_regularizer = NULL, activity_regularizer = NULL,
                                    depthwise_constraint = NULL, pointwise_constraint = NULL, bias_constraint = NULL,
                                    input_shape = NULL, batch_input_shape = NULL, batch_size = NULL, dtype = NULL,
                                    name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_separable_conv_2d"
  if (missing(filters) || missing(kernel_size)) stop(fn, "(): `filters` and `kernel_size` are required", call. = FALSE)
  check_whole(filters, fn, "filters")
  cfg <- conv_common(fn, 2, kernel_size, strides, padding, data_format, activation, use_bias, name, dilation_rate)
  pen <- penalty_args(fn, depthwise_regularizer = depthwise_regularizer, pointwise_regularizer = pointwise_regularizer,
                      bias_regularizer = bias_regularizer, activity_regularizer = activity_regularizer,
                      depthwise_constraint = depthwise_constraint, pointwise_constraint = pointwise_constraint,
                      bias_constraint = bias_constraint)
  surface_layer(fn, "SeparableConv2D", if (missing(object)) NULL else object,
                c(list(filters = as.integer(filters)), cfg,
                  list(depth_multiplier = check_whole(depth_multiplier, fn, "depth_multiplier"),
                       depthwise_initializer = depthwise_initializer, pointwise_initializer = pointwise_initializer,
                       bias_initializer = bias_initializer), pen),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_separable_conv_2d
#' @export
layer_depthwise_conv_2d <- function(object, kernel_size, strides = c(1, 1), padding = "valid", depth_multiplier = 1,
                                    data_format = NULL, activation = NULL, use_bias = TRUE,
                                    depthwise_initializer = "glorot_uniform", bias_initializer = "zeros",
                                    depthwise_regularizer = NULL, bias_regularizer = NULL, activity_regularizer = NULL,
                                    depthwise_constraint = NULL, bias_constraint = NULL, input_shape = NULL,
                                    batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                                    trainable = NULL, weights = NULL) {
  fn <- "layer_depthwise_conv_2d"
  if (missing(kernel_size)) stop(fn, "(): `kernel_size` is required", call. = FALSE)
  cfg <- conv_common(fn, 2, kernel_size, strides, padding, data_format, activation, use_bias, name)
  pen <- penalty_args(fn, depthwise_regularizer = depthwise_regularizer, bias_regularizer = bias_regularizer,
                      activity_regularizer = activity_regularizer, depthwise_constraint = depthwise_constraint,
                      bias_constraint = bias_constraint)
  surface_layer(fn, "DepthwiseConv2D", if (missing(object)) NULL else object,
                c(cfg, list(depth_multiplier = check_whole(depth_multiplier, fn, "depth_multiplier"),
                            depthwise_initializer = depthwise_initializer, bias_initializer = bias_initializer), pen),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}
