#' Base R6 class for Keras callbacks
#'
#' Subclass `KerasCallback` (with [R6::R6Class()]) to write a custom callback,
#' as in keras. Inside the methods, `self$model` is the model being trained
#' and `self$params` a list with `batch_size`, `epochs`, `steps`, `samples`,
#' `verbose`, `do_validation` and `metrics`. Epochs and batches are 0-based;
#' `logs` is a named list: at the end of an epoch the epoch's metrics (`loss`,
#' `acc`, `val_loss`, ...), at a batch boundary `batch`, `size` and (at its
#' end) the batch's metrics. Setting `self$model$stop_training <- TRUE` stops
#' training after the current batch.
#'
#' Batch-level methods run at batch boundaries of the native training loop,
#' on the main R thread. `on_train_batch_begin()`/`on_train_batch_end()`
#' default to `on_batch_begin()`/`on_batch_end()`, as in Keras 2.2.5.
#'
#' @format An [R6::R6Class()] generator.
#' @section Methods:
#' `on_epoch_begin(epoch, logs)`, `on_epoch_end(epoch, logs)`,
#' `on_batch_begin(batch, logs)`, `on_batch_end(batch, logs)`,
#' `on_train_begin(logs)`, `on_train_end(logs)`,
#' `on_train_batch_begin(batch, logs)`, `on_train_batch_end(batch, logs)`,
#' `on_test_begin(logs)`, `on_test_end(logs)`, `on_test_batch_begin(batch, logs)`,
#' `on_test_batch_end(batch, logs)`, `on_predict_begin(logs)`,
#' `on_predict_end(logs)`, `on_predict_batch_begin(batch, logs)`,
#' `on_predict_batch_end(batch, logs)`, and `set_context(params, model)`.
#' @examples
#' LossHistory <- R6::R6Class("LossHistory", inherit = KerasCallback,
#'   public = list(
#'     losses = NULL,
#'     on_batch_end = function(batch, logs = list()) {
#'       self$losses <- c(self$losses, logs[["loss"]])
#'     }
#'   ))
#' history <- LossHistory$new()
#' @export
KerasCallback <- R6::R6Class("KerasCallback",
  public = list(
    params = NULL,
    model = NULL,
    set_context = function(params = NULL, model = NULL) {
      self$params <- params
      self$model <- model
    },
    on_epoch_begin = function(epoch, logs = NULL) {},
    on_epoch_end = function(epoch, logs = NULL) {},
    on_batch_begin = function(batch, logs = NULL) {},
    on_batch_end = function(batch, logs = NULL) {},
    on_train_begin = function(logs = NULL) {},
    on_train_end = function(logs = NULL) {},
    on_train_batch_begin = function(batch, logs = NULL) self$on_batch_begin(batch, logs),
    on_train_batch_end = function(batch, logs = NULL) self$on_batch_end(batch, logs),
    on_test_begin = function(logs = NULL) {},
    on_test_end = function(logs = NULL) {},
    on_test_batch_begin = function(batch, logs = NULL) {},
    on_test_batch_end = function(batch, logs = NULL) {},
    on_predict_begin = function(logs = NULL) {},
    on_predict_end = function(logs = NULL) {},
    on_predict_batch_begin = function(batch, logs = NULL) {},
    on_predict_batch_end = function(batch, logs = NULL) {},
    # Whether any batch-level method of `mode` ("train", "test", "predict") is
    # overridden: the native loop calls back into R per batch only then.
    uses_batch_hooks = function(mode) {
      hooks <- switch(mode, train = c("on_batch_begin", "on_batch_end", "on_train_batch_begin",
                                      "on_train_batch_end"),
                      paste0("on_", mode, c("_batch_begin", "_batch_end")))
      base <- KerasCallback$public_methods
      any(vapply(hooks, function(h) !identical(body(self[[h]]), body(base[[h]])), logical(1)))
    }
  )
)

lambda_hooks <- c("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
                  "on_train_batch_begin", "on_train_batch_end", "on_train_begin", "on_train_end",
                  "on_predict_batch_begin", "on_predict_batch_end", "on_predict_begin", "on_predict_end",
                  "on_test_batch_begin", "on_test_batch_end", "on_test_begin", "on_test_end")

LambdaCallback <- R6::R6Class("LambdaCallback", inherit = KerasCallback,
  public = list(
    fns = NULL,
    initialize = function(fns) self$fns <- fns,
    on_epoch_begin = function(epoch, logs = NULL) self$call("on_epoch_begin", epoch, logs),
    on_epoch_end = function(epoch, logs = NULL) self$call("on_epoch_end", epoch, logs),
    on_batch_begin = function(batch, logs = NULL) self$call("on_batch_begin", batch, logs),
    on_batch_end = function(batch, logs = NULL) self$call("on_batch_end", batch, logs),
    # Keras's LambdaCallback: a given on_train_batch_* replaces on_batch_*.
    on_train_batch_begin = function(batch, logs = NULL) {
      if (is.null(self$fns$on_train_batch_begin)) self$on_batch_begin(batch, logs)
      else self$call("on_train_batch_begin", batch, logs)
    },
    on_train_batch_end = function(batch, logs = NULL) {
      if (is.null(self$fns$on_train_batch_end)) self$on_batch_end(batch, logs)
      else self$call("on_train_batch_end", batch, logs)
    },
    on_train_begin = function(logs = NULL) self$call("on_train_begin", logs),
    on_train_end = function(logs = NULL) self$call("on_train_end", logs),
    on_test_begin = function(logs = NULL) self$call("on_test_begin", logs),
    on_test_end = function(logs = NULL) self$call("on_test_end", logs),
    on_test_batch_begin = function(batch, logs = NULL) self$call("on_test_batch_begin", batch, logs),
    on_test_batch_end = function(batch, logs = NULL) self$call("on_test_batch_end", batch, logs),
    on_predict_begin = function(logs = NULL) self$call("on_predict_begin", logs),
    on_predict_end = function(logs = NULL) self$call("on_predict_end", logs),
    on_predict_batch_begin = function(batch, logs = NULL) self$call("on_predict_batch_begin", batch, logs),
    on_predict_batch_end = function(batch, logs = NULL) self$call("on_predict_batch_end", batch, logs),
    call = function(hook, ...) {
      f <- self$fns[[hook]]
      if (is.function(f)) f(...)
      invisible(NULL)
    },
    uses_batch_hooks = function(mode) {
      hooks <- switch(mode, train = c("on_batch_begin", "on_batch_end", "on_train_batch_begin",
                                      "on_train_batch_end"),
                      paste0("on_", mode, c("_batch_begin", "_batch_end")))
      any(vapply(hooks, function(h) is.function(self$fns[[h]]), logical(1)))
    }
  )
)

#' Create a custom callback
#'
#' This callback is constructed with anonymous functions that will be called
#' at the appropriate time, with positional arguments:
#' `on_epoch_begin` and `on_epoch_end` get `(epoch, logs)`;
#' `on_batch_*`, `on_train_batch_*`, `on_predict_batch_*` and
#' `on_test_batch_*` get `(batch, logs)`; `on_train_*`, `on_test_*` and
#' `on_predict_*` get `(logs)`. Epochs and batches are 0-based. Batch hooks
#' run at batch boundaries of the native loop, on the main R thread.
#' @param on_epoch_begin called at the beginning of every epoch.
#' @param on_epoch_end called at the end of every epoch.
#' @param on_batch_begin called at the beginning of every training batch.
#' @param on_batch_end called at the end of every training batch.
#' @param on_train_batch_begin called at the beginning of every batch (replaces
#'   `on_batch_begin` when given).
#' @param on_train_batch_end called at the end of every batch (replaces
#'   `on_batch_end` when given).
#' @param on_train_begin called at the beginning of model training.
#' @param on_train_end called at the end of model training.
#' @param on_predict_batch_begin called at the beginning of a batch in predict methods.
#' @param on_predict_batch_end called at the end of a batch in predict methods.
#' @param on_predict_begin called at the beginning of prediction.
#' @param on_predict_end called at the end of prediction.
#' @param on_test_batch_begin called at the beginning of a batch in evaluate
#'   methods (also during validation in fit).
#' @param on_test_batch_end called at the end of a batch in evaluate methods.
#' @param on_test_begin called at the beginning of evaluation or validation.
#' @param on_test_end called at the end of evaluation or validation.
#' @return A [KerasCallback] object for [fit()], [evaluate()], [predict()].
#' @examples
#' cb <- callback_lambda(on_epoch_end = function(epoch, logs) cat("epoch", epoch, "\n"))
#' @family callbacks
#' @export
callback_lambda <- function(on_epoch_begin = NULL, on_epoch_end = NULL, on_batch_begin = NULL,
                            on_batch_end = NULL, on_train_batch_begin = NULL, on_train_batch_end = NULL,
                            on_train_begin = NULL, on_train_end = NULL,
                            on_predict_batch_begin = NULL, on_predict_batch_end = NULL,
                            on_predict_begin = NULL, on_predict_end = NULL,
                            on_test_batch_begin = NULL, on_test_batch_end = NULL,
                            on_test_begin = NULL, on_test_end = NULL) {
  fns <- mget(lambda_hooks, envir = environment())
  for (nm in names(fns)) if (!is.null(fns[[nm]]) && !is.function(fns[[nm]]))
    stop("callback_lambda(): `", nm, "` must be a function or NULL, not ", class(fns[[nm]])[1], call. = FALSE)
  LambdaCallback$new(Filter(Negate(is.null), fns))
}

normalize_callbacks <- function(callbacks) {
  if (is.null(callbacks)) return(list())
  if (inherits(callbacks, "KerasCallback")) callbacks <- list(callbacks)
  if (!is.list(callbacks))
    stop("`callbacks` must be a list of callbacks (e.g. from callback_lambda())", call. = FALSE)
  for (i in seq_along(callbacks)) if (!inherits(callbacks[[i]], "KerasCallback"))
    stop(sprintf("`callbacks[[%d]]` is a %s, not a callback (use callback_*() or a KerasCallback subclass)",
                 i, class(callbacks[[i]])[1]), call. = FALSE)
  unname(callbacks)
}

# ---- dispatch ---------------------------------------------------------------

# The callbacks of one fit()/evaluate()/predict() call, with their context set.
callback_list <- function(callbacks, model, params) {
  cbs <- normalize_callbacks(callbacks)
  for (cb in cbs) cb$set_context(params, model)
  cbs
}

# Calls `hook` on every callback. Built-in callbacks may add entries to the
# epoch logs (Keras's callbacks share one logs dict): they return
# logs_update(logs), which later callbacks and the history then see.
cbs_call <- function(cbs, hook, ...) {
  for (cb in cbs) cb[[hook]](...)
  invisible(NULL)
}
cbs_epoch_end <- function(cbs, epoch, logs) {
  for (cb in cbs) {
    r <- cb$on_epoch_end(epoch, logs)
    if (inherits(r, "kerasnative_logs")) logs <- unclass(r)
  }
  logs
}
logs_update <- function(logs) structure(logs, class = "kerasnative_logs")

# The batch hook the native loop calls at batch boundaries (see
# src/r_callbacks.h), or NULL when no callback has batch-level methods for
# `mode`. Returns FALSE to stop (model$stop_training set during training).
batch_hook <- function(cbs, mode, model) {
  if (!any(vapply(cbs, function(cb) isTRUE(cb$uses_batch_hooks(mode)), logical(1)))) return(NULL)
  force(model)
  function(what, batch, size, values) {
    batch <- as.integer(batch)
    logs <- c(list(batch = batch, size = as.integer(size)), values)
    cbs_call(cbs, paste0("on_", mode, "_batch_", what), batch, logs)
    !(mode == "train" && isTRUE(.subset2(model, "stop_training")))
  }
}
