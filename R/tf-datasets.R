# tf$contrib$learn$datasets: MNIST as TensorFlow 1.x's read_data_sets() gives
# it (train 55,000 / validation 5,000 / test 10,000; images float32 n x 784 in
# [0, 1] in row-major pixel order; integer labels), from the same local files
# as dataset_mnist(). Nothing is downloaded.

# n x 28 x 28 integer images -> n x 784 in [0, 1], pixel (r, c) at column (r - 1) * 28 + c.
mnist_flat <- function(x) {
  n <- dim(x)[1]
  m <- matrix(aperm(x, c(1L, 3L, 2L)), nrow = n, ncol = 784L)
  m / 255
}

mnist_split <- function(images, labels) {
  structure(list(images = images, labels = as.integer(labels), num_examples = nrow(images)),
            class = "kerasnative_mnist_split")
}

#' @export
print.kerasnative_mnist_split <- function(x, ...) {
  cat(sprintf("<DataSet: %d images (%d x %d), labels %s>\n", x$num_examples, nrow(x$images), ncol(x$images),
              paste(range(x$labels), collapse = "-")))
  invisible(x)
}

# TF's load_mnist(train_dir): the IDX files in `train_dir` if it holds them,
# else dataset_mnist()'s sources (KERAS_HOME cache, bundled sample), offline.
tf_load_mnist <- function(train_dir = "MNIST-data", validation_size = 5000L) {
  validation_size <- check_whole(validation_size, "load_mnist", "validation_size", min = 0)
  idx <- if (is.character(train_dir) && length(train_dir) == 1 && dir.exists(train_dir)) find_idx_set(train_dir)
  d <- if (!is.null(idx)) load_idx_dataset(idx, sprintf("MNIST IDX files in '%s'", train_dir)) else {
    old <- options(kerasnative.offline = TRUE)
    on.exit(options(old))
    dataset_mnist()
  }
  n <- dim(d$train$x)[1]
  if (validation_size >= n)
    stop(sprintf("load_mnist(): validation_size (%d) must be smaller than the %d training images",
                 validation_size, n), call. = FALSE)
  all_train <- mnist_flat(d$train$x)
  v <- seq_len(validation_size)
  structure(list(
    train = mnist_split(all_train[-v, , drop = FALSE], d$train$y[-v]),
    validation = mnist_split(all_train[v, , drop = FALSE], d$train$y[v]),
    test = mnist_split(mnist_flat(d$test$x), d$test$y)), class = "kerasnative_mnist_datasets")
}

tf_load_dataset <- function(name, size = NULL, test_with_fake_data = FALSE) {
  if (!identical(name, "mnist"))
    stop("load_dataset(): only \"mnist\" is available in kerasnative, not '", name, "'", call. = FALSE)
  tf_load_mnist()
}

tf_contrib_module <- function() {
  datasets <- tf_module(mnist = tf_module(load_mnist = tf_load_mnist, read_data_sets = tf_load_mnist),
                        load_dataset = tf_load_dataset)
  tf_module(learn = tf_module(datasets = datasets))
}

tf_train_module <- function() {
  do.call(tf_module, c(list(shuffle_batch = tf_shuffle_batch, batch = tf_batch, Coordinator = tf_Coordinator,
                            start_queue_runners = tf_start_queue_runners), tf_train_optimizers()))
}
