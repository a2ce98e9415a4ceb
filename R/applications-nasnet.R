# NASNet (keras_applications 1.0.8 architecture, Keras's layer names):
# NASNetLarge and NASNetMobile; shared helpers in applications.R.

# Keras's correct_pad(): zero padding before a strided 'valid' operation so
# that it covers the input as 'same' would.
nasnet_correct_pad <- function(x, k) {
  s <- unlist(k_int_shape(x)[2:3])
  adjust <- 1 - s %% 2
  list(c(k %/% 2 - adjust[1], k %/% 2), c(k %/% 2 - adjust[2], k %/% 2))
}

nasnet_bn <- function(x, name) layer_batch_normalization(x, axis = 3, momentum = 0.9997, epsilon = 1e-3, name = name)

nasnet_conv1 <- function(x, filters, name)
  layer_conv_2d(x, filters, c(1, 1), padding = "same", use_bias = FALSE, kernel_initializer = "he_normal", name = name)

nasnet_sep_block <- function(x, filters, k = 3, strides = 1, id) {
  x <- layer_activation(x, "relu")
  pad <- "same"
  if (strides == 2) {
    x <- layer_zero_padding_2d(x, padding = nasnet_correct_pad(x, k), name = paste0("separable_conv_1_pad_", id))
    pad <- "valid"
  }
  x %>%
    layer_separable_conv_2d(filters, c(k, k), strides = c(strides, strides), padding = pad, use_bias = FALSE,
                            name = paste0("separable_conv_1_", id)) %>%
    nasnet_bn(paste0("separable_conv_1_bn_", id)) %>%
    layer_activation("relu") %>%
    layer_separable_conv_2d(filters, c(k, k), padding = "same", use_bias = FALSE, name = paste0("separable_conv_2_", id)) %>%
    nasnet_bn(paste0("separable_conv_2_bn_", id))
}

# Brings the previous cell's output p to ip's width and `filters` channels.
nasnet_adjust <- function(p, ip, filters, id) {
  if (is.null(p)) return(ip)
  ps <- k_int_shape(p); is <- k_int_shape(ip)
  if (ps[[3]] != is[[3]]) {
    p <- layer_activation(p, "relu", name = paste0("adjust_relu_1_", id))
    p1 <- p %>% layer_average_pooling_2d(c(1, 1), strides = c(2, 2), name = paste0("adjust_avg_pool_1_", id)) %>%
      nasnet_conv1(filters %/% 2, paste0("adjust_conv_1_", id))
    p2 <- p %>% layer_zero_padding_2d(list(c(0, 1), c(0, 1))) %>% layer_cropping_2d(list(c(1, 0), c(1, 0))) %>%
      layer_average_pooling_2d(c(1, 1), strides = c(2, 2), name = paste0("adjust_avg_pool_2_", id)) %>%
      nasnet_conv1(filters %/% 2, paste0("adjust_conv_2_", id))
    p <- layer_concatenate(list(p1, p2), axis = 3) %>% nasnet_bn(paste0("adjust_bn_", id))
  } else if (ps[[4]] != filters) {
    p <- p %>% layer_activation("relu") %>% nasnet_conv1(filters, paste0("adjust_conv_projection_", id)) %>%
      nasnet_bn(paste0("adjust_bn_", id))
  }
  p
}

nasnet_normal_cell <- function(ip, p, filters, id) {
  p <- nasnet_adjust(p, ip, filters, id)
  h <- ip %>% layer_activation("relu") %>% nasnet_conv1(filters, paste0("normal_conv_1_", id)) %>%
    nasnet_bn(paste0("normal_bn_1_", id))
  avg3 <- function(x, name) layer_average_pooling_2d(x, c(3, 3), strides = c(1, 1), padding = "same", name = name)
  x1 <- layer_add(list(nasnet_sep_block(h, filters, 5, id = paste0("normal_left1_", id)),
                       nasnet_sep_block(p, filters, id = paste0("normal_right1_", id))), name = paste0("normal_add_1_", id))
  x2 <- layer_add(list(nasnet_sep_block(p, filters, 5, id = paste0("normal_left2_", id)),
                       nasnet_sep_block(p, filters, 3, id = paste0("normal_right2_", id))), name = paste0("normal_add_2_", id))
  x3 <- layer_add(list(avg3(h, paste0("normal_left3_", id)), p), name = paste0("normal_add_3_", id))
  x4 <- layer_add(list(avg3(p, paste0("normal_left4_", id)), avg3(p, paste0("normal_right4_", id))),
                  name = paste0("normal_add_4_", id))
  x5 <- layer_add(list(nasnet_sep_block(h, filters, id = paste0("normal_left5_", id)), h), name = paste0("normal_add_5_", id))
  list(x = layer_concatenate(list(p, x1, x2, x3, x4, x5), axis = 3, name = paste0("normal_concat_", id)), p = ip)
}

nasnet_reduction_cell <- function(ip, p, filters, id) {
  p <- nasnet_adjust(p, ip, filters, id)
  h <- ip %>% layer_activation("relu") %>% nasnet_conv1(filters, paste0("reduction_conv_1_", id)) %>%
    nasnet_bn(paste0("reduction_bn_1_", id))
  h3 <- layer_zero_padding_2d(h, padding = nasnet_correct_pad(h, 3), name = paste0("reduction_pad_1_", id))
  pool3 <- function(x, type, name)
    (if (type == "max") layer_max_pooling_2d else layer_average_pooling_2d)(x, c(3, 3), strides = c(2, 2), name = name)
  x1 <- layer_add(list(nasnet_sep_block(h, filters, 5, 2, paste0("reduction_left1_", id)),
                       nasnet_sep_block(p, filters, 7, 2, paste0("reduction_right1_", id))),
                  name = paste0("reduction_add_1_", id))
  x2 <- layer_add(list(pool3(h3, "max", paste0("reduction_left2_", id)),
                       nasnet_sep_block(p, filters, 7, 2, paste0("reduction_right2_", id))),
                  name = paste0("reduction_add_2_", id))
  x3 <- layer_add(list(pool3(h3, "avg", paste0("reduction_left3_", id)),
                       nasnet_sep_block(p, filters, 5, 2, paste0("reduction_right3_", id))),
                  name = paste0("reduction_add3_", id))
  x4 <- layer_add(list(x2, layer_average_pooling_2d(x1, c(3, 3), strides = c(1, 1), padding = "same",
                                                    name = paste0("reduction_left4_", id))))
  x5 <- layer_add(list(nasnet_sep_block(x1, filters, 3, id = paste0("reduction_left4_", id)),
                       pool3(h3, "max", paste0("reduction_right5_", id))), name = paste0("reduction_add4_", id))
  list(x = layer_concatenate(list(x2, x3, x4, x5), axis = 3, name = paste0("reduction_concat_", id)), p = ip)
}

nasnet <- function(fn, input_shape, include_top, weights, input_tensor, pooling, classes, default_size,
                   penultimate_filters, num_blocks, stem_block_filters, skip_reduction, filter_multiplier, files) {
  check_app_args(fn, include_top, pooling, classes, weights)
  penultimate_filters <- check_whole(penultimate_filters, fn, "penultimate_filters", min = 24)
  num_blocks <- check_whole(num_blocks, fn, "num_blocks")
  stem_block_filters <- check_whole(stem_block_filters, fn, "stem_block_filters")
  check_flag(skip_reduction, fn, "skip_reduction")
  filter_multiplier <- check_whole(filter_multiplier, fn, "filter_multiplier")
  if (is.null(files) && !is.null(weights)) stop(fn, "(): only weights = NULL is supported", call. = FALSE)
  path <- if (!is.null(files)) app_weights_file(fn, weights, include_top, files[1], files[2])
  inputs <- app_input(fn, input_tensor, input_shape, default_size, 32, include_top, weights)
  filters <- penultimate_filters %/% 24
  x <- inputs %>%
    layer_conv_2d(stem_block_filters, c(3, 3), strides = c(2, 2), use_bias = FALSE, kernel_initializer = "he_normal",
                  name = "stem_conv1") %>%
    nasnet_bn("stem_bn1")
  c1 <- nasnet_reduction_cell(x, NULL, filters %/% filter_multiplier^2, "stem_1")
  c2 <- nasnet_reduction_cell(c1$x, c1$p, filters %/% filter_multiplier, "stem_2")
  x <- c2$x; p <- c2$p
  for (stage in 0:2) {
    f <- filters * filter_multiplier^stage
    if (stage > 0) {
      r <- nasnet_reduction_cell(x, p, f, sprintf("reduce_%d", stage * num_blocks))
      x <- r$x
      if (!skip_reduction) p <- r$p
    }
    for (i in seq_len(num_blocks)) {
      cell <- nasnet_normal_cell(x, p, f, as.character(stage * num_blocks + i - (stage == 0)))
      x <- cell$x; p <- cell$p
    }
  }
  x <- layer_activation(x, "relu")
  app_finish(fn, inputs, x, include_top, pooling, classes, "NASNet", path,
             top = function(x) x %>% layer_global_average_pooling_2d() %>%
               layer_dense(classes, activation = "softmax", name = "predictions"))
}

#' Instantiates a NASNet model
#'
#' NASNet-A Large (default input 331x331) and Mobile (224x224); inputs at least
#' 32x32.
#' @inheritParams application_vgg16
#' @param x Input array (RGB values 0-255, channels last).
#' @return A Keras model; `nasnet_preprocess_input()`: the array scaled to
#'   `x / 127.5 - 1` (Keras's "tf" mode).
#' @examples
#' \dontrun{
#' model <- application_nasnetmobile(weights = NULL, include_top = FALSE, input_shape = c(64, 64, 3))
#' }
#' @export
application_nasnetlarge <- function(input_shape = NULL, include_top = TRUE, weights = "imagenet",
                                    input_tensor = NULL, pooling = NULL, classes = 1000) {
  nasnet("application_nasnetlarge", input_shape, include_top, weights, input_tensor, pooling, classes, 331,
         4032, 6, 96, TRUE, 2, c("NASNet-large.h5", "NASNet-large-no-top.h5"))
}

#' @rdname application_nasnetlarge
#' @export
application_nasnetmobile <- function(input_shape = NULL, include_top = TRUE, weights = "imagenet",
                                     input_tensor = NULL, pooling = NULL, classes = 1000) {
  nasnet("application_nasnetmobile", input_shape, include_top, weights, input_tensor, pooling, classes, 224,
         1056, 4, 32, FALSE, 2, c("NASNet-mobile.h5", "NASNet-mobile-no-top.h5"))
}

#' @rdname application_nasnetlarge
#' @param penultimate_filters Number of filters in the penultimate layer
#'   (a multiple of 24).
#' @param num_blocks Number of repeated blocks of the NASNet model.
#' @param stem_block_filters Number of filters in the initial stem block.
#' @param skip_reduction Whether to skip the reduction step at the tail end of
#'   the network.
#' @param filter_multiplier Factor by which the number of filters grows at each reduction.
#' @param default_size Default input height and width (`NULL`: 331 with
#'   `penultimate_filters = 4032`, else 224).
#' @export
application_nasnet <- function(input_shape = NULL, penultimate_filters = 4032L, num_blocks = 6L,
                               stem_block_filters = 96L, skip_reduction = TRUE, filter_multiplier = 2L,
                               include_top = TRUE, weights = NULL, input_tensor = NULL, pooling = NULL,
                               classes = 1000, default_size = NULL) {
  default_size <- default_size %||% (if (identical(as.numeric(penultimate_filters), 4032)) 331 else 224)
  nasnet("application_nasnet", input_shape, include_top, weights, input_tensor, pooling, classes, default_size,
         penultimate_filters, num_blocks, stem_block_filters, skip_reduction, filter_multiplier, NULL)
}

#' @rdname application_nasnetlarge
#' @export
nasnet_preprocess_input <- function(x) imagenet_preprocess_input(x, mode = "tf")
