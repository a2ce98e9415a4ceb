# Memory bound of the input pipeline: stream about 2 GB of TFRecords through
# shuffle(10000) + batch(128) + prefetch and report the process's resident
# memory (VmRSS now / VmHWM peak) against the value before streaming.
# Usage: R_LIBS=_build/lib Rscript bench/bench_memory.R [GB]
suppressMessages(library(kerasnative))
gb <- as.numeric(commandArgs(TRUE)[1])
if (is.na(gb)) gb <- 2
rss <- function() {
  s <- readLines("/proc/self/status")
  kb <- function(k) as.numeric(sub("[^0-9]*([0-9]+).*", "\\1", grep(paste0("^", k, ":"), s, value = TRUE)))
  c(rss = kb("VmRSS") / 1024, hwm = kb("VmHWM") / 1024)
}
dir <- tempfile("membench"); dir.create(dir)
on.exit(unlink(dir, recursive = TRUE))
# 100 files of ~gb/100 each: records of 4,096 floats (16 KB) + a label.
n_files <- 100
per_file <- ceiling(gb * 1e9 / n_files / (4096 * 4 + 32))
set.seed(1)
x <- matrix(runif(per_file * 4096), per_file, 4096)
y <- sample(0:9, per_file, TRUE)
one <- file.path(dir, "part-000.tfrecord")
write_tfrecord(list(x = x, label = y), one)
files <- file.path(dir, sprintf("part-%03d.tfrecord", seq_len(n_files) - 1))
for (f in files[-1]) file.copy(one, f)  # same content; only the volume matters
rm(x); invisible(gc())
cat(sprintf("%d files, %.2f GB of TFRecords\n", n_files, sum(file.size(files)) / 1e9))

parse <- function(record) {
  f <- tf$io$parse_single_example(record, list(x = tf$io$FixedLenFeature(shape(4096), tf$float32),
                                               label = tf$io$FixedLenFeature(shape(), tf$int64)))
  list(f$x, tf$one_hot(tf$cast(f$label, tf$int32), 10L))
}
ds <- tfrecord_dataset(files) %>% dataset_map(parse, num_parallel_calls = 2L) %>%
  dataset_shuffle(10000) %>% dataset_batch(128) %>% dataset_prefetch(2)
# reset the peak-RSS counter (Linux: "5" to clear_refs) so VmHWM is the peak while streaming
try(cat("5", file = "/proc/self/clear_refs"), silent = TRUE)
before <- rss()
t <- system.time({
  it <- kerasnative:::cpp_dataset_iterator(kerasnative:::dataset_handle(ds), 1)
  r <- kerasnative:::cpp_iterator_drain(it, -1)
})[["elapsed"]]
after <- rss()
cat(sprintf("streamed %d records in %.1f s (%.0f MB/s)\n", as.integer(r$rows), t, sum(file.size(files)) / 1e6 / t))
cat(sprintf("RSS before %.0f MB, after %.0f MB; peak (VmHWM) %.0f MB => peak growth %.0f MB (limit 300 MB)\n",
            before[["rss"]], after[["rss"]], after[["hwm"]], after[["hwm"]] - before[["rss"]]))
cat(sprintf("shuffle buffer alone: 10000 x 4096 floats = %.0f MB\n", 10000 * 4096 * 4 / 1e6))
