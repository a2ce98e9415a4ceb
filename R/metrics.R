# Keras 2.2.5 metric functions and custom_metric(). Like the loss_*
# functions they work on tensors; in compile() they are traced into the graph
# and reported per batch as the mean of their per-sample values.

as_metric_fn <- function(name, f) {
  attr(f, "py_function_name") <- name
  f
}

#' Metric functions
#'
#' @param y_true True labels (tensor or array).
#' @param y_pred Predictions (tensor or array).
#' @param k Number of top predictions.
#' @return A tensor of per-sample values.
#' @examples
#' k_eval(metric_binary_accuracy(c(1, 0, 1), c(0.8, 0.4, 0.2)))
#' @name metric-functions
NULL

#' @rdname metric-functions
#' @export
metric_binary_accuracy <- as_metric_fn("binary_accuracy", function(y_true, y_pred)
  k_mean(k_cast(k_equal(y_true, k_round(y_pred)), "float32"), axis = -1))
#' @rdname metric-functions
#' @export
metric_categorical_accuracy <- as_metric_fn("categorical_accuracy", function(y_true, y_pred)
  k_cast(k_equal(k_argmax(y_true, axis = -1), k_argmax(y_pred, axis = -1)), "float32"))
#' @rdname metric-functions
#' @export
metric_sparse_categorical_accuracy <- as_metric_fn("sparse_categorical_accuracy", function(y_true, y_pred)
  k_cast(k_equal(k_max(y_true, axis = -1), k_cast(k_argmax(y_pred, axis = -1), "float32")), "float32"))
#' @rdname metric-functions
#' @export
metric_top_k_categorical_accuracy <- as_metric_fn("top_k_categorical_accuracy", function(y_true, y_pred, k = 5)
  k_mean(k_cast(k_in_top_k(y_pred, k_argmax(y_true, axis = -1), k), "float32"), axis = -1))
#' @rdname metric-functions
#' @export
metric_sparse_top_k_categorical_accuracy <- as_metric_fn("sparse_top_k_categorical_accuracy", function(y_true, y_pred, k = 5)
  k_mean(k_cast(k_in_top_k(y_pred, k_cast(k_flatten(y_true), "int32"), k), "float32"), axis = -1))
#' @rdname metric-functions
#' @export
metric_binary_crossentropy <- as_metric_fn("binary_crossentropy", loss_binary_crossentropy)
#' @rdname metric-functions
#' @export
metric_categorical_crossentropy <- as_metric_fn("categorical_crossentropy", loss_categorical_crossentropy)
#' @rdname metric-functions
#' @export
metric_sparse_categorical_crossentropy <- as_metric_fn("sparse_categorical_crossentropy", loss_sparse_categorical_crossentropy)
#' @rdname metric-functions
#' @export
metric_cosine_proximity <- as_metric_fn("cosine_proximity", loss_cosine_proximity)
#' @rdname metric-functions
#' @export
metric_hinge <- as_metric_fn("hinge", loss_hinge)
#' @rdname metric-functions
#' @export
metric_squared_hinge <- as_metric_fn("squared_hinge", loss_squared_hinge)
#' @rdname metric-functions
#' @export
metric_kullback_leibler_divergence <- as_metric_fn("kullback_leibler_divergence", loss_kullback_leibler_divergence)
#' @rdname metric-functions
#' @export
metric_mean_absolute_error <- as_metric_fn("mean_absolute_error", loss_mean_absolute_error)
#' @rdname metric-functions
#' @export
metric_mean_absolute_percentage_error <- as_metric_fn("mean_absolute_percentage_error", loss_mean_absolute_percentage_error)
#' @rdname metric-functions
#' @export
metric_mean_squared_error <- as_metric_fn("mean_squared_error", loss_mean_squared_error)
#' @rdname metric-functions
#' @export
metric_mean_squared_logarithmic_error <- as_metric_fn("mean_squared_logarithmic_error", loss_mean_squared_logarithmic_error)
#' @rdname metric-functions
#' @export
metric_poisson <- as_metric_fn("poisson", loss_poisson)

#' Custom metric function
#'
#' @param name Name used in logs and history (e.g. `"mean_pred"`).
#' @param metric_fn An R function of `(y_true, y_pred)` returning a tensor.
#' @return The function, named for [compile()].
#' @examples
#' mean_pred <- custom_metric("mean_pred", function(y_true, y_pred) k_mean(y_pred))
#' @export
custom_metric <- function(name, metric_fn) {
  if (!is.character(name) || length(name) != 1 || !nzchar(name))
    stop("custom_metric(): `name` must be a single string", call. = FALSE)
  if (!is.function(metric_fn)) stop("custom_metric(): `metric_fn` must be a function", call. = FALSE)
  attr(metric_fn, "py_function_name") <- name
  metric_fn
}

metric_aliases <- c(mse = "mean_squared_error", MSE = "mean_squared_error", mae = "mean_absolute_error",
                    MAE = "mean_absolute_error", mape = "mean_absolute_percentage_error",
                    MAPE = "mean_absolute_percentage_error", msle = "mean_squared_logarithmic_error",
                    MSLE = "mean_squared_logarithmic_error", cosine = "cosine_proximity",
                    kld = "kullback_leibler_divergence", KLD = "kullback_leibler_divergence")

# compile()'s metrics -> list(acc = TRUE/FALSE, fns = named list of traced metrics, record = names).
resolve_metrics <- function(metrics) {
  if (is.null(metrics)) return(list(acc = FALSE, fns = list(), record = character(0)))
  if (is.function(metrics)) metrics <- list(metrics)
  if (is.character(metrics)) metrics <- as.list(metrics)
  nms <- names(metrics) %||% rep("", length(metrics))
  acc <- FALSE
  fns <- list()
  for (i in seq_along(metrics)) {
    m <- metrics[[i]]
    if (is.character(m) && length(m) == 1) {
      if (m %in% c("accuracy", "acc")) { acc <- TRUE; next }
      full <- if (m %in% names(metric_aliases)) metric_aliases[[m]] else m
      fn <- get0(paste0("metric_", full), envir = asNamespace("kerasnative"), inherits = FALSE) %||%
        get0(paste0("loss_", full), envir = asNamespace("kerasnative"), inherits = FALSE)  # keras: any loss name
      scoped <- (.kn$custom_object_scope %||% list())[[m]]
      if (is.null(fn) && is.function(scoped)) { fns[[m]] <- scoped; next }
      if (is.null(fn))
        stop("compile(): unknown metric '", m, "' (give 'accuracy', a metric name, a metric_* function ",
             "or custom_metric())", call. = FALSE)
      fns[[full]] <- fn
    } else if (is.function(m)) {
      nm <- attr(m, "py_function_name") %||% (if (nzchar(nms[i])) nms[i] else "custom_metric")
      fns[[nm]] <- m
    } else {
      stop("compile(): each metric must be a name or a function", call. = FALSE)
    }
  }
  list(acc = acc, fns = fns, record = c(if (acc) "accuracy", names(fns)))
}

# Trace the R losses and metrics of a compiled model into its graph.
trace_compile_terms <- function(ptr, loss_specs, metric_fns) {
  nodes <- cpp_model_nodes(ptr)
  outs <- nodes$model_outputs
  n_out <- length(outs)
  no_visit <- function(t) stop("the function uses tensors that are not y_true, y_pred or constants", call. = FALSE)
  for (k in seq_len(n_out)) {
    spec <- loss_specs[[if (length(loss_specs) == 1) 1 else k]]
    if (is.null(spec$fn) && !length(metric_fns)) next
    y_true <- node_tensor(ptr, cpp_model_add_target(ptr, k - 1L))
    y_pred <- node_tensor(ptr, outs[k])
    out_name <- nodes$name[outs[k] + 1]
    term <- function(scope, f) {
      v <- tryCatch(with_op_scope(scope, f(y_true, y_pred)),
                    error = function(e) stop("compile(): ", scope, ": ", conditionMessage(e), call. = FALSE))
      if (!is_tensor(v)) v <- tryCatch(as_tensor_arg(v), error = function(e)
        stop("compile(): ", scope, " must return a tensor, got ", class(v)[1], call. = FALSE))
      add_tensor_ops(ptr, v, new.env(parent = emptyenv()), no_visit, loss = TRUE)
    }
    if (!is.null(spec$fn)) cpp_model_set_graph_loss(ptr, k - 1L, term("loss", spec$fn))
    for (nm in names(metric_fns)) {
      label <- if (n_out > 1) paste0(out_name, "_", nm) else nm
      cpp_model_add_graph_metric(ptr, label, term(label, metric_fns[[nm]]))
    }
  }
}
