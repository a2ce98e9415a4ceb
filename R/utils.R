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
  if (!is.numeric(y)) stop("`y` must be a numeric vector of class indices, not ", class(y)[1], call. = FALSE)
  if (anyNA(y)) stop("`y` contains NA values", call. = FALSE)
  y <- as.integer(y)
  if (is.null(num_classes)) num_classes <- max(y) + 1L
  if (any(y < 0 | y >= num_classes))
    stop(sprintf("`y` values must be in [0, %d) for num_classes = %d; got range [%d, %d]",
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
  order <- match.arg(order)
  dim <- as.integer(dim)
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
