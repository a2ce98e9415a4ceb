# fit_generator() with a cheap R generator vs fit() on the same arrays, side by
# side: the seed-003 MLP (784-256-128-10, dropout, RMSprop), batches of 128,
# one epoch of 60000 samples per repetition, medians of REPS. Two generators:
# pre-sliced batches (cheap) and seed 003's random sampling. Also times the
# sampling generator alone (R call + conversion/shape check, what the pipeline overlaps
# with training) and a serial run (each step waited for before the next batch
# is produced, i.e. no overlap).
# Usage: Rscript bench/bench_generator.R [THREADS] [REPS]
suppressMessages(library(kerasnative))
args <- commandArgs(TRUE)
threads <- as.integer(if (length(args) >= 1) args[1] else 2)
reps <- as.integer(if (length(args) >= 2) args[2] else 3)
kn_threads(threads)

set.seed(1)
n <- 60000; bs <- 128L; steps <- ceiling(n / bs)
x <- matrix(runif(n * 784), n, 784)
y <- to_categorical(sample(0:9, n, TRUE), 10)
build <- function() {
  m <- keras_model_sequential() %>%
    layer_dense(256, activation = "relu", input_shape = 784) %>% layer_dropout(0.4) %>%
    layer_dense(128, activation = "relu") %>% layer_dropout(0.3) %>% layer_dense(10, activation = "softmax")
  m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_rmsprop(), metrics = "accuracy")
  m
}
# cheap generator: cycles through batches sliced beforehand (R cost ~ nothing,
# so this measures the pipeline itself: conversion, checks, hand-over)
batches <- lapply(seq_len(steps), function(s) {
  i <- ((s - 1) * bs + seq_len(bs) - 1) %% n + 1
  list(x[i, , drop = FALSE], y[i, , drop = FALSE])
})
make_cheap <- function() { k <- 0; function() { k <<- k %% steps + 1; batches[[k]] } }
# seed-003 style generator: a random batch of rows of the in-memory matrices
make_gen <- function() function() { i <- sample.int(n, bs); list(x[i, , drop = FALSE], y[i, , drop = FALSE]) }

med <- function(f) median(replicate(reps, system.time(f())[["elapsed"]]))
m1 <- build(); m2 <- build(); m3 <- build(); m4 <- build()
t_arrays <- med(function() fit(m1, x, y, batch_size = bs, epochs = 1, verbose = 0))
t_cheap <- med(function() fit_generator(m4, make_cheap(), steps_per_epoch = steps, epochs = 1, verbose = 0))
t_gen <- med(function() fit_generator(m2, make_gen(), steps_per_epoch = steps, epochs = 1, verbose = 0))
g <- make_gen()
t_gen_alone <- med(function() for (s in seq_len(steps)) { b <- g(); kerasnative:::model_data(m2, b[[1]], b[[2]]) })
feed <- kerasnative:::generator_feed(m3, make_gen(), "bench", "train")
ptr <- kerasnative:::model_ptr(m3)
t_serial <- med(function() for (s in seq_len(steps)) {
  b <- feed$produce()
  kerasnative:::cpp_step_wait(ptr, kerasnative:::cpp_step_start(ptr, b$data, "train", s))
})
cat(sprintf("threads=%d reps=%d samples/epoch=%d batch=%d steps=%d\n", threads, reps, steps * bs, bs, steps))
cat(sprintf("fit() on arrays              %6.2f s/epoch  %7.0f samples/s\n", t_arrays, n / t_arrays))
cat(sprintf("fit_generator(), cheap gen   %6.2f s/epoch  %7.0f samples/s  (ratio to arrays %.2f)\n",
            t_cheap, steps * bs / t_cheap, t_cheap / t_arrays))
cat(sprintf("fit_generator(), sampling    %6.2f s/epoch  %7.0f samples/s  (ratio to arrays %.2f)\n",
            t_gen, steps * bs / t_gen, t_gen / t_arrays))
cat(sprintf("  sampling, serial steps     %6.2f s/epoch  (no overlap of R and training)\n", t_serial))
cat(sprintf("  sampling generator alone   %6.2f s/epoch  (R call + conversion, no training)\n", t_gen_alone))
