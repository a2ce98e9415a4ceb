# Xception, InceptionV3 and DenseNet (keras_applications 1.0.8 architectures);
# shared helpers in applications.R.

#' Instantiates the Xception, Inception v3 and DenseNet architectures
#'
#' Default input 299x299 (Xception, at least 71; InceptionV3, at least 75) or
#' 224x224 (DenseNet, at least 32).
#' @inheritParams application_vgg16
#' @return A Keras model.
#' @examples
#' \dontrun{
#' model <- application_xception(weights = NULL, include_top = FALSE, input_shape = c(96, 96, 3))
#' }
#' @export
application_xception <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL, input_shape = NULL,
                                 pooling = NULL, classes = 1000) {
  fn <- "application_xception"
  check_app_args(fn, include_top, pooling, classes, weights)
  path <- app_weights_file(fn, weights, include_top, "xception_weights_tf_dim_ordering_tf_kernels.h5",
                           "xception_weights_tf_dim_ordering_tf_kernels_notop.h5")
  inputs <- app_input(fn, input_tensor, input_shape, 299, 71, include_top, weights)
  bn <- function(x, name = NULL) layer_batch_normalization(x, axis = 3, name = name)
  relu <- function(x, name) layer_activation(x, "relu", name = name)
  sep <- function(x, f, name) layer_separable_conv_2d(x, f, c(3, 3), padding = "same", use_bias = FALSE, name = name)
  residual <- function(x, f) x %>% layer_conv_2d(f, c(1, 1), strides = c(2, 2), padding = "same", use_bias = FALSE) %>% bn()
  x <- inputs %>% layer_conv_2d(32, c(3, 3), strides = c(2, 2), use_bias = FALSE, name = "block1_conv1") %>%
    bn("block1_conv1_bn") %>% relu("block1_conv1_act") %>%
    layer_conv_2d(64, c(3, 3), use_bias = FALSE, name = "block1_conv2") %>% bn("block1_conv2_bn") %>%
    relu("block1_conv2_act")
  r <- residual(x, 128)
  x <- x %>% sep(128, "block2_sepconv1") %>% bn("block2_sepconv1_bn") %>% relu("block2_sepconv2_act") %>%
    sep(128, "block2_sepconv2") %>% bn("block2_sepconv2_bn") %>%
    layer_max_pooling_2d(c(3, 3), strides = c(2, 2), padding = "same", name = "block2_pool")
  x <- layer_add(list(x, r))
  for (b in 3:4) {
    f <- c(256, 728)[b - 2]
    r <- residual(x, f)
    x <- x %>% relu(sprintf("block%d_sepconv1_act", b)) %>% sep(f, sprintf("block%d_sepconv1", b)) %>%
      bn(sprintf("block%d_sepconv1_bn", b)) %>% relu(sprintf("block%d_sepconv2_act", b)) %>%
      sep(f, sprintf("block%d_sepconv2", b)) %>% bn(sprintf("block%d_sepconv2_bn", b)) %>%
      layer_max_pooling_2d(c(3, 3), strides = c(2, 2), padding = "same", name = sprintf("block%d_pool", b))
    x <- layer_add(list(x, r))
  }
  for (b in 5:12) {
    r <- x
    for (k in 1:3)
      x <- x %>% relu(sprintf("block%d_sepconv%d_act", b, k)) %>% sep(728, sprintf("block%d_sepconv%d", b, k)) %>%
        bn(sprintf("block%d_sepconv%d_bn", b, k))
    x <- layer_add(list(x, r))
  }
  r <- residual(x, 1024)
  x <- x %>% relu("block13_sepconv1_act") %>% sep(728, "block13_sepconv1") %>% bn("block13_sepconv1_bn") %>%
    relu("block13_sepconv2_act") %>% sep(1024, "block13_sepconv2") %>% bn("block13_sepconv2_bn") %>%
    layer_max_pooling_2d(c(3, 3), strides = c(2, 2), padding = "same", name = "block13_pool")
  x <- layer_add(list(x, r))
  x <- x %>% sep(1536, "block14_sepconv1") %>% bn("block14_sepconv1_bn") %>% relu("block14_sepconv1_act") %>%
    sep(2048, "block14_sepconv2") %>% bn("block14_sepconv2_bn") %>% relu("block14_sepconv2_act")
  app_finish(fn, inputs, x, include_top, pooling, classes, "xception", path)
}

#' @rdname application_xception
#' @export
application_inception_v3 <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL,
                                     input_shape = NULL, pooling = NULL, classes = 1000) {
  fn <- "application_inception_v3"
  check_app_args(fn, include_top, pooling, classes, weights)
  path <- app_weights_file(fn, weights, include_top, "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                           "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
  inputs <- app_input(fn, input_tensor, input_shape, 299, 75, include_top, weights)
  cb <- function(x, f, r, c, padding = "same", strides = c(1, 1))
    x %>% layer_conv_2d(f, c(r, c), strides = strides, padding = padding, use_bias = FALSE) %>%
      layer_batch_normalization(axis = 3, scale = FALSE) %>% layer_activation("relu")
  avg <- function(x) layer_average_pooling_2d(x, c(3, 3), strides = c(1, 1), padding = "same")
  x <- inputs %>% cb(32, 3, 3, strides = c(2, 2), padding = "valid") %>% cb(32, 3, 3, padding = "valid") %>%
    cb(64, 3, 3) %>% layer_max_pooling_2d(c(3, 3), strides = c(2, 2)) %>% cb(80, 1, 1, padding = "valid") %>%
    cb(192, 3, 3, padding = "valid") %>% layer_max_pooling_2d(c(3, 3), strides = c(2, 2))
  for (i in 0:2) {  # mixed 0-2: 35 x 35
    b1 <- cb(x, 64, 1, 1)
    b5 <- x %>% cb(48, 1, 1) %>% cb(64, 5, 5)
    b3 <- x %>% cb(64, 1, 1) %>% cb(96, 3, 3) %>% cb(96, 3, 3)
    bp <- x %>% avg() %>% cb(if (i == 0) 32 else 64, 1, 1)
    x <- layer_concatenate(list(b1, b5, b3, bp), axis = 3, name = paste0("mixed", i))
  }
  b3 <- cb(x, 384, 3, 3, strides = c(2, 2), padding = "valid")  # mixed 3: 17 x 17
  bd <- x %>% cb(64, 1, 1) %>% cb(96, 3, 3) %>% cb(96, 3, 3, strides = c(2, 2), padding = "valid")
  bp <- layer_max_pooling_2d(x, c(3, 3), strides = c(2, 2))
  x <- layer_concatenate(list(b3, bd, bp), axis = 3, name = "mixed3")
  for (i in 4:7) {  # mixed 4-7
    f <- c(128, 160, 160, 192)[i - 3]
    b1 <- cb(x, 192, 1, 1)
    b7 <- x %>% cb(f, 1, 1) %>% cb(f, 1, 7) %>% cb(192, 7, 1)
    bd <- x %>% cb(f, 1, 1) %>% cb(f, 7, 1) %>% cb(f, 1, 7) %>% cb(f, 7, 1) %>% cb(192, 1, 7)
    bp <- x %>% avg() %>% cb(192, 1, 1)
    x <- layer_concatenate(list(b1, b7, bd, bp), axis = 3, name = paste0("mixed", i))
  }
  b3 <- x %>% cb(192, 1, 1) %>% cb(320, 3, 3, strides = c(2, 2), padding = "valid")  # mixed 8: 8 x 8
  b7 <- x %>% cb(192, 1, 1) %>% cb(192, 1, 7) %>% cb(192, 7, 1) %>% cb(192, 3, 3, strides = c(2, 2), padding = "valid")
  bp <- layer_max_pooling_2d(x, c(3, 3), strides = c(2, 2))
  x <- layer_concatenate(list(b3, b7, bp), axis = 3, name = "mixed8")
  for (i in 0:1) {  # mixed 9-10
    b1 <- cb(x, 320, 1, 1)
    b3 <- cb(x, 384, 1, 1)
    b3 <- layer_concatenate(list(cb(b3, 384, 1, 3), cb(b3, 384, 3, 1)), axis = 3, name = paste0("mixed9_", i))
    bd <- x %>% cb(448, 1, 1) %>% cb(384, 3, 3)
    bd <- layer_concatenate(list(cb(bd, 384, 1, 3), cb(bd, 384, 3, 1)), axis = 3)
    bp <- x %>% avg() %>% cb(192, 1, 1)
    x <- layer_concatenate(list(b1, b3, bd, bp), axis = 3, name = paste0("mixed", 9 + i))
  }
  app_finish(fn, inputs, x, include_top, pooling, classes, "inception_v3", path)
}

densenet <- function(fn, blocks, include_top, weights, input_tensor, input_shape, pooling, classes, name) {
  check_app_args(fn, include_top, pooling, classes, weights)
  path <- app_weights_file(fn, weights, include_top, paste0(name, "_weights_tf_dim_ordering_tf_kernels.h5"),
                           paste0(name, "_weights_tf_dim_ordering_tf_kernels_notop.h5"))
  inputs <- app_input(fn, input_tensor, input_shape, 224, 32, include_top, weights)
  bn <- function(x, nm) layer_batch_normalization(x, axis = 3, epsilon = 1.001e-5, name = nm)
  conv_block <- function(x, nm) {
    y <- x %>% bn(paste0(nm, "_0_bn")) %>% layer_activation("relu", name = paste0(nm, "_0_relu")) %>%
      layer_conv_2d(128, 1, use_bias = FALSE, name = paste0(nm, "_1_conv")) %>% bn(paste0(nm, "_1_bn")) %>%
      layer_activation("relu", name = paste0(nm, "_1_relu")) %>%
      layer_conv_2d(32, 3, padding = "same", use_bias = FALSE, name = paste0(nm, "_2_conv"))
    layer_concatenate(list(x, y), axis = 3, name = paste0(nm, "_concat"))
  }
  transition <- function(x, nm) {
    ch <- tail(tensor_full_shape(x), 1)
    x %>% bn(paste0(nm, "_bn")) %>% layer_activation("relu", name = paste0(nm, "_relu")) %>%
      layer_conv_2d(as.integer(ch * 0.5), 1, use_bias = FALSE, name = paste0(nm, "_conv")) %>%
      layer_average_pooling_2d(2, strides = 2, name = paste0(nm, "_pool"))
  }
  x <- inputs %>% layer_zero_padding_2d(list(c(3, 3), c(3, 3))) %>%
    layer_conv_2d(64, 7, strides = 2, use_bias = FALSE, name = "conv1/conv") %>% bn("conv1/bn") %>%
    layer_activation("relu", name = "conv1/relu") %>% layer_zero_padding_2d(list(c(1, 1), c(1, 1))) %>%
    layer_max_pooling_2d(3, strides = 2, name = "pool1")
  for (s in 1:4) {
    for (i in seq_len(blocks[s])) x <- conv_block(x, sprintf("conv%d_block%d", s + 1, i))
    if (s < 4) x <- transition(x, sprintf("pool%d", s + 1))
  }
  x <- x %>% bn("bn") %>% layer_activation("relu", name = "relu")
  app_finish(fn, inputs, x, include_top, pooling, classes, name, path, top = function(x)
    x %>% layer_global_average_pooling_2d(name = "avg_pool") %>%
      layer_dense(classes, activation = "softmax", name = "fc1000"))
}

#' @rdname application_xception
#' @export
application_densenet121 <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL, input_shape = NULL,
                                    pooling = NULL, classes = 1000) {
  densenet("application_densenet121", c(6, 12, 24, 16), include_top, weights, input_tensor, input_shape, pooling,
           classes, "densenet121")
}
#' @rdname application_xception
#' @export
application_densenet169 <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL, input_shape = NULL,
                                    pooling = NULL, classes = 1000) {
  densenet("application_densenet169", c(6, 12, 32, 32), include_top, weights, input_tensor, input_shape, pooling,
           classes, "densenet169")
}
#' @rdname application_xception
#' @export
application_densenet201 <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL, input_shape = NULL,
                                    pooling = NULL, classes = 1000) {
  densenet("application_densenet201", c(6, 12, 48, 32), include_top, weights, input_tensor, input_shape, pooling,
           classes, "densenet201")
}

#' Preprocess and decode for the ImageNet applications
#'
#' `imagenet_preprocess_input()` with `mode = "caffe"` (VGG, ResNet50):
#' RGB to BGR, then subtract the ImageNet channel means (103.939, 116.779,
#' 123.68); `"tf"` (Xception, InceptionV3, MobileNet): scale to `[-1, 1]`;
#' `"torch"` (DenseNet): scale to `[0, 1]` then normalise with ImageNet's
#' means and standard deviations. Channels-last arrays `(..., 3)`.
#' `imagenet_decode_predictions()` reads keras's class index file
#' (`imagenet_class_index.json`, from keras's cache or `class_index_path`).
#' @param x Array of images, last dimension 3 (RGB, 0-255).
#' @param data_format Only `NULL` / `"channels_last"`.
#' @param mode `"caffe"`, `"tf"` or `"torch"`.
#' @param preds Prediction matrix `(samples, 1000)`.
#' @param top Number of top classes per sample.
#' @param class_index_path Path of `imagenet_class_index.json`.
#' @return The preprocessed array; a list of data frames (`class_name`,
#'   `class_description`, `score`).
#' @examples
#' x <- array(runif(2 * 4 * 4 * 3, 0, 255), c(2, 4, 4, 3))
#' y <- imagenet_preprocess_input(x)
#' @export
imagenet_preprocess_input <- function(x, data_format = NULL, mode = "caffe") {
  check_data_format(data_format, "imagenet_preprocess_input")
  mode <- match.arg(mode, c("caffe", "tf", "torch"))
  if (!is.numeric(x) || is.null(dim(x)) || tail(dim(x), 1) != 3)
    stop("imagenet_preprocess_input(): `x` must be a numeric array whose last dimension is 3 (RGB)", call. = FALSE)
  d <- dim(x)
  m <- matrix(as.numeric(x), ncol = 3)
  if (mode == "tf") return(array(m / 127.5 - 1, d))
  if (mode == "torch") {
    m <- sweep(sweep(m / 255, 2, c(0.485, 0.456, 0.406), "-"), 2, c(0.229, 0.224, 0.225), "/")
    return(array(m, d))
  }
  array(sweep(m[, 3:1, drop = FALSE], 2, c(103.939, 116.779, 123.68), "-"), d)
}

#' @rdname imagenet_preprocess_input
#' @export
xception_preprocess_input <- function(x) imagenet_preprocess_input(x, mode = "tf")
#' @rdname imagenet_preprocess_input
#' @export
inception_v3_preprocess_input <- function(x) imagenet_preprocess_input(x, mode = "tf")
#' @rdname imagenet_preprocess_input
#' @export
mobilenet_preprocess_input <- function(x) imagenet_preprocess_input(x, mode = "tf")
#' @rdname imagenet_preprocess_input
#' @export
mobilenet_v2_preprocess_input <- function(x) imagenet_preprocess_input(x, mode = "tf")
#' @rdname imagenet_preprocess_input
#' @export
densenet_preprocess_input <- function(x, data_format = NULL) imagenet_preprocess_input(x, data_format, mode = "torch")

#' @rdname imagenet_preprocess_input
#' @export
imagenet_decode_predictions <- function(preds, top = 5, class_index_path = NULL) {
  if (!is.matrix(preds) || ncol(preds) != 1000)
    stop("imagenet_decode_predictions(): `preds` must be a matrix of shape (samples, 1000), got ",
         paste(dim(preds) %||% length(preds), collapse = "x"), call. = FALSE)
  check_whole(top, "imagenet_decode_predictions", "top", max = 1000)
  path <- class_index_path %||% file.path(Sys.getenv("KERAS_HOME", file.path(path.expand("~"), ".keras")), "models",
                                          "imagenet_class_index.json")
  if (!file.exists(path))
    stop("imagenet_decode_predictions(): the class index file '", path, "' does not exist (kerasnative does not ",
         "download it); pass `class_index_path`", call. = FALSE)
  idx <- jsonlite::fromJSON(path)
  lapply(seq_len(nrow(preds)), function(i) {
    o <- order(preds[i, ], decreasing = TRUE)[seq_len(top)]
    data.frame(class_name = vapply(o, function(k) idx[[as.character(k - 1)]][1], ""),
               class_description = vapply(o, function(k) idx[[as.character(k - 1)]][2], ""),
               score = preds[i, o], stringsAsFactors = FALSE)
  })
}
