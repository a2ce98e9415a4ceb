# Estimators (tfestimators 1.9 interface): a model_fn is traced into a model
# graph once per call of train() / evaluate() / predict() (one mode each),
# fed from the input queue its input_fn builds, with weights and optimizer state carried between
# calls by checkpoints in `model_dir` (model.ckpt-<step>.h5 files and the
# `checkpoint` pointer file, written atomically).

#' Estimators
#'
#' `estimator()` makes an estimator from a model function
#' `model_fn(features, labels, mode, params, config)` that builds its network
#' with `tf$layers`, `tf$nn`, `tf$losses` ... and returns `estimator_spec()`.
#' `train()`, `evaluate()` and `predict()` trace the model function in mode
#' `"train"`, `"eval"` or `"infer"` into a model graph fed by the input
#' function's queue (see `tf$estimator$inputs$numpy_input_fn()`), restore
#' the latest checkpoint of `model_dir` and (train) save a new one.
#'
#' Checkpoints are `model.ckpt-<global step>.h5` (Keras HDF5 weights, by layer
#' name, plus the optimizer's `training_config` and `optimizer_weights` as
#' [save_model_hdf5()] writes them) with TensorFlow's `checkpoint` pointer
#' file; the last five are kept. `train()` restores the weights and the
#' optimizer slots and iteration count (Adam's moments, RMSProp's
#' accumulators), so `train(steps = 10)` twice trains as `train(steps = 20)`;
#' weights-only checkpoints of older versions load with fresh slots (logged).
#'
#' @param model_fn Model function (see above).
#' @param model_dir Directory for checkpoints (a temporary one if `NULL`).
#' @param config,params Passed to `model_fn` as `config` and `params`.
#' @param mode,predictions,loss,train_op,eval_metric_ops,training_hooks,evaluation_hooks,...
#'   The parts of an estimator specification: `loss` a scalar tensor,
#'   `train_op` from `optimizer$minimize()`, `eval_metric_ops` a named list of
#'   `tf$metrics$*()`, `predictions` a tensor or a named list of tensors.
#' @return `estimator()`: an estimator; `estimator_spec()`: a specification.
#' @examples
#' \dontrun{
#' est <- estimator(model_fn, model_dir = tempfile())
#' train(est, input_fn = function() tf$estimator$inputs$numpy_input_fn(
#'   x = list(x = x), y = y, batch_size = 32L, num_epochs = NULL, shuffle = TRUE), steps = 100)
#' }
#' @export
estimator <- function(model_fn, model_dir = NULL, config = NULL, params = NULL) {
  if (!is.function(model_fn)) stop("estimator(): `model_fn` must be a function", call. = FALSE)
  if (is.null(model_dir)) model_dir <- tempfile("estimator_")
  check_string(model_dir, "estimator", "model_dir")
  est <- new.env(parent = emptyenv())
  est$model_fn <- model_fn
  est$model_dir <- path.expand(model_dir)
  est$config <- config
  est$params <- params %||% list()
  structure(est, class = c("tf_custom_estimator", "tf_estimator"))
}

#' @rdname estimator
#' @export
estimator_spec <- function(mode, predictions = NULL, loss = NULL, train_op = NULL, eval_metric_ops = NULL,
                           training_hooks = NULL, evaluation_hooks = NULL, ...) {
  if (!mode %in% c("train", "eval", "infer")) stop("estimator_spec(): `mode` must be \"train\", \"eval\" or \"infer\"", call. = FALSE)
  if (!is.null(loss) && (!is_tensor(loss) || length(tensor_full_shape(loss)) != 0))
    stop("estimator_spec(): `loss` must be a scalar tensor", call. = FALSE)
  if (mode == "train" && (is.null(loss) || !inherits(train_op, "kerasnative_train_op")))
    stop("estimator_spec(): mode \"train\" needs `loss` and a `train_op` from optimizer$minimize()", call. = FALSE)
  if (mode == "eval" && is.null(loss)) stop("estimator_spec(): mode \"eval\" needs `loss`", call. = FALSE)
  if (mode == "infer" && is.null(predictions)) stop("estimator_spec(): mode \"infer\" needs `predictions`", call. = FALSE)
  for (nm in names(eval_metric_ops))
    if (!inherits(eval_metric_ops[[nm]], "kerasnative_tf_metric"))
      stop("estimator_spec(): eval_metric_ops$", nm, " must come from tf$metrics", call. = FALSE)
  structure(list(mode = mode, predictions = predictions, loss = loss, train_op = train_op,
                 eval_metric_ops = eval_metric_ops, training_hooks = training_hooks,
                 evaluation_hooks = evaluation_hooks), class = "kerasnative_estimator_spec")
}

#' @rdname estimator
#' @export
mode_keys <- function() list(train = "train", eval = "eval", predict = "infer")

# ---------------------------------------------------------------- tracing

# Call an input function (0 or 1 argument; it may return numpy_input_fn()'s
# function) -> list(features, labels, queue).
call_input_fn <- function(input_fn) {
  if (!is.function(input_fn)) stop("`input_fn` must be a function", call. = FALSE)
  res <- if (length(formals(input_fn))) input_fn(TRUE) else input_fn()
  if (is.function(res)) res <- res()
  if (!is.list(res) || is.null(res$features))
    stop("`input_fn` must return tf$estimator$inputs$numpy_input_fn()'s function or list(features, labels)",
         call. = FALSE)
  res
}

# All queue input tensors reachable from `ts`.
tensor_queue_roots <- function(ts) {
  out <- list()
  seen <- new.env(parent = emptyenv())
  walk <- function(t) {
    if (!is_tensor(t)) return()
    k <- as.character(t$id)
    if (exists(k, envir = seen)) return()
    assign(k, TRUE, envir = seen)
    if (tensor_kind(t) == "input") out[[length(out) + 1]] <<- t
    else if (tensor_kind(t) %in% c("op", "layer")) for (s in t$inputs) walk(s)
  }
  for (t in ts) walk(t)
  out
}

# Trace model_fn in `mode` into a model. Returns list(model, ptr, queue, comp, named, spec).
estimator_trace <- function(est, input_fn, mode) {
  inp <- call_input_fn(input_fn)
  done <- tf_trace_begin()
  on.exit(done())
  args <- list(features = inp$features, labels = inp$labels, mode = mode, params = est$params, config = est$config)
  fm <- names(formals(est$model_fn))
  if (!"..." %in% fm) args <- args[intersect(names(args), fm)]
  spec <- do.call(est$model_fn, args)
  if (!inherits(spec, "kerasnative_estimator_spec")) stop("model_fn must return estimator_spec()", call. = FALSE)
  named <- .kn$tf_trace$named
  outputs <- switch(mode, infer = if (is_tensor(spec$predictions)) list(predictions = spec$predictions) else spec$predictions,
                    list(loss = spec$loss))
  metric_values <- lapply(spec$eval_metric_ops, function(m) m$value)
  roots <- tensor_queue_roots(c(outputs, named, if (mode == "eval") metric_values))
  model <- keras_model(inputs = roots, outputs = unname(outputs))
  ptr <- model_ptr(model)
  ids <- .subset2(model, "tensor_nodes")
  no_visit <- function(t) stop("a named tensor or metric uses layers outside the model_fn's graph", call. = FALSE)
  named_ids <- lapply(named, function(t) add_tensor_ops(ptr, t, ids, no_visit))
  if (mode != "infer") {
    opt <- if (mode == "train") spec$train_op$optimizer else optimizer_sgd()
    cpp_model_compile(ptr, "graph", 1, FALSE, .subset2(opt, "class_name"), to_json(.subset2(opt, "config")))
    cpp_model_set_graph_loss(ptr, 0L, get(as.character(spec$loss$id), envir = ids))
    if (mode == "eval") for (nm in names(metric_values))
      cpp_model_add_graph_metric(ptr, nm, add_tensor_ops(ptr, metric_values[[nm]], ids, no_visit))
  }
  feed <- .subset2(model, "queue_feed")
  if (is.null(feed)) stop("the input function must feed the model from tf$estimator$inputs$numpy_input_fn()", call. = FALSE)
  list(model = model, ptr = ptr, queue = feed$queue, comp = feed$comp, named = named_ids, spec = spec,
       output_names = names(outputs))
}

# Next batch of the queue as a data handle for the model's inputs, or NULL at the end.
estimator_batch <- function(tr) {
  b <- cpp_queue_dequeue(tr$queue$ptr)
  if (is.null(b)) return(NULL)
  xs <- b[tr$comp + 1L]
  list(data = cpp_data_new(xs, NULL, NULL), n = n_samples(xs[[1]]))
}

tf_log <- function(...) message("INFO:tensorflow:", sprintf(...))
