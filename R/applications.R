# Keras 2.2.5 applications (keras_applications 1.0.8 architectures, Keras's
# layer names), built from this package's layers. `weights` is NULL (random
# initialisation), the path of a Keras weights file, or "imagenet": the
# published file from keras's cache (~/.keras/models) when present there
# (nothing is downloaded).

app_weights_file <- function(fn, weights, include_top, top_file, notop_file) {
  if (is.null(weights)) return(NULL)
  if (!is.character(weights) || length(weights) != 1 || is.na(weights))
    stop(fn, "(): `weights` must be NULL, \"imagenet\" or the path of a weights file", call. = FALSE)
  if (weights != "imagenet") {
    if (!file.exists(weights)) stop(fn, "(): weights file '", weights, "' does not exist", call. = FALSE)
    return(weights)
  }
  f <- file.path(Sys.getenv("KERAS_HOME", file.path(path.expand("~"), ".keras")), "models",
                 if (include_top) top_file else notop_file)
  if (!file.exists(f))
    stop(fn, "(): weights = \"imagenet\" needs the Keras file '", basename(f), "' in ", dirname(f),
         " (kerasnative does not download it); use weights = NULL for random weights or pass the path ",
         "of the file", call. = FALSE)
  f
}

# The input tensor and shape of an application (Keras's _obtain_input_shape).
app_input <- function(fn, input_tensor, input_shape, default_size, min_size, include_top, weights) {
  if (!is.null(input_tensor)) {
    if (!is_tensor(input_tensor)) stop(fn, "(): `input_tensor` must be a tensor from layer_input()", call. = FALSE)
    return(input_tensor)
  }
  if (is.null(input_shape)) input_shape <- c(default_size, default_size, 3L)
  input_shape <- check_whole(unlist(input_shape), fn, "input_shape", len = 3L)
  if (include_top && !is.null(weights) && !identical(as.integer(input_shape), as.integer(c(default_size, default_size, 3))))
    stop(fn, "(): with include_top = TRUE and pretrained weights, `input_shape` must be c(", default_size, ", ",
         default_size, ", 3)", call. = FALSE)
  if (input_shape[3] != 3 && !is.null(weights))
    stop(fn, "(): pretrained weights need 3 input channels", call. = FALSE)
  if (any(input_shape[1:2] < min_size))
    stop(fn, "(): input height and width must be at least ", min_size, ", got ", paste(input_shape, collapse = "x"),
         call. = FALSE)
  layer_input(shape = input_shape)
}

# Classifier head or pooling, model, weights.
app_finish <- function(fn, inputs, x, include_top, pooling, classes, name, weights_path,
                       top = function(x) x %>% layer_global_average_pooling_2d(name = "avg_pool") %>%
                         layer_dense(classes, activation = "softmax", name = "predictions")) {
  if (include_top) {
    x <- top(x)
  } else if (!is.null(pooling)) {
    x <- switch(match.arg(pooling, c("avg", "max")),
                avg = layer_global_average_pooling_2d(x), max = layer_global_max_pooling_2d(x))
  }
  model <- keras_model(inputs, x, name = name)
  if (!is.null(weights_path)) load_model_weights_hdf5(model, weights_path)
  model
}

check_app_args <- function(fn, include_top, pooling, classes, weights) {
  check_flag(include_top, fn, "include_top")
  if (!is.null(pooling) && !(is.character(pooling) && length(pooling) == 1 && pooling %in% c("avg", "max")))
    arg_fail(fn, "pooling", 'NULL, "avg" or "max"', pooling)
  check_whole(classes, fn, "classes")
  if (identical(weights, "imagenet") && include_top && classes != 1000)
    stop(fn, "(): with weights = \"imagenet\" and include_top = TRUE, `classes` must be 1000", call. = FALSE)
}

#' Instantiates the VGG16 / VGG19 architectures
#' @param include_top Whether to include the 3 fully-connected layers at the top.
#' @param weights `NULL` (random initialisation), `"imagenet"` (the Keras
#'   weights file, read from keras's cache `~/.keras/models`; it is not
#'   downloaded) or the path of a Keras weights file.
#' @param input_tensor Optional tensor (from [layer_input()]) to use as image input.
#' @param input_shape Optional shape `c(height, width, 3)` (default 224x224, at least 32x32).
#' @param pooling Without the top: `NULL` (4-D output), `"avg"` or `"max"` (global pooling).
#' @param classes Number of classes (with the top).
#' @return A Keras model.
#' @examples
#' \dontrun{
#' model <- application_vgg16(weights = NULL, include_top = FALSE, input_shape = c(64, 64, 3))
#' }
#' @export
application_vgg16 <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL, input_shape = NULL,
                              pooling = NULL, classes = 1000) {
  vgg("application_vgg16", c(2, 2, 3, 3, 3), include_top, weights, input_tensor, input_shape, pooling, classes,
      "vgg16")
}

#' @rdname application_vgg16
#' @export
application_vgg19 <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL, input_shape = NULL,
                              pooling = NULL, classes = 1000) {
  vgg("application_vgg19", c(2, 2, 4, 4, 4), include_top, weights, input_tensor, input_shape, pooling, classes,
      "vgg19")
}

vgg <- function(fn, convs, include_top, weights, input_tensor, input_shape, pooling, classes, name) {
  check_app_args(fn, include_top, pooling, classes, weights)
  path <- app_weights_file(fn, weights, include_top, paste0(name, "_weights_tf_dim_ordering_tf_kernels.h5"),
                           paste0(name, "_weights_tf_dim_ordering_tf_kernels_notop.h5"))
  inputs <- app_input(fn, input_tensor, input_shape, 224, 32, include_top, weights)
  x <- inputs
  filters <- c(64, 128, 256, 512, 512)
  for (b in 1:5) {
    for (i in seq_len(convs[b]))
      x <- layer_conv_2d(x, filters[b], c(3, 3), activation = "relu", padding = "same",
                         name = sprintf("block%d_conv%d", b, i))
    x <- layer_max_pooling_2d(x, c(2, 2), strides = c(2, 2), name = sprintf("block%d_pool", b))
  }
  app_finish(fn, inputs, x, include_top, pooling, classes, name, path, top = function(x)
    x %>% layer_flatten(name = "flatten") %>% layer_dense(4096, activation = "relu", name = "fc1") %>%
      layer_dense(4096, activation = "relu", name = "fc2") %>%
      layer_dense(classes, activation = "softmax", name = "predictions"))
}

#' Instantiates the ResNet50 architecture
#' @inheritParams application_vgg16
#' @return A Keras model.
#' @examples
#' \dontrun{
#' model <- application_resnet50(weights = NULL, include_top = FALSE, input_shape = c(64, 64, 3))
#' }
#' @export
application_resnet50 <- function(include_top = TRUE, weights = "imagenet", input_tensor = NULL, input_shape = NULL,
                                 pooling = NULL, classes = 1000) {
  fn <- "application_resnet50"
  check_app_args(fn, include_top, pooling, classes, weights)
  path <- app_weights_file(fn, weights, include_top, "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                           "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
  inputs <- app_input(fn, input_tensor, input_shape, 224, 32, include_top, weights)
  block <- function(x, filters, stage, blk, strides = NULL) {
    conv <- paste0("res", stage, blk, "_branch")
    bn <- paste0("bn", stage, blk, "_branch")
    s <- strides %||% c(1, 1)
    y <- x %>% layer_conv_2d(filters[1], c(1, 1), strides = s, kernel_initializer = "he_normal", name = paste0(conv, "2a")) %>%
      layer_batch_normalization(axis = 3, name = paste0(bn, "2a")) %>% layer_activation("relu") %>%
      layer_conv_2d(filters[2], c(3, 3), padding = "same", kernel_initializer = "he_normal", name = paste0(conv, "2b")) %>%
      layer_batch_normalization(axis = 3, name = paste0(bn, "2b")) %>% layer_activation("relu") %>%
      layer_conv_2d(filters[3], c(1, 1), kernel_initializer = "he_normal", name = paste0(conv, "2c")) %>%
      layer_batch_normalization(axis = 3, name = paste0(bn, "2c"))
    shortcut <- x
    if (!is.null(strides))
      shortcut <- x %>% layer_conv_2d(filters[3], c(1, 1), strides = s, kernel_initializer = "he_normal",
                                      name = paste0(conv, "1")) %>%
        layer_batch_normalization(axis = 3, name = paste0(bn, "1"))
    layer_add(list(y, shortcut)) %>% layer_activation("relu")
  }
  x <- inputs %>% layer_zero_padding_2d(c(3, 3), name = "conv1_pad") %>%
    layer_conv_2d(64, c(7, 7), strides = c(2, 2), padding = "valid", kernel_initializer = "he_normal", name = "conv1") %>%
    layer_batch_normalization(axis = 3, name = "bn_conv1") %>% layer_activation("relu") %>%
    layer_zero_padding_2d(c(1, 1), name = "pool1_pad") %>% layer_max_pooling_2d(c(3, 3), strides = c(2, 2))
  stages <- list(list(2, c(64, 64, 256), 3, c(1, 1)), list(3, c(128, 128, 512), 4, c(2, 2)),
                 list(4, c(256, 256, 1024), 6, c(2, 2)), list(5, c(512, 512, 2048), 3, c(2, 2)))
  for (st in stages)
    for (b in seq_len(st[[3]]))
      x <- block(x, st[[2]], st[[1]], letters[b], strides = if (b == 1) st[[4]] else NULL)
  app_finish(fn, inputs, x, include_top, pooling, classes, "resnet50", path, top = function(x)
    x %>% layer_global_average_pooling_2d(name = "avg_pool") %>%
      layer_dense(classes, activation = "softmax", name = "fc1000"))
}

#' Instantiates the MobileNet and MobileNetV2 architectures
#' @inheritParams application_vgg16
#' @param alpha Width multiplier (number of filters per layer).
#' @param depth_multiplier Depth multiplier of the depthwise convolutions (MobileNet).
#' @param dropout Dropout rate before the classifier (MobileNet).
#' @return A Keras model.
#' @examples
#' \dontrun{
#' model <- application_mobilenet(weights = NULL, input_shape = c(128, 128, 3), classes = 10)
#' }
#' @export
application_mobilenet <- function(input_shape = NULL, alpha = 1, depth_multiplier = 1, dropout = 0.001,
                                  include_top = TRUE, weights = "imagenet", input_tensor = NULL, pooling = NULL,
                                  classes = 1000) {
  fn <- "application_mobilenet"
  check_app_args(fn, include_top, pooling, classes, weights)
  check_number(alpha, fn, "alpha", 0, min_open = TRUE)
  check_whole(depth_multiplier, fn, "depth_multiplier")
  if (!is.null(weights) && identical(weights, "imagenet") && (!alpha %in% c(0.25, 0.5, 0.75, 1) || depth_multiplier != 1))
    stop(fn, "(): ImageNet weights exist for alpha in 0.25, 0.5, 0.75, 1 and depth_multiplier = 1 only", call. = FALSE)
  size <- if (is.null(input_shape)) 224 else unlist(input_shape)[1]
  tag <- sprintf("%s_%d", format(alpha, nsmall = 1), size)
  tag <- sub("^0\\.", "0_", sub("^1\\.0", "1_0", tag))
  path <- app_weights_file(fn, weights, include_top, sprintf("mobilenet_%s_tf.h5", tag),
                           sprintf("mobilenet_%s_tf_no_top.h5", tag))
  inputs <- app_input(fn, input_tensor, input_shape, 224, 32, include_top, weights)
  relu6 <- function(x, name) layer_activation_relu(x, max_value = 6, name = name)
  dw_block <- function(x, filters, strides, id) {
    f <- as.integer(filters * alpha)
    if (any(strides != 1)) x <- layer_zero_padding_2d(x, list(c(0, 1), c(0, 1)), name = sprintf("conv_pad_%d", id))
    x %>% layer_depthwise_conv_2d(c(3, 3), padding = if (all(strides == 1)) "same" else "valid",
                                  depth_multiplier = depth_multiplier, strides = strides, use_bias = FALSE,
                                  name = sprintf("conv_dw_%d", id)) %>%
      layer_batch_normalization(axis = 3, name = sprintf("conv_dw_%d_bn", id)) %>% relu6(sprintf("conv_dw_%d_relu", id)) %>%
      layer_conv_2d(f, c(1, 1), padding = "same", use_bias = FALSE, name = sprintf("conv_pw_%d", id)) %>%
      layer_batch_normalization(axis = 3, name = sprintf("conv_pw_%d_bn", id)) %>% relu6(sprintf("conv_pw_%d_relu", id))
  }
  x <- inputs %>% layer_zero_padding_2d(list(c(0, 1), c(0, 1)), name = "conv1_pad") %>%
    layer_conv_2d(as.integer(32 * alpha), c(3, 3), padding = "valid", use_bias = FALSE, strides = c(2, 2), name = "conv1") %>%
    layer_batch_normalization(axis = 3, name = "conv1_bn") %>% relu6("conv1_relu")
  plan <- list(c(64, 1), c(128, 2), c(128, 1), c(256, 2), c(256, 1), c(512, 2), c(512, 1), c(512, 1), c(512, 1),
               c(512, 1), c(512, 1), c(1024, 2), c(1024, 1))
  for (i in seq_along(plan)) x <- dw_block(x, plan[[i]][1], rep(plan[[i]][2], 2), i)
  app_finish(fn, inputs, x, include_top, pooling, classes, sprintf("mobilenet_%s", tag), path, top = function(x)
    x %>% layer_global_average_pooling_2d() %>% layer_reshape(c(1, 1, as.integer(1024 * alpha)), name = "reshape_1") %>%
      layer_dropout(dropout, name = "dropout") %>%
      layer_conv_2d(classes, c(1, 1), padding = "same", name = "conv_preds") %>%
      layer_activation("softmax", name = "act_softmax") %>% layer_reshape(classes, name = "reshape_2"))
}

make_divisible <- function(v, divisor = 8, min_value = divisor) {
  new_v <- max(min_value, as.integer(v + divisor / 2) %/% divisor * divisor)
  if (new_v < 0.9 * v) new_v <- new_v + divisor
  as.integer(new_v)
}

#' @rdname application_mobilenet
#' @export
application_mobilenet_v2 <- function(input_shape = NULL, alpha = 1, include_top = TRUE, weights = "imagenet",
                                     input_tensor = NULL, pooling = NULL, classes = 1000) {
  fn <- "application_mobilenet_v2"
  check_app_args(fn, include_top, pooling, classes, weights)
  check_number(alpha, fn, "alpha", 0, min_open = TRUE)
  size <- if (is.null(input_shape)) 224 else unlist(input_shape)[1]
  path <- app_weights_file(fn, weights, include_top,
                           sprintf("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_%s_%d.h5", format(alpha, nsmall = 1), size),
                           sprintf("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_%s_%d_no_top.h5", format(alpha, nsmall = 1), size))
  inputs <- app_input(fn, input_tensor, input_shape, 224, 32, include_top, weights)
  relu6 <- function(x, name) layer_activation_relu(x, max_value = 6, name = name)
  bn <- function(x, name) layer_batch_normalization(x, axis = 3, epsilon = 1e-3, momentum = 0.999, name = name)
  correct_pad <- function(x) {  # keras_applications.correct_pad for a 3x3 kernel
    s <- tensor_full_shape(x)[2:3]
    adj <- 1 - s %% 2
    list(c(1 - adj[1], 1), c(1 - adj[2], 1))
  }
  block <- function(x, filters, stride, expansion, id) {
    in_ch <- tail(tensor_full_shape(x), 1)
    pw <- make_divisible(as.integer(filters * alpha), 8)
    y <- x
    prefix <- if (id > 0) sprintf("block_%d_", id) else "expanded_conv_"
    if (id > 0)
      y <- y %>% layer_conv_2d(expansion * in_ch, 1, padding = "same", use_bias = FALSE, name = paste0(prefix, "expand")) %>%
        bn(paste0(prefix, "expand_BN")) %>% relu6(paste0(prefix, "expand_relu"))
    if (stride == 2) y <- layer_zero_padding_2d(y, correct_pad(y), name = paste0(prefix, "pad"))
    y <- y %>% layer_depthwise_conv_2d(3, strides = stride, use_bias = FALSE, padding = if (stride == 1) "same" else "valid",
                                       name = paste0(prefix, "depthwise")) %>%
      bn(paste0(prefix, "depthwise_BN")) %>% relu6(paste0(prefix, "depthwise_relu")) %>%
      layer_conv_2d(pw, 1, padding = "same", use_bias = FALSE, name = paste0(prefix, "project")) %>%
      bn(paste0(prefix, "project_BN"))
    if (in_ch == pw && stride == 1) layer_add(list(x, y), name = paste0(prefix, "add")) else y
  }
  x <- inputs
  x <- x %>% layer_zero_padding_2d(correct_pad(x), name = "Conv1_pad") %>%
    layer_conv_2d(make_divisible(32 * alpha, 8), 3, strides = 2, padding = "valid", use_bias = FALSE, name = "Conv1") %>%
    bn("bn_Conv1") %>% relu6("Conv1_relu")
  plan <- list(c(16, 1, 1), c(24, 2, 6), c(24, 1, 6), c(32, 2, 6), c(32, 1, 6), c(32, 1, 6), c(64, 2, 6), c(64, 1, 6),
               c(64, 1, 6), c(64, 1, 6), c(96, 1, 6), c(96, 1, 6), c(96, 1, 6), c(160, 2, 6), c(160, 1, 6),
               c(160, 1, 6), c(320, 1, 6))
  for (i in seq_along(plan)) x <- block(x, plan[[i]][1], plan[[i]][2], plan[[i]][3], i - 1)
  last <- if (alpha > 1) make_divisible(1280 * alpha, 8) else 1280L
  x <- x %>% layer_conv_2d(last, 1, use_bias = FALSE, name = "Conv_1") %>% bn("Conv_1_bn") %>% relu6("out_relu")
  app_finish(fn, inputs, x, include_top, pooling, classes, sprintf("mobilenetv2_%s_%d", format(alpha, nsmall = 2), size),
             path, top = function(x) x %>% layer_global_average_pooling_2d() %>%
               layer_dense(classes, activation = "softmax", name = "Logits"))
}
