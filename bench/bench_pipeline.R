# Input pipeline benchmark (make install; R_LIBS=_build/lib Rscript bench/bench_pipeline.R).
# 1. Writes the 60,000 MNIST training images as tf.train.Examples (image_raw
#    uint8 bytes + int64 label, as in the Keras mnist_tfrecord example).
# 2. Pipeline alone: read + CRC + parse + decode_raw + cast/scale + reshape +
#    one_hot + batch(128), drained natively (no R per element): records/s.
# 3. fit() of the same MLP for the same epochs from the TFRecord dataset and
#    from in-memory arrays (same batch size, shuffled): seconds per epoch.
# MNIST comes from ../shared/testdata/mnist (or $KERASNATIVE_SHARED), else the
# bundled 5,000-image sample.
suppressMessages(library(kerasnative))
threads <- as.integer(Sys.getenv("KERASNATIVE_THREADS", "2"))
reps <- as.integer(Sys.getenv("BENCH_REPS", "3"))

shared <- Sys.getenv("KERASNATIVE_SHARED", "")
cands <- c(if (nzchar(shared)) c(file.path(shared, "mnist"), file.path(shared, "testdata", "mnist")),
           file.path("..", "shared", "testdata", "mnist"), file.path("..", "..", "shared", "testdata", "mnist"))
home <- tempfile("kerashome"); dir.create(file.path(home, "datasets"), recursive = TRUE)
src <- Filter(function(d) file.exists(file.path(d, "train-images-idx3-ubyte.gz")), cands)
if (length(src)) invisible(file.copy(list.files(src[1], pattern = "ubyte", full.names = TRUE), file.path(home, "datasets")))
Sys.setenv(KERAS_HOME = home); options(kerasnative.offline = TRUE)
mnist <- suppressWarnings(dataset_mnist())
x <- mnist$train$x; y <- mnist$train$y
n <- dim(x)[1]
cat(sprintf("MNIST training images: %d (%s)\n", n, if (length(src)) src[1] else "bundled sample"))

path <- tempfile(fileext = ".tfrecord")
if (exists("kn_config")) print(kn_config())
kn_threads(threads)
cat(sprintf("threads %d, CPU %s\n", threads, sub("^model name\\s*:\\s*", "", grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)[1])))
for (rep in seq_len(reps)) {
  t <- system.time(write_tfrecord(list(image_raw = x, label = y), path, as_bytes = "image_raw"))[["elapsed"]]
  cat(sprintf("write_tfrecord: %d records, %.1f MB in %.3f s (%.0f records/s)\n", n, file.size(path) / 1e6, t, n / t))
}
cat(sprintf("write_tfrecord md5 %s\n", tools::md5sum(path)))

# ---- R arrays -> float32 rows: conversion alone (model_data), predict() and fit() of the M2 MLP
xa <- array_reshape(x, c(n, 784)) / 255
m2 <- keras_model_sequential() %>% layer_dense(256, activation = "relu", input_shape = 784) %>% layer_dropout(0.4) %>%
  layer_dense(128, activation = "relu") %>% layer_dropout(0.3) %>% layer_dense(10, activation = "softmax")
m2 %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_rmsprop(lr = 1e-3), metrics = "accuracy")
ya <- to_categorical(y, 10)
for (rep in seq_len(reps)) {
  t_conv <- system.time(kerasnative:::model_data(m2, xa, ya))[["elapsed"]]
  t_pred <- system.time(p <- predict(m2, xa, batch_size = 1000))[["elapsed"]]
  t_fit <- system.time(fit(m2, xa, ya, batch_size = 128, epochs = 1, verbose = 0))[["elapsed"]]
  cat(sprintf("arrays (%d x 784 doubles): model_data %.3f s, predict() %.3f s = %.0f img/s, fit() 1 epoch %.3f s = %.0f img/s\n",
              n, t_conv, t_pred, n / t_pred, t_fit, n / t_fit))
}
rm(xa, p); invisible(gc())

parse <- function(record) {
  f <- tf$io$parse_single_example(record, list(
    image_raw = tf$io$FixedLenFeature(shape(), tf$string),
    label = tf$io$FixedLenFeature(shape(), tf$int64)))
  img <- tf$io$decode_raw(f$image_raw, tf$uint8)
  img <- tf$cast(img, tf$float32) / 255
  img <- tf$reshape(img, shape(784))
  lab <- tf$one_hot(tf$cast(f$label, tf$int32), 10L)
  list(img, lab)
}

# ---- pipeline alone
pipeline <- function(shuffle = FALSE) {
  ds <- tfrecord_dataset(path) %>% dataset_map(parse, num_parallel_calls = threads)
  if (shuffle) ds <- ds %>% dataset_shuffle(10000)
  ds %>% dataset_batch(128) %>% dataset_prefetch(2)
}
drain <- function(ds) {
  it <- kerasnative:::cpp_dataset_iterator(kerasnative:::dataset_handle(ds), 1)
  kerasnative:::cpp_iterator_drain(it, -1)
}
# stage splits (each drained the same way): read + CRC only, + parse, whole map
parse_only <- function(record) tf$io$parse_single_example(record, list(
  image_raw = tf$io$FixedLenFeature(shape(), tf$string), label = tf$io$FixedLenFeature(shape(), tf$int64)))
stages <- list(
  "read + CRC (no map), batch 128" = function() tfrecord_dataset(path) %>% dataset_batch(128),
  "read + CRC + parse, batch 128" = function() tfrecord_dataset(path) %>%
    dataset_map(parse_only, num_parallel_calls = threads) %>% dataset_batch(128))
for (nm in names(stages)) {
  r <- drain(stages[[nm]]())
  cat(sprintf("  stage %-34s %.0f records/s\n", nm, r$rows / r$seconds))
}
for (rep in seq_len(reps)) {
  r <- drain(pipeline())
  cat(sprintf("pipeline (read, parse, decode, batch 128), %d threads: %d records in %.3f s = %.0f records/s\n",
              threads, as.integer(r$rows), r$seconds, r$rows / r$seconds))
}
r <- drain(pipeline(shuffle = TRUE))
cat(sprintf("  with shuffle(10000): %.0f records/s\n", r$rows / r$seconds))

# ---- fit: TFRecord vs arrays (BENCH_FIT=0 skips it)
if (Sys.getenv("BENCH_FIT", "1") == "0") quit(save = "no")
make_model <- function() {
  set.seed(42)
  m <- keras_model_sequential() %>%
    layer_dense(units = 128, activation = "relu", input_shape = 784) %>%
    layer_dense(units = 10, activation = "softmax")
  m %>% compile(loss = "categorical_crossentropy", optimizer = "rmsprop", metrics = "accuracy")
  m
}
epochs <- as.integer(Sys.getenv("BENCH_EPOCHS", "3"))
xa <- array_reshape(x, c(n, 784)) / 255
ya <- to_categorical(y, 10)
res <- list()
for (rep in 1:2) {
  m1 <- make_model()
  t_arr <- system.time(h1 <- fit(m1, xa, ya, batch_size = 128, epochs = epochs, verbose = 0))[["elapsed"]]
  m2 <- make_model()
  ds <- tfrecord_dataset(path) %>% dataset_map(parse, num_parallel_calls = threads) %>%
    dataset_shuffle(10000) %>% dataset_batch(128) %>% dataset_prefetch(2)
  t_ds <- system.time(h2 <- fit(m2, ds, epochs = epochs, verbose = 0))[["elapsed"]]
  cat(sprintf("fit %d epochs, MLP 784-128-10, batch 128: arrays %.2f s (acc %.4f), TFRecord %.2f s (acc %.4f): TFRecord speed = %.1f%% of arrays\n",
              epochs, t_arr, tail(h1$metrics$acc, 1), t_ds, tail(h2$metrics$acc, 1), 100 * t_arr / t_ds))
}
