# kerasnative demo (`make demo`): the seed-000 CNN trained on MNIST.
# Until the TFRecord input pipeline lands, the data come from arrays: the
# full MNIST from ../shared/testdata/mnist when present, else the sample
# bundled with the package.
library(kerasnative)

shared <- Sys.getenv("KERASNATIVE_SHARED", file.path("..", "shared", "testdata"))
mnist_dir <- file.path(shared, "mnist")
if (dir.exists(mnist_dir)) {
  home <- tempfile("kerashome")
  dir.create(file.path(home, "datasets"), recursive = TRUE)
  files <- c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
  file.copy(file.path(mnist_dir, files), file.path(home, "datasets"))
  Sys.setenv(KERAS_HOME = home)
}
options(kerasnative.offline = TRUE)
mnist <- suppressWarnings(dataset_mnist())
n_train <- dim(mnist$train$x)[1]
cat(sprintf("MNIST: %d training and %d test images\n", n_train, dim(mnist$test$x)[1]))

x_train <- array_reshape(mnist$train$x, c(n_train, 28, 28, 1)) / 255
y_train <- to_categorical(mnist$train$y, 10)
x_test <- array_reshape(mnist$test$x, c(dim(mnist$test$x)[1], 28, 28, 1)) / 255
y_test <- to_categorical(mnist$test$y, 10)

classes <- 10L
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

set.seed(2026)
x_train_input <- layer_input(shape = c(28, 28, 1))
train_model <- keras_model(inputs = x_train_input, outputs = cnn_layers(x_train_input))
train_model %>% compile(
  optimizer = optimizer_rmsprop(lr = 2e-3, decay = 1e-5),
  loss = "categorical_crossentropy",
  metrics = c("accuracy")
)
summary(train_model)
epochs <- as.integer(Sys.getenv("KERASNATIVE_DEMO_EPOCHS", if (n_train >= 60000) "2" else "5"))
train_model %>% fit(x_train, y_train, epochs = epochs, batch_size = 128)

result <- train_model %>% evaluate(x_test, y_test, verbose = 0)
cat(sprintf("\nTest accuracy: %f\n", result$acc))
