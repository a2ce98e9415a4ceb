#' Configure a Keras model for training
#'
#' @param object Model object to compile (modified in place).
#' @param optimizer Name of optimizer (`"sgd"`, `"rmsprop"`, `"adam"`,
#'   `"adagrad"`) or an `optimizer_*()` object.
#' @param loss Name of objective function (`"categorical_crossentropy"`,
#'   `"sparse_categorical_crossentropy"`, `"binary_crossentropy"`,
#'   `"mean_squared_error"`/`"mse"`, `"mean_absolute_error"`/`"mae"`), or
#'   one per output.
#' @param metrics List of metrics: `"accuracy"` (reported as `acc`).
#' @param loss_weights Optional list of scalar coefficients weighting the
#'   loss contributions of different outputs.
#' @param sample_weight_mode,weighted_metrics Not supported (must be `NULL`).
#' @param target_tensors Target tensor(s), one per output, computed from the
#'   input queue that feeds the model (see `layer_input(tensor = )`): the
#'   loss and metrics then compare the outputs with them.
#' @param ... Ignored.
#' @return The model, invisibly (modified in place).
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 3, activation = "softmax", input_shape = 4)
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "rmsprop",
#'                   metrics = c("accuracy"))
#' @export
compile <- function(object, optimizer, loss, metrics = NULL, loss_weights = NULL,
                    sample_weight_mode = NULL, weighted_metrics = NULL,
                    target_tensors = NULL, ...) {
  if (!is_model(object)) stop("compile() needs a model", call. = FALSE)
  check_unsupported(sample_weight_mode = sample_weight_mode, weighted_metrics = weighted_metrics)
  if (missing(optimizer)) stop("compile(): `optimizer` is required", call. = FALSE)
  if (missing(loss)) stop("compile(): `loss` is required", call. = FALSE)
  if (is.function(loss) && is.null(attr(loss, "py_function_name")) && is.name(substitute(loss)))
    attr(loss, "kn_name") <- as.character(substitute(loss))  # the name saved in training_config
  if (is_unbuilt_custom(object)) {  # keras_model_custom(): compiled when built on its first data
    assign("pending_compile", list(optimizer = optimizer, loss = loss, metrics = metrics, loss_weights = loss_weights),
           envir = object)
    return(invisible(object))
  }
  opt <- resolve_optimizer(optimizer)
  # losses and metrics: native kernels by name, anything else traced into the graph
  if (!is.list(loss) || is.function(loss)) loss <- if (is.character(loss)) as.list(loss) else list(loss)
  loss_specs <- lapply(loss, resolve_loss)
  met <- resolve_metrics(metrics)
  lw <- if (is.null(loss_weights)) numeric(0) else unlist(loss_weights)
  if (!is.numeric(lw) || anyNA(lw) || any(!is.finite(lw)) || any(lw < 0))
    arg_fail("compile", "loss_weights", "finite non-negative numbers (one per output)", loss_weights)
  lw <- as.numeric(lw)
  if (!is.null(target_tensors)) return(compile_with_target_tensors(object, opt, loss_specs, met, lw, target_tensors))
  ptr <- model_ptr(object)
  cpp_model_clear_graph_terms(ptr)
  cpp_model_compile(ptr, vapply(loss_specs, function(s) s$name, ""), lw, met$acc, .subset2(opt, "class_name"),
                    to_json(.subset2(opt, "config")))
  trace_compile_terms(ptr, loss_specs, met$fns)
  trace_added_losses(object, ptr)
  loss <- vapply(loss_specs, function(s) s$record, "")
  metrics <- met$record
  assign("compiled", list(loss = loss, metrics = metrics, optimizer = opt, loss_weights = loss_weights),
         envir = object)
  invisible(object)
}

as_array_list <- function(x, what) {
  if (is.null(x)) return(NULL)
  if (is.data.frame(x)) x <- as.matrix(x)
  if (!is.list(x)) x <- list(x)
  lapply(x, function(a) {
    if (is.data.frame(a)) a <- as.matrix(a)
    if (!is.numeric(a) && !is.logical(a))
      stop("`", what, "` must be numeric (a matrix or array), not ", class(a)[1], call. = FALSE)
    a
  })
}

# Build the engine's data handle, with shape checks against the model.
model_data <- function(object, x, y = NULL, sample_weight = NULL, what = "x", fn = "fit") {
  xs <- as_array_list(x, what)
  if (is.null(xs)) stop(fn, "(): `x` is required", call. = FALSE)
  ys <- as_array_list(y, if (what == "x") "y" else what)
  for (a in xs) check_finite_data(a, fn, what)
  for (a in ys) check_finite_data(a, fn, if (what == "x") "y" else what)
  if (n_samples(xs[[1]]) == 0)
    stop(fn, "(): `", what, "` has no samples (its first dimension is 0)", call. = FALSE)
  if (!is.null(sample_weight)) {
    if (!is.numeric(sample_weight) || anyNA(sample_weight) || any(!is.finite(sample_weight)) ||
        any(sample_weight < 0))
      stop(fn, "(): `sample_weight` must be a numeric vector of finite non-negative weights", call. = FALSE)
    sample_weight <- as.numeric(sample_weight)
  }
  data <- cpp_data_new(xs, ys, sample_weight)
  cpp_model_check_data(model_ptr(object), data)
  data
}

# Subset samples of arrays (first index), keeping dims.
take_rows <- function(a, idx) {
  d <- dim(a)
  if (is.null(d)) return(a[idx])
  do.call(`[`, c(list(a), list(idx), rep(list(TRUE), length(d) - 1), list(drop = FALSE)))
}
n_samples <- function(a) { d <- dim(a); if (is.null(d)) length(a) else d[1] }

# verbose: 0, 1 or 2 (TRUE/FALSE as 1/0).
check_verbose <- function(verbose, fn) {
  if (is.logical(verbose) && length(verbose) == 1 && !is.na(verbose)) return(as.integer(verbose))
  check_whole(verbose, fn, "verbose", min = 0, max = 2)
}

dynamic_display <- function() {
  interactive() && !isTRUE(getOption("knitr.in.progress")) && !identical(Sys.getenv("RSTUDIO_NOTEBOOK"), "1")
}

class_weights_to_sample <- function(class_weight, y) {
  cls_names <- names(class_weight)
  if (!(is.list(class_weight) || is.numeric(class_weight)) || is.null(cls_names) ||
      anyNA(suppressWarnings(as.integer(cls_names))) ||
      !all(vapply(class_weight, function(w) is.numeric(w) && length(w) == 1 && is.finite(w) && w >= 0, TRUE)))
    arg_fail("fit", "class_weight", "a named list mapping class indices (\"0\", \"1\", ...) to non-negative weights",
             class_weight)
  y1 <- if (is.list(y) && !is.data.frame(y)) y[[1]] else y
  cls <- if (!is.null(dim(y1)) && length(dim(y1)) == 2 && ncol(y1) > 1) max.col(y1, ties.method = "first") - 1L
         else as.integer(round(as.vector(y1)))
  w <- rep(1, length(cls))
  for (nm in names(class_weight)) w[cls == as.integer(nm)] <- class_weight[[nm]]
  w
}

#' Train a Keras model
#'
#' Trains the model for a fixed number of epochs, natively: the batch loop
#' runs in C++; R is called back between epochs, and at batch boundaries
#' only when a callback has batch-level methods.
#'
#' @param object Model to train.
#' @param x Vector, matrix, or array of training data (or list if the model
#'   has multiple inputs); samples along the first dimension. Also a dataset,
#'   or a generator function returning `list(x, y)` batches (then
#'   `steps_per_epoch` is required; see [fit_generator()]).
#' @param y Vector, matrix, or array of target (label) data (or list).
#' @param batch_size Integer or `NULL`: samples per gradient update (default 32).
#' @param epochs Number of epochs to train the model.
#' @param verbose Verbosity mode (0 = silent, 1 = progress bar, 2 = one line per epoch).
#' @param callbacks List of callbacks to be called during training (see [callback_lambda()]).
#' @param view_metrics Ignored (no real-time viewer).
#' @param validation_split Float between 0 and 1: fraction of the training
#'   data (the last samples, before shuffling) used as validation data.
#' @param validation_data `list(x_val, y_val)` (or with sample weights) to
#'   evaluate the loss and metrics on at the end of each epoch.
#' @param shuffle Whether to shuffle the training data before each epoch.
#' @param class_weight Optional named list mapping class indices (0-based) to
#'   a weight value, used for weighting the loss function.
#' @param sample_weight Optional vector of weights for the training samples.
#' @param initial_epoch Epoch at which to start training (useful for resuming).
#' @param steps_per_epoch,validation_steps Only for datasets, generators and
#'   models fed from an input queue (then `x` is `NULL`; not used with arrays).
#' @param ... Ignored.
#' @return A `keras_training_history` object (invisibly).
#' @examples
#' x <- matrix(runif(200), ncol = 2)
#' y <- to_categorical(as.integer(x[, 1] > x[, 2]), 2)
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 8, activation = "relu", input_shape = 2) %>%
#'   layer_dense(units = 2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam",
#'                   metrics = "accuracy")
#' history <- model %>% fit(x, y, epochs = 2, verbose = 0)
#' history
#' @export
fit <- function(object, x = NULL, y = NULL, batch_size = NULL, epochs = 10,
                verbose = getOption("keras.fit_verbose", default = 1), callbacks = NULL,
                view_metrics = getOption("keras.view_metrics", default = "auto"),
                validation_split = 0, validation_data = NULL, shuffle = TRUE,
                class_weight = NULL, sample_weight = NULL, initial_epoch = 0,
                steps_per_epoch = NULL, validation_steps = NULL, ...) {
  if (!is_model(object)) stop("fit() needs a model", call. = FALSE)
  custom_model_build(object, x, "fit")
  ptr <- model_ptr(object)
  if (is.null(.subset2(object, "compiled")))
    stop("the model must be compiled before training: call compile() first", call. = FALSE)
  if (is.null(x) && is.null(.subset2(object, "queue_feed"))) stop("fit(): `x` is required", call. = FALSE)
  epochs <- check_whole(epochs, "fit", "epochs", min = 0)
  initial_epoch <- check_whole(initial_epoch, "fit", "initial_epoch", min = 0)
  verbose <- check_verbose(verbose, "fit")
  validation_split <- check_number(validation_split, "fit", "validation_split", 0, 1, max_open = TRUE)
  check_flag(shuffle, "fit", "shuffle")
  if (!is.null(validation_data) && !is_dataset(validation_data) &&
      (!is.list(validation_data) || !length(validation_data) %in% 2:3))
    arg_fail("fit", "validation_data", "list(x_val, y_val) or list(x_val, y_val, sample_weights)", validation_data)
  plan <- if (is.null(x)) {
    fit_plan_queue(object, steps_per_epoch)
  } else if (is_dataset(x)) {
    fit_plan_dataset(object, x, steps_per_epoch, validation_data, validation_steps)
  } else if (is.function(x)) {
    if (!is.null(y)) stop("fit(): `y` must be NULL when `x` is a generator function", call. = FALSE)
    fit_plan_generator(object, x, steps_per_epoch, validation_data, validation_steps, class_weight,
                       max_queue_size = 10L, what = "fit")
  } else {
    fit_plan_arrays(object, x, y, batch_size, validation_split, validation_data, shuffle,
                    class_weight, sample_weight)
  }
  if (distribute_active()) return(distribute_fit(object, plan, epochs, verbose, callbacks, initial_epoch))
  fit_run(object, plan, epochs, verbose, callbacks, initial_epoch)
}

# The epoch loop shared by fit() and fit_generator(): callbacks, validation,
# history. `plan` says how to run one epoch (arrays, dataset or generator).
fit_run <- function(object, plan, epochs, verbose, callbacks, initial_epoch) {
  ptr <- model_ptr(object)
  epochs <- as.integer(epochs)
  verbose <- as.integer(verbose)
  initial_epoch <- as.integer(initial_epoch)
  metric_names <- cpp_model_metric_names(ptr)
  do_val <- !is.null(plan$validate)
  all_names <- c(if (do_val) paste0("val_", metric_names), metric_names)
  history <- structure(list(
    params = list(batch_size = plan$batch_size, epochs = epochs, steps = plan$steps,
                  samples = plan$samples, verbose = verbose, do_validation = do_val,
                  validation_samples = plan$validation_samples, metrics = all_names),
    metrics = stats::setNames(rep(list(numeric(0)), length(all_names)), all_names)),
    class = "keras_training_history")
  cbs <- callback_list(callbacks, object, history$params)
  train_hook <- batch_hook(cbs, "train", object)
  test_hook <- batch_hook(cbs, "test", object)
  assign("stop_training", FALSE, envir = object)
  cbs_call(cbs, "on_train_begin", list())
  dyn <- dynamic_display()
  if (verbose > 0 && !is.null(plan$samples)) {
    cat(sprintf("Train on %d samples%s\n", plan$samples,
                if (!is.null(plan$validation_samples)) sprintf(", validate on %d samples", plan$validation_samples) else ""))
  }
  for (epoch in seq_len(max(0, epochs - initial_epoch)) + initial_epoch) {
    if (verbose > 0) cat(sprintf("Epoch %d/%d\n", epoch, epochs))
    cbs_call(cbs, "on_epoch_begin", epoch - 1L, list())
    # A Ctrl-C that lands in R code between batch loops stops training the same
    # way as one inside the native loop: the model keeps its last weights.
    res <- tryCatch(plan$run_epoch(r_seed(), verbose, dyn, train_hook),
                    interrupt = function(e) list(values = list(), stopped = TRUE, progress = NULL))
    logs <- res$values
    stop_now <- isTRUE(res$stop_training) || isTRUE(.subset2(object, "stop_training"))
    if (do_val && !res$stopped && !stop_now) {
      cbs_call(cbs, "on_test_begin", list())
      v <- tryCatch(plan$validate(test_hook), interrupt = function(e) NULL)
      if (is.null(v)) res$stopped <- TRUE
      else {
        cbs_call(cbs, "on_test_end", list())
        names(v) <- paste0("val_", names(v))
        cpp_progress_finish(res$progress, v)
        logs <- c(v, logs)
      }
    } else if (!is.null(res$progress)) {
      cpp_progress_finish(res$progress, NULL)
    }
    if (res$stopped) {
      message(sprintf("\nTraining interrupted during epoch %d; the model keeps the weights of the last completed batch.", epoch))
      break
    }
    logs <- cbs_epoch_end(cbs, epoch - 1L, logs)
    for (nm in names(logs)) history$metrics[[nm]] <- c(history$metrics[[nm]], logs[[nm]])
    if (isTRUE(.subset2(object, "stop_training"))) break
  }
  cbs_call(cbs, "on_train_end", list())
  # metrics added by callbacks (lr) after the first epoch: pad to the epoch count
  n_ep <- max(0, lengths(history$metrics))
  history$metrics <- lapply(history$metrics, function(m) c(rep(NA_real_, n_ep - length(m)), m))
  invisible(history)
}

# How fit() runs epochs over in-memory arrays.
fit_plan_arrays <- function(object, x, y, batch_size, validation_split, validation_data, shuffle,
                            class_weight, sample_weight) {
  ptr <- model_ptr(object)
  if (is.null(y)) stop("fit(): `y` is required", call. = FALSE)
  batch_size <- check_whole(batch_size %||% 32L, "fit", "batch_size")
  xs <- as_array_list(x, "x")
  ys <- as_array_list(y, "y")
  n <- n_samples(xs[[1]])
  for (a in c(xs, ys)) if (n_samples(a) != n)
    stop(sprintf("fit(): x and y must have the same number of samples; got %s",
                 paste(vapply(c(xs, ys), n_samples, numeric(1)), collapse = " vs ")), call. = FALSE)
  if (!is.null(class_weight)) {
    cw <- class_weights_to_sample(class_weight, ys)
    sample_weight <- if (is.null(sample_weight)) cw else sample_weight * cw
  }
  val <- NULL
  n_val <- NULL
  if (!is.null(validation_data)) {
    vx <- validation_data[[1]]; vy <- validation_data[[2]]
    vw <- if (length(validation_data) > 2) validation_data[[3]] else NULL
    val <- tryCatch(model_data(object, vx, vy, vw, "validation_data"), error = function(e) {
      msg <- conditionMessage(e)
      stop(if (grepl("validation_data", msg, fixed = TRUE)) msg else paste0("fit(): `validation_data`: ", msg),
           call. = FALSE)
    })
    n_val <- n_samples(as_array_list(vx, "validation_data")[[1]])
  } else if (validation_split > 0) {
    split_at <- as.integer(n * (1 - validation_split))
    if (split_at < 1 || split_at >= n)
      stop("fit(): validation_split leaves no training or no validation samples", call. = FALSE)
    vi <- (split_at + 1):n
    ti <- seq_len(split_at)
    val <- model_data(object, lapply(xs, take_rows, vi), lapply(ys, take_rows, vi),
                      if (!is.null(sample_weight)) sample_weight[vi])
    n_val <- length(vi)
    xs <- lapply(xs, take_rows, ti); ys <- lapply(ys, take_rows, ti)
    if (!is.null(sample_weight)) sample_weight <- sample_weight[ti]
    n <- split_at
  }
  data <- model_data(object, xs, ys, sample_weight)
  rm(xs, ys)  # the engine holds the one float32 copy; the epoch closures must not keep R subsets alive
  list(
    batch_size = batch_size, samples = n, steps = NULL, validation_samples = n_val,
    run_epoch = function(seed, verbose, dynamic, hook = NULL) {
      idx <- if (shuffle) sample.int(n) - 1L else seq_len(n) - 1L
      cpp_model_fit_epoch(ptr, data, as.integer(idx), batch_size, seed, verbose, dynamic, hook)
    },
    validate = if (!is.null(val)) function(hook = NULL) cpp_model_evaluate(ptr, val, batch_size, 0L, FALSE, hook),
    arrays = list(data = data, val = val, shuffle = shuffle, n = n)  # for distribute_plan()
  )
}

is_dataset <- function(x) inherits(x, "kerasnative_dataset")

#' Evaluate a Keras model
#'
#' @inheritParams fit
#' @param object Model object to evaluate.
#' @param x,y Input and target data (arrays, or lists of arrays).
#' @param sample_weight Optional vector of sample weights.
#' @param steps Only for datasets.
#' @param callbacks List of callbacks to apply during evaluation (their
#'   `on_test_*` methods are called).
#' @return Named list of model test loss (or losses for models with multiple
#'   outputs) and model metrics (`acc`).
#' @examples
#' x <- matrix(runif(40), ncol = 2)
#' y <- to_categorical(as.integer(x[, 1] > x[, 2]), 2)
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 2, activation = "softmax", input_shape = 2)
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
#' model %>% evaluate(x, y, verbose = 0)
#' @export
evaluate <- function(object, x = NULL, y = NULL, batch_size = NULL, verbose = 1,
                     sample_weight = NULL, steps = NULL, callbacks = NULL, ...) {
  if (inherits(object, "tf_estimator")) return(estimator_evaluate(object, steps = steps, ...))
  if (!is_model(object)) stop("evaluate() needs a model", call. = FALSE)
  custom_model_build(object, x, "evaluate")
  if (is.null(.subset2(object, "compiled")))
    stop("the model must be compiled before evaluation: call compile() first", call. = FALSE)
  verbose <- check_verbose(verbose, "evaluate")
  batch_size <- check_whole(batch_size %||% 32L, "evaluate", "batch_size")
  steps <- check_whole(steps, "evaluate", "steps", null_ok = TRUE)
  cbs <- callback_list(callbacks, object, list(batch_size = batch_size, steps = steps, verbose = verbose))
  hook <- batch_hook(cbs, "test", object)
  cbs_call(cbs, "on_test_begin", list())
  dist <- distribute_active()  # several processes: figures over all of them
  if (dist && distribute_rank() != 0) verbose <- 0L
  out <- if (is_dataset(x)) {
    v <- evaluate_dataset(object, x, steps, verbose, hook)
    if (dist) dist_mean(v) else v
  } else {
    data <- model_data(object, x, y, sample_weight, fn = "evaluate")
    (if (dist) cpp_dist_evaluate else cpp_model_evaluate)(model_ptr(object), data, batch_size, verbose,
                                                          dynamic_display(), hook)
  }
  cbs_call(cbs, "on_test_end", list())
  out
}

#' Generate predictions from a Keras model
#'
#' @param object Keras model.
#' @param x Input data (array, or list of arrays for several inputs).
#' @param batch_size Integer (default 32).
#' @param verbose Verbosity mode, 0 or 1.
#' @param steps Only for datasets.
#' @param callbacks List of callbacks to apply during prediction (their
#'   `on_predict_*` methods are called).
#' @param ... Ignored.
#' @return Array of predictions (a list of arrays for several outputs).
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 2, activation = "softmax", input_shape = 2)
#' predict(model, matrix(runif(6), ncol = 2))
#' @importFrom stats predict
#' @export
predict.kerasnative_model <- function(object, x, batch_size = NULL, verbose = 0, steps = NULL,
                                      callbacks = NULL, ...) {
  if (!is_model(object)) stop("predict(): `object` must be a model", call. = FALSE)
  custom_model_build(object, x, "predict")
  verbose <- check_verbose(verbose, "predict")
  batch_size <- check_whole(batch_size %||% 32L, "predict", "batch_size")
  steps <- check_whole(steps, "predict", "steps", null_ok = TRUE)
  cbs <- callback_list(callbacks, object, list(batch_size = batch_size, steps = steps, verbose = verbose))
  hook <- batch_hook(cbs, "predict", object)
  cbs_call(cbs, "on_predict_begin", list())
  out <- if (is_dataset(x)) predict_dataset(object, x, steps, verbose, hook)
  else {
    data <- model_data(object, x, NULL, NULL, fn = "predict")
    out <- cpp_model_predict(model_ptr(object), data, batch_size, verbose, dynamic_display(), hook)
    if (length(out) == 1) out[[1]] else out
  }
  cbs_call(cbs, "on_predict_end", list())
  out
}

#' @rdname predict_proba
#' @export
predict_classes <- function(object, x, batch_size = NULL, verbose = 0, steps = NULL) {
  p <- predict(object, x, batch_size = batch_size, verbose = verbose)
  if (is.null(dim(p)) || ncol(p) == 1) return(as.integer(as.vector(p) > 0.5))
  max.col(p, ties.method = "first") - 1L
}

#' Generates probability or class probability predictions for the input samples
#'
#' `predict_classes()` returns 0-based class indices (argmax, or
#' `p > 0.5` for a single sigmoid unit), as keras does.
#' @inheritParams predict.kerasnative_model
#' @return `predict_proba()`: a matrix of probabilities; `predict_classes()`:
#'   an integer vector of 0-based classes.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 3, activation = "softmax", input_shape = 2)
#' x <- matrix(runif(6), ncol = 2)
#' predict_proba(model, x)
#' predict_classes(model, x)
#' @export
predict_proba <- function(object, x, batch_size = NULL, verbose = 0, steps = NULL) {
  predict(object, x, batch_size = batch_size, verbose = verbose)
}

#' Single gradient update or model evaluation over one batch of samples
#' @param object Keras model object.
#' @param x,y Input and target data for the batch.
#' @param class_weight Optional named list of class weights.
#' @param sample_weight Optional vector of sample weights.
#' @return Named list: scalar training or test loss and metrics.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 2, activation = "softmax", input_shape = 2)
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
#' x <- matrix(runif(8), ncol = 2)
#' train_on_batch(model, x, to_categorical(c(0, 1, 1, 0), 2))
#' @export
train_on_batch <- function(object, x, y, class_weight = NULL, sample_weight = NULL) {
  custom_model_build(object, x, "train_on_batch")
  if (is.null(.subset2(object, "compiled"))) stop("call compile() first", call. = FALSE)
  if (!is.null(class_weight)) {
    cw <- class_weights_to_sample(class_weight, y)
    sample_weight <- if (is.null(sample_weight)) cw else sample_weight * cw
  }
  cpp_model_train_on_batch(model_ptr(object), model_data(object, x, y, sample_weight, fn = "train_on_batch"), r_seed())
}

#' @rdname train_on_batch
#' @export
test_on_batch <- function(object, x, y, sample_weight = NULL) {
  custom_model_build(object, x, "test_on_batch")
  if (is.null(.subset2(object, "compiled"))) stop("call compile() first", call. = FALSE)
  cpp_model_test_on_batch(model_ptr(object), model_data(object, x, y, sample_weight, fn = "test_on_batch"))
}
