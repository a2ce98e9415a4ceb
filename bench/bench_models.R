# kerasnative side of the PyTorch comparison (../shared/bench/torch_models.py):
# same models, optimizers, batch sizes and data (Fashion-MNIST from Debian's
# dataset-fashion-mnist), one epoch per repetition, medians of --reps.
# Usage: Rscript bench/bench_models.R MODEL THREADS [REPS] [LIMIT]
suppressMessages(library(kerasnative))
`%||%` <- function(a, b) if (is.null(a) || is.na(a)) b else a
args <- commandArgs(TRUE)
model_name <- args[1] %||% "M2"
threads <- as.integer(args[2] %||% 2)
reps <- as.integer(args[3] %||% 3)
limit <- as.integer(args[4] %||% 0)
kn_threads(threads)

d <- dataset_fashion_mnist()
xtr <- d$train$x; ytr <- d$train$y
build <- function(name) {
  m <- keras_model_sequential()
  if (name == "M1") {
    m %>% layer_conv_2d(32, c(3, 3), activation = "relu", input_shape = c(28, 28, 1)) %>%
      layer_max_pooling_2d(c(2, 2)) %>% layer_conv_2d(64, c(3, 3), activation = "relu") %>%
      layer_max_pooling_2d(c(2, 2)) %>% layer_flatten() %>% layer_dense(512, activation = "relu") %>%
      layer_dropout(0.5) %>% layer_dense(10, activation = "softmax")
    list(m = m, opt = optimizer_rmsprop(lr = 2e-3), batch = 128, vsplit = 0, img = TRUE)
  } else if (name == "M2") {
    m %>% layer_dense(256, activation = "relu", input_shape = 784) %>% layer_dropout(0.4) %>%
      layer_dense(128, activation = "relu") %>% layer_dropout(0.3) %>% layer_dense(10, activation = "softmax")
    list(m = m, opt = optimizer_rmsprop(lr = 1e-3), batch = 128, vsplit = 0.2, img = FALSE)
  } else if (name == "M3") {
    m %>% layer_conv_2d(32, c(5, 5), padding = "same", activation = "relu", input_shape = c(28, 28, 1)) %>%
      layer_max_pooling_2d(c(2, 2)) %>% layer_conv_2d(64, c(5, 5), padding = "same", activation = "relu") %>%
      layer_max_pooling_2d(c(2, 2)) %>% layer_flatten() %>% layer_dense(1024, activation = "relu") %>%
      layer_dropout(0.4) %>% layer_dense(10, activation = "softmax")
    list(m = m, opt = optimizer_sgd(lr = 1e-3), batch = 100, vsplit = 0, img = TRUE)
  } else {
    m %>% layer_conv_2d(32, c(3, 3), activation = "relu", input_shape = c(28, 28, 1)) %>%
      layer_conv_2d(64, c(3, 3), activation = "relu") %>% layer_max_pooling_2d(c(2, 2)) %>%
      layer_dropout(0.25) %>% layer_flatten() %>% layer_dense(128, activation = "relu") %>%
      layer_dropout(0.5) %>% layer_dense(10, activation = "softmax")
    list(m = m, opt = optimizer_rmsprop(lr = 1e-3), batch = 100, vsplit = 0, img = TRUE)
  }
}
spec <- build(model_name)
n <- dim(xtr)[1]
x <- if (spec$img) array_reshape(xtr, c(n, 28, 28, 1)) / 255 else array_reshape(xtr, c(n, 784)) / 255
y <- to_categorical(ytr, 10)
if (spec$vsplit > 0) { keep <- seq_len(round(n * (1 - spec$vsplit))); x <- if (spec$img) x[keep, , , , drop = FALSE] else x[keep, ]; y <- y[keep, ] }
if (limit > 0) { keep <- seq_len(limit); x <- if (spec$img) x[keep, , , , drop = FALSE] else x[keep, ]; y <- y[keep, ] }
ntr <- if (spec$img) dim(x)[1] else nrow(x)

fit_s <- train_s <- numeric(0)
for (r in seq_len(reps + 1)) {
  set.seed(r)
  s <- build(model_name)
  s$m %>% compile(loss = "categorical_crossentropy", optimizer = s$opt, metrics = "accuracy")
  # train loop only (data already converted to float32), as the PyTorch script times it
  data <- kerasnative:::model_data(s$m, x, y)
  ptr <- kerasnative:::model_ptr(s$m)
  t0 <- proc.time()[["elapsed"]]
  kerasnative:::cpp_model_fit_epoch(ptr, data, sample.int(ntr) - 1L, as.integer(s$batch), 1, 0L, FALSE)
  t1 <- proc.time()[["elapsed"]]
  # the whole fit() call, R -> float32 conversion included
  fit(s$m, x, y, epochs = 1, batch_size = s$batch, verbose = 0)
  t2 <- proc.time()[["elapsed"]]
  if (r > 1) { train_s <- c(train_s, t1 - t0); fit_s <- c(fit_s, t2 - t1) }  # first rep = warm-up
}
emit <- function(name, v) cat(sprintf("%s %s %.1f min=%.1f max=%.1f n=%d threads=%d kernel=%s\n", model_name, name,
                                      median(v), min(v), max(v), length(v), threads,
                                      kerasnative:::cpp_gemm_kernel()))
emit("train_img_per_s", ntr / train_s)
emit("fit_img_per_s", ntr / fit_s)
