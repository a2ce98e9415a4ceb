# Keras 2.2.5 loss functions. Each works on tensors (symbolic: recorded ops;
# eager: computed at once) and can be given to compile(): the five losses with
# a native kernel (mse, mae, the cross-entropies) use it, the others and any R
# function are traced into the model graph.

as_loss_fn <- function(name, f) {
  attr(f, "py_function_name") <- name
  f
}

#' Loss functions
#'
#' @param y_true True labels (tensor or array).
#' @param y_pred Predictions (tensor or array).
#' @return A tensor of per-sample losses (last axis reduced).
#' @examples
#' k_eval(loss_mean_squared_error(matrix(c(0, 1), 1), matrix(c(0.5, 0.5), 1)))
#' @name loss-functions
NULL

#' @rdname loss-functions
#' @export
loss_mean_squared_error <- as_loss_fn("mean_squared_error", function(y_true, y_pred)
  k_mean(k_square(y_pred - y_true), axis = -1))
#' @rdname loss-functions
#' @export
loss_mean_absolute_error <- as_loss_fn("mean_absolute_error", function(y_true, y_pred)
  k_mean(k_abs(y_pred - y_true), axis = -1))
#' @rdname loss-functions
#' @export
loss_mean_absolute_percentage_error <- as_loss_fn("mean_absolute_percentage_error", function(y_true, y_pred)
  100 * k_mean(k_abs((y_true - y_pred) / k_maximum(k_abs(y_true), k_epsilon())), axis = -1))
#' @rdname loss-functions
#' @export
loss_mean_squared_logarithmic_error <- as_loss_fn("mean_squared_logarithmic_error", function(y_true, y_pred)
  k_mean(k_square(k_log(k_maximum(y_pred, k_epsilon()) + 1) - k_log(k_maximum(y_true, k_epsilon()) + 1)), axis = -1))
#' @rdname loss-functions
#' @export
loss_squared_hinge <- as_loss_fn("squared_hinge", function(y_true, y_pred)
  k_mean(k_square(k_maximum(1 - y_true * y_pred, 0)), axis = -1))
#' @rdname loss-functions
#' @export
loss_hinge <- as_loss_fn("hinge", function(y_true, y_pred)
  k_mean(k_maximum(1 - y_true * y_pred, 0), axis = -1))
#' @rdname loss-functions
#' @export
loss_categorical_hinge <- as_loss_fn("categorical_hinge", function(y_true, y_pred) {
  pos <- k_sum(y_true * y_pred, axis = -1)
  neg <- k_max((1 - y_true) * y_pred, axis = -1)
  k_maximum(neg - pos + 1, 0)
})
#' @rdname loss-functions
#' @export
loss_logcosh <- as_loss_fn("logcosh", function(y_true, y_pred) {
  x <- y_pred - y_true
  k_mean(x + k_softplus(-2 * x) - log(2), axis = -1)
})
#' @rdname loss-functions
#' @export
loss_categorical_crossentropy <- as_loss_fn("categorical_crossentropy", function(y_true, y_pred)
  k_categorical_crossentropy(y_true, y_pred))
#' @rdname loss-functions
#' @export
loss_sparse_categorical_crossentropy <- as_loss_fn("sparse_categorical_crossentropy", function(y_true, y_pred)
  k_sparse_categorical_crossentropy(y_true, y_pred))
#' @rdname loss-functions
#' @export
loss_binary_crossentropy <- as_loss_fn("binary_crossentropy", function(y_true, y_pred)
  k_mean(k_binary_crossentropy(y_true, y_pred), axis = -1))
#' @rdname loss-functions
#' @export
loss_kullback_leibler_divergence <- as_loss_fn("kullback_leibler_divergence", function(y_true, y_pred) {
  y_true <- k_clip(y_true, k_epsilon(), 1)
  y_pred <- k_clip(y_pred, k_epsilon(), 1)
  k_sum(y_true * k_log(y_true / y_pred), axis = -1)
})
#' @rdname loss-functions
#' @export
loss_poisson <- as_loss_fn("poisson", function(y_true, y_pred)
  k_mean(y_pred - y_true * k_log(y_pred + k_epsilon()), axis = -1))
#' @rdname loss-functions
#' @export
loss_cosine_proximity <- as_loss_fn("cosine_proximity", function(y_true, y_pred)
  -k_sum(k_l2_normalize(y_true, axis = -1) * k_l2_normalize(y_pred, axis = -1), axis = -1))

# Losses computed by native kernels (compile() uses them directly).
native_losses <- c("mean_squared_error", "mse", "MSE", "mean_absolute_error", "mae", "MAE",
                   "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy")

loss_aliases <- c(mse = "mean_squared_error", MSE = "mean_squared_error", mae = "mean_absolute_error",
                  MAE = "mean_absolute_error", mape = "mean_absolute_percentage_error",
                  MAPE = "mean_absolute_percentage_error", msle = "mean_squared_logarithmic_error",
                  MSLE = "mean_squared_logarithmic_error", kld = "kullback_leibler_divergence",
                  KLD = "kullback_leibler_divergence", cosine = "cosine_proximity")

# A loss given to compile() -> list(name = native name or "graph", fn, record).
resolve_loss <- function(l) {
  if (is.character(l) && length(l) == 1) {
    if (l %in% native_losses) return(list(name = l, fn = NULL, record = l))
    full <- if (l %in% names(loss_aliases)) loss_aliases[[l]] else l
    fn <- get0(paste0("loss_", full), envir = asNamespace("kerasnative"), inherits = FALSE)
    scoped <- (.kn$custom_object_scope %||% list())[[l]]
    if (is.null(fn) && is.function(scoped)) return(list(name = "graph", fn = scoped, record = l))
    if (is.null(fn))
      stop("compile(): unknown loss '", l, "' (give a loss name, a loss_* function or an R function ",
           "of (y_true, y_pred))", call. = FALSE)
    return(list(name = "graph", fn = fn, record = full))
  }
  if (is.function(l)) {
    nm <- attr(l, "py_function_name")
    if (!is.null(nm) && nm %in% native_losses) return(list(name = nm, fn = NULL, record = nm))
    return(list(name = "graph", fn = l, record = nm %||% attr(l, "kn_name") %||% "custom_loss"))
  }
  stop("compile(): `loss` must be a loss name, a loss_* function or an R function of (y_true, y_pred)",
       call. = FALSE)
}

# model$add_loss(): tensors computed from the model's tensors whose means join
# the total loss. Kept on the model and traced by compile() (as in Keras, a
# loss added after compile() needs a new compile()).
model_add_loss <- function(model, losses) {
  if (is_tensor(losses)) losses <- list(losses)
  if (is.function(losses)) losses <- list(losses)
  for (l in losses)
    if (!is.function(l) && !(is_tensor(l) && tensor_kind(l) != "eager"))
      stop("add_loss(): `losses` must be tensors computed from the model's tensors (or functions ",
           "returning such a tensor)", call. = FALSE)
  if (is.null(.subset2(model, "tensor_nodes")))
    stop("add_loss() needs a functional model built with keras_model()", call. = FALSE)
  assign("added_losses", c(.subset2(model, "added_losses"), losses), envir = model)
  invisible(NULL)
}

trace_added_losses <- function(model, ptr) {
  nodes_env <- .subset2(model, "tensor_nodes")
  for (l in .subset2(model, "added_losses")) {
    if (is.function(l)) l <- l()
    ids <- list2env(as.list(nodes_env), parent = emptyenv())  # traced ids die with the next compile()
    id <- add_tensor_ops(ptr, l, ids, function(t)
      stop("add_loss(): the loss uses a tensor that is not part of this model", call. = FALSE), loss = TRUE)
    cpp_model_add_loss_term(ptr, id)
  }
}
