#' Locally-connected layers
#'
#' Like [layer_conv_1d()] / [layer_conv_2d()] with `padding = "valid"`, but
#' every output position has its own weights: kernel `(positions, patch,
#' filters)` and bias `(positions..., filters)`, Keras's layout.
#' @inheritParams layer_conv_2d
#' @param padding Only `"valid"` (as Keras).
#' @param implementation Only 1 (Keras's default weight layout).
#' @return A model, tensor or layer, depending on `object`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_locally_connected_2d(filters = 4, kernel_size = 3, input_shape = c(8, 8, 1))
#' @name layer_locally_connected
NULL

local_layer <- function(fn, cls, n, object, filters, kernel_size, strides, padding, data_format, activation,
                        use_bias, kernel_initializer, bias_initializer, pen, implementation, input_shape,
                        batch_input_shape, batch_size, dtype, name, trainable, weights) {
  if (is.null(filters) || is.null(kernel_size)) stop(fn, "(): `filters` and `kernel_size` are required", call. = FALSE)
  check_whole(filters, fn, "filters")
  if (!identical(tolower(padding), "valid")) stop(fn, "(): only padding = \"valid\" is supported (as in Keras)", call. = FALSE)
  if (!identical(as.numeric(implementation), 1)) stop(fn, "(): only `implementation = 1` is supported", call. = FALSE)
  check_data_format(data_format, fn)
  check_sizes(kernel_size, fn, "kernel_size", n)
  check_sizes(strides, fn, "strides", n)
  check_layer_common(fn, name, activation, use_bias)
  surface_layer(fn, cls, object,
                c(list(filters = as.integer(filters), kernel_size = n_ints(kernel_size, n), strides = n_ints(strides, n),
                       padding = "valid", activation = activation %||% "linear", use_bias = use_bias,
                       kernel_initializer = kernel_initializer, bias_initializer = bias_initializer), pen),
                input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_locally_connected
#' @export
layer_locally_connected_1d <- function(object, filters, kernel_size, strides = 1L, padding = "valid",
                                       activation = NULL, use_bias = TRUE, kernel_initializer = "glorot_uniform",
                                       bias_initializer = "zeros", kernel_regularizer = NULL, bias_regularizer = NULL,
                                       activity_regularizer = NULL, kernel_constraint = NULL, bias_constraint = NULL,
                                       implementation = 1L, input_shape = NULL, batch_input_shape = NULL,
                                       batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_locally_connected_1d"
  pen <- penalty_args(fn, kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                      activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                      bias_constraint = bias_constraint)
  local_layer(fn, "LocallyConnected1D", 1, if (missing(object)) NULL else object,
              if (missing(filters)) NULL else filters, if (missing(kernel_size)) NULL else kernel_size, strides,
              padding, NULL, activation, use_bias, kernel_initializer, bias_initializer, pen, implementation,
              input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' @rdname layer_locally_connected
#' @export
layer_locally_connected_2d <- function(object, filters, kernel_size, strides = c(1L, 1L), padding = "valid",
                                       data_format = NULL, activation = NULL, use_bias = TRUE,
                                       kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                                       kernel_regularizer = NULL, bias_regularizer = NULL, activity_regularizer = NULL,
                                       kernel_constraint = NULL, bias_constraint = NULL, implementation = 1L,
                                       input_shape = NULL, batch_input_shape = NULL, batch_size = NULL, dtype = NULL,
                                       name = NULL, trainable = NULL, weights = NULL) {
  fn <- "layer_locally_connected_2d"
  pen <- penalty_args(fn, kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                      activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                      bias_constraint = bias_constraint)
  local_layer(fn, "LocallyConnected2D", 2, if (missing(object)) NULL else object,
              if (missing(filters)) NULL else filters, if (missing(kernel_size)) NULL else kernel_size, strides,
              padding, data_format, activation, use_bias, kernel_initializer, bias_initializer, pen, implementation,
              input_shape, batch_input_shape, batch_size, dtype, name, trainable, weights)
}

#' Layer that computes a dot product between samples in two tensors
#'
#' For inputs of shapes `(batch, n)` the result is `(batch, 1)`; in general
#' the summed axes are removed and the remaining axes of the first input are
#' followed by those of the second (`K.batch_dot`).
#' @param inputs A list of 2 tensors.
#' @param axes Integer or 2 integers: the axis of each input to sum over
#'   (the batch axis is 0, as in keras).
#' @param normalize Whether to L2-normalise the samples along the axes first
#'   (the result is then the cosine proximity).
#' @param ... Standard layer arguments (`name`, `trainable`, `dtype`...).
#' @return A tensor (or the layer when `inputs` is missing).
#' @examples
#' a <- layer_input(shape = 4); b <- layer_input(shape = 4)
#' d <- layer_dot(list(a, b), axes = 1)
#' @export
layer_dot <- function(inputs, axes, normalize = FALSE, ...) {
  fn <- "layer_dot"
  if (missing(axes)) stop(fn, "(): `axes` is required", call. = FALSE)
  a <- check_whole(axes, fn, "axes", min = -16, len = 1:2)
  check_flag(normalize, fn, "normalize")
  args <- list(...)
  bad <- setdiff(names(args), c("name", "trainable", "dtype", "batch_size", "weights"))
  if (length(bad)) stop(fn, "(): unused argument(s): ", paste(bad, collapse = ", "), call. = FALSE)
  surface_layer(fn, "Dot", if (missing(inputs)) NULL else inputs,
                list(axes = if (length(a) == 1) a else as.list(a), normalize = normalize),
                batch_size = args$batch_size, dtype = args$dtype, name = args$name, trainable = args$trainable,
                weights = args$weights)
}
