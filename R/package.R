#' kerasnative: Keras-style deep learning on a native C++ engine
#'
#' The keras R interface (sequential and functional models, `compile()`,
#' `fit()`, `evaluate()`, `predict()`) running in-process on a C++17 engine:
#' no Python and no TensorFlow installation.
#'
#' Options: `kerasnative.threads` (or the environment variable
#' `KERASNATIVE_THREADS`) sets the number of engine threads (default: all
#' cores); `keras.fit_verbose` the default `verbose` of [fit()].
#'
#' @keywords internal
#' @useDynLib kerasnative, .registration = TRUE
#' @importFrom Rcpp sourceCpp
#' @importFrom RcppParallel RcppParallelLibs
"_PACKAGE"

#' Pipe operator
#'
#' See \code{magrittr::\link[magrittr:pipe]{\%>\%}} for details.
#'
#' @name %>%
#' @rdname pipe
#' @keywords internal
#' @export
#' @importFrom magrittr %>%
#' @importFrom R6 R6Class
#' @usage lhs \%>\% rhs
#' @param lhs A value or the magrittr placeholder.
#' @param rhs A function call using the magrittr semantics.
#' @return The result of calling `rhs(lhs)`.
NULL

.kn <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  .kn$uid <- list()
  threads <- getOption("kerasnative.threads", Sys.getenv("KERASNATIVE_THREADS", ""))
  threads <- suppressWarnings(as.integer(threads))
  if (length(threads) != 1 || is.na(threads)) threads <- 0L
  cpp_set_num_threads(threads)
}

#' Number of threads used by the engine
#'
#' @param n Number of threads; `0` means all cores. `NULL` only queries.
#' @return The number of threads in use (invisibly when setting).
#' @examples
#' old <- kn_threads()
#' kn_threads(1)
#' kn_threads(old)
#' @export
kn_threads <- function(n = NULL) {
  if (is.null(n)) return(cpp_num_threads())
  n <- check_whole(n, "kn_threads", "n", min = 0, max = 1024)
  cpp_set_num_threads(n)
  invisible(cpp_num_threads())
}

# Draw a seed for the engine from R's RNG, so set.seed() makes runs reproducible.
r_seed <- function() {
  as.numeric(sample.int(.Machine$integer.max, 1)) * 4096 + sample.int(4096, 1)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# ggplot2's .data pronoun in plot.keras_training_history()
utils::globalVariables(".data")
