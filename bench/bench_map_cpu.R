# dataset_map() cost without thread noise: the MNIST parse/decode/cast/scale/
# reshape/one_hot map of bench_pipeline.R run on the consumer thread, drained
# natively 5 times; prints the best CPU time and wall time. For an A/B of two
# builds run it alternately with R_LIBS pointing at each (TAG names the run):
#   TAG=before R_LIBS=/path/a Rscript bench/bench_map_cpu.R; TAG=after R_LIBS=/path/b Rscript bench/bench_map_cpu.R
# MNIST comes from ../shared/testdata/mnist ($KERASNATIVE_SHARED/testdata/mnist).
suppressMessages(library(kerasnative))
path <- file.path(tempdir(), "bench_map_mnist.tfrecord")
if (!file.exists(path)) {
  home <- tempfile(); dir.create(file.path(home, "datasets"), recursive = TRUE)
  invisible(file.copy(list.files(file.path(Sys.getenv("KERASNATIVE_SHARED", file.path("..", "shared")), "testdata", "mnist"), pattern = "ubyte", full.names = TRUE), file.path(home, "datasets")))
  Sys.setenv(KERAS_HOME = home); options(kerasnative.offline = TRUE)
  m <- suppressWarnings(dataset_mnist())
  write_tfrecord(list(image_raw = m$train$x, label = m$train$y), path, as_bytes = "image_raw")
}
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
ds <- tfrecord_dataset(path) %>% dataset_map(parse) %>% dataset_batch(128)
best_cpu <- Inf; best_wall <- Inf
for (r in 1:5) {
  it <- kerasnative:::cpp_dataset_iterator(kerasnative:::dataset_handle(ds), 1)
  t0 <- proc.time()
  res <- kerasnative:::cpp_iterator_drain(it, -1)
  d <- proc.time() - t0
  best_cpu <- min(best_cpu, d[["user.self"]] + d[["sys.self"]]); best_wall <- min(best_wall, res$seconds)
}
cat(sprintf("%s: map on the consumer thread, %d records: best CPU %.3f s = %.0f records/CPU-s; best wall %.3f s = %.0f records/s\n",
            Sys.getenv("TAG"), as.integer(res$rows), best_cpu, res$rows / best_cpu, best_wall, res$rows / best_wall))
