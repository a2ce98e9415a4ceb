# Data-parallel training over MPI: runs `mpirun -np 2 Rscript <script>` on
# small models. Skipped (with a message) when Open MPI is absent.

test_that("without MPI the distributed functions say so; distribute_available() always answers", {
  expect_type(distribute_available(), "logical")
  if (!distribute_available()) {
    expect_error(distribute_init(), "installed without MPI")
    expect_error(distribute_rank(), "installed without MPI")
  } else {
    expect_error(distribute_init(timeout = -1), "timeout")
    expect_error(distribute_init(bucket_size_mb = "a"), "bucket_size_mb")
  }
})

mpirun_path <- function() {
  p <- Sys.which("mpirun")
  if (!nzchar(p) || !distribute_available()) return(NULL)
  p
}

# Run `code` (a script body) on `np` processes; returns list(status, output, seconds, dir).
run_mpi <- function(code, np = 2, timeout = 90, dir = tempfile("kn_mpi_")) {
  dir.create(dir, showWarnings = FALSE)
  script <- file.path(dir, "script.R")
  writeLines(c("suppressMessages(library(kerasnative))", sprintf("out_dir <- %s", deparse(dir)), code), script)
  libs <- paste(.libPaths(), collapse = ":")
  t0 <- Sys.time()
  out <- suppressWarnings(system2(
    "env", c(paste0("R_LIBS=", libs), "OMPI_MCA_rmaps_base_oversubscribe=1", mpirun_path(),
             "--allow-run-as-root", "--oversubscribe", "-np", np, "-x", "R_LIBS",
             file.path(R.home("bin"), "Rscript"), script),
    stdout = TRUE, stderr = TRUE, timeout = timeout))
  list(status = attr(out, "status") %||% 0L, output = out,
       seconds = as.numeric(difftime(Sys.time(), t0, units = "secs")), dir = dir)
}

test_that("2 processes: bitwise-equal weights, equal to one process with the same global batch", {
  if (is.null(mpirun_path())) skip("Open MPI (mpirun) is not available: distributed training not tested")
  # data and initial weights shared by the MPI run and the reference run here
  set.seed(11)
  x <- matrix(rnorm(200 * 4), ncol = 4)
  y <- cbind(x %*% c(1, -2, 0.5, 1) + 0.3, tanh(x[, 1] * x[, 2]))
  build <- function() {
    m <- keras_model_sequential() %>% layer_dense(8, activation = "tanh", input_shape = 4) %>%
      layer_dense(2)
    m %>% compile(loss = "mse", optimizer = optimizer_adam(lr = 0.01), metrics = "mae")
    m
  }
  init <- get_weights(build())
  dir <- tempfile("kn_mpi_")
  dir.create(dir)
  saveRDS(list(x = x, y = y, init = init), file.path(dir, "in.rds"))
  res <- run_mpi(c(
    "d <- readRDS(file.path(out_dir, 'in.rds'))",
    "info <- distribute_init(timeout = 30)",
    "m <- keras_model_sequential() %>% layer_dense(8, activation = 'tanh', input_shape = 4) %>% layer_dense(2)",
    "m %>% compile(loss = 'mse', optimizer = optimizer_adam(lr = 0.01), metrics = 'mae')",
    "if (info$rank == 0) set_weights(m, d$init)  # others get it by the broadcast in fit()",
    "set.seed(5)",
    "cbs <- list(callback_csv_logger(file.path(out_dir, sprintf('log_%d.csv', info$rank))),",
    "            callback_model_checkpoint(file.path(out_dir, sprintf('ck_%d.h5', info$rank))))",
    "h <- fit(m, d$x, d$y, batch_size = 31, epochs = 3, verbose = 0, validation_split = 0.2, callbacks = cbs)",
    "e <- evaluate(m, d$x, d$y, verbose = 0)",
    # linear model trained with SGD, no shuffling: checked against plain R below
    "lin <- keras_model_sequential() %>% layer_dense(1, input_shape = 4)",
    "lin %>% compile(loss = 'mse', optimizer = optimizer_sgd(lr = 0.1))",
    "set_weights(lin, list(matrix(c(0.1, -0.2, 0.3, 0), 4, 1), 0.05))",
    "fit(lin, d$x, d$y[, 1], batch_size = 30, epochs = 2, shuffle = FALSE, verbose = 0)",
    # the same from a dataset: each process reads its shard, 15 samples per step
    "ds <- tensor_slices_dataset(list(d$x, matrix(d$y[, 1], ncol = 1))) %>%",
    "  dataset_shard(distribute_size(), distribute_rank()) %>% dataset_batch(15)",
    "lin2 <- keras_model_sequential() %>% layer_dense(1, input_shape = 4)",
    "lin2 %>% compile(loss = 'mse', optimizer = optimizer_sgd(lr = 0.1))",
    "set_weights(lin2, list(matrix(c(0.1, -0.2, 0.3, 0), 4, 1), 0.05))",
    "h2 <- fit(lin2, ds, epochs = 2, verbose = 0)",
    "saveRDS(list(rank = info$rank, size = info$size, w = get_weights(m), h = h$metrics, e = e,",
    "             lin = get_weights(lin), lin2 = get_weights(lin2), h2 = h2$metrics),",
    "        file.path(out_dir, sprintf('out_%d.rds', info$rank)))"
  ), dir = dir)
  expect_equal(res$status, 0L, info = paste(res$output, collapse = "\n"))
  r0 <- readRDS(file.path(dir, "out_0.rds"))
  r1 <- readRDS(file.path(dir, "out_1.rds"))
  expect_equal(c(r0$rank, r1$rank, r0$size), c(0, 1, 2))
  expect_identical(r0$w, r1$w)           # bitwise equal on every process
  expect_identical(r0$h, r1$h)
  expect_identical(r0$e, r1$e)
  # only process 0 writes logs and checkpoints; its log holds the global figures
  expect_true(file.exists(file.path(dir, "log_0.csv")) && file.exists(file.path(dir, "ck_0.h5")))
  expect_false(file.exists(file.path(dir, "log_1.csv")) || file.exists(file.path(dir, "ck_1.h5")))
  expect_equal(read.csv(file.path(dir, "log_0.csv"))$loss, r0$h$loss, tolerance = 1e-6)
  # reference: one process, same global batch, same initial weights and shuffling
  m <- build()
  set_weights(m, init)
  set.seed(5)
  h <- fit(m, x, y, batch_size = 31, epochs = 3, verbose = 0, validation_split = 0.2)
  rel <- function(a, b) max(abs(unlist(a) - unlist(b))) / max(abs(unlist(b)))
  expect_lt(rel(r0$w, get_weights(m)), 1e-5)
  expect_lt(rel(r0$h, h$metrics), 1e-5)  # history: figures over all processes
  expect_lt(rel(r0$e, evaluate(m, x, y, verbose = 0)), 1e-5)
  # the linear model against plain-R minibatch SGD on the mean squared error
  W <- matrix(c(0.1, -0.2, 0.3, 0), 4, 1); b <- 0.05
  ep_loss <- c(0, 0)
  for (ep in 1:2) for (s in seq(1, 200, by = 30)) {
    i <- s:min(s + 29, 200)
    r <- x[i, , drop = FALSE] %*% W + b - y[i, 1]
    ep_loss[ep] <- ep_loss[ep] + sum(r^2) / 200
    d <- 2 * r / length(i)
    W <- W - 0.1 * t(x[i, , drop = FALSE]) %*% d
    b <- b - 0.1 * sum(d)
  }
  expect_lt(rel(r0$lin, list(W, b)), 1e-5)
  expect_identical(r0$lin, r1$lin)
  # shards of 15 per process: every global step holds the same 30 samples as above
  expect_lt(rel(r0$lin2, list(W, b)), 1e-5)
  expect_identical(r0$lin2, r1$lin2)
  expect_identical(r0$h2, r1$h2)
  expect_lt(rel(r0$h2$loss, ep_loss), 1e-5)  # global epoch loss, not process 0's shard
  expect_gt(rel(r0$w, init), 1e-3)  # training moved the weights
})

test_that("a process that fails or dies makes the other stop with an error, not hang", {
  if (is.null(mpirun_path())) skip("Open MPI (mpirun) is not available: distributed training not tested")
  common <- c(
    "info <- distribute_init(timeout = 20)",
    "set.seed(1); x <- matrix(rnorm(4000), ncol = 4); y <- rowSums(x)",
    "m <- keras_model_sequential() %>% layer_dense(4, input_shape = 4) %>% layer_dense(1)",
    "m %>% compile(loss = 'mse', optimizer = 'sgd')")
  # an R error on process 1: process 0 reports it by name
  res <- run_mpi(c(common,
    "cb <- callback_lambda(on_batch_begin = function(batch, logs) if (info$rank == 1 && batch == 5) stop('boom on purpose'))",
    "r <- tryCatch(fit(m, x, y, batch_size = 20, epochs = 50, verbose = 0, callbacks = list(cb)),",
    "              error = function(e) conditionMessage(e))",
    "writeLines(as.character(r), file.path(out_dir, sprintf('err_%d.txt', info$rank)))",
    "quit(status = 1)"), timeout = 60)
  expect_lt(res$seconds, 30)
  expect_true(res$status != 0)
  expect_match(paste(readLines(file.path(res$dir, "err_1.txt")), collapse = " "), "boom on purpose")
  expect_match(paste(readLines(file.path(res$dir, "err_0.txt")), collapse = " "),
               "process 1 failed: .*boom on purpose")
  # a killed process: mpirun stops the job and says why
  res <- run_mpi(c(common,
    "cb <- callback_lambda(on_batch_begin = function(batch, logs) if (info$rank == 1 && batch == 5) tools::pskill(Sys.getpid(), tools::SIGKILL))",
    "fit(m, x, y, batch_size = 20, epochs = 50, verbose = 0, callbacks = list(cb))",
    "writeLines('finished', file.path(out_dir, sprintf('done_%d.txt', info$rank)))"), timeout = 60)
  expect_lt(res$seconds, 30)
  expect_true(res$status != 0)
  expect_false(file.exists(file.path(res$dir, "done_0.txt")))
  expect_match(paste(res$output, collapse = "\n"), "signal 9|Killed|exited", info = paste(res$output, collapse = "\n"))
})
