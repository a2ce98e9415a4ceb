#' Converts a class vector (integers) to binary class matrix
#'
#' @param y Class vector to be converted into a matrix (integers from 0 to
#'   `num_classes - 1`).
#' @param num_classes Total number of classes (default: `max(y) + 1`).
#' @return A binary matrix representation of the input, one row per value.
#' @examples
#' to_categorical(c(0, 2, 1), 3)
#' @export
to_categorical <- function(y, num_classes = NULL) {
  if (!is.numeric(y)) stop("to_categorical(): `y` must be a numeric vector of class indices, not ", class(y)[1], call. = FALSE)
  if (!length(y)) stop("to_categorical(): `y` is empty", call. = FALSE)
  if (anyNA(y)) stop("to_categorical(): `y` contains NA values", call. = FALSE)
  if (any(!is.finite(y)) || any(y != round(y)))
    stop("to_categorical(): `y` must hold whole numbers (class indices), got ", arg_text(y[!is.finite(y) | y != round(y)][1]),
         call. = FALSE)
  num_classes <- check_whole(num_classes, "to_categorical", "num_classes", null_ok = TRUE)
  if (any(y < 0 | y > .Machine$integer.max - 1))
    stop(sprintf("to_categorical(): `y` values must be in [0, num_classes); got range [%.0f, %.0f]", min(y), max(y)),
         call. = FALSE)
  y <- as.integer(y)
  if (is.null(num_classes)) num_classes <- max(y) + 1L
  if (any(y >= num_classes))
    stop(sprintf("to_categorical(): `y` values must be in [0, %d) for num_classes = %d; got range [%d, %d]",
                 num_classes, num_classes, min(y), max(y)), call. = FALSE)
  out <- matrix(0, nrow = length(y), ncol = num_classes)
  out[cbind(seq_along(y), y + 1L)] <- 1
  out
}

#' Reshape an array using row-major (C-style) semantics
#'
#' As keras's `array_reshape()`: elements are read and written in row-major
#' order, so `x[i, , ]` of an `n x 28 x 28` array becomes row `i` of an
#' `n x 784` matrix with the pixels of each image row kept together.
#'
#' @param x An array or vector.
#' @param dim The new dimensions.
#' @param order `"C"` (row-major, the default) or `"F"` (column-major, like
#'   `dim<-`).
#' @return The reshaped array.
#' @examples
#' x <- array(1:8, c(2, 2, 2))
#' array_reshape(x, c(2, 4))
#' @export
array_reshape <- function(x, dim, order = c("C", "F")) {
  if (!is.atomic(x) || is.null(x)) arg_fail("array_reshape", "x", "an array or atomic vector", x)
  order <- check_string(order[1], "array_reshape", "order", choices = c("C", "F"))
  dim <- check_whole(dim, "array_reshape", "dim", min = 0, len = seq_len(64))
  if (prod(dim) != length(x))
    stop(sprintf("cannot reshape an array of %d elements into dim c(%s)", length(x),
                 paste(dim, collapse = ", ")), call. = FALSE)
  if (order == "F") { dim(x) <- dim; return(x) }
  d <- base::dim(x) %||% length(x)
  if (length(d) > 1) x <- aperm(x, rev(seq_along(d)))
  x <- as.vector(x)
  if (length(dim) > 1) {
    x <- array(x, dim = rev(dim))
    x <- aperm(x, rev(seq_along(dim)))
  } else {
    x <- array(x, dim = dim)
  }
  x
}

#' Keras backend information
#'
#' @return `k_backend()` returns `"tensorflow"`: models behave as with the
#'   TensorFlow backend (channels-last, same numerics), although no TensorFlow
#'   is involved.
#' @examples
#' k_backend()
#' @export
k_backend <- function() "tensorflow"

#' Install Keras (nothing to do)
#'
#' kerasnative needs no Python, TensorFlow or Keras installation; this
#' function only says so, for scripts written for keras.
#' @param ... Ignored.
#' @return `invisible(TRUE)`.
#' @examples
#' install_keras()
#' @export
install_keras <- function(...) {
  message("kerasnative runs natively: there is nothing to install (no Python or TensorFlow needed).")
  invisible(TRUE)
}

#' Check whether Keras is available
#' @param version Ignored (any version is "available").
#' @return Always `TRUE`.
#' @examples
#' is_keras_available()
#' @export
is_keras_available <- function(version = NULL) TRUE

#' Destroy the current session's naming state
#'
#' Resets the per-class counters used to name layers and models
#' (`dense_1`, `dense_2`, ...), as keras's `k_clear_session()` does.
#' @return `NULL`, invisibly.
#' @examples
#' k_clear_session()
#' @export
k_clear_session <- function() {
  .kn$uid <- list()
  clear_session_queues()
  invisible(NULL)
}

# Keras's _to_snake_case + per-prefix counter: Conv2D -> conv2d_1
snake_case <- function(name) {
  s <- gsub("(.)([A-Z][a-z0-9]+)", "\\1_\\2", name, perl = TRUE)
  tolower(gsub("([a-z])([A-Z])", "\\1_\\2", s, perl = TRUE))
}
unique_name <- function(prefix) {
  n <- (.kn$uid[[prefix]] %||% 0L) + 1L
  .kn$uid[[prefix]] <- n
  paste0(prefix, "_", n)
}

# ---------------------------------------------------------------- argument checks
# Shared by the exported functions: each stops with
# "<fn>(): `<arg>` must be <what is expected>, got <what was given>".

arg_text <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.function(x)) return("a function")
  if (is.environment(x) || is.list(x) && !is.null(class(x)) && !identical(class(x), "list"))
    return(paste("an object of class", class(x)[1]))
  s <- paste(deparse(x, width.cutoff = 60L, nlines = 2L), collapse = " ")
  if (nchar(s) > 60) s <- paste0(substr(s, 1, 57), "...")
  s
}

arg_fail <- function(fn, arg, must, x) {
  stop(sprintf("%s`%s` must be %s, got %s", if (is.null(fn)) "" else paste0(fn, "(): "), arg, must,
               arg_text(x)), call. = FALSE)
}

# Whole numbers in [min, max] (NA, NaN, Inf and fractions rejected); `len` the
# allowed lengths. Returns an integer vector (double when max exceeds integers).
check_whole <- function(x, fn, arg, min = 1, max = .Machine$integer.max, len = 1L, null_ok = FALSE) {
  if (is.null(x) && null_ok) return(NULL)
  must <- if (is.finite(max)) sprintf("%s in [%s, %s]", if (identical(len, 1L)) "a whole number" else "whole numbers",
                                       format(min, scientific = FALSE), format(max, scientific = FALSE))
          else sprintf("whole number%s >= %s", if (identical(len, 1L)) "" else "s", format(min))
  if (!identical(len, 1L)) must <- paste0(must, sprintf(" (%s value%s)", paste(len, collapse = " or "),
                                                         if (identical(len, 1L)) "" else "s"))
  if (is.logical(x) && all(is.na(x))) arg_fail(fn, arg, must, x)
  if (!is.numeric(x) || !length(x) %in% len || anyNA(x) || any(!is.finite(x)) ||
      any(x != round(x)) || any(x < min) || any(x > max))
    arg_fail(fn, arg, must, x)
  if (max <= .Machine$integer.max) as.integer(x) else as.numeric(x)
}

# One finite number in [min, max] (ends open when asked).
check_number <- function(x, fn, arg, min = -Inf, max = Inf, min_open = FALSE, max_open = FALSE,
                         null_ok = FALSE) {
  if (is.null(x) && null_ok) return(NULL)
  lo <- if (is.finite(min)) paste0(if (min_open) "(" else "[", format(min)) else NULL
  hi <- if (is.finite(max)) paste0(format(max), if (max_open) ")" else "]") else NULL
  must <- if (!is.null(lo) && !is.null(hi)) paste0("a number in ", lo, ", ", hi)
          else if (!is.null(lo)) paste0("a finite number ", if (min_open) "> " else ">= ", format(min))
          else if (!is.null(hi)) paste0("a finite number ", if (max_open) "< " else "<= ", format(max))
          else "a finite number"
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || !is.finite(x) ||
      x < min || x > max || (min_open && x == min) || (max_open && x == max))
    arg_fail(fn, arg, must, x)
  as.numeric(x)
}

check_flag <- function(x, fn, arg) {
  if (!is.logical(x) || length(x) != 1 || is.na(x)) arg_fail(fn, arg, "TRUE or FALSE", x)
  x
}

check_string <- function(x, fn, arg, null_ok = FALSE, choices = NULL) {
  if (is.null(x) && null_ok) return(NULL)
  if (!is.character(x) || length(x) != 1 || is.na(x) || !nzchar(x))
    arg_fail(fn, arg, if (is.null(choices)) "a single non-empty string"
                      else paste0("one of ", paste0('"', choices, '"', collapse = ", ")), x)
  if (!is.null(choices) && !x %in% choices)
    arg_fail(fn, arg, paste0("one of ", paste0('"', choices, '"', collapse = ", ")), x)
  x
}

check_function <- function(x, fn, arg, null_ok = FALSE) {
  if (is.null(x) && null_ok) return(NULL)
  if (!is.function(x)) arg_fail(fn, arg, if (null_ok) "a function or NULL" else "a function", x)
  x
}

# Numeric data for the engine: no NA/NaN/Inf. anyNA() and range() avoid a
# full-size logical copy of large arrays.
check_finite_data <- function(a, fn, arg) {
  if (!length(a)) return(invisible(a))
  if (cpp_all_finite(a)) return(invisible(a))  # one parallel pass; the checks below name the culprit
  if (anyNA(a)) {
    i <- which(is.na(a))[1]
    stop(sprintf("%s(): `%s` contains %s (element %d); remove or impute missing values first",
                 fn, arg, if (is.nan(a[i])) "NaN" else "NA", i), call. = FALSE)
  }
  if (is.double(a) && any(!is.finite(range(a)))) {
    i <- which(is.infinite(a))[1]
    stop(sprintf("%s(): `%s` contains %s (element %d): values must be finite", fn, arg,
                 if (a[i] > 0) "Inf" else "-Inf", i), call. = FALSE)
  }
  invisible(a)
}
