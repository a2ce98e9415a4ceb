#' Data-parallel training on several processes and machines (MPI)
#'
#' Run the same script on N processes with `mpirun -np N Rscript train.R`
#' (or `srun`), each holding a replica of the model. After
#' `distribute_init()`, [fit()] trains data-parallel: every process takes its
#' share of each global batch (`batch_size` is the global batch; for
#' datasets, shard them with `dataset_shard(distribute_size(), distribute_rank())`
#' and give the per-process batch), gradients are averaged with a ring
#' all-reduce over MPI after every step (started while the backward pass still
#' runs), and every process applies the identical update. [evaluate()] and the
#' training history report figures over all processes; only process 0 prints
#' progress and runs the checkpoint, CSV logger and TensorBoard callbacks.
#'
#' `distribute_available()` tells whether kerasnative was installed with Open
#' MPI (found by `configure`); without it the other functions raise an error.
#' Outside `mpirun`, `distribute_init()` gives a single process (rank 0 of 1)
#' and training is unchanged.
#'
#' A process that fails (an R error in `fit()`) tells the others, which stop
#' with an error naming it; a process that dies is detected by `mpirun`, which
#' stops the job; any wait longer than `timeout` seconds raises an error.
#'
#' @param timeout Seconds any process waits for the others before giving up
#'   with an error (a dead or stuck peer never makes training hang).
#' @param bucket_size_mb Gradients are fused into buckets of about this many
#'   megabytes; each bucket is all-reduced as soon as backward has finished it.
#' @param overlap Whether to all-reduce buckets on a communication thread while
#'   the backward pass goes on (`FALSE`: all buckets after backward).
#' @return `distribute_init()`: (invisibly) a list with `rank`, `size` and
#'   `threads` (whether the communication thread is available).
#'   `distribute_rank()` / `distribute_size()`: integers.
#'   `distribute_available()`: `TRUE` or `FALSE`.
#' @examples
#' distribute_available()
#' \dontrun{
#' # train.R, run with: mpirun -np 4 Rscript train.R
#' library(kerasnative)
#' distribute_init()
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 8, activation = "relu", input_shape = 2) %>%
#'   layer_dense(units = 1)
#' model %>% compile(loss = "mse", optimizer = "sgd")
#' x <- matrix(runif(2000), ncol = 2); y <- x[, 1] - x[, 2]
#' model %>% fit(x, y, batch_size = 64, epochs = 5)  # 16 samples per process and step
#' if (distribute_rank() == 0) save_model_hdf5(model, "model.h5")
#' }
#' @name distribute
#' @export
distribute_init <- function(timeout = 60, bucket_size_mb = 1, overlap = TRUE) {
  if (!cpp_dist_available()) distribute_unavailable()
  if (!is.numeric(timeout) || length(timeout) != 1 || is.na(timeout) || timeout <= 0)
    arg_fail("distribute_init", "timeout", "a positive number of seconds", timeout)
  if (!is.numeric(bucket_size_mb) || length(bucket_size_mb) != 1 || is.na(bucket_size_mb) || bucket_size_mb <= 0)
    arg_fail("distribute_init", "bucket_size_mb", "a positive number", bucket_size_mb)
  check_flag(overlap, "distribute_init", "overlap")
  info <- cpp_dist_init(as.numeric(timeout))
  dist_state$bucket_mb <- as.numeric(bucket_size_mb)
  dist_state$overlap <- isTRUE(overlap)
  invisible(info)
}

#' @rdname distribute
#' @export
distribute_available <- function() cpp_dist_available()

#' @rdname distribute
#' @export
distribute_rank <- function() dist_rank_size()[1]

#' @rdname distribute
#' @export
distribute_size <- function() dist_rank_size()[2]

#' Sum or average numbers over all processes
#'
#' Every process calls it with a numeric vector of the same length; all get
#' the element-wise sum (or mean), identical on every process.
#' @param x Numeric vector.
#' @param op `"sum"` or `"mean"`.
#' @return Numeric vector like `x`.
#' @examples
#' if (distribute_available()) {
#'   distribute_init()
#'   distribute_allreduce(c(1, 2))  # one process: c(1, 2)
#' }
#' @export
distribute_allreduce <- function(x, op = c("sum", "mean")) {
  op <- match.arg(op)
  if (!cpp_dist_available()) distribute_unavailable()
  if (!is.numeric(x) || anyNA(x)) arg_fail("distribute_allreduce", "x", "a numeric vector without NA", x)
  if (!cpp_dist_initialized()) stop("distribute_allreduce(): call distribute_init() first", call. = FALSE)
  s <- cpp_dist_allreduce(as.numeric(x))
  if (op == "mean") s / distribute_size() else s
}

dist_state <- new.env(parent = emptyenv())

distribute_unavailable <- function()
  stop("kerasnative was installed without MPI (Open MPI was not found at install time)", call. = FALSE)

dist_rank_size <- function() {
  if (!cpp_dist_available()) distribute_unavailable()
  if (!cpp_dist_initialized()) stop("call distribute_init() first", call. = FALSE)
  cpp_dist_rank_size()
}

# TRUE when fit()/evaluate() must run data-parallel.
distribute_active <- function() cpp_dist_available() && cpp_dist_initialized() && cpp_dist_rank_size()[2] > 1

# Callbacks that write files run on process 0 only.
dist_writer_classes <- c("ModelCheckpoint", "CSVLogger", "TensorBoard")

# fit() on several processes: same epoch loop, with plan and callbacks adapted.
distribute_fit <- function(object, plan, epochs, verbose, callbacks, initial_epoch) {
  ptr <- model_ptr(object)
  rank <- distribute_rank()
  if (rank != 0) {
    verbose <- 0L
    if (inherits(callbacks, "R6")) callbacks <- list(callbacks)
    callbacks <- Filter(function(cb) !inherits(cb, dist_writer_classes), callbacks)
  }
  cpp_dist_attach(ptr, dist_state$bucket_mb %||% 1, dist_state$overlap %||% TRUE)
  on.exit(cpp_dist_detach(ptr), add = TRUE)  # after the handler below has told the others
  tryCatch({
    cpp_dist_broadcast_weights(ptr)
    fit_run(object, distribute_plan(object, plan), epochs, verbose, callbacks, initial_epoch)
  }, error = function(e) {
    # tell the other processes (they stop with this message), then fail here
    cpp_dist_abort(sprintf("%s", conditionMessage(e)))
    stop(conditionMessage(e), call. = FALSE)
  })
}

distribute_plan <- function(object, plan) {
  ptr <- model_ptr(object)
  a <- plan$arrays
  if (!is.null(a)) {  # arrays: each process takes its piece of every global batch
    plan$run_epoch <- function(seed, verbose, dynamic, hook = NULL) {
      idx <- if (a$shuffle) sample.int(a$n) - 1L else seq_len(a$n) - 1L  # process 0's order is used
      res <- cpp_dist_fit_epoch(ptr, a$data, as.integer(idx), plan$batch_size, seed, verbose, dynamic, hook)
      cpp_dist_average_state(ptr)
      res
    }
    if (!is.null(a$val))
      plan$validate <- function(hook = NULL) cpp_dist_evaluate(ptr, a$val, plan$batch_size, 0L, FALSE, hook)
    return(plan)
  }
  # datasets and generators: each process reads its own shard
  run <- plan$run_epoch
  plan$run_epoch <- function(seed, verbose, dynamic, hook = NULL) {
    cpp_dist_stats(ptr, TRUE)
    res <- run(seed, verbose, dynamic, hook)
    n <- cpp_dist_stats(ptr, FALSE)$samples
    v <- unlist(res$values)
    if (length(v)) {
      s <- cpp_dist_allreduce(c(v * n, n))
      res$values[] <- as.list(s[seq_along(v)] / max(1, s[length(s)]))
    }
    cpp_dist_average_state(ptr)
    res
  }
  val <- plan$validate
  if (!is.null(val)) plan$validate <- function(hook = NULL) dist_mean(val(hook))
  plan
}

# Mean over processes of a named list of figures (each process's own data).
dist_mean <- function(v) {
  x <- unlist(v)
  if (!length(x)) return(v)
  v[] <- as.list(cpp_dist_allreduce(x) / distribute_size())
  v
}
