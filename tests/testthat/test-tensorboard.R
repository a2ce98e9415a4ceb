# TensorBoard event files. Our files are decoded here by an independent
# reader written in plain R (TFRecord framing with CRC-32C, Event / Summary /
# HistogramProto / GraphDef fields by hand); the package's reader is checked
# on real TensorFlow files (../shared/testdata/tfevents, values from its README).

# ---- independent reader -------------------------------------------------------
u32 <- function(b) sum(as.numeric(b) * 256^(0:3))
u64 <- function(b) sum(as.numeric(b) * 256^(0:7))
xor32 <- function(a, b) {  # on doubles in [0, 2^32)
  hi <- bitwXor(as.integer(a %/% 65536), as.integer(b %/% 65536))
  lo <- bitwXor(as.integer(a %% 65536), as.integer(b %% 65536))
  hi * 65536 + lo
}
crc_table <- local({
  tab <- numeric(256)
  for (i in 0:255) {
    c <- i
    for (k in 1:8) c <- if (c %% 2 == 1) xor32(floor(c / 2), 0x82F63B78) else floor(c / 2)
    tab[i + 1] <- c
  }
  tab
})
crc32c <- function(bytes) {
  crc <- 0xFFFFFFFF
  for (b in as.integer(bytes)) crc <- xor32(crc_table[xor32(crc %% 256, b) + 1], crc %/% 256)
  xor32(crc, 0xFFFFFFFF)
}
masked <- function(crc) {
  rot <- (crc %/% 2^15) + (crc %% 2^15) * 2^17
  (rot + 0xa282ead8) %% 2^32
}
read_records <- function(path) {
  b <- readBin(path, "raw", file.size(path))
  out <- list(); pos <- 1
  while (pos <= length(b)) {
    len <- u64(b[pos:(pos + 7)])
    stopifnot(u32(b[(pos + 8):(pos + 11)]) == masked(crc32c(b[pos:(pos + 7)])))
    data <- b[(pos + 12):(pos + 11 + len)]
    stopifnot(u32(b[(pos + 12 + len):(pos + 15 + len)]) == masked(crc32c(data)))
    out[[length(out) + 1]] <- data
    pos <- pos + 16 + len
  }
  out
}
# protobuf wire format -> list of (field, wire type, value); value raw for
# length-delimited, number for varint, raw bytes for fixed 32/64
pb_fields <- function(b) {
  out <- list(); pos <- 1
  varint <- function() {
    v <- 0; s <- 0
    repeat { x <- as.integer(b[pos]); pos <<- pos + 1; v <- v + (x %% 128) * 2^s; s <- s + 7; if (x < 128) break }
    v
  }
  while (pos <= length(b)) {
    key <- varint(); field <- key %/% 8; wt <- key %% 8
    val <- switch(as.character(wt),
      "0" = varint(),
      "1" = { r <- b[pos:(pos + 7)]; pos <- pos + 8; r },
      "2" = { n <- varint(); r <- if (n > 0) b[pos:(pos + n - 1)] else raw(0); pos <- pos + n; r },
      "5" = { r <- b[pos:(pos + 3)]; pos <- pos + 4; r },
      stop("wire type ", wt))
    out[[length(out) + 1]] <- list(field = field, wt = wt, val = val)
  }
  out
}
f64 <- function(r) readBin(r, "double", size = 8, endian = "little")
f32r <- function(r) readBin(r, "double", size = 4, endian = "little")
get1 <- function(fs, f) { for (x in fs) if (x$field == f) return(x$val); NULL }
getall <- function(fs, f) lapply(Filter(function(x) x$field == f, fs), `[[`, "val")
decode_event <- function(rec) {
  fs <- pb_fields(rec)
  ev <- list(wall_time = f64(get1(fs, 1)), step = get1(fs, 2) %||% 0)
  if (!is.null(v <- get1(fs, 3))) ev$file_version <- rawToChar(v)
  if (!is.null(v <- get1(fs, 4))) ev$graph <- lapply(getall(pb_fields(v), 1), function(n) {
    nf <- pb_fields(n)
    list(name = rawToChar(get1(nf, 1)), op = rawToChar(get1(nf, 2)),
         inputs = vapply(getall(nf, 3), rawToChar, ""))
  })
  if (!is.null(v <- get1(fs, 5))) ev$values <- lapply(getall(pb_fields(v), 1), function(val) {
    vf <- pb_fields(val)
    r <- list(tag = rawToChar(get1(vf, 1)))
    if (!is.null(s <- get1(vf, 2))) r$simple_value <- f32r(s)
    if (!is.null(h <- get1(vf, 5))) {
      hf <- pb_fields(h)
      dbl <- function(k) { x <- get1(hf, k); if (is.null(x)) 0 else f64(x) }
      packed <- function(k) { x <- get1(hf, k); readBin(x, "double", n = length(x) / 8, size = 8, endian = "little") }
      r$histo <- list(min = dbl(1), max = dbl(2), num = dbl(3), sum = dbl(4), sum_squares = dbl(5),
                      bucket_limit = packed(6), bucket = packed(7))
    }
    r
  })
  ev
}
read_events <- function(path) lapply(read_records(path), decode_event)
scalars_of <- function(evs) {
  rows <- lapply(evs, function(e) lapply(Filter(function(v) !is.null(v$simple_value), e$values),
                                          function(v) data.frame(tag = v$tag, step = e$step, value = v$simple_value)))
  do.call(rbind, unlist(rows, recursive = FALSE))
}
f32 <- function(v) readBin(writeBin(as.numeric(v), raw(), size = 4), "numeric", size = 4, n = length(v))

# TensorFlow's histogram, independently: default limits, first limit > v, empty runs collapsed
tf_histogram <- function(v) {
  pos <- c(); x <- 1e-12
  while (x < 1e20) { pos <- c(pos, x); x <- x * 1.1 }
  limits <- c(rev(-c(pos, .Machine$double.xmax)), 0, pos, .Machine$double.xmax)
  counts <- tabulate(findInterval(v, limits) + 1, length(limits))
  lim <- c(); cnt <- c(); i <- 1
  while (i <= length(counts)) {
    end <- limits[i]; n <- counts[i]; i <- i + 1
    if (n == 0) while (i <= length(counts) && counts[i] == 0) { end <- limits[i]; i <- i + 1 }
    lim <- c(lim, end); cnt <- c(cnt, n)
  }
  list(bucket_limit = lim, bucket = cnt)
}

tb_model <- function() {
  set.seed(5)
  m <- keras_model_sequential() %>%
    layer_dense(units = 6, activation = "relu", input_shape = 3, name = "hidden") %>%
    layer_dense(units = 2, activation = "softmax", name = "out")
  m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = 0.2), metrics = "accuracy")
  m
}
tb_data <- function() {
  set.seed(6)
  x <- matrix(runif(150), ncol = 3)
  list(x = x, y = to_categorical(as.integer(x[, 1] > x[, 3]), 2))
}

test_that("event files: name, file_version first, per-epoch scalars, lr when it changes, graph", {
  d <- tb_data(); m <- tb_model()
  ld <- tempfile("tb")
  bump <- callback_lambda(on_epoch_begin = function(epoch, logs) if (epoch == 2) k_set_value(m$optimizer$lr, 0.05))
  h <- m %>% fit(d$x, d$y, epochs = 4, batch_size = 10, verbose = 0, validation_split = 0.2,
                 callbacks = list(bump, callback_tensorboard(ld)))
  files <- list.files(ld)
  expect_length(files, 1)
  expect_match(files, paste0("^events\\.out\\.tfevents\\.[0-9]{10}\\.", gsub(".", "\\.", Sys.info()[["nodename"]], fixed = TRUE), "$"))
  evs <- read_events(file.path(ld, files))
  expect_equal(evs[[1]]$file_version, "brain.Event:2")
  expect_equal(evs[[1]]$wall_time, as.numeric(sub("^events\\.out\\.tfevents\\.([0-9]+)\\..*", "\\1", files)))
  # graph: one node per layer with its class and inputs
  g <- Filter(function(e) !is.null(e$graph), evs)[[1]]$graph
  expect_equal(vapply(g, `[[`, "", "op"), c("InputLayer", "Dense", "Dense"))
  expect_equal(vapply(g, `[[`, "", "name")[2:3], c("hidden", "out"))
  expect_equal(g[[3]]$inputs, "hidden")
  expect_equal(g[[2]]$inputs, g[[1]]$name)
  s <- scalars_of(evs)
  for (tag in c("loss", "acc", "val_loss", "val_acc")) {
    r <- s[s$tag == tag, ]
    expect_equal(r$step, 0:3)
    expect_equal(r$value, f32(h$metrics[[tag]]))
  }
  lr <- s[s$tag == "lr", ]
  expect_equal(lr$step, c(0, 2))
  expect_equal(lr$value, f32(c(0.2, 0.05)))
  # the package's reader gives the same
  ours <- tfevents_scalars(ld)
  expect_equal(unique(ours$run), ".")
  expect_equal(nrow(ours), nrow(s))
  o <- ours[order(ours$tag, ours$step), ]; s2 <- s[order(s$tag, s$step), ]
  expect_equal(o$value, s2$value)
  expect_equal(o$tag, s2$tag)
})

test_that("histograms of the weights follow TensorFlow's buckets", {
  d <- tb_data(); m <- tb_model()
  ld <- tempfile("tb")
  rec <- new.env(); rec$w <- list()
  keep <- callback_lambda(on_epoch_end = function(epoch, logs) rec$w[[epoch + 1]] <- m$get_weights())
  m %>% fit(d$x, d$y, epochs = 3, verbose = 0,
            callbacks = list(keep, callback_tensorboard(ld, histogram_freq = 2, write_graph = FALSE)))
  evs <- read_events(list.files(ld, full.names = TRUE))
  hv <- unlist(lapply(evs, function(e) lapply(Filter(function(v) !is.null(v$histo), e$values),
                                              function(v) c(v, step = e$step))), recursive = FALSE)
  expect_equal(vapply(hv, `[[`, "", "tag"), rep(c("hidden/kernel_0", "hidden/bias_0", "out/kernel_0", "out/bias_0"), 2))
  expect_equal(vapply(hv, `[[`, 0, "step"), rep(c(0, 2), each = 4))
  for (i in seq_along(hv)) {
    w <- f32(as.vector(rec$w[[hv[[i]]$step + 1]][[(i - 1) %% 4 + 1]]))
    h <- hv[[i]]$histo
    expect_equal(h$num, length(w))
    expect_equal(h$min, min(w)); expect_equal(h$max, max(w))
    expect_equal(h$sum, sum(w), tolerance = 1e-12)
    expect_equal(h$sum_squares, sum(w^2), tolerance = 1e-12)
    want <- tf_histogram(w)
    expect_equal(h$bucket_limit, want$bucket_limit)
    expect_equal(h$bucket, want$bucket)
  }
})

test_that("update_freq = 'batch' writes the batch logs at step = samples seen", {
  d <- tb_data(); m <- tb_model()
  ld <- tempfile("tb")
  m %>% fit(d$x, d$y, epochs = 2, batch_size = 16, verbose = 0,
            callbacks = callback_tensorboard(ld, update_freq = "batch", write_graph = FALSE))
  s <- scalars_of(read_events(list.files(ld, full.names = TRUE)))
  loss <- s[s$tag == "loss", ]
  # 50 samples: batches of 16, 16, 16, 2 per epoch; epoch logs at the epoch's last count
  expect_equal(loss$step, c(16, 32, 48, 50, 50, 66, 82, 98, 100, 100))
  expect_error(callback_tensorboard(ld, write_grads = TRUE), "not supported")
  expect_error(callback_tensorboard(ld, update_freq = "often"), "update_freq")
})

test_that("the reader reads TensorFlow's own event files", {
  td <- shared_testdata()
  skip_if(is.null(td) || !dir.exists(file.path(td, "tfevents")), "shared tfevents testdata not available")
  s <- tfevents_scalars(file.path(td, "tfevents"))
  expect_s3_class(s, "kerasnative_tfevents_scalars")
  expect_equal(names(s), c("run", "tag", "step", "wall_time", "value"))
  expect_setequal(unique(s$run), c("tf2-summary-scalar", "keras-callback-tf2.0", "estimator-eval-tf1"))
  mm <- s[s$tag == "my_metric", ]
  expect_equal(mm$step, 0:99)
  expect_equal(mm$value, 0.5 * (0:99))
  el <- s[s$tag == "epoch_loss", ]
  expect_equal(el$step, 0:4)
  expect_equal(el$value, c(0.5385050773620605, 0.5380966067314148, 0.5376877188682556,
                           0.5372782349586487, 0.5368683338165283))
  expect_equal(s$value[s$tag == "epoch_accuracy"], rep(0.8333333134651184, 5))
  est <- s[s$run == "estimator-eval-tf1", ]
  expect_equal(est$value[est$tag == "accuracy"], c(0.7770000100135803, 0.7773500084877014))
  expect_equal(est$step[est$tag == "accuracy"], c(999, 1000))
  expect_equal(est$value[est$tag == "loss"], c(0.4389618933200836, 0.43881523609161377))
  expect_false(any(c("checkpoint_path", "keras") %in% s$tag))   # string tensors are not scalars
  expect_true(all(s$wall_time > 1.5e9))
  # one file, and the independent reader agrees on framing of a real file
  f <- list.files(file.path(td, "tfevents", "tf2-summary-scalar"), full.names = TRUE)
  expect_equal(nrow(tfevents_scalars(f)), 100)
  expect_equal(decode_event(read_records(f)[[1]])$file_version, "brain.Event:2")
})

test_that("runs side by side, plot, corrupt files and tensorboard() without TensorBoard", {
  d <- tb_data()
  ld <- tempfile("tb")
  for (r in c("a", "b")) tb_model() %>% fit(d$x, d$y, epochs = 2, verbose = 0,
                                            callbacks = callback_tensorboard(file.path(ld, "runs", r)))
  s <- tfevents_scalars(ld)
  expect_equal(sort(unique(s$run)), c("runs/a", "runs/b"))
  expect_equal(sum(s$tag == "loss"), 4)
  pdf(NULL); on.exit(dev.off(), add = TRUE)
  expect_invisible(plot(s))
  f <- list.files(file.path(ld, "runs", "a"), full.names = TRUE)
  b <- readBin(f, "raw", file.size(f))
  b[length(b) - 20] <- as.raw(bitwXor(as.integer(b[length(b) - 20]), 1L))
  bad <- file.path(tempfile("tbbad"), "events.out.tfevents.1.x")
  dir.create(dirname(bad)); writeBin(b, bad)
  expect_error(tfevents_scalars(bad), "events.out.tfevents.1.x")
  expect_error(tfevents_scalars(file.path(ld, "nope")), "does not exist")
  skip_if(nzchar(Sys.which("tensorboard")), "TensorBoard is installed")
  expect_message(tensorboard(ld, launch_browser = FALSE), "tfevents_scalars")
})
