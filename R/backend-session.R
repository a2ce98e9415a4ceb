# TensorFlow 1.x sessions, as far as keras scripts see them: k_get_session()
# returns the session the input queues of tf$train belong to;
# k_clear_session() stops their worker threads and starts a fresh session.

new_session <- function() {
  env <- new.env(parent = emptyenv())
  env$queues <- list()  # input queues created in this session (tf$train$shuffle_batch, ...)
  structure(env, class = "kerasnative_session")
}

current_session <- function() {
  if (is.null(.kn$session)) .kn$session <- new_session()
  .kn$session
}

#' TensorFlow session of the backend
#'
#' `k_get_session()` returns the current session: the input queues made by
#' `tf$train$shuffle_batch()` and `tf$train$batch()` belong to it, and
#' `tf$train$start_queue_runners(sess)` starts their worker threads.
#' `k_set_session()` makes another session current. There is no TensorFlow:
#' a session here only groups input queues (all computation runs in the
#' model's own graph).
#' @param session A session from `k_get_session()`.
#' @return `k_get_session()`: the session; `k_set_session()`: the previous
#'   session, invisibly.
#' @examples
#' sess <- k_get_session()
#' sess
#' @export
k_get_session <- function() current_session()

#' @rdname k_get_session
#' @export
k_set_session <- function(session) {
  if (!inherits(session, "kerasnative_session"))
    stop("k_set_session(): `session` must be a session from k_get_session(), not ", class(session)[1],
         call. = FALSE)
  old <- current_session()
  .kn$session <- session
  invisible(old)
}

# k_clear_session(): stop every queue of the current session and drop it.
clear_session_queues <- function() {
  s <- .kn$session
  if (!is.null(s)) for (q in s$queues) queue_stop(q)
  .kn$session <- NULL
}

#' @export
print.kerasnative_session <- function(x, ...) {
  n <- length(x$queues)
  running <- sum(vapply(x$queues, queue_running, logical(1)))
  cat(sprintf("<tf.Session: %d input queue(s), %d running>\n", n, running))
  invisible(x)
}
