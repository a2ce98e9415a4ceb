# kerasnative demo (`make demo`): the keras TFRecord example (seed 000) run
# natively. MNIST is written as TFRecord files, the CNN trains from a native
# tfdatasets pipeline over those files, its weights are saved to HDF5, loaded
# into a second model built on a plain input, and that model is evaluated.
# Data: the full MNIST from ../shared/testdata/mnist when present (as CI has
# it), else the sample of real MNIST digits bundled with the package.
library(kerasnative)

shared <- Sys.getenv("KERASNATIVE_SHARED", file.path("..", "shared", "testdata"))
home <- tempfile("kerashome")
dir.create(file.path(home, "datasets"), recursive = TRUE)
Sys.setenv(KERAS_HOME = home)
files <- c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
if (all(file.exists(file.path(shared, "mnist", files))))
  file.copy(file.path(shared, "mnist", files), file.path(home, "datasets"))
options(kerasnative.offline = TRUE)
mnist <- suppressWarnings(dataset_mnist())
n_train <- dim(mnist$train$x)[1]
cat(sprintf("MNIST: %d training and %d test images\n", n_train, dim(mnist$test$x)[1]))

# Data Preparation --------------------------------------------------------------
# As tf.contrib's load_mnist() in the seed: the last 5,000 training images are
# the validation set, the first 55,000 are trained on (scaled to the sample).
n_val <- if (n_train >= 60000) 5000L else n_train %/% 12L
train_idx <- seq_len(n_train - n_val)
val_idx <- setdiff(seq_len(n_train), train_idx)
n_train <- length(train_idx)
tfrecord_file <- file.path(tempdir(), "mnist-train.tfrecords")
write_tfrecord(list(image_raw = mnist$train$x[train_idx, , ], label = mnist$train$y[train_idx]),
               tfrecord_file, as_bytes = "image_raw")
cat(sprintf("wrote %s (%.1f MB)\n", basename(tfrecord_file), file.size(tfrecord_file) / 1e6))

batch_size <- 128L
epochs <- as.integer(Sys.getenv("KERASNATIVE_DEMO_EPOCHS", "5"))
classes <- 10L
steps_per_epoch <- ceiling(n_train / batch_size)

parse_mnist <- function(record) {
  features <- tf$io$parse_single_example(record, list(
    image_raw = tf$io$FixedLenFeature(shape(), tf$string),
    label = tf$io$FixedLenFeature(shape(), tf$int64)))
  image <- tf$io$decode_raw(features$image_raw, tf$uint8)
  image <- tf$cast(image, tf$float32) / 255
  image <- tf$reshape(image, shape(28, 28, 1))
  label <- tf$one_hot(tf$cast(features$label, tf$int32), classes)
  list(image, label)
}
set.seed(2026)
train_data <- tfrecord_dataset(tfrecord_file) %>%
  dataset_map(parse_mnist, num_parallel_calls = 2L) %>%
  dataset_shuffle(buffer_size = 10000L) %>%
  dataset_repeat() %>%
  dataset_batch(batch_size) %>%
  dataset_prefetch(2L)

# Define Model -------------------------------------------------------------------
cnn_layers <- function(x_train_input) {
  x_train_input %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu", padding = "valid") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_conv_2d(filters = 64, kernel_size = c(3, 3), activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_flatten() %>%
    layer_dense(units = 512, activation = "relu") %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = classes, activation = "softmax", name = "x_train_out")
}

# Training & Evaluation ---------------------------------------------------------
x_train_input <- layer_input(shape = c(28, 28, 1))
train_model <- keras_model(inputs = x_train_input, outputs = cnn_layers(x_train_input))
train_model %>% compile(
  optimizer = optimizer_rmsprop(lr = 2e-3, decay = 1e-5),
  loss = "categorical_crossentropy",
  metrics = c("accuracy")
)
summary(train_model)
train_model %>% fit(train_data, epochs = epochs, steps_per_epoch = steps_per_epoch)

# Save the model weights, then load them into a second model on a plain input.
weights_file <- file.path(tempdir(), "saved_wt.h5")
train_model %>% save_model_weights_hdf5(weights_file)

x_val <- array_reshape(mnist$train$x[val_idx, , ], c(length(val_idx), 28, 28, 1)) / 255
y_val <- mnist$train$y[val_idx]
x_test <- array_reshape(mnist$test$x, c(dim(mnist$test$x)[1], 28, 28, 1)) / 255
y_test <- mnist$test$y
x_test_inp <- layer_input(shape = dim(x_test)[-1])
test_out <- cnn_layers(x_test_inp)
test_model <- keras_model(inputs = x_test_inp, outputs = test_out)
test_model %>% load_model_weights_hdf5(weights_file)
test_model %>% compile(
  optimizer = "rmsprop",
  loss = "categorical_crossentropy",
  metrics = c("accuracy")
)
val <- test_model %>% evaluate(x_val, to_categorical(y_val, classes), verbose = 0)
cat(sprintf("\nValidation accuracy (the seed's measure, %d images): %f", length(y_val), val$acc))
result <- test_model %>% evaluate(x_test, to_categorical(y_test, classes), verbose = 0)
cat(sprintf("\nTest accuracy: %f\n", result$acc))
