# The TensorFlow 1.x functions a model_fn uses: tf$layers (mapped onto the
# Keras layer nodes), tf$nn, tf$losses, tf$metrics, tf$argmax and the
# tf$train optimizers. All of them record nodes of the one model graph:
# layers as layer nodes, the rest as ops of the op table. Axes are 0-based,
# as in TensorFlow.

# ---------------------------------------------------------------- tracing state

# While an estimator traces its model_fn: layer names (conv2d, conv2d_1, ...)
# and the tensors named with `name =` (hooks find them by name).
tf_trace_begin <- function() {
  tr <- new.env(parent = emptyenv())
  tr$counts <- list()
  tr$named <- list()
  old <- .kn$tf_trace
  .kn$tf_trace <- tr
  function() .kn$tf_trace <- old
}

tf_layer_name <- function(base, name) {
  if (!is.null(name)) return(name)
  tr <- .kn$tf_trace
  if (is.null(tr)) return(unique_name(base))
  n <- tr$counts[[base]] %||% 0L
  tr$counts[[base]] <- n + 1L
  if (n == 0L) base else paste0(base, "_", n)
}

# Register `t` under `name` (tensors named in a model_fn).
tf_named <- function(t, name) {
  if (is.null(name)) return(t)
  check_string(name, "tf", "name")
  if (!is.null(.kn$tf_trace)) .kn$tf_trace$named[[name]] <- t
  t
}

tf_tensor_arg <- function(x, fn, what = "inputs") {
  if (is_tensor(x)) return(x)
  if (is.numeric(x) || is.logical(x)) return(as_tensor_arg(x, what))
  stop("tf$", fn, "(): `", what, "` must be a tensor, not ", class(x)[1], call. = FALSE)
}

tf_activation_name <- function(activation, fn) {
  if (is.null(activation)) return("linear")
  if (is.character(activation)) return(activation)
  nm <- attr(activation, "tf_activation")
  if (is.null(nm)) stop("tf$layers$", fn, "(): `activation` must be a tf$nn function (e.g. tf$nn$relu) or a name", call. = FALSE)
  nm
}

# ---------------------------------------------------------------- tf$nn

tf_activation_fn <- function(name, op) {
  f <- function(features, name = NULL) {
    x <- tf_tensor_arg(features, paste0("nn$", op), "features")
    tf_named(record_op(op, list(x), fn = paste0("tf$nn$", op)), name)
  }
  attr(f, "tf_activation") <- name
  f
}

tf_nn_softmax <- function(logits, axis = NULL, name = NULL, dim = NULL) {
  x <- tf_tensor_arg(logits, "nn$softmax", "logits")
  tf_named(record_op("softmax", list(x), list(axis = as.integer(axis %||% dim %||% -1L)), fn = "tf$nn$softmax"), name)
}
attr(tf_nn_softmax, "tf_activation") <- "softmax"

tf_nn_module <- function() {
  tf_module(relu = tf_activation_fn("relu", "relu"), sigmoid = tf_activation_fn("sigmoid", "sigmoid"),
            tanh = tf_activation_fn("tanh", "tanh"), elu = tf_activation_fn("elu", "elu"),
            softplus = tf_activation_fn("softplus", "softplus"), softmax = tf_nn_softmax,
            log_softmax = function(logits, axis = NULL, name = NULL)
              tf_named(record_op("log_softmax", list(tf_tensor_arg(logits, "nn$log_softmax", "logits")),
                                 list(axis = as.integer(axis %||% -1L)), fn = "tf$nn$log_softmax"), name),
            softmax_cross_entropy_with_logits = function(labels, logits, dim = -1L, name = NULL)
              tf_named(softmax_xent(labels, logits, "nn$softmax_cross_entropy_with_logits"), name),
            sparse_softmax_cross_entropy_with_logits = function(labels, logits, name = NULL)
              tf_named(softmax_xent(sparse_onehot(labels, logits, "nn$sparse_softmax_cross_entropy_with_logits"),
                                    logits, "nn$sparse_softmax_cross_entropy_with_logits"), name))
}

# ---------------------------------------------------------------- tf$layers

tf_layers_conv2d <- function(inputs, filters, kernel_size, strides = c(1L, 1L), padding = "valid",
                             data_format = "channels_last", dilation_rate = c(1L, 1L), activation = NULL,
                             use_bias = TRUE, kernel_initializer = NULL, bias_initializer = NULL,
                             trainable = TRUE, name = NULL, ...) {
  x <- tf_tensor_arg(inputs, "layers$conv2d")
  layer_conv_2d(x, filters = filters, kernel_size = kernel_size, strides = strides, padding = padding,
                dilation_rate = dilation_rate, activation = tf_activation_name(activation, "conv2d"),
                use_bias = use_bias, kernel_initializer = kernel_initializer %||% "glorot_uniform",
                bias_initializer = bias_initializer %||% "zeros", name = tf_layer_name("conv2d", name),
                trainable = trainable)
}

tf_layers_max_pooling2d <- function(inputs, pool_size, strides, padding = "valid", data_format = "channels_last",
                                    name = NULL) {
  x <- tf_tensor_arg(inputs, "layers$max_pooling2d")
  layer_max_pooling_2d(x, pool_size = pool_size, strides = strides, padding = padding,
                       name = tf_layer_name("max_pooling2d", name))
}

tf_layers_dense <- function(inputs, units, activation = NULL, use_bias = TRUE, kernel_initializer = NULL,
                            bias_initializer = NULL, trainable = TRUE, name = NULL, ...) {
  x <- tf_tensor_arg(inputs, "layers$dense")
  layer_dense(x, units = units, activation = tf_activation_name(activation, "dense"), use_bias = use_bias,
              kernel_initializer = kernel_initializer %||% "glorot_uniform",
              bias_initializer = bias_initializer %||% "zeros", name = tf_layer_name("dense", name),
              trainable = trainable)
}

# Dropout only when `training` is TRUE (TF: identity otherwise).
tf_layers_dropout <- function(inputs, rate = 0.5, noise_shape = NULL, seed = NULL, training = FALSE, name = NULL) {
  x <- tf_tensor_arg(inputs, "layers$dropout")
  if (!is.logical(training) || length(training) != 1 || is.na(training))
    stop("tf$layers$dropout(): `training` must be TRUE or FALSE", call. = FALSE)
  nm <- tf_layer_name("dropout", name)
  if (!training) return(x)
  layer_dropout(x, rate = rate, name = nm)
}

tf_layers_flatten <- function(inputs, name = NULL, data_format = "channels_last") {
  layer_flatten(tf_tensor_arg(inputs, "layers$flatten"), name = tf_layer_name("flatten", name))
}

tf_layers_module <- function() {
  tf_module(conv2d = tf_layers_conv2d, max_pooling2d = tf_layers_max_pooling2d, dense = tf_layers_dense,
            dropout = tf_layers_dropout, flatten = tf_layers_flatten)
}

# ---------------------------------------------------------------- ops

tf_argmax <- function(input, axis = NULL, name = NULL, dimension = NULL, output_type = NULL) {
  x <- tf_tensor_arg(input, "argmax", "input")
  axis <- axis %||% dimension %||% 0L
  tf_named(record_op("argmax", list(x), list(axis = as.integer(axis)), fn = "tf$argmax"), name)
}

# Per-example softmax cross-entropy: -sum(labels * log_softmax(logits), last axis).
softmax_xent <- function(labels, logits, fn) {
  logits <- tf_tensor_arg(logits, fn, "logits")
  labels <- tf_tensor_arg(labels, fn, "labels")
  a <- tensor_full_shape(labels); b <- tensor_full_shape(logits)
  if (length(a) != length(b) || !all(is.na(a) | is.na(b) | a == b))
    stop(sprintf("tf$%s(): labels of shape %s do not match logits of shape %s", fn, shape_text(a), shape_text(b)),
         call. = FALSE)
  ls <- record_op("log_softmax", list(logits), list(axis = -1L), fn = paste0("tf$", fn))
  -k_sum(k_cast(labels, "float32") * ls, axis = -1)
}

sparse_onehot <- function(labels, logits, fn) {
  depth <- tensor_full_shape(tf_tensor_arg(logits, fn, "logits"))
  depth <- depth[length(depth)]
  if (is.na(depth)) stop("tf$", fn, "(): the number of classes (last axis of logits) must be known", call. = FALSE)
  tf_one_hot(k_cast(tf_tensor_arg(labels, fn, "labels"), "int32"), depth)
}

# tf$losses: the mean over the batch (weights a scalar).
tf_losses_reduce <- function(per_example, weights, fn) {
  if (!is.numeric(weights) || length(weights) != 1)
    stop("tf$losses$", fn, "(): only a scalar `weights` is supported", call. = FALSE)
  k_mean(per_example) * weights
}

tf_losses_module <- function() {
  tf_module(
    softmax_cross_entropy = function(onehot_labels, logits, weights = 1, label_smoothing = 0, scope = NULL,
                                     loss_collection = NULL, reduction = NULL) {
      if (label_smoothing != 0) stop("tf$losses$softmax_cross_entropy(): label_smoothing is not implemented", call. = FALSE)
      tf_losses_reduce(softmax_xent(onehot_labels, logits, "losses$softmax_cross_entropy"), weights, "softmax_cross_entropy")
    },
    sparse_softmax_cross_entropy = function(labels, logits, weights = 1, scope = NULL, loss_collection = NULL,
                                            reduction = NULL) {
      fn <- "losses$sparse_softmax_cross_entropy"
      tf_losses_reduce(softmax_xent(sparse_onehot(labels, logits, fn), logits, fn), weights, "sparse_softmax_cross_entropy")
    },
    mean_squared_error = function(labels, predictions, weights = 1, scope = NULL, loss_collection = NULL,
                                  reduction = NULL)
      tf_losses_reduce(k_square(tf_tensor_arg(predictions, "losses$mean_squared_error", "predictions") -
                                  tf_tensor_arg(labels, "losses$mean_squared_error", "labels")), weights,
                       "mean_squared_error"))
}

# tf$metrics$accuracy: streaming over evaluation steps. Holds the per-example
# correctness; evaluate() averages it over every example it sees.
tf_metrics_accuracy <- function(labels, predictions, weights = NULL, metrics_collections = NULL,
                                updates_collections = NULL, name = NULL) {
  if (!is.null(weights)) stop("tf$metrics$accuracy(): `weights` is not implemented", call. = FALSE)
  l <- k_cast(tf_tensor_arg(labels, "metrics$accuracy", "labels"), "float32")
  p <- k_cast(tf_tensor_arg(predictions, "metrics$accuracy", "predictions"), "float32")
  a <- tensor_full_shape(l); b <- tensor_full_shape(p)
  if (length(a) == length(b) + 1 && identical(a[length(a)], 1L)) l <- k_reshape(l, -1L)
  structure(list(value = k_cast(k_equal(l, p), "float32")), class = "kerasnative_tf_metric")
}

# ---------------------------------------------------------------- optimizers

tf_global_step <- function() structure(list(), class = "kerasnative_global_step")

tf_optimizer <- function(opt) {
  o <- new.env(parent = emptyenv())
  o$optimizer <- opt
  o$minimize <- function(loss, global_step = NULL, var_list = NULL, ...) {
    if (!is_tensor(loss) || tensor_kind(loss) == "eager")
      stop("minimize(): `loss` must be a tensor computed in the model_fn", call. = FALSE)
    if (!is.null(var_list)) stop("minimize(): `var_list` is not implemented (all trainable layers are updated)",
                                 call. = FALSE)
    structure(list(optimizer = opt, loss = loss, global_step = !is.null(global_step)), class = "kerasnative_train_op")
  }
  structure(o, class = "kerasnative_tf_optimizer")
}

tf_train_optimizers <- function() {
  list(
    GradientDescentOptimizer = function(learning_rate, use_locking = FALSE, name = "GradientDescent")
      tf_optimizer(optimizer_sgd(lr = learning_rate)),
    AdamOptimizer = function(learning_rate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-08, use_locking = FALSE,
                             name = "Adam")
      tf_optimizer(optimizer_adam(lr = learning_rate, beta_1 = beta1, beta_2 = beta2, epsilon = epsilon)),
    RMSPropOptimizer = function(learning_rate, decay = 0.9, momentum = 0, epsilon = 1e-10, use_locking = FALSE,
                                centered = FALSE, name = "RMSProp") {
      if (momentum != 0 || centered) stop("RMSPropOptimizer(): momentum and centered are not implemented", call. = FALSE)
      tf_optimizer(optimizer_rmsprop(lr = learning_rate, rho = decay, epsilon = epsilon))
    },
    get_global_step = tf_global_step, get_or_create_global_step = tf_global_step)
}
