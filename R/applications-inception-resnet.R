# Inception-ResNet v2 (keras_applications 1.0.8 architecture, Keras's layer
# names); shared helpers in applications.R.

#' Inception-ResNet v2 model
#'
#' Default input 299x299 (at least 75x75). The residual branches are scaled
#' and added by Lambda layers named like Keras's (`block35_1`, ...), which
#' hold no weights.
#' @inheritParams application_vgg16
#' @return A Keras model; `inception_resnet_v2_preprocess_input()`: the array
#'   scaled to `x / 127.5 - 1` (Keras's "tf" mode).
#' @examples
#' \dontrun{
#' model <- application_inception_resnet_v2(weights = NULL, include_top = FALSE, input_shape = c(96, 96, 3))
#' }
#' @export
application_inception_resnet_v2 <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL,
                                            input_shape = NULL, pooling = NULL, classes = 1000) {
  fn <- "application_inception_resnet_v2"
  check_app_args(fn, include_top, pooling, classes, weights)
  path <- app_weights_file(fn, weights, include_top, "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
                           "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5")
  inputs <- app_input(fn, input_tensor, input_shape, 299, 75, include_top, weights)
  # Conv2D (+ BatchNormalization(scale = FALSE) without bias) (+ activation)
  cb <- function(x, f, k, strides = 1, padding = "same", activation = "relu", use_bias = FALSE, name = NULL) {
    x <- layer_conv_2d(x, f, k, strides = strides, padding = padding, use_bias = use_bias, name = name)
    if (!use_bias) x <- layer_batch_normalization(x, axis = 3, scale = FALSE, name = if (!is.null(name)) paste0(name, "_bn"))
    if (!is.null(activation)) x <- layer_activation(x, activation, name = if (!is.null(name)) paste0(name, "_ac"))
    x
  }
  block <- function(x, scale, type, idx, channels, activation = "relu") {
    branches <- switch(type,
      block35 = list(cb(x, 32, 1), x %>% cb(32, 1) %>% cb(32, 3), x %>% cb(32, 1) %>% cb(48, 3) %>% cb(64, 3)),
      block17 = list(cb(x, 192, 1), x %>% cb(128, 1) %>% cb(160, c(1, 7)) %>% cb(192, c(7, 1))),
      block8 = list(cb(x, 192, 1), x %>% cb(192, 1) %>% cb(224, c(1, 3)) %>% cb(256, c(3, 1))))
    name <- paste0(type, "_", idx)
    mixed <- layer_concatenate(branches, axis = 3, name = paste0(name, "_mixed"))
    up <- cb(mixed, channels, 1, activation = NULL, use_bias = TRUE, name = paste0(name, "_conv"))
    x <- layer_lambda(list(x, up), function(inputs, scale) inputs[[1]] + inputs[[2]] * scale,
                      output_shape = unlist(k_int_shape(x)[-1]), arguments = list(scale = scale), name = name)
    if (!is.null(activation)) x <- layer_activation(x, activation, name = paste0(name, "_ac"))
    x
  }
  pool <- function(x, type, strides, padding = "valid")
    (if (type == "max") layer_max_pooling_2d else layer_average_pooling_2d)(x, c(3, 3), strides = strides, padding = padding)
  # stem: 35 x 35 x 192
  x <- inputs %>% cb(32, 3, strides = 2, padding = "valid") %>% cb(32, 3, padding = "valid") %>% cb(64, 3) %>%
    pool("max", 2) %>% cb(80, 1, padding = "valid") %>% cb(192, 3, padding = "valid") %>% pool("max", 2)
  # mixed 5b (Inception-A): 35 x 35 x 320
  x <- layer_concatenate(list(cb(x, 96, 1), x %>% cb(48, 1) %>% cb(64, 5), x %>% cb(64, 1) %>% cb(96, 3) %>% cb(96, 3),
                              x %>% pool("avg", 1, "same") %>% cb(64, 1)), axis = 3, name = "mixed_5b")
  for (i in 1:10) x <- block(x, 0.17, "block35", i, 320)
  # mixed 6a (Reduction-A): 17 x 17 x 1088
  x <- layer_concatenate(list(cb(x, 384, 3, strides = 2, padding = "valid"),
                              x %>% cb(256, 1) %>% cb(256, 3) %>% cb(384, 3, strides = 2, padding = "valid"),
                              pool(x, "max", 2)), axis = 3, name = "mixed_6a")
  for (i in 1:20) x <- block(x, 0.1, "block17", i, 1088)
  # mixed 7a (Reduction-B): 8 x 8 x 2080
  x <- layer_concatenate(list(x %>% cb(256, 1) %>% cb(384, 3, strides = 2, padding = "valid"),
                              x %>% cb(256, 1) %>% cb(288, 3, strides = 2, padding = "valid"),
                              x %>% cb(256, 1) %>% cb(288, 3) %>% cb(320, 3, strides = 2, padding = "valid"),
                              pool(x, "max", 2)), axis = 3, name = "mixed_7a")
  for (i in 1:9) x <- block(x, 0.2, "block8", i, 2080)
  x <- block(x, 1, "block8", 10, 2080, activation = NULL)
  x <- cb(x, 1536, 1, name = "conv_7b")
  app_finish(fn, inputs, x, include_top, pooling, classes, "inception_resnet_v2", path)
}

#' @rdname application_inception_resnet_v2
#' @param x Input array (RGB values 0-255, channels last).
#' @export
inception_resnet_v2_preprocess_input <- function(x) imagenet_preprocess_input(x, mode = "tf")
