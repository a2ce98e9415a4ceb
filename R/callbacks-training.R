# Keras 2.2.5 callbacks that steer or report training: learning-rate
# schedules, NaN termination, the progress bar and the remote monitor.

# ---- reduce LR on plateau ---------------------------------------------------------

ReduceLROnPlateau <- R6::R6Class("ReduceLROnPlateau", inherit = KerasCallback,
  public = list(
    monitor = NULL, factor = 0.1, patience = 10, verbose = 0, mode = NULL, min_delta = 1e-4,
    cooldown = 0, min_lr = 0, wait = 0, cooldown_counter = 0, best = NULL,
    initialize = function(monitor, factor, patience, verbose, mode, min_delta, cooldown, min_lr) {
      self$monitor <- monitor; self$factor <- factor; self$patience <- patience
      self$verbose <- verbose; self$mode <- monitor_direction(mode, monitor)
      self$min_delta <- min_delta; self$cooldown <- cooldown; self$min_lr <- min_lr
    },
    better = function(a, b) if (self$mode == "min") a < b - self$min_delta else a > b + self$min_delta,
    on_train_begin = function(logs = NULL) {
      self$best <- if (self$mode == "min") Inf else -Inf
      self$cooldown_counter <- 0
      self$wait <- 0
    },
    on_epoch_end = function(epoch, logs = NULL) {
      logs$lr <- k_get_value(self$model$optimizer$lr)
      current <- logs[[self$monitor]]
      if (is.null(current)) {
        warning(sprintf("Reduce LR on plateau conditioned on metric `%s` which is not available. Available metrics are: %s",
                        self$monitor, available_metrics(logs)), call. = FALSE)
        return(logs_update(logs))
      }
      if (self$cooldown_counter > 0) {
        self$cooldown_counter <- self$cooldown_counter - 1
        self$wait <- 0
      }
      if (self$better(current, self$best)) {
        self$best <- current
        self$wait <- 0
      } else if (!(self$cooldown_counter > 0)) {
        self$wait <- self$wait + 1
        if (self$wait >= self$patience) {
          old_lr <- k_get_value(self$model$optimizer$lr)
          if (old_lr > self$min_lr) {
            new_lr <- max(old_lr * self$factor, self$min_lr)
            k_set_value(self$model$optimizer$lr, new_lr)
            if (self$verbose > 0)
              cat(sprintf("\nEpoch %05d: ReduceLROnPlateau reducing learning rate to %s.\n",
                          as.integer(epoch) + 1L, py_str(new_lr)))
            self$cooldown_counter <- self$cooldown
            self$wait <- 0
          }
        }
      }
      logs_update(logs)
    }
  )
)

#' Reduce learning rate when a metric has stopped improving
#'
#' As Keras 2.2.5's `ReduceLROnPlateau`: after `patience` epochs without an
#' improvement of more than `min_delta`, the optimizer's learning rate is
#' multiplied by `factor` (not below `min_lr`). The current learning rate is
#' added to the epoch logs as `lr`.
#' @param monitor Quantity to be monitored.
#' @param factor Factor by which the learning rate will be reduced
#'   (`new_lr = lr * factor`); must be < 1.
#' @param patience Number of epochs with no improvement after which learning
#'   rate will be reduced.
#' @param verbose 0: quiet, 1: update messages.
#' @param mode One of "auto", "min", "max" (see [callback_early_stopping()]).
#' @param min_delta Threshold for measuring the new optimum, to only focus on
#'   significant changes.
#' @param cooldown Number of epochs to wait before resuming normal operation
#'   after lr has been reduced.
#' @param min_lr Lower bound on the learning rate.
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_reduce_lr_on_plateau(factor = 0.5, patience = 2)
#' @export
callback_reduce_lr_on_plateau <- function(monitor = "val_loss", factor = 0.1, patience = 10, verbose = 0,
                                          mode = c("auto", "min", "max"), min_delta = 1e-04, cooldown = 0,
                                          min_lr = 0) {
  mode <- match.arg(mode)
  check_monitor(monitor, "callback_reduce_lr_on_plateau")
  check_cb_number(factor, "factor", "callback_reduce_lr_on_plateau", 0)
  if (factor >= 1) stop("callback_reduce_lr_on_plateau(): ReduceLROnPlateau does not support a factor >= 1.0.", call. = FALSE)
  check_cb_number(patience, "patience", "callback_reduce_lr_on_plateau", 0, integer = TRUE)
  check_cb_number(cooldown, "cooldown", "callback_reduce_lr_on_plateau", 0, integer = TRUE)
  check_cb_number(min_lr, "min_lr", "callback_reduce_lr_on_plateau", 0)
  check_cb_number(min_delta, "min_delta", "callback_reduce_lr_on_plateau")
  ReduceLROnPlateau$new(monitor, factor, patience, as.integer(verbose), mode, min_delta, cooldown, min_lr)
}

# ---- learning rate scheduler ------------------------------------------------------

LearningRateScheduler <- R6::R6Class("LearningRateScheduler", inherit = KerasCallback,
  public = list(
    schedule = NULL,
    initialize = function(schedule) self$schedule <- schedule,
    on_epoch_begin = function(epoch, logs = NULL) {
      lr <- k_get_value(self$model$optimizer$lr)
      nargs <- length(formals(self$schedule))
      new_lr <- if (nargs >= 2 || "..." %in% names(formals(self$schedule))) self$schedule(epoch, lr)
                else self$schedule(epoch)
      if (!is.numeric(new_lr) || length(new_lr) != 1 || is.na(new_lr))
        stop(sprintf("callback_learning_rate_scheduler(): the schedule returned %s for epoch %d; it must return one number",
                     paste(format(new_lr), collapse = " "), as.integer(epoch)), call. = FALSE)
      k_set_value(self$model$optimizer$lr, new_lr)
    },
    on_epoch_end = function(epoch, logs = NULL) {
      logs$lr <- k_get_value(self$model$optimizer$lr)
      logs_update(logs)
    }
  )
)

#' Learning rate scheduler
#'
#' At the beginning of every epoch, sets the optimizer's learning rate to
#' `schedule(epoch, lr)` (0-based epoch, current learning rate) or
#' `schedule(epoch)` for a one-argument function, as Keras 2.2.5's
#' `LearningRateScheduler`. The learning rate is added to the epoch logs as `lr`.
#' @param schedule A function that takes an epoch index as input (integer,
#'   indexed from 0) and the current learning rate, and returns a new learning
#'   rate as output.
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_learning_rate_scheduler(function(epoch, lr) 0.1 * 0.5^epoch)
#' @export
callback_learning_rate_scheduler <- function(schedule) {
  if (!is.function(schedule))
    stop("callback_learning_rate_scheduler(): `schedule` must be a function(epoch, lr)", call. = FALSE)
  LearningRateScheduler$new(schedule)
}

# ---- terminate on NaN ---------------------------------------------------------------

TerminateOnNaN <- R6::R6Class("TerminateOnNaN", inherit = KerasCallback,
  public = list(
    on_batch_end = function(batch, logs = NULL) {
      loss <- logs[["loss"]]
      if (!is.null(loss) && (is.nan(loss) || is.infinite(loss) || is.na(loss))) {
        cat(sprintf("Batch %d: Invalid loss, terminating training\n", as.integer(batch)))
        assign("stop_training", TRUE, envir = self$model)
      }
    }
  )
)

#' Callback that terminates training when a NaN loss is encountered
#'
#' Checked after every batch (a batch-level callback of the native loop).
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_terminate_on_naan()
#' @export
callback_terminate_on_naan <- function() TerminateOnNaN$new()

# ---- progress bar --------------------------------------------------------------------

ProgbarLogger <- R6::R6Class("ProgbarLogger", inherit = KerasCallback,
  public = list(
    count_mode = NULL, stateful_metrics = NULL, bar = NULL, seen = 0, verbose = 0, target = NULL,
    initialize = function(count_mode, stateful_metrics) {
      self$count_mode <- count_mode; self$stateful_metrics <- stateful_metrics
    },
    on_train_begin = function(logs = NULL) {
      self$verbose <- self$params$verbose %||% 1L
      self$target <- if (self$count_mode == "steps") self$params$steps else self$params$samples
    },
    on_epoch_begin = function(epoch, logs = NULL) {
      if (self$verbose > 0) {
        cat(sprintf("Epoch %d/%d\n", as.integer(epoch) + 1L, as.integer(self$params$epochs)))
        names <- Filter(function(m) !startsWith(m, "val_"), self$params$metrics %||% character())
        self$bar <- cpp_progress_new(names, as.numeric(self$target %||% 0), as.integer(self$verbose),
                                     dynamic_display())
      }
      self$seen <- 0
    },
    on_batch_end = function(batch, logs = NULL) {
      self$seen <- self$seen + if (self$count_mode == "steps") 1 else (logs$size %||% 0)
      if (is.null(self$bar)) return(invisible(NULL))
      names <- Filter(function(m) !startsWith(m, "val_"), self$params$metrics %||% character())
      vals <- vapply(names, function(m) as.numeric(logs[[m]] %||% NA_real_), numeric(1))
      stateful <- intersect(names, self$stateful_metrics)
      avg <- !names %in% stateful
      if (length(stateful)) cpp_progress_set_values(self$bar, as.list(vals[stateful]))
      cpp_progress_update(self$bar, self$seen, vals[avg])
      invisible(NULL)
    },
    on_epoch_end = function(epoch, logs = NULL) {
      if (is.null(self$bar)) return(invisible(NULL))
      val <- logs[startsWith(names(logs), "val_")]
      cpp_progress_finish(self$bar, if (length(val)) val else NULL)
      self$bar <- NULL
      invisible(NULL)
    }
  )
)

#' Callback that prints metrics to stdout
#'
#' As Keras 2.2.5's `ProgbarLogger` (fit() already shows this bar when
#' `verbose > 0`; the callback follows the `verbose` of the fit call).
#' @param count_mode One of "steps" or "samples": whether the progress bar
#'   should count samples seen or steps (batches) seen.
#' @param stateful_metrics Names of metrics that should not be averaged over
#'   an epoch but shown as their latest value.
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_progbar_logger(count_mode = "steps")
#' @export
callback_progbar_logger <- function(count_mode = "samples", stateful_metrics = NULL) {
  if (!identical(count_mode, "samples") && !identical(count_mode, "steps"))
    stop("callback_progbar_logger(): Unknown `count_mode`: ", format(count_mode), call. = FALSE)
  if (!is.null(stateful_metrics) && !is.character(stateful_metrics))
    stop("callback_progbar_logger(): `stateful_metrics` must be metric names", call. = FALSE)
  ProgbarLogger$new(count_mode, stateful_metrics)
}

# ---- remote monitor ------------------------------------------------------------------

RemoteMonitor <- R6::R6Class("RemoteMonitor", inherit = KerasCallback,
  public = list(
    root = NULL, path = NULL, field = NULL, headers = NULL, send_as_json = FALSE,
    initialize = function(root, path, field, headers, send_as_json) {
      self$root <- root; self$path <- path; self$field <- field
      self$headers <- headers; self$send_as_json <- send_as_json
    },
    on_epoch_end = function(epoch, logs = NULL) {
      send <- c(list(epoch = as.integer(epoch)), lapply(logs, as.numeric))
      json <- as.character(jsonlite::toJSON(send, auto_unbox = TRUE, digits = NA))
      body <- if (self$send_as_json) json else paste0(utils::URLencode(self$field, reserved = TRUE), "=",
                                                      utils::URLencode(json, reserved = TRUE))
      type <- if (self$send_as_json) "application/json" else "application/x-www-form-urlencoded"
      r <- tryCatch({ http_post(paste0(self$root, self$path), body, type, self$headers); "ok" },
                    kerasnative_http_unsupported = function(e) e,
                    error = function(e) "unreachable")
      if (inherits(r, "error")) stop(r)
      if (identical(r, "unreachable")) warning("Warning: could not reach RemoteMonitor root server at ", self$root, call. = FALSE)
      invisible(NULL)
    }
  )
)

# HTTP POST with the curl package when installed, else over a plain socket
# (http:// only). Returns the status code.
http_post <- function(url, body, content_type, headers = NULL) {
  hdr <- c("Content-Type" = content_type, unlist(headers))
  if (requireNamespace("curl", quietly = TRUE)) {
    h <- curl::new_handle(post = TRUE, postfields = body)
    curl::handle_setheaders(h, .list = as.list(hdr))
    return(curl::curl_fetch_memory(url, handle = h)$status_code)
  }
  p <- regmatches(url, regexec("^http://([^/:]+)(:([0-9]+))?(/.*)?$", url))[[1]]
  if (!length(p))
    stop(structure(class = c("kerasnative_http_unsupported", "error", "condition"), list(
      message = paste0("callback_remote_monitor(): cannot POST to '", url, "': without the curl package ",
                       "only http:// URLs are supported (install.packages(\"curl\") for https)"), call = NULL)))
  host <- p[2]
  port <- if (nzchar(p[4])) as.integer(p[4]) else 80L
  path <- if (nzchar(p[5])) p[5] else "/"
  bytes <- charToRaw(enc2utf8(body))
  con <- suppressWarnings(socketConnection(host, port, blocking = TRUE, open = "r+b", timeout = 10))
  on.exit(close(con))
  req <- paste0("POST ", path, " HTTP/1.0\r\nHost: ", host, ":", port, "\r\n",
                paste0(names(hdr), ": ", hdr, "\r\n", collapse = ""),
                "Content-Length: ", length(bytes), "\r\nConnection: close\r\n\r\n")
  writeBin(c(charToRaw(req), bytes), con)
  status <- readLines(con, n = 1, warn = FALSE)
  code <- suppressWarnings(as.integer(sub("^HTTP/[0-9.]+ ([0-9]+).*", "\\1", status)))
  if (!length(code) || is.na(code)) stop("no HTTP response from ", url)
  code
}

#' Callback used to stream events to a server
#'
#' As Keras 2.2.5's `RemoteMonitor`: at the end of every epoch, POSTs the
#' epoch and its logs as JSON to `root + path`, either as a form field
#' `field=<json>` or (with `send_as_json`) as a JSON body. Uses the curl
#' package when installed, otherwise a plain socket (http:// only). A server
#' that cannot be reached gives a warning, as in Keras.
#' @param root Root url of the target server.
#' @param path Path relative to root to which the events will be sent.
#' @param field JSON field under which the data will be stored.
#' @param headers Optional named list of custom HTTP headers.
#' @param send_as_json Whether the request should be sent as application/json.
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_remote_monitor(root = "http://localhost:9000")
#' @export
callback_remote_monitor <- function(root = "http://localhost:9000", path = "/publish/epoch/end/",
                                    field = "data", headers = NULL, send_as_json = FALSE) {
  for (a in c("root", "path", "field")) {
    v <- get(a)
    if (!is.character(v) || length(v) != 1) stop("callback_remote_monitor(): `", a, "` must be a string", call. = FALSE)
  }
  if (!is.null(headers) && (is.null(names(headers)) || any(!nzchar(names(headers)))))
    stop("callback_remote_monitor(): `headers` must be a named list of strings", call. = FALSE)
  RemoteMonitor$new(root, path, field, headers, isTRUE(send_as_json))
}
