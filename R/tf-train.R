# tf$train input queues (TensorFlow 1.x): shuffle_batch(), batch(), the
# Coordinator and start_queue_runners(). A queue's outputs are input tensors
# of kind "input" carrying the queue; ops recorded on them (tf$cast,
# tf$reshape, tf$one_hot) become op nodes of the model graph, and fit() with
# no `x` feeds the graph's inputs from the queue, one dequeue per step
# (src/data/queue.h: the bounded queue and its worker threads).

#' TensorFlow 1.x input queues and model functions
#'
#' Members of [tf] for TensorFlow 1.x scripts (keras input tensors,
#' tfestimators model functions). They record nodes of the model graph; there
#' is no TensorFlow and no second graph.
#'
#' * `tf$train$shuffle_batch(tensors, batch_size, capacity, min_after_dequeue,
#'   num_threads = 1, seed = NULL, enqueue_many = FALSE,
#'   allow_smaller_final_batch = FALSE)` and `tf$train$batch(tensors,
#'   batch_size, num_threads = 1, capacity = 32, enqueue_many = FALSE)`: a
#'   bounded queue over in-memory arrays, filled by `num_threads` native
#'   worker threads (at most [kn_threads()]) once `tf$train$start_queue_runners(sess,
#'   coord)` has run. The stream is the data in order, repeated; a shuffling
#'   dequeue draws `batch_size` examples from a pool filled to `capacity`, with
#'   draws seeded from R's RNG (or `seed`), so `set.seed()` reproduces the
#'   batches whatever the thread count. Returns tensors (one per input) whose
#'   `$get_shape()$as_list()` includes the batch size; `tf$cast()`,
#'   `tf$reshape()`, `tf$one_hot()` on them become op nodes of a model built
#'   with `layer_input(tensor = )`, and `fit(epochs, steps_per_epoch)` with no
#'   `x` feeds it from the queue (targets via `compile(target_tensors = )`).
#' * `tf$train$Coordinator()` with `request_stop()`, `should_stop()`, `join()`.
#' * `tf$contrib$learn$datasets$mnist$load_mnist(train_dir)` and
#'   `tf$contrib$learn$datasets$load_dataset("mnist")`: TensorFlow's split
#'   (55,000 / 5,000 / 10,000; images n x 784 in \[0, 1\]; integer labels)
#'   from the IDX files in `train_dir` or [dataset_mnist()]'s local sources
#'   (never downloaded).
#' * For estimator model functions: `tf$layers$conv2d`, `max_pooling2d`,
#'   `dense`, `dropout(training = )`, `flatten` (Keras layer nodes named
#'   `conv2d`, `conv2d_1`, ... as TensorFlow names them); `tf$nn$relu`,
#'   `sigmoid`, `tanh`, `softmax`, `log_softmax`,
#'   `(sparse_)softmax_cross_entropy_with_logits`; `tf$losses$softmax_cross_entropy`,
#'   `sparse_softmax_cross_entropy`, `mean_squared_error`; `tf$argmax(input,
#'   axis)` (0-based axes); `tf$metrics$accuracy`; `tf$train$GradientDescentOptimizer`,
#'   `AdamOptimizer`, `RMSPropOptimizer` with `$minimize(loss, global_step)`;
#'   `tf$train$get_global_step()`; `tf$estimator$inputs$numpy_input_fn()`
#'   (on R arrays). `name =` registers a tensor for [hook_logging_tensor()].
#'
#' Members not listed fail with an error naming them.
#' @name tf-v1
#' @seealso [estimator()], [k_get_session()]
NULL

# ---------------------------------------------------------------- queues

# An R value or eager tensor -> (array, dtype name) for a queue component.
queue_component <- function(x, what) {
  if (is_tensor(x)) {
    if (tensor_kind(x) != "eager")
      stop(what, " must hold in-memory values (arrays or constant tensors), not symbolic tensors", call. = FALSE)
    return(list(value = eager_value(x), dtype = x$env$dtype))
  }
  if (is.data.frame(x)) x <- as.matrix(x)
  if (!is.numeric(x) && !is.logical(x))
    stop(what, " must be numeric arrays, got ", class(x)[1], call. = FALSE)
  if (anyNA(x)) stop(what, " contains NA values", call. = FALSE)
  dt <- if (is.logical(x)) "bool" else if (is.integer(x)) "int32" else "float32"
  list(value = x, dtype = dt)
}

queue_running <- function(q) !cpp_ptr_is_null(q$ptr) && cpp_queue_running(q$ptr)
queue_stop <- function(q) if (!cpp_ptr_is_null(q$ptr)) cpp_queue_stop(q$ptr)

# Build a queue over `tensors` and return its output tensors (same names).
make_input_queue <- function(fn, tensors, batch_size, capacity, min_after_dequeue, num_threads, seed,
                             enqueue_many, allow_smaller_final_batch, shuffle, num_epochs = NULL, name = NULL) {
  if (is_tensor(tensors) || !is.list(tensors)) tensors <- list(tensors)
  if (!length(tensors)) stop(fn, "(): `tensors` is empty", call. = FALSE)
  batch_size <- check_whole(batch_size, fn, "batch_size")
  capacity <- check_whole(capacity, fn, "capacity")
  min_after_dequeue <- check_whole(min_after_dequeue, fn, "min_after_dequeue", min = 0)
  num_threads <- check_whole(num_threads, fn, "num_threads")
  num_epochs <- check_whole(num_epochs, fn, "num_epochs", null_ok = TRUE)
  seed <- check_whole(seed, fn, "seed", min = 0, null_ok = TRUE)
  check_flag(enqueue_many, fn, "enqueue_many")
  check_flag(allow_smaller_final_batch, fn, "allow_smaller_final_batch")
  comps <- lapply(seq_along(tensors), function(k) queue_component(tensors[[k]], sprintf("%s(): tensors[[%d]]", fn, k)))
  values <- lapply(comps, function(cmp) {
    v <- cmp$value
    if (!enqueue_many) {  # one example: add the example axis
      d <- dim(v) %||% (if (length(v) == 1) integer(0) else length(v))
      v <- array(v, dim = c(1L, d))
    }
    v
  })
  ns <- vapply(values, n_samples, numeric(1))
  if (any(ns != ns[1]))
    stop(fn, "(): with enqueue_many = TRUE all tensors need the same first dimension; got ",
         paste(ns, collapse = ", "), call. = FALSE)
  # R's RNG seeds the draws unless `seed` is given, so set.seed() reproduces the batches
  s <- if (is.null(seed)) r_seed() else as.numeric(seed)
  ptr <- cpp_queue_new(values, vapply(comps, function(cmp) cmp$dtype, ""), batch_size, capacity,
                       min_after_dequeue, shuffle, num_threads, num_epochs %||% -1, allow_smaller_final_batch, s)
  q <- new.env(parent = emptyenv())
  q$ptr <- ptr
  q$name <- name %||% unique_name(if (shuffle) "shuffle_batch" else "batch")
  sess <- current_session()
  sess$queues[[length(sess$queues) + 1]] <- q
  nms <- names(tensors)
  out <- lapply(seq_along(values), function(k) {
    d <- dim(values[[k]])
    t <- new_tensor(NULL, list(), if (is.null(d)) integer(0) else d[-1],
                    input_name = paste0(q$name, if (k > 1) paste0("_", k - 1)),
                    fixed_batch = if (allow_smaller_final_batch) NA else batch_size)
    t$dtype <- comps[[k]]$dtype
    t$queue <- q
    t$component <- k - 1L
    t
  })
  names(out) <- nms
  out
}

tf_shuffle_batch <- function(tensors, batch_size, capacity, min_after_dequeue, num_threads = 1L, seed = NULL,
                             enqueue_many = FALSE, shapes = NULL, allow_smaller_final_batch = FALSE,
                             shared_name = NULL, name = NULL) {
  if (missing(capacity)) stop("shuffle_batch(): `capacity` is required", call. = FALSE)
  if (missing(min_after_dequeue)) stop("shuffle_batch(): `min_after_dequeue` is required", call. = FALSE)
  make_input_queue("shuffle_batch", tensors, batch_size, capacity, min_after_dequeue, num_threads, seed,
                   enqueue_many, allow_smaller_final_batch, shuffle = TRUE, name = name)
}

tf_batch <- function(tensors, batch_size, num_threads = 1L, capacity = 32L, enqueue_many = FALSE, shapes = NULL,
                     dynamic_pad = FALSE, allow_smaller_final_batch = FALSE, shared_name = NULL, name = NULL) {
  if (!isFALSE(dynamic_pad)) stop("batch(): dynamic_pad is not implemented", call. = FALSE)
  make_input_queue("batch", tensors, batch_size, capacity, 0L, num_threads, NULL, enqueue_many,
                   allow_smaller_final_batch, shuffle = FALSE, name = name)
}

# A queue's next batch as R arrays (tests, estimator input functions).
queue_dequeue <- function(q) cpp_queue_dequeue(q$ptr)

# ---------------------------------------------------------------- coordinator

tf_Coordinator <- function(clean_stop_exception_types = NULL) {
  co <- new.env(parent = emptyenv())
  co$stop_requested <- FALSE
  co$queues <- list()
  co$request_stop <- function(ex = NULL) {
    co$stop_requested <- TRUE
    for (q in co$queues) queue_stop(q)
    invisible(NULL)
  }
  co$should_stop <- function() co$stop_requested
  co$join <- function(threads = NULL, stop_grace_period_secs = 120, ignore_live_threads = FALSE) {
    co$request_stop()
    for (q in threads %||% list()) if (is.environment(q)) queue_stop(q)
    invisible(NULL)
  }
  co$clear_stop <- function() { co$stop_requested <- FALSE; invisible(NULL) }
  structure(co, class = "kerasnative_coordinator")
}

#' @export
print.kerasnative_coordinator <- function(x, ...) {
  cat("<tf.train.Coordinator: ", length(x$queues), " queue(s)", if (x$stop_requested) ", stop requested", ">\n", sep = "")
  invisible(x)
}

# Start the worker threads of every queue of `sess`; returns the queues (TF's threads).
tf_start_queue_runners <- function(sess = NULL, coord = NULL, daemon = TRUE, start = TRUE, collection = NULL) {
  sess <- sess %||% current_session()
  if (!inherits(sess, "kerasnative_session"))
    stop("start_queue_runners(): `sess` must be a session from k_get_session()", call. = FALSE)
  if (!is.null(coord) && !inherits(coord, "kerasnative_coordinator"))
    stop("start_queue_runners(): `coord` must be a tf$train$Coordinator()", call. = FALSE)
  for (q in sess$queues) {
    if (!is.null(coord)) coord$queues[[length(coord$queues) + 1]] <- q
    if (isTRUE(start)) cpp_queue_start(q$ptr)
  }
  invisible(sess$queues)
}

# ---------------------------------------------------------------- shapes

# Fixed batch size of a batched tensor (from a queue or batch_shape), or NA.
tensor_fixed_batch <- function(t) {
  fb <- .subset2(t, "fixed_batch")
  if (!is.null(fb) && !is.na(fb)) return(fb)
  if (tensor_kind(t) == "op" && tensor_batched(t))
    for (s in t$inputs) { f <- tensor_fixed_batch(s); if (!is.na(f)) return(f) }
  NA
}

# x$get_shape()$as_list(): the full shape as a list (NULL = unknown).
tensor_shape_object <- function(t) {
  s <- if (tensor_kind(t) == "eager") t$env$shape else tensor_full_shape(t)
  if (tensor_kind(t) != "eager" && tensor_batched(t)) s[1] <- tensor_fixed_batch(t)
  s <- as.integer(s)
  structure(list(dims = s, as_list = function() lapply(s, function(d) if (is.na(d)) NULL else d),
                 ndims = length(s)),
            class = "kerasnative_tensor_shape")
}

#' @export
print.kerasnative_tensor_shape <- function(x, ...) {
  cat("TensorShape(", shape_text(x$dims), ")\n", sep = "")
  invisible(x)
}

#' @export
`$.kerasnative_tensor` <- function(x, name) {
  v <- .subset2(x, name)
  if (!is.null(v)) return(v)
  switch(name,
    get_shape = function() tensor_shape_object(x),
    NULL)
}

# tf$reshape on model tensors: a target whose first dimension is the tensor's
# (fixed) batch size keeps the batch dimension (TF: reshape(x, c(128, 28, 28, 1))
# of a batch of 128 is reshape(x, c(-1, 28, 28, 1))).
tf_backend_reshape <- function(tensor, shape) {
  s <- vapply(as.list(unclass(shape)), function(d) if (is.null(d) || is.na(d)) -1L else as.integer(d), integer(1))
  if (is_tensor(tensor) && tensor_kind(tensor) != "eager" && tensor_batched(tensor) && length(s) &&
      s[1] != -1L && !any(s[-1] == -1L)) {
    fb <- tensor_fixed_batch(tensor)
    if (is.na(fb) || fb == s[1]) s[1] <- -1L
    else stop(sprintf("tf$reshape(): the tensor has a batch of %d but the new shape starts with %d",
                      fb, s[1]), call. = FALSE)
  }
  k_reshape(tensor, s)
}
