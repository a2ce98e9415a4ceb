# The first 1000 training images of the bundled MNIST sample, as (n, 784)
# values in [0, 1] and one-hot labels: a small, fast classification task for
# comparing custom layers, lambdas, losses and metrics with their built-in
# equivalents.
kn_mnist_sample <- function(n = 1000) {
  home <- tempfile("kerashome")
  dir.create(file.path(home, "datasets"), recursive = TRUE)
  old <- Sys.getenv("KERAS_HOME")
  on.exit(Sys.setenv(KERAS_HOME = old))
  Sys.setenv(KERAS_HOME = home)
  opts <- options(kerasnative.offline = TRUE)
  on.exit(options(opts), add = TRUE)
  mn <- suppressWarnings(dataset_mnist())
  n <- min(n, dim(mn$train$x)[1])
  x <- array_reshape(mn$train$x[seq_len(n), , ], c(n, 784)) / 255
  list(x = x, y = to_categorical(mn$train$y[seq_len(n)], 10), labels = mn$train$y[seq_len(n)])
}
