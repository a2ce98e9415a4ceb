# Seed 000 (keras R example "mnist_tfrecord"): a tf$train$shuffle_batch()
# queue wired into a Keras model with layer_input(tensor = ) and
# compile(target_tensors = ), trained with fit(epochs, steps_per_epoch),
# its weights then evaluated in a second model. Changes from the seed text:
# library(kerasnative) in place of library(keras); the closing brackets the
# seed text lost; and the original example's coord$request_stop(),
# coord$join(threads) and k_clear_session() lines, also lost from the seed text.
# Environment: SEED000_EPOCHS / SEED000_STEPS shorten the run (tests);
# KERAS_HOME must hold the MNIST files (see dataset_mnist()).
library(kerasnative)

if (k_backend() != 'tensorflow') {
  stop('This example can only run with the ',
       'TensorFlow backend, ',
       'because it requires TFRecords, which ',
       'are not supported on other platforms.')
}
# Define Model -------------------------------------------------------------------
cnn_layers <- function(x_train_input) {
  x_train_input %>%
    layer_conv_2d(filters = 32, kernel_size = c(3,3),
                  activation = 'relu', padding = 'valid') %>%
    layer_max_pooling_2d(pool_size = c(2,2)) %>%
    layer_conv_2d(filters = 64, kernel_size = c(3,3), activation = 'relu') %>%
    layer_max_pooling_2d(pool_size = c(2,2)) %>%
    layer_flatten() %>%
    layer_dense(units = 512, activation = 'relu') %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = classes, activation = 'softmax', name = 'x_train_out')
}
sess <- k_get_session()
# Data Preparation --------------------------------------------------------------
batch_size <- 128L
batch_shape = list(batch_size, 28L, 28L, 1L)
steps_per_epoch <- as.integer(Sys.getenv("SEED000_STEPS", "469"))
epochs <- as.integer(Sys.getenv("SEED000_EPOCHS", "5"))
classes <- 10L
capacity <- 10000L
min_after_dequeue <- 3000L
enqueue_many <- TRUE
# mnist dataset from tf contrib
mnist <- tf$contrib$learn$datasets$mnist
data <- mnist$load_mnist()
train_data <- tf$train$shuffle_batch(
  tensors = list(data$train$images, data$train$labels),
  batch_size = batch_size,
  capacity = capacity,
  min_after_dequeue = min_after_dequeue,
  enqueue_many = enqueue_many,
  num_threads = 8L
)
x_train_batch <- train_data[[1]]
y_train_batch <- train_data[[2]]
x_train_batch <- tf$cast(x_train_batch, tf$float32)
x_train_batch <- tf$reshape(x_train_batch, shape = batch_shape)
y_train_batch <- tf$cast(y_train_batch, tf$int32)
y_train_batch <- tf$one_hot(y_train_batch, classes)
x_batch_shape <- x_train_batch$get_shape()$as_list()
y_batch_shape = y_train_batch$get_shape()$as_list()
x_train_input <- layer_input(tensor = x_train_batch, batch_shape = x_batch_shape)
x_train_out <- cnn_layers(x_train_input)
# Training & Evaluation ---------------------------------------------------------
train_model = keras_model(inputs = x_train_input, outputs = x_train_out)
# Pass the target tensor `y_train_batch` to `compile`
# via the `target_tensors` keyword argument:
train_model %>% compile(
  optimizer = optimizer_rmsprop(lr = 2e-3, decay = 1e-5),
  loss = 'categorical_crossentropy',
  metrics = c('accuracy'),
  target_tensors = y_train_batch
)
# Fit the model using data from the TFRecord data tensors.
coord <- tf$train$Coordinator()
threads = tf$train$start_queue_runners(sess, coord)
train_model %>% fit(
  epochs = epochs,
  steps_per_epoch = steps_per_epoch
)
# Save the model weights.
train_model %>% save_model_weights_hdf5('saved_wt.h5')
# Clean up the TF session.
coord$request_stop()
coord$join(threads)
k_clear_session()
# Second Session to test loading trained model without tensors
x_test <- data$validation$images
x_test <- array_reshape(x_test, dim = c(nrow(x_test), 28, 28, 1))
y_test <- data$validation$labels
x_test_inp <- layer_input(shape = dim(x_test)[-1])
test_out <- cnn_layers(x_test_inp)
test_model <- keras_model(inputs = x_test_inp, outputs = test_out)
test_model %>% load_model_weights_hdf5('saved_wt.h5')
test_model %>% compile(
  optimizer = 'rmsprop',
  loss = 'categorical_crossentropy',
  metrics = c('accuracy')
)
result <- test_model %>% evaluate(x_test, to_categorical(y_test, classes))
cat(sprintf('\nTest accuracy: %f', result$acc))
