# train() / evaluate() / predict() of estimators, their checkpoints, hooks
# and numpy_input_fn().

# ---------------------------------------------------------------- checkpoints

# Latest checkpoint of `dir`: list(path (file), prefix, step) or NULL.
latest_checkpoint <- function(dir) {
  f <- file.path(dir, "checkpoint")
  if (!file.exists(f)) return(NULL)
  l <- readLines(f, warn = FALSE)
  m <- regmatches(l, regexec('^model_checkpoint_path: "(.*)"$', l))
  m <- Filter(length, m)
  if (!length(m)) stop("the checkpoint file '", f, "' has no model_checkpoint_path line", call. = FALSE)
  prefix <- m[[1]][2]
  step <- suppressWarnings(as.numeric(sub(".*-([0-9]+)$", "\\1", prefix)))
  if (is.na(step)) stop("checkpoint '", prefix, "' in '", f, "' does not end in -<global step>", call. = FALSE)
  path <- if (is_absolute_path(prefix)) prefix else file.path(dir, prefix)
  if (!file.exists(paste0(path, ".h5")))
    stop("the checkpoint file '", f, "' points to '", prefix, "' but '", path, ".h5' does not exist", call. = FALSE)
  list(path = paste0(path, ".h5"), prefix = path, step = step)
}

# Write model.ckpt-<step>.h5 (Keras weights layout plus the optimizer's
# training_config and slots as save_model_hdf5() writes them), then point `checkpoint` at it
# (atomic rename): a crash leaves the previous checkpoint valid. Keeps the
# last `keep` ones.
save_checkpoint <- function(dir, model, step, keep = 5L) {
  dir.create(dir, recursive = TRUE, showWarnings = FALSE)
  prefix <- sprintf("model.ckpt-%d", as.integer(step))
  tf_log("Saving checkpoints for %d into %s.", as.integer(step), file.path(dir, "model.ckpt"))
  ptr <- model_ptr(model)
  tc <- cpp_model_training_config(ptr, "model_fn", character(0), NULL)  # "" if not compiled (never in train)
  kn_try(cpp_model_save_h5(ptr, file.path(dir, paste0(prefix, ".h5")), FALSE, FALSE, TRUE, tc), "train()")
  f <- file.path(dir, "checkpoint")
  old <- if (file.exists(f)) sub('^all_model_checkpoint_paths: "(.*)"$', "\\1",
                                 grep("^all_model_checkpoint_paths", readLines(f, warn = FALSE), value = TRUE))
  all <- unique(c(setdiff(old, prefix), prefix))
  drop <- utils::head(all, max(0, length(all) - keep))
  all <- setdiff(all, drop)
  tmp <- tempfile(".checkpoint", tmpdir = dir)
  writeLines(c(sprintf('model_checkpoint_path: "%s"', prefix), sprintf('all_model_checkpoint_paths: "%s"', all)), tmp)
  if (!file.rename(tmp, f)) { unlink(tmp); stop("cannot write the checkpoint file '", f, "'", call. = FALSE) }
  for (p in drop) unlink(file.path(dir, paste0(p, ".h5")))
}

restore_checkpoint <- function(est, tr, required = FALSE, train = FALSE) {
  ck <- latest_checkpoint(est$model_dir)
  if (is.null(ck)) {
    if (required) stop("could not find a trained model in model_dir '", est$model_dir, "': call train() first", call. = FALSE)
    return(0)
  }
  tf_log("Restoring parameters from %s", ck$prefix)
  h5 <- read_h5(ck$path, "restore checkpoint")
  warn <- kn_try(cpp_model_load_weights(tr$ptr, h5$handle, TRUE, FALSE, FALSE), "restore checkpoint")
  for (w in warn) warning(w, call. = FALSE)
  if (train) restore_optimizer_state(tr, h5, ck$prefix)
  ck$step
}

# Optimizer slots and iteration count of a checkpoint into the traced train
# model; checkpoints written before they held them (weights-only files) and
# unusable states leave fresh slots, and say so.
restore_optimizer_state <- function(tr, h5, prefix) {
  if (!nzchar(h5$training_config)) {
    tf_log("Checkpoint %s holds no optimizer state (older format): the optimizer starts with fresh slots", prefix)
    return(invisible())
  }
  tc <- jsonlite::fromJSON(h5$training_config, simplifyVector = FALSE)
  msg <- cpp_model_load_optimizer_state(tr$ptr, h5$handle, stored_iterations(tc))
  if (nzchar(msg)) tf_log("Checkpoint %s: %s", prefix, msg)
  invisible()
}

# ---------------------------------------------------------------- hooks

#' Session run hooks for estimators
#'
#' `hook_logging_tensor()` prints the tensors named in the model function
#' (with `name =`) every `every_n_iter` steps, as TensorFlow's
#' LoggingTensorHook; `hook_checkpoint_saver()` saves a checkpoint every
#' `save_steps` steps; `hook_stop_at_step()` ends training at a step.
#' @param tensors Named list (or vector) mapping labels to tensor names.
#' @param every_n_iter,every_n_secs How often to print (steps or seconds).
#' @param formatter Optional function of the named list of values returning a string.
#' @param checkpoint_dir Directory of the checkpoints (the estimator's `model_dir` when `NULL`).
#' @param save_secs,save_steps How often to save.
#' @param num_steps,last_step Train `num_steps` more steps, or up to global step `last_step`.
#' @param ... Ignored.
#' @return A hook.
#' @examples
#' hook_logging_tensor(list(predicted_classes = "predicted_classes"), every_n_iter = 50)
#' @export
hook_logging_tensor <- function(tensors, every_n_iter = NULL, every_n_secs = NULL, formatter = NULL, ...) {
  if (is.null(every_n_iter) == is.null(every_n_secs))
    stop("hook_logging_tensor(): give exactly one of `every_n_iter` and `every_n_secs`", call. = FALSE)
  tensors <- as.list(tensors)
  if (is.null(names(tensors))) names(tensors) <- unlist(tensors)
  structure(list(kind = "logging", tensors = tensors, every_n_iter = every_n_iter, every_n_secs = every_n_secs,
                 formatter = formatter), class = c("tf_logging_tensor_hook", "tf_session_run_hook"))
}

#' @rdname hook_logging_tensor
#' @export
hook_checkpoint_saver <- function(checkpoint_dir = NULL, save_secs = NULL, save_steps = NULL, ...) {
  if (is.null(save_secs) == is.null(save_steps))
    stop("hook_checkpoint_saver(): give exactly one of `save_secs` and `save_steps`", call. = FALSE)
  structure(list(kind = "saver", dir = checkpoint_dir, save_secs = save_secs, save_steps = save_steps),
            class = c("tf_checkpoint_saver_hook", "tf_session_run_hook"))
}

#' @rdname hook_logging_tensor
#' @export
hook_stop_at_step <- function(num_steps = NULL, last_step = NULL) {
  if (is.null(num_steps) == is.null(last_step))
    stop("hook_stop_at_step(): give exactly one of `num_steps` and `last_step`", call. = FALSE)
  structure(list(kind = "stop", num_steps = num_steps, last_step = last_step),
            class = c("tf_stop_at_step_hook", "tf_session_run_hook"))
}

as_hook_list <- function(hooks) {
  if (inherits(hooks, "tf_session_run_hook")) hooks <- list(hooks)
  for (h in hooks) if (!inherits(h, "tf_session_run_hook"))
    stop("`hooks` must be hooks (hook_logging_tensor(), ...), got ", class(h)[1], call. = FALSE)
  lapply(hooks, function(h) { e <- list2env(unclass(h)); e$last_time <- NULL; e })
}

# numpy-style text of a value: "[6 9 1 ...]" wrapped at 75 columns.
format_np <- function(v) {
  items <- if (is.numeric(v) && all(v == round(v))) format(as.integer(v)) else format(signif(v, 6))
  lines <- character(0); cur <- "["
  for (i in seq_along(items)) {
    it <- paste0(items[i], if (i == length(items)) "]" else "")
    if (nchar(cur) + nchar(it) + 1 > 75 && nchar(cur) > 1) { lines <- c(lines, cur); cur <- paste0(" ", it) }
    else cur <- if (cur == "[") paste0(cur, it) else paste(cur, it)
  }
  paste(c(lines, cur), collapse = "\n")
}

run_logging_hooks <- function(hooks, tr, iter) {
  for (h in hooks) {
    if (h$kind != "logging") next
    now <- Sys.time()
    due <- if (!is.null(h$every_n_iter)) iter %% h$every_n_iter == 0 else
      is.null(h$last_time) || as.numeric(now - h$last_time, units = "secs") >= h$every_n_secs
    if (!due) next
    vals <- lapply(h$tensors, function(nm) {
      id <- tr$named[[nm]]
      if (is.null(id)) stop("hook_logging_tensor(): no tensor named '", nm, "' in the model_fn (names: ",
                            paste(names(tr$named), collapse = ", "), ")", call. = FALSE)
      cpp_model_node_value(tr$ptr, id)
    })
    txt <- if (is.function(h$formatter)) h$formatter(vals) else
      paste(sprintf("%s = %s", names(vals), vapply(vals, format_np, "")), collapse = ", ")
    el <- if (!is.null(h$last_time)) sprintf(" (%.3f sec)", as.numeric(now - h$last_time, units = "secs")) else ""
    tf_log("%s%s", txt, el)
    h$last_time <- now
  }
}

# ---------------------------------------------------------------- train / evaluate / predict

#' Train, evaluate or predict with an estimator
#'
#' @param object An [estimator()].
#' @param input_fn Input function (0 or 1 argument) returning
#'   `tf$estimator$inputs$numpy_input_fn()`'s function or `list(features, labels)`.
#' @param steps Number of steps (train: more steps from the restored global
#'   step; evaluate: batches, `NULL` = until the input ends).
#' @param hooks A hook or list of hooks ([hook_logging_tensor()], ...).
#' @param max_steps Train up to this global step.
#' @param ... Ignored.
#' @return `train()`: the estimator, invisibly; `evaluate()`: a data frame of
#'   the metrics, the loss and `global_step`.
#' @export
train <- function(object, input_fn, steps = NULL, hooks = NULL, max_steps = NULL, ...) {
  if (!inherits(object, "tf_estimator")) stop("train() needs an estimator", call. = FALSE)
  steps <- check_whole(steps, "train", "steps", null_ok = TRUE)
  max_steps <- check_whole(max_steps, "train", "max_steps", null_ok = TRUE)
  hooks <- as_hook_list(hooks)
  tr <- estimator_trace(object, input_fn, "train")
  on.exit(queue_stop(tr$queue))
  tf_log("Create CheckpointSaverHook.")
  step <- restore_checkpoint(object, tr, train = TRUE)
  last <- min(if (!is.null(steps)) step + steps else Inf, max_steps %||% Inf)
  for (h in hooks) if (h$kind == "stop") last <- min(last, h$last_step %||% (step + h$num_steps))
  if (step >= last) {
    tf_log("Skipping training since max_steps has already been reached.")
    return(invisible(object))
  }
  cpp_queue_start(tr$queue$ptr)
  dir.create(object$model_dir, recursive = TRUE, showWarnings = FALSE)
  events <- cpp_tfevents_open(object$model_dir)  # loss and global_step/sec, as TF's estimators
  on.exit(cpp_tfevents_close(events), add = TRUE)
  iter <- 0L
  loss <- NA_real_
  t_sum <- Sys.time(); s_sum <- step
  while (step < last) {
    b <- estimator_batch(tr)
    if (is.null(b)) break
    loss <- cpp_model_train_on_batch(tr$ptr, b$data, r_seed())$loss
    step <- step + 1
    if (!is.finite(loss)) stop("train(): the loss is ", loss, " at step ", step, " (NaN loss during training)", call. = FALSE)
    if (iter %% 100L == 0L) {
      tf_log("loss = %g, step = %d", loss, as.integer(step))
      now <- Sys.time()
      vals <- c(loss = loss, if (step > s_sum + 1) c("global_step/sec" = (step - s_sum) / as.numeric(now - t_sum, units = "secs")))
      cpp_tfevents_scalars(events, names(vals), unname(vals), step, now_seconds())
      t_sum <- now; s_sum <- step
    }
    run_logging_hooks(hooks, tr, iter)
    for (h in hooks) if (h$kind == "saver" && !is.null(h$save_steps) && step %% h$save_steps == 0 && step < last)
      save_checkpoint(h$dir %||% object$model_dir, tr$model, step)
    iter <- iter + 1L
  }
  if (is.finite(loss) && step > s_sum) cpp_tfevents_scalars(events, "loss", loss, step, now_seconds())
  save_checkpoint(object$model_dir, tr$model, step)
  tf_log("Loss for final step: %g.", loss)
  invisible(object)
}

estimator_evaluate <- function(object, input_fn, steps = NULL, hooks = NULL, ...) {
  steps <- check_whole(steps, "evaluate", "steps", null_ok = TRUE)
  hooks <- as_hook_list(hooks)
  tr <- estimator_trace(object, input_fn, "eval")
  on.exit(queue_stop(tr$queue))
  tf_log("Starting evaluation at %s", format(Sys.time(), "%Y-%m-%d-%H:%M:%S"))
  step <- restore_checkpoint(object, tr, required = TRUE)
  cpp_queue_start(tr$queue$ptr)
  sums <- NULL; seen <- 0; i <- 0L
  while (is.null(steps) || i < steps) {
    b <- estimator_batch(tr)
    if (is.null(b)) break
    v <- unlist(cpp_model_test_on_batch(tr$ptr, b$data))
    sums <- if (is.null(sums)) v * b$n else sums + v * b$n
    seen <- seen + b$n
    run_logging_hooks(hooks, tr, i)
    i <- i + 1L
    tf_log("Evaluation [%d/%s]", i, if (is.null(steps)) "?" else steps)
  }
  if (seen == 0) stop("evaluate(): the input function produced no batches", call. = FALSE)
  m <- as.list(sums / seen)
  res <- c(m[setdiff(names(m), "loss")], list(loss = m$loss, global_step = step))
  tf_log("Finished evaluation at %s", format(Sys.time(), "%Y-%m-%d-%H:%M:%S"))
  tf_log("Saving dict for global step %d: %s", as.integer(step),
         paste(sprintf("%s = %g", names(res), unlist(res)), collapse = ", "))
  as.data.frame(res)
}

#' @rdname train
#' @param predict_keys Names of the predictions to return (all when `NULL`).
#' @return `predict()`: a named list of arrays (one row per example), or the
#'   array itself when `predictions` was a single tensor.
#' @export
predict.tf_estimator <- function(object, input_fn, predict_keys = NULL, hooks = NULL, ...) {
  tr <- estimator_trace(object, input_fn, "infer")
  on.exit(queue_stop(tr$queue))
  restore_checkpoint(object, tr, required = TRUE)
  q <- tr$queue
  cpp_queue_start(q$ptr)
  parts <- list()
  repeat {
    b <- estimator_batch(tr)
    if (is.null(b)) break
    parts[[length(parts) + 1]] <- cpp_model_predict(tr$ptr, b$data, b$n, 0L, FALSE)
  }
  if (!length(parts)) stop("predict(): the input function produced no batches (use num_epochs = 1)", call. = FALSE)
  out <- lapply(seq_along(tr$output_names), function(k) {
    xs <- lapply(parts, function(p) p[[k]])
    if (is.null(dim(xs[[1]])) || length(dim(xs[[1]])) == 1) unlist(lapply(xs, as.vector)) else do.call(rbind, xs)
  })
  names(out) <- tr$output_names
  if (!is.null(predict_keys)) {
    bad <- setdiff(predict_keys, names(out))
    if (length(bad)) stop("predict(): no prediction named ", paste(bad, collapse = ", "), call. = FALSE)
    out <- out[predict_keys]
  }
  if (identical(names(out), "predictions") && !is.list(tr$spec$predictions)) out[[1]] else out
}

# ---------------------------------------------------------------- numpy_input_fn

# An input function over R arrays: a queue of (x..., y) examples; with a
# finite num_epochs the last batch may be smaller, as in TensorFlow.
tf_numpy_input_fn <- function(x, y = NULL, batch_size = 128L, num_epochs = 1L, shuffle = NULL,
                              queue_capacity = 1000L, num_threads = 1L) {
  if (is.null(shuffle)) stop("numpy_input_fn(): `shuffle` must be TRUE or FALSE", call. = FALSE)
  check_flag(shuffle, "numpy_input_fn", "shuffle")
  feats <- if (is.list(x) && !is.data.frame(x)) x else list(x = x)
  if (is.null(names(feats)) || any(!nzchar(names(feats))))
    stop("numpy_input_fn(): `x` must be an array or a named list of arrays", call. = FALSE)
  batch_size <- check_whole(batch_size, "numpy_input_fn", "batch_size")
  queue_capacity <- check_whole(queue_capacity, "numpy_input_fn", "queue_capacity")
  force(y); force(num_epochs); force(num_threads)
  function(...) {
    comps <- c(feats, if (!is.null(y)) list(y))
    cap <- max(queue_capacity, batch_size)
    outs <- make_input_queue("numpy_input_fn", comps, batch_size, cap,
                             if (shuffle) min(cap - batch_size, cap %/% 4L) else 0L, num_threads, NULL,
                             enqueue_many = TRUE, allow_smaller_final_batch = !is.null(num_epochs),
                             shuffle = shuffle, num_epochs = num_epochs, name = "numpy_input_fn")
    list(features = outs[seq_along(feats)], labels = if (!is.null(y)) outs[[length(outs)]])
  }
}

tf_estimator_module <- function() {
  tf_module(inputs = tf_module(numpy_input_fn = tf_numpy_input_fn), EstimatorSpec = estimator_spec,
            Estimator = function(model_fn, model_dir = NULL, config = NULL, params = NULL)
              estimator(model_fn, model_dir, config, params),
            ModeKeys = tf_module(TRAIN = "train", EVAL = "eval", PREDICT = "infer"))
}
