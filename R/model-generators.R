# Training, evaluation and prediction from R generator functions.
#
# R closures run on the main R thread. Each step runs on a worker thread
# (src/r_callbacks.cpp: cpp_step_start/cpp_step_wait) while the main thread
# calls the generator for the next batches and converts them, so a cheap
# generator costs little beyond its own R time.

# One-line description of what a generator returned, for errors.
describe_value <- function(v) {
  one <- function(a) {
    if (is.null(a)) return("NULL")
    d <- dim(a)
    sprintf("%s %s", typeof(a), if (is.null(d)) sprintf("vector[%d]", length(a)) else sprintf("array[%s]", paste(d, collapse = " x ")))
  }
  if (is.list(v) && !is.data.frame(v))
    sprintf("a list of %d: %s", length(v), paste(vapply(v, function(e) if (is.list(e)) describe_value(e) else one(e), ""), collapse = ", "))
  else one(v)
}

# Pulls batches from `generator` and prepares them (conversion + shape checks)
# for cpp_step_start(). mode: "train", "test" or "predict".
generator_feed <- function(object, generator, what, mode, class_weight = NULL) {
  if (!is.function(generator))
    stop(what, "(): `generator` must be a function returning list(x, y) (or list(x, y, sample_weight)), not ",
         class(generator)[1], call. = FALSE)
  ptr <- model_ptr(object)
  single_input <- mode != "predict" || model_n_inputs(object) == 1
  calls <- 0L
  fail <- function(msg) stop(sprintf("%s(): generator step %d: %s", what, calls, msg), call. = FALSE)
  produce <- function() {
    calls <<- calls + 1L
    out <- tryCatch(generator(), error = function(e) fail(paste("the generator failed:", conditionMessage(e))))
    if (mode == "predict") {
      x <- if (is.list(out) && !is.data.frame(out) && length(out) %in% 1:3 && single_input) out[[1]] else out
      y <- NULL; w <- NULL
    } else {
      if (!is.list(out) || is.data.frame(out) || !length(out) %in% 2:3)
        fail(paste0("expected list(x, y) or list(x, y, sample_weight) but the generator returned ", describe_value(out)))
      x <- out[[1]]; y <- out[[2]]; w <- if (length(out) == 3) out[[3]] else NULL
      if (!is.null(class_weight)) {
        cw <- class_weights_to_sample(class_weight, y)
        w <- if (is.null(w)) cw else w * cw
      }
    }
    data <- tryCatch(model_data(object, x, y, w),
                     error = function(e) fail(paste0(conditionMessage(e), " (the generator returned ", describe_value(out), ")")))
    list(data = data, n = cpp_data_n(data))
  }
  list(produce = produce, ptr = ptr)
}

# Runs `n_steps` steps of `mode` over `feed`, pipelined: while step i runs on
# the worker thread, up to `max_queue` next batches are produced. Returns
# list(values (sample-weighted means), outputs (predict), steps, stopped,
# stop_training, progress).
run_generator_steps <- function(feed, mode, n_steps, seed, max_queue, hook = NULL, verbose = 0L,
                                dynamic = FALSE, names = character()) {
  ptr <- feed$ptr
  bar <- if (mode != "predict" || verbose > 0) cpp_progress_new(names, n_steps, verbose, dynamic)
  running <- NULL
  on.exit(if (!is.null(running)) try(cpp_step_wait(ptr, running), silent = TRUE))
  queue <- list()
  sums <- NULL; seen <- 0; outputs <- list(); stop_training <- FALSE; stopped <- FALSE
  i <- 0L
  while (i < n_steps) {
    if (!length(queue)) queue <- list(feed$produce())
    b <- queue[[1]]; queue <- queue[-1]
    if (!is.null(hook) && !isTRUE(hook("begin", i, b$n, NULL))) { stop_training <- TRUE; break }
    running <- cpp_step_start(ptr, b$data, mode, seed + i)
    while (length(queue) < max_queue && length(queue) < n_steps - i - 1L && !cpp_step_done(running))
      queue[[length(queue) + 1L]] <- feed$produce()
    res <- cpp_step_wait(ptr, running)
    running <- NULL
    i <- i + 1L
    if (mode == "predict") {
      outputs[[i]] <- res
      if (!is.null(bar) && !cpp_progress_update(bar, i, numeric(0))) { stopped <- TRUE; break }
      if (!is.null(hook)) hook("end", i - 1L, b$n, list())
      next
    }
    v <- unlist(res)
    sums <- if (is.null(sums)) v * b$n else sums + v * b$n
    seen <- seen + b$n
    if (!cpp_progress_update(bar, i, v)) { stopped <- TRUE; break }
    if (!is.null(hook) && !isTRUE(hook("end", i - 1L, b$n, res))) { stop_training <- TRUE; break }
  }
  values <- if (!is.null(sums)) as.list(sums / seen)
  list(values = values, outputs = outputs, steps = i, stopped = stopped, stop_training = stop_training,
       progress = bar)
}

# How fit()/fit_generator() run epochs from a generator.
fit_plan_generator <- function(object, generator, steps_per_epoch, validation_data, validation_steps,
                               class_weight, max_queue_size, what) {
  if (is.null(steps_per_epoch))
    stop(what, "(): `steps_per_epoch` is required with a generator (the number of batches per epoch)", call. = FALSE)
  steps <- count_int(steps_per_epoch, "steps_per_epoch", min = 1)
  feed <- generator_feed(object, generator, what, "train", class_weight)
  ptr <- feed$ptr
  last_batch <- 32L
  validate <- NULL
  if (is.function(validation_data)) {
    if (is.null(validation_steps))
      stop(what, "(): `validation_steps` is required when `validation_data` is a generator", call. = FALSE)
    vsteps <- count_int(validation_steps, "validation_steps", min = 1)
    vfeed <- generator_feed(object, validation_data, paste(what, "validation"), "test")
    validate <- function(hook = NULL) {
      r <- run_generator_steps(vfeed, "test", vsteps, 0, max_queue_size, hook)
      if (r$stopped) stop("validation interrupted", call. = FALSE)
      stats::setNames(r$values, cpp_model_metric_names(ptr))
    }
  } else if (!is.null(validation_data)) {
    if (!is.list(validation_data) || !length(validation_data) %in% 2:3)
      stop(what, "(): `validation_data` must be a generator function or list(x_val, y_val[, sample_weight]); got ",
           describe_value(validation_data), call. = FALSE)
    vdata <- model_data(object, validation_data[[1]], validation_data[[2]],
                        if (length(validation_data) == 3) validation_data[[3]], "validation_data")
    # Keras evaluates in-memory validation data with the last training batch size
    validate <- function(hook = NULL) cpp_model_evaluate(ptr, vdata, last_batch, 0L, FALSE, hook)
  }
  list(
    batch_size = NULL, samples = NULL, steps = steps, validation_samples = NULL,
    run_epoch = function(seed, verbose, dynamic, hook = NULL) {
      r <- run_generator_steps(feed, "train", steps, seed, max_queue_size, hook, verbose, dynamic,
                               cpp_model_metric_names(ptr))
      r$values <- stats::setNames(r$values %||% list(), cpp_model_metric_names(ptr)[seq_along(r$values)])
      r
    },
    validate = validate
  )
}

check_generator_args <- function(what, max_queue_size, workers) {
  count_int(max_queue_size, "max_queue_size", min = 1)
  count_int(workers, "workers", min = 1)
}

#' Fits the model on data yielded batch-by-batch by a generator
#'
#' The generator is an R function returning a batch as `list(x, y)` or
#' `list(x, y, sample_weight)` each time it is called. It runs on the main R
#' thread (as keras requires for R generators); while it produces the next
#' batches, the native engine trains on the previous one on a worker thread.
#' A batch with the wrong structure or shapes stops training with an error
#' naming the step and what the generator returned. The generator must not
#' use the model being trained (the engine is training it at the time).
#' @inheritParams fit
#' @param generator A generator function returning `list(inputs, targets)` or
#'   `list(inputs, targets, sample_weights)`.
#' @param steps_per_epoch Total number of steps (batches of samples) to yield
#'   from the generator before declaring one epoch finished.
#' @param validation_data A generator function (then `validation_steps` is
#'   required) or a list `list(x_val, y_val)` / `list(x_val, y_val, w_val)`.
#' @param validation_steps Number of batches to draw from a validation
#'   generator at the end of every epoch (ignored for in-memory data).
#' @param max_queue_size Maximum number of batches produced ahead of the
#'   training step (they are produced while the engine trains).
#' @param workers Number of workers: R generator functions always run on the
#'   main R thread, one call at a time (as in keras for R generators), so
#'   this only has to be a positive integer.
#' @return A `keras_training_history` object (invisibly).
#' @family generators
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 2, activation = "softmax", input_shape = 2)
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
#' gen <- function() {
#'   x <- matrix(runif(64), ncol = 2)
#'   list(x, to_categorical(as.integer(x[, 1] > x[, 2]), 2))
#' }
#' model %>% fit_generator(gen, steps_per_epoch = 5, epochs = 2, verbose = 0)
#' @export
fit_generator <- function(object, generator, steps_per_epoch, epochs = 1,
                          verbose = getOption("keras.fit_verbose", default = 1), callbacks = NULL,
                          view_metrics = getOption("keras.view_metrics", default = "auto"),
                          validation_data = NULL, validation_steps = NULL, class_weight = NULL,
                          max_queue_size = 10, workers = 1, initial_epoch = 0) {
  if (!is_model(object)) stop("fit_generator() needs a model", call. = FALSE)
  if (is.null(.subset2(object, "compiled")))
    stop("the model must be compiled before training: call compile() first", call. = FALSE)
  if (missing(steps_per_epoch)) steps_per_epoch <- NULL
  check_generator_args("fit_generator", max_queue_size, workers)
  plan <- fit_plan_generator(object, generator, steps_per_epoch, validation_data, validation_steps,
                             class_weight, as.integer(max_queue_size), "fit_generator")
  fit_run(object, plan, epochs, verbose, callbacks, initial_epoch)
}

#' Evaluates the model on a data generator
#'
#' @inheritParams fit_generator
#' @param steps Total number of steps (batches of samples) to yield from the
#'   generator before stopping.
#' @param callbacks List of callbacks to apply during evaluation.
#' @return Named list of the test loss and metrics (means weighted by batch size).
#' @family generators
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 2, activation = "softmax", input_shape = 2)
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
#' gen <- function() list(matrix(runif(20), ncol = 2), to_categorical(rep(0:1, 5), 2))
#' evaluate_generator(model, gen, steps = 3)
#' @export
evaluate_generator <- function(object, generator, steps, max_queue_size = 10, workers = 1, callbacks = NULL) {
  if (!is_model(object)) stop("evaluate_generator() needs a model", call. = FALSE)
  if (is.null(.subset2(object, "compiled")))
    stop("the model must be compiled before evaluation: call compile() first", call. = FALSE)
  check_generator_args("evaluate_generator", max_queue_size, workers)
  steps <- count_int(steps, "steps", min = 1)
  cbs <- callback_list(callbacks, object, list(steps = steps, verbose = 0L))
  feed <- generator_feed(object, generator, "evaluate_generator", "test")
  cbs_call(cbs, "on_test_begin", list())
  r <- run_generator_steps(feed, "test", steps, 0, as.integer(max_queue_size), batch_hook(cbs, "test", object))
  if (r$stopped) stop("evaluation interrupted", call. = FALSE)
  cbs_call(cbs, "on_test_end", list())
  stats::setNames(r$values, cpp_model_metric_names(feed$ptr))
}

#' Generates predictions for the input samples from a data generator
#'
#' @inheritParams evaluate_generator
#' @param generator Generator function returning batches of input samples
#'   (an array, or `list(x)` / `list(x, y)` whose first element is used).
#' @param verbose Verbosity mode, 0 or 1.
#' @param callbacks List of callbacks to apply during prediction.
#' @return Array of predictions (a list of arrays for several outputs).
#' @family generators
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 2, activation = "softmax", input_shape = 2)
#' gen <- function() matrix(runif(20), ncol = 2)
#' dim(predict_generator(model, gen, steps = 3))
#' @export
predict_generator <- function(object, generator, steps, max_queue_size = 10, workers = 1, verbose = 0,
                              callbacks = NULL) {
  if (!is_model(object)) stop("predict_generator() needs a model", call. = FALSE)
  check_generator_args("predict_generator", max_queue_size, workers)
  steps <- count_int(steps, "steps", min = 1)
  cbs <- callback_list(callbacks, object, list(steps = steps, verbose = as.integer(verbose)))
  feed <- generator_feed(object, generator, "predict_generator", "predict")
  cbs_call(cbs, "on_predict_begin", list())
  r <- run_generator_steps(feed, "predict", steps, 0, as.integer(max_queue_size),
                           batch_hook(cbs, "predict", object), as.integer(verbose), dynamic_display())
  if (r$stopped) stop("prediction interrupted", call. = FALSE)
  if (!is.null(r$progress)) cpp_progress_finish(r$progress, NULL)
  cbs_call(cbs, "on_predict_end", list())
  n_out <- length(r$outputs[[1]])
  out <- lapply(seq_len(n_out), function(k) bind_rows_arrays(lapply(r$outputs, `[[`, k)))
  if (n_out == 1) out[[1]] else out
}

# Concatenates arrays along their first dimension.
bind_rows_arrays <- function(arrays) {
  d <- dim(arrays[[1]])
  if (is.null(d)) return(unlist(arrays))
  if (length(d) == 2) return(do.call(rbind, arrays))
  perm <- c(seq_along(d)[-1], 1L)
  flat <- unlist(lapply(arrays, function(a) aperm(a, perm)))
  n <- sum(vapply(arrays, function(a) dim(a)[1], numeric(1)))
  aperm(array(flat, c(d[-1], n)), order(perm))
}
