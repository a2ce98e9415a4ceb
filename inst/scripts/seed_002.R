# Seed 002 (tfestimators tutorial "CNN MNIST classifier"): a tf$layers CNN in a
# model_fn, run through estimator(), train() and evaluate(). Changes: library(kerasnative)
# in place of library(tfestimators); the reticulate NumPy lines
# (np <- import("numpy"), np$asmatrix(), np$asarray()) replaced by plain R.
# Environment: SEED002_TRAIN_STEPS (default 20, as in the seed) and
# SEED002_DIR (model_dir, default "/tmp/mnist_convnet_model").
library(kerasnative)

cnn_model_fn <- function(features, labels, mode, params, config) {
  input_layer <- tf$reshape(features$x, c(-1L, 28L, 28L, 1L))
  conv1 <- tf$layers$conv2d(
    inputs = input_layer,
    filters = 32L,
    kernel_size = c(5L, 5L),
    padding = "same",
    activation = tf$nn$relu)
  pool1 <- tf$layers$max_pooling2d(inputs = conv1, pool_size = c(2L, 2L), strides = 2L)
  conv2 <- tf$layers$conv2d(
    inputs = pool1,
    filters = 64L,
    kernel_size = c(5L, 5L),
    padding = "same",
    activation = tf$nn$relu)
  pool2 <- tf$layers$max_pooling2d(inputs = conv2, pool_size = c(2L, 2L), strides = 2L)
  pool2_flat <- tf$reshape(pool2, c(-1L, 7L * 7L * 64L))
  dense <- tf$layers$dense(inputs = pool2_flat, units = 1024L, activation = tf$nn$relu)
  dropout <- tf$layers$dropout(
    inputs = dense, rate = 0.4, training = (mode == "train"))
  logits <- tf$layers$dense(inputs = dropout, units = 10L)
  predicted_classes <- tf$argmax(input = logits, axis = 1L, name = "predicted_classes")
  if (mode == "infer") {
    predictions <- list(
      classes = predicted_classes,
      probabilities = tf$nn$softmax(logits, name = "softmax_tensor")
    )
    return(estimator_spec(mode = mode, predictions = predictions))
  }
  onehot_labels <- tf$one_hot(indices = tf$cast(labels, tf$int32), depth = 10L)
  loss <- tf$losses$softmax_cross_entropy(
    onehot_labels = onehot_labels, logits = logits)
  if (mode == "train") {
    optimizer <- tf$train$GradientDescentOptimizer(learning_rate = 0.001)
    train_op <- optimizer$minimize(
      loss = loss,
      global_step = tf$train$get_global_step())
    return(estimator_spec(mode = mode, loss = loss, train_op = train_op))
  }
  eval_metric_ops <- list(accuracy = tf$metrics$accuracy(
    labels = labels, predictions = predicted_classes))
  return(estimator_spec(
    mode = mode, loss = loss, eval_metric_ops = eval_metric_ops))
}

# Load training and eval data
mnist <- tf$contrib$learn$datasets$load_dataset("mnist")
train_data <- mnist$train$images            # was np$asmatrix(mnist$train$images, dtype = np$float32)
storage.mode(train_data) <- "double"
train_labels <- as.integer(mnist$train$labels)  # was np$asarray(mnist$train$labels, dtype = np$int32)
eval_data <- mnist$test$images              # was np$asmatrix(mnist$test$images, dtype = np$float32)
eval_labels <- as.integer(mnist$test$labels)    # was np$asarray(mnist$test$labels, dtype = np$int32)

# Create the Estimator
mnist_classifier <- estimator(
  model_fn = cnn_model_fn, model_dir = Sys.getenv("SEED002_DIR", "/tmp/mnist_convnet_model"))

# Set up logging for predicted classes
tensors_to_log <- list(predicted_classes = "predicted_classes")
logging_hook <- hook_logging_tensor(
  tensors = tensors_to_log, every_n_iter = 50)

# Train the model
train_input_fn <- function(features_as_named_list) {
  tf$estimator$inputs$numpy_input_fn(
    x = list(x = train_data),
    y = train_labels,
    batch_size = 100L,
    num_epochs = NULL,
    shuffle = TRUE)
}
train(
  mnist_classifier,
  input_fn = train_input_fn,
  steps = as.integer(Sys.getenv("SEED002_TRAIN_STEPS", "20")),
  hooks = logging_hook)

# Evaluate the model and print results
eval_input_fn <- function(features_as_named_list) {
  tf$estimator$inputs$numpy_input_fn(
    x = list(x = eval_data),
    y = eval_labels,
    batch_size = 100L,
    num_epochs = NULL,
    shuffle = TRUE)
}
result <- evaluate(
  mnist_classifier,
  input_fn = eval_input_fn,
  steps = 10,
  hooks = logging_hook)
print(result)
