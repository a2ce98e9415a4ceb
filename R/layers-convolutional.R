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
#' @param data_format Only `"channels_last"` (or `NULL`).
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
  check_no_penalties(kernel_regularizer, bias_regularizer, activity_regularizer,
                     kernel_constraint, bias_constraint)
  check_data_format(data_format, "layer_conv_2d")
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
    list(name = name, filters = as.integer(filters), kernel_size = pair(kernel_size),
         strides = pair(strides), padding = tolower(padding), data_format = "channels_last",
         dilation_rate = pair(dilation_rate), activation = activation %||% "linear",
         use_bias = use_bias, kernel_initializer = kernel_initializer,
         bias_initializer = bias_initializer),
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
  check_no_penalties(kernel_regularizer, bias_regularizer, activity_regularizer,
                     kernel_constraint, bias_constraint)
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
    list(name = name, filters = as.integer(filters), kernel_size = as_int_list(kernel_size),
         strides = as_int_list(strides), padding = tolower(padding),
         dilation_rate = as_int_list(dilation_rate), activation = activation %||% "linear",
         use_bias = use_bias, kernel_initializer = kernel_initializer,
         bias_initializer = bias_initializer),
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
  check_data_format(data_format, "layer_zero_padding_2d")
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
               list(name = name, padding = p, data_format = "channels_last"),
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
