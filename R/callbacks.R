#' Create a custom callback
#'
#' Functions called at the start and end of training and of each epoch
#' (between the native batch loops). `on_epoch_end` may return `FALSE` to stop
#' training early... (as can returning `TRUE` from `stop_training`).
#' @param on_epoch_begin,on_epoch_end Called with `(epoch, logs)`; `epoch`
#'   is 0-based, `logs` a named list of metrics (at the end of an epoch).
#' @param on_train_begin,on_train_end Called with `(logs)`.
#' @param on_batch_begin,on_batch_end Not supported yet (must be `NULL`):
#'   batches run natively.
#' @return A callback object for [fit()].
#' @examples
#' cb <- callback_lambda(on_epoch_end = function(epoch, logs) cat("epoch", epoch, "\n"))
#' @export
callback_lambda <- function(on_epoch_begin = NULL, on_epoch_end = NULL, on_batch_begin = NULL,
                            on_batch_end = NULL, on_train_begin = NULL, on_train_end = NULL) {
  check_unsupported(on_batch_begin = on_batch_begin, on_batch_end = on_batch_end)
  for (nm in c("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end"))
    check_function(get(nm), "callback_lambda", nm, null_ok = TRUE)
  structure(list(on_epoch_begin = on_epoch_begin, on_epoch_end = on_epoch_end,
                 on_train_begin = on_train_begin, on_train_end = on_train_end),
            class = c("keras.callbacks.LambdaCallback", "keras.callbacks.Callback", "kerasnative_callback"))
}

normalize_callbacks <- function(callbacks) {
  if (is.null(callbacks)) return(list())
  if (inherits(callbacks, "kerasnative_callback")) callbacks <- list(callbacks)
  for (cb in callbacks) if (!inherits(cb, "kerasnative_callback"))
    stop("`callbacks` must be a list of callback objects (e.g. from callback_lambda())", call. = FALSE)
  callbacks
}

# Returns TRUE if a callback asked to stop training.
run_callbacks <- function(callbacks, what, args) {
  stop_training <- FALSE
  for (cb in callbacks) {
    f <- cb[[what]]
    if (is.function(f)) {
      r <- if (what %in% c("on_train_begin", "on_train_end")) f(args[[1]] %||% list()) else do.call(f, args)
      if (identical(r, FALSE) && what == "on_epoch_end") stop_training <- TRUE
    }
  }
  stop_training
}
