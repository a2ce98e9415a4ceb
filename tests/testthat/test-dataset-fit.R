# fit()/evaluate()/predict() from datasets, compared with the same data in memory.

local_mnist <- function() {
  home <- tempfile("keras_home_")
  dir.create(file.path(home, "datasets"), recursive = TRUE)
  old <- Sys.getenv("KERAS_HOME")
  oo <- options(kerasnative.offline = TRUE)
  on.exit({ Sys.setenv(KERAS_HOME = old); options(oo) })
  Sys.setenv(KERAS_HOME = home)
  suppressWarnings(dataset_mnist())
}

mnist_parse <- function(record) {
  f <- tf$io$parse_single_example(record, list(
    image_raw = tf$io$FixedLenFeature(shape(), tf$string),
    label = tf$io$FixedLenFeature(shape(), tf$int64)))
  img <- tf$io$decode_raw(f$image_raw, tf$uint8)
  img <- tf$cast(img, tf$float32) / 255
  img <- tf$reshape(img, shape(28, 28, 1))
  lab <- tf$one_hot(tf$cast(f$label, tf$int32), 10L)
  list(img, lab)
}

small_cnn <- function() {
  m <- keras_model_sequential() %>%
    layer_flatten(input_shape = c(28, 28, 1)) %>%
    layer_dense(units = 32, activation = "relu") %>%
    layer_dense(units = 10, activation = "softmax")
  m %>% compile(loss = "categorical_crossentropy", optimizer = "adam", metrics = "accuracy")
  m
}

test_that("a model trained from a TFRecord file matches training from arrays", {
  mn <- local_mnist()
  n <- 2000
  x <- mn$train$x[1:n, , ]; y <- mn$train$y[1:n]
  path <- tempfile(fileext = ".tfrecord")
  write_tfrecord(list(image_raw = x, label = y), path, as_bytes = "image_raw")
  ds <- tfrecord_dataset(path) %>% dataset_map(mnist_parse, num_parallel_calls = 2) %>%
    dataset_batch(64) %>% dataset_prefetch(2)
  expect_equal(format(ds), "<PrefetchDataset shapes: ((None, 28, 28, 1), (None, 10)), types: (tf.float32, tf.float32)>")
  xa <- array(x / 255, c(n, 28, 28, 1)); ya <- to_categorical(y, 10)
  set.seed(5); m1 <- small_cnn()
  h1 <- fit(m1, xa, ya, batch_size = 64, epochs = 2, shuffle = FALSE, verbose = 0)
  set.seed(5); m2 <- small_cnn()
  h2 <- fit(m2, ds, epochs = 2, verbose = 0)
  # identical batches in the same order: same training up to float rounding
  expect_equal(h2$metrics$loss, h1$metrics$loss, tolerance = 1e-3)
  expect_equal(h2$metrics$acc, h1$metrics$acc, tolerance = 0.01)
  expect_gt(tail(h2$metrics$acc, 1), 0.7)
  e_ds <- evaluate(m2, ds, verbose = 0)
  e_arr <- evaluate(m2, xa, ya, verbose = 0)
  expect_equal(e_ds$loss, e_arr$loss, tolerance = 1e-4)
  expect_equal(e_ds$acc, e_arr$acc, tolerance = 1e-6)
  p_ds <- predict(m2, ds)
  p_arr <- predict(m2, xa)
  expect_equal(dim(p_ds), c(n, 10))
  expect_equal(p_ds, p_arr, tolerance = 1e-5)
})

test_that("steps_per_epoch with a repeating shuffled dataset, reproducibly", {
  x <- matrix(runif(400), ncol = 4); y <- to_categorical(as.integer(x[, 1] > x[, 2]), 2)
  ds <- tensor_slices_dataset(list(x, y)) %>% dataset_shuffle(50) %>% dataset_repeat() %>% dataset_batch(10)
  model <- function() {
    m <- keras_model_sequential() %>% layer_dense(units = 2, activation = "softmax", input_shape = 4)
    m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
    m
  }
  set.seed(9); h1 <- fit(model(), ds, epochs = 3, steps_per_epoch = 7, verbose = 0)
  set.seed(9); h2 <- fit(model(), ds, epochs = 3, steps_per_epoch = 7, verbose = 0)
  expect_identical(h1$metrics$loss, h2$metrics$loss)
  expect_length(h1$metrics$loss, 3)
  expect_error(fit(model(), ds, epochs = 1, verbose = 0), "steps_per_epoch")
  out <- capture.output(fit(model(), ds, epochs = 1, steps_per_epoch = 5, verbose = 1))
  expect_true(any(grepl("5/5 \\[=+\\]", out)))
  # too few batches for the steps: warning, no silent short epoch
  short <- tensor_slices_dataset(list(x, y)) %>% dataset_batch(50)
  expect_warning(fit(model(), short, epochs = 2, steps_per_epoch = 3, verbose = 0), "ran out of data")
  expect_equal(length(evaluate(model(), ds, steps = 2, verbose = 0)), 2)
})

test_that("sample weights, validation datasets and shape errors", {
  x <- matrix(runif(200), ncol = 2); y <- to_categorical(as.integer(x[, 1] > x[, 2]), 2)
  m <- keras_model_sequential() %>% layer_dense(units = 2, activation = "softmax", input_shape = 2)
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
  ds <- tensor_slices_dataset(list(x, y, rep(1, 100))) %>% dataset_batch(16)
  h <- fit(m, ds, epochs = 1, validation_data = tensor_slices_dataset(list(x, y)) %>% dataset_batch(50), verbose = 0)
  expect_true("val_loss" %in% names(h$metrics))
  # zero weights on everything: the loss is zero
  dz <- tensor_slices_dataset(list(x, y, rep(0, 100))) %>% dataset_batch(16)
  expect_equal(evaluate(m, dz, verbose = 0)$loss, 0)
  expect_error(fit(m, tensor_slices_dataset(list(x, y)), epochs = 1, verbose = 0), "not batched")
  bad <- tensor_slices_dataset(list(cbind(x, x), y)) %>% dataset_batch(10)
  expect_error(fit(m, bad, epochs = 1, verbose = 0), "do not fit the model")
})

test_that("a corrupt record stops fit() with an error, not a short epoch", {
  x <- array(sample(0:255, 50 * 784, replace = TRUE), c(50, 28, 28)); y <- sample(0:9, 50, replace = TRUE)
  path <- tempfile(fileext = ".tfrecord")
  write_tfrecord(list(image_raw = x, label = y), path, as_bytes = "image_raw")
  b <- readBin(path, "raw", file.size(path))
  b[length(b) - 100] <- xor(b[length(b) - 100], as.raw(1))
  writeBin(b, path)
  ds <- tfrecord_dataset(path) %>% dataset_map(mnist_parse, num_parallel_calls = 2) %>% dataset_batch(8)
  expect_error(fit(small_cnn(), ds, epochs = 1, verbose = 0), "record 49 at byte offset [0-9]+: data CRC mismatch")
})
