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

#' Engine configuration
#'
#' Reports what the engine chose at run time on this machine and what it was
#' built with: the number of threads ([kn_threads()]) and cores, the matrix
#' multiplication kernel picked for the CPU (`"avx512"`, `"avx2"` or
#' `"generic"`; set `KERASNATIVE_GEMM` to force one), the CRC32C
#' implementation used by TFRecord files (`"sse4.2"` instruction or portable
#' `"slice-by-8"` tables), the CPU features detected, and the versions of the
#' HDF5, protobuf and zlib libraries. The package is built with R's default
#' compiler flags: every CPU-specific path is chosen at run time. The engine
#' does not use MPI (`mpi` is always `FALSE`); `hdf5_parallel` says whether
#' the HDF5 library is an MPI build.
#'
#' @return A list of class `kerasnative_config` with elements `threads`,
#'   `cores`, `gemm_kernel`, `crc32c`, `cpu` (named logical), `hdf5`,
#'   `hdf5_parallel`, `mpi`, `protobuf`, `zlib`, `compiler` and `version`
#'   (the package version).
#' @examples
#' cfg <- kn_config()
#' cfg$gemm_kernel
#' cfg$crc32c
#' cfg
#' @export
kn_config <- function() {
  cfg <- cpp_config()
  cfg$version <- as.character(utils::packageVersion("kerasnative"))
  structure(cfg, class = "kerasnative_config")
}

#' @export
print.kerasnative_config <- function(x, ...) {
  cpu <- names(x$cpu)[x$cpu]
  cat("kerasnative ", x$version, "\n",
      "  threads:     ", x$threads, " (of ", x$cores, " cores)\n",
      "  GEMM kernel: ", x$gemm_kernel, "\n",
      "  CRC32C:      ", x$crc32c, "\n",
      "  CPU:         ", if (length(cpu)) paste(cpu, collapse = " ") else "(no SSE4.2/AVX features)", "\n",
      "  HDF5:        ", x$hdf5, if (x$hdf5_parallel) " (parallel)" else "", "\n",
      "  MPI:         ", if (x$mpi) "yes" else "no", "\n",
      "  protobuf:    ", x$protobuf, ", zlib ", x$zlib, "\n",
      "  compiler:    ", x$compiler, "\n", sep = "")
  invisible(x)
}
