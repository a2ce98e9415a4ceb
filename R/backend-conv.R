# Backend convolution and pooling (keras 2.2.5 names, arguments, defaults):
# each records one op of the engine's op table ("conv", "conv_transpose",
# "depthwise_conv", "pool"; src/ops/ops_conv.cpp), channels-last. With
# data_format = "channels_first" the input is permuted to channels-last and the
# result back. Kernels are (kernel..., in_channels, out_channels) as in Keras.

conv_data_format <- function(data_format, fn) {
  df <- data_format %||% k_image_data_format()
  if (!is.character(df) || length(df) != 1 || !df %in% c("channels_last", "channels_first"))
    stop(fn, "(): `data_format` must be \"channels_last\" or \"channels_first\"", call. = FALSE)
  df
}

# x of spatial rank r (r + 2 dims), with channels last; the permutation back.
conv_input <- function(x, r, df, fn) {
  x <- as_tensor_arg(x)
  nd <- length(tensor_full_shape(x))
  if (nd != r + 2)
    stop(fn, "(): `x` must be a ", r + 2, "D tensor (batch, ", r, " spatial axes, channels), got ", nd, "D",
         call. = FALSE)
  if (df == "channels_last") return(list(x = x, back = identity))
  to_last <- c(1L, seq_len(r) + 2L, 2L)  # (N, C, s...) -> (N, s..., C)
  to_first <- c(1L, r + 2L, seq_len(r) + 1L)
  list(x = k_permute_dimensions(x, to_last), back = function(y) k_permute_dimensions(y, to_first))
}

conv_ints <- function(v, r, what, fn) {
  v <- as.integer(unlist(v))
  if (length(v) == 1) v <- rep(v, r)
  if (length(v) != r || anyNA(v) || any(v < 1))
    stop(fn, "(): `", what, "` must be ", r, " positive integer(s), got ", paste(v, collapse = ", "), call. = FALSE)
  v
}

conv_padding <- function(padding, fn, causal = FALSE) {
  ok <- c("valid", "same", if (causal) "causal")
  if (!is.character(padding) || length(padding) != 1 || !tolower(padding) %in% ok)
    stop(fn, "(): `padding` must be one of ", paste0("\"", ok, "\"", collapse = ", "), call. = FALSE)
  tolower(padding)
}

conv_nd <- function(x, kernel, strides, padding, data_format, dilation_rate, r, fn) {
  df <- conv_data_format(data_format, fn)
  xi <- conv_input(x, r, df, fn)
  y <- record_op("conv", list(xi$x, kernel),
                 list(strides = I(conv_ints(strides, r, "strides", fn)), padding = conv_padding(padding, fn, r == 1),
                      dilation_rate = I(conv_ints(dilation_rate, r, "dilation_rate", fn))), fn = fn)
  xi$back(y)
}

#' Backend convolutions and pooling
#'
#' Channels-last (or `data_format = "channels_first"`) convolutions and
#' pooling of tensors, as keras 2.2.5's backend: cross-correlation with
#' TensorFlow's window placement.
#' @param x Input tensor (batch, spatial..., channels).
#' @param kernel Kernel tensor (kernel size..., in_channels, filters); for
#'   `k_conv2d_transpose()` (kh, kw, filters, in_channels).
#' @param strides Strides, one per spatial axis.
#' @param padding `"valid"` or `"same"` (`"causal"` for `k_conv1d()`).
#' @param data_format `"channels_last"` (the default when `NULL`) or `"channels_first"`.
#' @param dilation_rate Dilation, one per spatial axis.
#' @param output_shape Output shape of the transposed convolution, (batch, height, width, filters)
#'   (the batch may be `NA` or `NULL`).
#' @param depthwise_kernel Depthwise kernel (kh, kw, in_channels, depth_multiplier).
#' @param pointwise_kernel Pointwise kernel (1, 1, in_channels * depth_multiplier, filters).
#' @param pool_size Window size, one per spatial axis.
#' @param pool_mode `"max"` or `"avg"`.
#' @return A tensor.
#' @name backend_conv
NULL

#' @rdname backend_conv
#' @export
k_conv1d <- function(x, kernel, strides = 1, padding = "valid", data_format = NULL, dilation_rate = 1)
  conv_nd(x, kernel, strides, padding, data_format, dilation_rate, 1L, "k_conv1d")

#' @rdname backend_conv
#' @export
k_conv2d <- function(x, kernel, strides = c(1, 1), padding = "valid", data_format = NULL, dilation_rate = c(1, 1))
  conv_nd(x, kernel, strides, padding, data_format, dilation_rate, 2L, "k_conv2d")

#' @rdname backend_conv
#' @export
k_conv3d <- function(x, kernel, strides = c(1, 1, 1), padding = "valid", data_format = NULL,
                     dilation_rate = c(1, 1, 1))
  conv_nd(x, kernel, strides, padding, data_format, dilation_rate, 3L, "k_conv3d")

#' @rdname backend_conv
#' @export
k_conv2d_transpose <- function(x, kernel, output_shape, strides = c(1, 1), padding = "valid", data_format = NULL) {
  fn <- "k_conv2d_transpose"
  df <- conv_data_format(data_format, fn)
  xi <- conv_input(x, 2L, df, fn)
  os <- vapply(as.list(output_shape), function(d) if (is.null(d) || is.na(d)) NA_real_ else as.numeric(d), 1)
  if (length(os) != 4 || anyNA(os[-1]) || any(os[-1] < 1))
    stop(fn, "(): `output_shape` must be (batch, height, width, filters) with known positive sizes beyond the batch",
         call. = FALSE)
  if (df == "channels_first") os <- os[c(1, 3, 4, 2)]
  y <- record_op("conv_transpose", list(xi$x, kernel),
                 list(strides = I(conv_ints(strides, 2L, "strides", fn)), padding = conv_padding(padding, fn),
                      output_shape = I(ifelse(is.na(os), -1L, as.integer(os)))), fn = fn)
  xi$back(y)
}

#' @rdname backend_conv
#' @export
k_depthwise_conv2d <- function(x, depthwise_kernel, strides = c(1, 1), padding = "valid", data_format = NULL,
                               dilation_rate = c(1, 1)) {
  fn <- "k_depthwise_conv2d"
  df <- conv_data_format(data_format, fn)
  xi <- conv_input(x, 2L, df, fn)
  y <- record_op("depthwise_conv", list(xi$x, depthwise_kernel),
                 list(strides = I(conv_ints(strides, 2L, "strides", fn)), padding = conv_padding(padding, fn),
                      dilation_rate = I(conv_ints(dilation_rate, 2L, "dilation_rate", fn))), fn = fn)
  xi$back(y)
}

#' @rdname backend_conv
#' @export
k_separable_conv2d <- function(x, depthwise_kernel, pointwise_kernel, strides = c(1, 1), padding = "valid",
                               data_format = NULL, dilation_rate = c(1, 1)) {
  fn <- "k_separable_conv2d"
  df <- conv_data_format(data_format, fn)
  xi <- conv_input(x, 2L, df, fn)
  z <- record_op("depthwise_conv", list(xi$x, depthwise_kernel),
                 list(strides = I(conv_ints(strides, 2L, "strides", fn)), padding = conv_padding(padding, fn),
                      dilation_rate = I(conv_ints(dilation_rate, 2L, "dilation_rate", fn))), fn = fn)
  ps <- tensor_full_shape(as_tensor_arg(pointwise_kernel))
  if (length(ps) != 4 || !identical(as.numeric(ps[1:2]), c(1, 1)))
    stop(fn, "(): `pointwise_kernel` must have shape (1, 1, in_channels * depth_multiplier, filters)", call. = FALSE)
  xi$back(record_op("conv", list(z, pointwise_kernel), list(), fn = fn))
}

pool_nd <- function(x, pool_size, strides, padding, data_format, pool_mode, r, fn) {
  df <- conv_data_format(data_format, fn)
  if (!is.character(pool_mode) || length(pool_mode) != 1 || !pool_mode %in% c("max", "avg"))
    stop(fn, "(): `pool_mode` must be \"max\" or \"avg\"", call. = FALSE)
  xi <- conv_input(x, r, df, fn)
  y <- record_op("pool", list(xi$x),
                 list(pool_size = I(conv_ints(pool_size, r, "pool_size", fn)),
                      strides = I(conv_ints(strides, r, "strides", fn)), padding = conv_padding(padding, fn),
                      pool_mode = pool_mode), fn = fn)
  xi$back(y)
}

#' @rdname backend_conv
#' @export
k_pool2d <- function(x, pool_size, strides = c(1, 1), padding = "valid", data_format = NULL, pool_mode = "max")
  pool_nd(x, pool_size, strides, padding, data_format, pool_mode, 2L, "k_pool2d")

#' @rdname backend_conv
#' @export
k_pool3d <- function(x, pool_size, strides = c(1, 1, 1), padding = "valid", data_format = NULL, pool_mode = "max")
  pool_nd(x, pool_size, strides, padding, data_format, pool_mode, 3L, "k_pool3d")
