# Keras 2.2.5's built-in callbacks (keras/callbacks.py), as R6 subclasses of
# KerasCallback. Behaviour, messages and warnings follow the Python classes.

# "auto" -> "max" when the monitored name contains "acc", else "min" (Keras).
monitor_direction <- function(mode, monitor) {
  if (mode == "auto") mode <- if (grepl("acc", monitor, fixed = TRUE)) "max" else "min"
  mode
}
check_monitor <- function(monitor, what) {
  if (!is.character(monitor) || length(monitor) != 1 || !nzchar(monitor))
    stop(what, "(): `monitor` must be a metric name such as \"val_loss\"", call. = FALSE)
  monitor
}
check_cb_number <- function(x, name, what, min = -Inf, integer = FALSE) {
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || x < min || (integer && x != round(x)))
    stop(sprintf("%s(): `%s` must be a%s number >= %s, got %s", what, name, if (integer) "n integer" else "",
                 format(min), paste(format(x), collapse = " ")), call. = FALSE)
  x
}
available_metrics <- function(logs) paste(names(logs), collapse = ",")

# ---- CSV logger -----------------------------------------------------------------

CSVLogger <- R6::R6Class("CSVLogger", inherit = KerasCallback,
  public = list(
    filename = NULL, sep = NULL, append = NULL, keys = NULL, lines = NULL,
    initialize = function(filename, separator, append) {
      self$filename <- filename; self$sep <- separator; self$append <- append
    },
    on_train_begin = function(logs = NULL) {
      dir.create(dirname(self$filename), recursive = TRUE, showWarnings = FALSE)
      self$keys <- NULL
      # the file is rewritten whole (temporary file + rename) at every epoch
      self$lines <- if (self$append && file.exists(self$filename)) {
        txt <- readBin(self$filename, "raw", file.size(self$filename))
        rawToChar(txt)
      } else ""
    },
    on_epoch_end = function(epoch, logs = NULL) {
      if (is.null(self$keys)) {
        self$keys <- sort(names(logs), method = "radix")  # Python's sorted(): code-point order
        if (!nzchar(self$lines)) self$lines <- csv_row(c("epoch", self$keys), self$sep)
      }
      stopping <- isTRUE(.subset2(self$model, "stop_training"))
      vals <- vapply(self$keys, function(k) {
        v <- logs[[k]]
        if (is.null(v)) { if (stopping) "NA" else stop(sprintf("callback_csv_logger(): the logs of epoch %d have no '%s'", epoch, k), call. = FALSE) }
        else py_str(v, float32 = identical(k, "lr"))
      }, "")
      self$lines <- paste0(self$lines, csv_row(c(as.character(as.integer(epoch)), vals), self$sep))
      write_file_atomic(self$filename, self$lines)
    }
  )
)

# One CSV row as Python's csv module writes it (excel dialect: "\r\n", quoting
# fields that hold the separator, a quote or a line break).
csv_row <- function(fields, sep) {
  q <- grepl(sep, fields, fixed = TRUE) | grepl("[\"\r\n]", fields)
  fields[q] <- paste0("\"", gsub("\"", "\"\"", fields[q], fixed = TRUE), "\"")
  paste0(paste(fields, collapse = sep), "\r\n")
}

# Writes `text` to `path` through a temporary file in the same directory and a
# rename, so the file is never seen half written.
write_file_atomic <- function(path, text) {
  tmp <- file.path(dirname(path), paste0(".", basename(path), ".tmp", Sys.getpid()))
  con <- file(tmp, "wb")
  ok <- FALSE
  on.exit({ if (!ok) unlink(tmp) })
  writeBin(charToRaw(enc2utf8(text)), con)
  close(con)
  if (!file.rename(tmp, path)) stop("could not write '", path, "'", call. = FALSE)
  ok <- TRUE
  invisible(path)
}

# Python's str() of a log value: shortest repr that reads back to the same
# double (float32 for values Keras keeps in float32 variables, like lr).
py_str <- function(x, float32 = FALSE) {
  if (is.character(x)) return(x)
  if (length(x) != 1) return(paste0("\"[", paste(vapply(x, py_str, ""), collapse = ", "), "]\""))
  if (is.integer(x) || is.logical(x)) return(if (is.logical(x)) (if (x) "True" else "False") else as.character(x))
  if (is.nan(x)) return("nan")
  if (is.na(x)) return("NA")
  if (is.infinite(x)) return(if (x > 0) "inf" else "-inf")
  if (x == 0) return(if (1 / x < 0) "-0.0" else "0.0")
  same <- if (float32) function(v) to_float32(v) == x else function(v) v == x
  for (d in 1:17) { s <- sprintf(paste0("%.", d - 1, "e"), x); if (same(as.numeric(s))) break }
  e <- as.integer(sub(".*e", "", s))
  digits <- sub("0+$", "", gsub("[-.]", "", sub("e.*", "", s)))
  if (!nzchar(digits)) digits <- "0"
  nd <- nchar(digits)
  out <- if (e < -4 || e >= 16) {
    paste0(if (nd > 1) paste0(substr(digits, 1, 1), ".", substring(digits, 2)) else digits,
           "e", if (e < 0) "-" else "+", sprintf("%02d", abs(e)))
  } else if (e < 0) {
    paste0("0.", strrep("0", -e - 1), digits)
  } else if (nd <= e + 1) {
    paste0(digits, strrep("0", e + 1 - nd), ".0")
  } else {
    paste0(substr(digits, 1, e + 1), ".", substring(digits, e + 2))
  }
  paste0(if (x < 0) "-", out)
}
to_float32 <- function(v) readBin(writeBin(v, raw(), size = 4), "numeric", size = 4)

#' Callback that streams epoch results to a CSV file
#'
#' As Keras's `CSVLogger`: a header `epoch` followed by the log keys in sorted
#' order, one row per epoch with the 0-based epoch, values as Python prints
#' them and `"\\r\\n"` line ends. The file is rewritten through a temporary file
#' and a rename at each epoch, so an interrupted run never leaves a torn file.
#' The directory is created if needed.
#' @param filename Filename of the CSV file, e.g. `"run/log.csv"`.
#' @param separator String used to separate elements in the CSV file.
#' @param append `TRUE`: append if the file exists (useful for continuing
#'   training); `FALSE`: overwrite it.
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_csv_logger(tempfile(fileext = ".csv"))
#' @export
callback_csv_logger <- function(filename, separator = ",", append = FALSE) {
  if (!is.character(filename) || length(filename) != 1 || !nzchar(filename))
    stop("callback_csv_logger(): `filename` must be a file path", call. = FALSE)
  if (!is.character(separator) || length(separator) != 1 || nchar(separator) != 1)
    stop("callback_csv_logger(): `separator` must be a single character", call. = FALSE)
  CSVLogger$new(path.expand(filename), separator, isTRUE(append))
}

# ---- early stopping -------------------------------------------------------------

EarlyStopping <- R6::R6Class("EarlyStopping", inherit = KerasCallback,
  public = list(
    monitor = NULL, min_delta = 0, patience = 0, verbose = 0, mode = NULL, baseline = NULL,
    restore_best_weights = FALSE, wait = 0, stopped_epoch = 0, best = NULL, best_weights = NULL,
    initialize = function(monitor, min_delta, patience, verbose, mode, baseline, restore_best_weights) {
      self$monitor <- monitor; self$patience <- patience; self$verbose <- verbose
      self$mode <- monitor_direction(mode, monitor); self$baseline <- baseline
      self$restore_best_weights <- restore_best_weights
      self$min_delta <- if (self$mode == "max") abs(min_delta) else -abs(min_delta)
    },
    better = function(a, b) if (self$mode == "max") a > b else a < b,
    on_train_begin = function(logs = NULL) {
      self$wait <- 0; self$stopped_epoch <- 0; self$best_weights <- NULL
      self$best <- self$baseline %||% (if (self$mode == "max") -Inf else Inf)
    },
    on_epoch_end = function(epoch, logs = NULL) {
      current <- logs[[self$monitor]]
      if (is.null(current)) {
        warning(sprintf("Early stopping conditioned on metric `%s` which is not available. Available metrics are: %s",
                        self$monitor, available_metrics(logs)), call. = FALSE)
        return(invisible(NULL))
      }
      if (self$better(current - self$min_delta, self$best)) {
        self$best <- current
        self$wait <- 0
        if (self$restore_best_weights) self$best_weights <- get_weights(self$model)
      } else {
        self$wait <- self$wait + 1
        if (self$wait >= self$patience) {
          self$stopped_epoch <- epoch
          assign("stop_training", TRUE, envir = self$model)
          if (self$restore_best_weights && !is.null(self$best_weights)) {
            if (self$verbose > 0) cat("Restoring model weights from the end of the best epoch\n")
            set_weights(self$model, self$best_weights)
          }
        }
      }
      invisible(NULL)
    },
    on_train_end = function(logs = NULL) {
      if (self$stopped_epoch > 0 && self$verbose > 0)
        cat(sprintf("Epoch %05d: early stopping\n", as.integer(self$stopped_epoch + 1)))
    }
  )
)

#' Stop training when a monitored quantity has stopped improving
#'
#' As Keras 2.2.5's `EarlyStopping`. An epoch improves when the monitored
#' value beats the best so far by more than `min_delta`; after `patience`
#' epochs without improvement, training stops (`model$stop_training`).
#' @param monitor Quantity to be monitored.
#' @param min_delta Minimum change in the monitored quantity to qualify as an
#'   improvement, i.e. an absolute change of less than min_delta, will count as
#'   no improvement.
#' @param patience Number of epochs with no improvement after which training
#'   will be stopped.
#' @param verbose Verbosity mode, 0 or 1.
#' @param mode One of "auto", "min", "max". In `min` mode, training will stop
#'   when the quantity monitored has stopped decreasing; in `max` mode it will
#'   stop when the quantity monitored has stopped increasing; in `auto` mode,
#'   the direction is automatically inferred from the name of the monitored
#'   quantity ("acc" in the name: max).
#' @param baseline Baseline value for the monitored quantity to reach. Training
#'   will stop if the model doesn't show improvement over the baseline.
#' @param restore_best_weights Whether to restore model weights from the epoch
#'   with the best value of the monitored quantity (when training stops).
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_early_stopping(monitor = "val_loss", patience = 5)
#' @export
callback_early_stopping <- function(monitor = "val_loss", min_delta = 0, patience = 0, verbose = 0,
                                    mode = c("auto", "min", "max"), baseline = NULL,
                                    restore_best_weights = FALSE) {
  mode <- match.arg(mode)
  check_monitor(monitor, "callback_early_stopping")
  check_cb_number(min_delta, "min_delta", "callback_early_stopping")
  check_cb_number(patience, "patience", "callback_early_stopping", 0, integer = TRUE)
  if (!is.null(baseline)) check_cb_number(baseline, "baseline", "callback_early_stopping")
  EarlyStopping$new(monitor, min_delta, patience, as.integer(verbose), mode, baseline,
                    isTRUE(restore_best_weights))
}

# ---- model checkpoint -------------------------------------------------------------

# Python's str.format() for Keras's checkpoint names: "{epoch:02d}",
# "{val_loss:.2f}", "{{" / "}}" escapes.
format_filepath <- function(template, values) {
  m <- gregexpr("\\{\\{|\\}\\}|\\{[^{}]*\\}", template)[[1]]
  if (m[1] < 0) return(template)
  parts <- regmatches(template, list(m))[[1]]
  repl <- vapply(parts, function(p) {
    if (p == "{{") return("{")
    if (p == "}}") return("}")
    inner <- substr(p, 2, nchar(p) - 1)
    key <- sub(":.*", "", inner)
    spec <- if (grepl(":", inner, fixed = TRUE)) sub("^[^:]*:", "", inner) else ""
    v <- values[[key]]
    if (is.null(v))
      stop(sprintf("callback_model_checkpoint(): `filepath` uses {%s} but the logs hold only: %s",
                   key, paste(names(values), collapse = ", ")), call. = FALSE)
    format_value(v, spec, key)
  }, "")
  regmatches(template, list(m)) <- list(repl)
  template
}
format_value <- function(v, spec, key) {
  if (spec == "") return(py_str(v))
  p <- regmatches(spec, regexec("^(0?)([0-9]*)(\\.[0-9]+)?([dfFeEgG%]?)$", spec))[[1]]
  if (!length(p)) stop(sprintf("callback_model_checkpoint(): unsupported format '%s' for {%s}", spec, key), call. = FALSE)
  type <- p[5]
  if (type == "d") {
    if (!is.integer(v) && v != round(v))
      stop(sprintf("callback_model_checkpoint(): format 'd' needs an integer but {%s} is %s", key, py_str(v)), call. = FALSE)
    return(sprintf(paste0("%", p[2], p[3], "d"), as.integer(v)))
  }
  if (type == "%") return(paste0(sprintf(paste0("%", p[2], p[3], p[4], if (p[4] == "") ".6" , "f"), 100 * v), "%"))
  if (type == "") type <- "g"
  sprintf(paste0("%", p[2], p[3], p[4], type), as.numeric(v))
}

ModelCheckpoint <- R6::R6Class("ModelCheckpoint", inherit = KerasCallback,
  public = list(
    filepath = NULL, monitor = NULL, verbose = 0, save_best_only = FALSE, save_weights_only = FALSE,
    mode = NULL, period = 1, epochs_since_last_save = 0, best = NULL,
    initialize = function(filepath, monitor, verbose, save_best_only, save_weights_only, mode, period) {
      self$filepath <- filepath; self$monitor <- monitor; self$verbose <- verbose
      self$save_best_only <- save_best_only; self$save_weights_only <- save_weights_only
      self$mode <- if (mode == "auto" && startsWith(monitor, "fmeasure")) "max" else monitor_direction(mode, monitor)
      self$period <- period
    },
    on_train_begin = function(logs = NULL) {
      self$epochs_since_last_save <- 0
      if (is.null(self$best)) self$best <- if (self$mode == "max") -Inf else Inf
    },
    save = function(path) {
      dir.create(dirname(path), recursive = TRUE, showWarnings = FALSE)
      if (self$save_weights_only) save_model_weights_hdf5(self$model, path, overwrite = TRUE)
      else save_model_hdf5(self$model, path, overwrite = TRUE)
    },
    on_epoch_end = function(epoch, logs = NULL) {
      self$epochs_since_last_save <- self$epochs_since_last_save + 1
      if (self$epochs_since_last_save < self$period) return(invisible(NULL))
      self$epochs_since_last_save <- 0
      path <- format_filepath(self$filepath, c(list(epoch = as.integer(epoch) + 1L), logs))
      if (!self$save_best_only) {
        if (self$verbose > 0) cat(sprintf("\nEpoch %05d: saving model to %s\n", as.integer(epoch) + 1L, path))
        self$save(path)
        return(invisible(NULL))
      }
      current <- logs[[self$monitor]]
      if (is.null(current)) {
        warning(sprintf("Can save best model only with %s available, skipping.", self$monitor), call. = FALSE)
      } else if (if (self$mode == "max") current > self$best else current < self$best) {
        if (self$verbose > 0)
          cat(sprintf("\nEpoch %05d: %s improved from %0.5f to %0.5f, saving model to %s\n",
                      as.integer(epoch) + 1L, self$monitor, self$best, current, path))
        self$best <- current
        self$save(path)
      } else if (self$verbose > 0) {
        cat(sprintf("\nEpoch %05d: %s did not improve from %0.5f\n", as.integer(epoch) + 1L, self$monitor, self$best))
      }
      invisible(NULL)
    }
  )
)

#' Save the model after every epoch
#'
#' As Keras 2.2.5's `ModelCheckpoint`. `filepath` can contain named
#' formatting options filled with the 1-based `epoch` and the keys of the
#' epoch's logs, in Python's `str.format()` syntax: with
#' `"weights.{epoch:02d}-{val_loss:.2f}.hdf5"` the files are named with the
#' epoch number and the validation loss. Files are Keras HDF5
#' ([save_model_hdf5()] or, with `save_weights_only`, [save_model_weights_hdf5()]).
#' @param filepath String, path to save the model file.
#' @param monitor Quantity to monitor.
#' @param verbose Verbosity mode, 0 or 1.
#' @param save_best_only If `TRUE`, the latest best model according to the
#'   quantity monitored will not be overwritten.
#' @param save_weights_only If `TRUE`, then only the model's weights will be
#'   saved, else the full model is saved.
#' @param mode One of "auto", "min", "max": whether the best model minimises
#'   or maximises the monitored quantity ("auto": from its name).
#' @param period Interval (number of epochs) between checkpoints.
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_model_checkpoint(file.path(tempdir(), "weights.{epoch:02d}-{val_loss:.2f}.hdf5"))
#' @export
callback_model_checkpoint <- function(filepath, monitor = "val_loss", verbose = 0, save_best_only = FALSE,
                                      save_weights_only = FALSE, mode = c("auto", "min", "max"), period = 1) {
  mode <- match.arg(mode)
  if (!is.character(filepath) || length(filepath) != 1 || !nzchar(filepath))
    stop("callback_model_checkpoint(): `filepath` must be a file path (template)", call. = FALSE)
  check_monitor(monitor, "callback_model_checkpoint")
  check_cb_number(period, "period", "callback_model_checkpoint", 1, integer = TRUE)
  ModelCheckpoint$new(path.expand(filepath), monitor, as.integer(verbose), isTRUE(save_best_only),
                      isTRUE(save_weights_only), mode, as.integer(period))
}
