# layer_lambda(function(x) k_relu(x)) vs layer_activation("relu") in the same
# small model fit, side by side in one run (alternating, several repetitions).
# Usage: Rscript bench/bench_lambda.R [REPS] [THREADS]
suppressMessages(library(kerasnative))
args <- commandArgs(TRUE)
reps <- if (length(args) >= 1) as.integer(args[1]) else 5
threads <- if (length(args) >= 2) as.integer(args[2]) else 2
set_num_threads <- get0("kn_set_threads", mode = "function")
if (!is.null(set_num_threads)) set_num_threads(threads)
set.seed(1)
n <- 20000
x <- matrix(rnorm(n * 64), n, 64)
y <- to_categorical(sample(0:9, n, TRUE), 10)
build <- function(lambda) {
  m <- keras_model_sequential() %>% layer_dense(units = 256, input_shape = 64)
  if (lambda) m %>% layer_lambda(function(x) k_relu(x)) else m %>% layer_activation("relu")
  m %>% layer_dense(units = 256)
  if (lambda) m %>% layer_lambda(function(x) k_relu(x)) else m %>% layer_activation("relu")
  m %>% layer_dense(units = 10, activation = "softmax")
  m %>% compile(loss = "categorical_crossentropy", optimizer = "adam")
}
models <- list(activation = build(FALSE), lambda = build(TRUE))
times <- list(activation = numeric(0), lambda = numeric(0))
for (r in seq_len(reps)) {
  for (k in if (r %% 2) names(models) else rev(names(models))) {
    t <- system.time(fit(models[[k]], x, y, epochs = 1, batch_size = 128, verbose = 0))[["elapsed"]]
    times[[k]] <- c(times[[k]], t)
  }
}
med <- vapply(times, median, 0)
cat(sprintf("bench_lambda: MLP 64-256-256-10, %d samples, batch 128, 1 epoch, median of %d\n", n, reps))
cat(sprintf("  layer_activation('relu')          %.3f s/epoch\n", med[["activation"]]))
cat(sprintf("  layer_lambda(function(x) k_relu(x)) %.3f s/epoch\n", med[["lambda"]]))
cat(sprintf("  ratio lambda / activation: %.3f\n", med[["lambda"]] / med[["activation"]]))
