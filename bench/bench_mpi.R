# Data-parallel training benchmark (issue 15): M1 of bench/bench_models.R on
# Fashion-MNIST, N processes x 1 thread against 1 process x 1 thread.
# Usage:
#   Rscript bench/bench_mpi.R [LIMIT] [EPOCHS]                      # 1 process
#   mpirun --allow-run-as-root --oversubscribe -np 2 Rscript bench/bench_mpi.R [LIMIT] [EPOCHS]
# Prints, from process 0: training samples per second (steady epochs), the
# share of each step spent waiting for the gradient all-reduce, the bytes of
# gradients per step and the bytes this process sent per step.
suppressMessages(library(kerasnative))
args <- commandArgs(TRUE)
limit <- as.integer(if (length(args) >= 1) args[1] else 12800)
epochs <- as.integer(if (length(args) >= 2) args[2] else 3)
overlap <- !identical(Sys.getenv("KN_OVERLAP"), "0")
kn_threads(1)
dist <- distribute_available() && nzchar(Sys.getenv("OMPI_COMM_WORLD_SIZE"))
rank <- 0L; size <- 1L
if (dist) {
  info <- distribute_init(timeout = 120, overlap = overlap)
  rank <- info$rank; size <- info$size
}
d <- dataset_fashion_mnist()
n <- min(limit, dim(d$train$x)[1])
x <- array_reshape(d$train$x[seq_len(n), , ], c(n, 28, 28, 1)) / 255
y <- to_categorical(d$train$y[seq_len(n)], 10)
set.seed(1)
m <- keras_model_sequential() %>%
  layer_conv_2d(32, c(3, 3), activation = "relu", input_shape = c(28, 28, 1)) %>%
  layer_max_pooling_2d(c(2, 2)) %>% layer_conv_2d(64, c(3, 3), activation = "relu") %>%
  layer_max_pooling_2d(c(2, 2)) %>% layer_flatten() %>% layer_dense(512, activation = "relu") %>%
  layer_dropout(0.5) %>% layer_dense(10, activation = "softmax")
m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_rmsprop(lr = 2e-3), metrics = "accuracy")
ptr <- kerasnative:::model_ptr(m)
times <- numeric(0); stats <- list()
cb <- callback_lambda(
  on_epoch_begin = function(epoch, logs) {
    t_epoch <<- proc.time()[["elapsed"]]
    if (dist) kerasnative:::cpp_dist_stats(ptr, TRUE)
  },
  on_epoch_end = function(epoch, logs) {
    times <<- c(times, proc.time()[["elapsed"]] - t_epoch)
    if (dist) stats[[length(stats) + 1]] <<- kerasnative:::cpp_dist_stats(ptr, FALSE)
  })
t_epoch <- 0
h <- fit(m, x, y, batch_size = 128, epochs = epochs, verbose = 0, callbacks = list(cb))
if (rank == 0) {
  steady <- if (length(times) > 1) times[-1] else times  # first epoch = warm-up
  cat(sprintf("M1 processes=%d threads=1 samples=%d epochs=%d overlap=%s\n", size, n, epochs, overlap))
  cat(sprintf("M1 epoch_s %s\n", paste(sprintf("%.2f", times), collapse = " ")))
  cat(sprintf("M1 train_img_per_s %.1f (median steady epoch %.2f s)\n", n / median(steady), median(steady)))
  cat(sprintf("M1 final loss %.4f acc %.4f\n", tail(h$metrics$loss, 1), tail(h$metrics$acc, 1)))
  if (dist) {
    s <- stats[[length(stats)]]
    ep <- times[length(times)]
    cat(sprintf("M1 steps_per_epoch %d wait_share %.3f (training thread blocked on all-reduce %.2f s of %.2f s)\n",
                as.integer(s$steps), s$wait_s / ep, s$wait_s, ep))
    cat(sprintf("M1 allreduce_busy_share %.3f (communication thread busy %.2f s)\n", s$comm_s / ep, s$comm_s))
    cat(sprintf("M1 gradient_bytes_per_step %.0f sent_bytes_per_step %.0f (ring: 2(N-1)/N x payload)\n",
                s$bytes / s$steps, s$bytes_sent / s$steps))
  }
}
