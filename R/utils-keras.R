# Small keras 2.2.5 utilities: normalize(), keras_array(), get_file(),
# predict_on_batch(), %<-%, backend() / implementation switches, the
# Python-only functions (a clear message instead), and aliases of the
# applications module (application_densenet(), mobilenet_* helpers).

#' Normalize a matrix or nd-array
#'
#' Divides by the `order`-norm along `axis` (Keras's `normalize`: zero norms
#' are left as they are).
#' @param x Matrix or array to normalize.
#' @param axis Axis along which to normalize (Keras's convention: `-1` is the
#'   last axis, otherwise 0-based).
#' @param order Normalization order (e.g. 2 for the L2 norm).
#' @return The normalized array.
#' @examples
#' normalize(matrix(c(3, 4, 0, 0), 2, byrow = TRUE))
#' @export
normalize <- function(x, axis = -1, order = 2) {
  if (!is.numeric(x)) arg_fail("normalize", "x", "a numeric matrix or array", x)
  d <- dim(x) %||% length(x)
  x <- array(as.numeric(x), d)
  axis <- check_whole(axis, "normalize", "axis", min = -length(d), max = length(d) - 1)
  ax <- if (axis < 0) length(d) + axis + 1 else axis + 1
  order <- check_number(order, "normalize", "order", min = 0, min_open = TRUE)
  if (length(d) == 1) {
    nv <- sum(abs(x)^order)^(1 / order)
    return(as.vector(x) / if (nv == 0) 1 else nv)
  }
  norms <- apply(x, seq_along(d)[-ax], function(v) sum(abs(v)^order)^(1 / order))
  norms[norms == 0] <- 1
  sweep(x, seq_along(d)[-ax], norms, "/")
}

#' Keras array object
#'
#' Converts an R vector, matrix or array (or a list of them) to the numeric
#' array form the models take: doubles, or integers with `dtype = "int32"`.
#' @param x Object or list of objects to convert.
#' @param dtype `NULL` (`"float32"`), `"float32"`, `"float64"` or `"int32"`.
#' @return The converted object.
#' @export
keras_array <- function(x, dtype = NULL) {
  if (is.null(x)) return(NULL)
  dtype <- check_string(dtype %||% "float32", "keras_array", "dtype", choices = c("float32", "float64", "int32"))
  if (is.list(x) && !is.data.frame(x)) return(lapply(x, keras_array, dtype = dtype))
  if (is.data.frame(x)) x <- as.matrix(x)
  if (!is.numeric(x) && !is.logical(x)) arg_fail("keras_array", "x", "numeric or logical data", x)
  d <- dim(x)
  x <- if (dtype == "int32") as.integer(x) else as.double(x)
  if (!is.null(d)) dim(x) <- d
  x
}

#' Downloads a file from a URL if it not already in the cache
#'
#' The file is looked for in `file.path(cache_dir, cache_subdir, fname)`
#' (`cache_dir` defaults to `Sys.getenv("KERAS_HOME", "~/.keras")`) and
#' downloaded from `origin` when absent (unless
#' `options(kerasnative.offline = TRUE)`; without a connection the error says
#' where to put the file). An MD5 `file_hash` is checked; tar and zip archives
#' are extracted next to the file with `extract = TRUE` (or `untar = TRUE`).
#' @param fname Name of the file (an absolute path saves it there).
#' @param origin Original URL of the file.
#' @param file_hash Expected MD5 hash of the file (`NULL`: not checked).
#' @param cache_subdir Subdirectory of the cache.
#' @param hash_algorithm `"auto"` or `"md5"` (SHA-256 hashes cannot be checked
#'   here: an error).
#' @param extract Extract the archive (tar, tar.gz, zip).
#' @param archive_format `"auto"`, `"tar"` or `"zip"`.
#' @param cache_dir Cache location (`NULL`: `KERAS_HOME` or `~/.keras`).
#' @param untar Deprecated synonym of `extract` for tar files.
#' @return Path to the downloaded file.
#' @export
get_file <- function(fname, origin, file_hash = NULL, cache_subdir = "datasets", hash_algorithm = "auto",
                     extract = FALSE, archive_format = "auto", cache_dir = NULL, untar = FALSE) {
  fn <- "get_file"
  fname <- check_string(fname, fn, "fname")
  origin <- check_string(origin, fn, "origin")
  hash_algorithm <- check_string(hash_algorithm, fn, "hash_algorithm", choices = c("auto", "md5", "sha256"))
  archive_format <- check_string(archive_format, fn, "archive_format", choices = c("auto", "tar", "zip"))
  if (!is.null(file_hash)) {
    file_hash <- check_string(file_hash, fn, "file_hash")
    if (hash_algorithm == "sha256" || (hash_algorithm == "auto" && nchar(file_hash) == 64))
      stop("get_file(): SHA-256 hashes cannot be checked by kerasnative (base R has MD5 only); give an MD5 ",
           "`file_hash` or NULL", call. = FALSE)
  }
  cache_dir <- cache_dir %||% Sys.getenv("KERAS_HOME", file.path(path.expand("~"), ".keras"))
  dest <- if (is_absolute_path(fname)) path.expand(fname) else file.path(path.expand(cache_dir), cache_subdir, fname)
  if (untar && !grepl("\\.tar\\.gz$", dest)) dest <- paste0(dest, ".tar.gz")
  if (!file.exists(dest) && !kn_download(origin, dest))
    stop(sprintf("get_file(): '%s' is not in the cache and could not be downloaded from %s%s; put the file there",
                 dest, origin, if (downloads_disabled()) " (downloads disabled by options(kerasnative.offline = TRUE))" else ""),
         call. = FALSE)
  if (!is.null(file_hash) && !identical(unname(tools::md5sum(dest)), tolower(file_hash)))
    stop(sprintf("get_file(): '%s' has MD5 %s, expected %s (incomplete or corrupted: delete it and retry)",
                 dest, unname(tools::md5sum(dest)), file_hash), call. = FALSE)
  if (extract || untar) {
    is_zip <- archive_format == "zip" || (archive_format == "auto" && grepl("\\.zip$", dest))
    ok <- tryCatch(if (is_zip) { utils::unzip(dest, exdir = dirname(dest)); TRUE }
                   else utils::untar(dest, exdir = dirname(dest)) == 0, error = function(e) FALSE)
    if (!ok) stop(sprintf("get_file(): cannot extract '%s'", dest), call. = FALSE)
    if (untar) return(sub("\\.tar\\.gz$", "", dest))
  }
  dest
}

#' Returns predictions for a single batch of samples
#' @param object Keras model object.
#' @param x Input data (array or list of arrays): one batch.
#' @return Array of predictions.
#' @export
predict_on_batch <- function(object, x) {
  if (!is_model(object)) stop("predict_on_batch(): `object` must be a model", call. = FALSE)
  n <- if (is.list(x) && !is.data.frame(x)) NROW(x[[1]]) else NROW(x)
  stats::predict(object, x, batch_size = max(1L, as.integer(n)), verbose = 0)
}

#' Assign values to names (destructuring assignment)
#'
#' `c(a, b) %<-% list(1, 2)` assigns `a <- 1` and `b <- 2`; patterns nest:
#' `c(c(x_train, y_train), c(x_test, y_test)) %<-% dataset_mnist()`.
#' @param x A name or a `c(...)` pattern of names.
#' @param value A list (or vector) with as many elements as the pattern.
#' @return `value`, invisibly.
#' @name multi-assign
#' @export
`%<-%` <- function(x, value) {
  pattern <- substitute(x)
  env <- parent.frame()
  assign_pattern <- function(p, v) {
    if (is.name(p)) {
      assign(as.character(p), v, envir = env)
    } else if (is.call(p) && identical(p[[1]], as.name("c"))) {
      parts <- as.list(p)[-1]
      if (length(v) != length(parts))
        stop(sprintf("%%<-%%: the pattern has %d names but the value has %d elements", length(parts), length(v)),
             call. = FALSE)
      for (i in seq_along(parts)) assign_pattern(parts[[i]], v[[i]])
    } else {
      stop("%<-%: the left side must be a name or c(...) of names, got ", deparse(p), call. = FALSE)
    }
  }
  assign_pattern(pattern, value)
  invisible(value)
}

#' Keras backend and implementation
#'
#' kerasnative is one implementation (its own engine, with TensorFlow's
#' semantics): `implementation()` is `"keras"`, `use_implementation()` and
#' `use_backend()` accept only those. `backend()` returns the backend functions
#' as Keras's backend module exposes them: `K <- backend(); K$clear_session()`
#' calls [k_clear_session()] (every `k_*` function without its prefix).
#' @param implementation `"keras"` (or `"tensorflow"`, the same here).
#' @param backend `"tensorflow"`.
#' @param convert Ignored (kept for compatibility; must be `TRUE`).
#' @return `implementation()`: a string; `backend()`: an environment of functions.
#' @name backend_module
#' @export
backend <- function(convert = TRUE) {
  check_flag(convert, "backend", "convert")
  if (!convert) stop("backend(): convert = FALSE (Python objects) has no meaning in kerasnative", call. = FALSE)
  ns <- asNamespace("kerasnative")
  names <- grep("^k_", getNamespaceExports("kerasnative"), value = TRUE)
  env <- new.env(parent = emptyenv())
  for (n in names) assign(sub("^k_", "", n), get(n, envir = ns), envir = env)
  env
}
#' @rdname backend_module
#' @export
implementation <- function() "keras"
#' @rdname backend_module
#' @export
use_implementation <- function(implementation = c("keras", "tensorflow")) {
  if (!is.character(implementation) || !implementation[1] %in% c("keras", "tensorflow"))
    stop("use_implementation(): kerasnative implements Keras itself; only \"keras\" or \"tensorflow\"", call. = FALSE)
  invisible(NULL)
}
#' @rdname backend_module
#' @export
use_backend <- function(backend = c("tensorflow", "cntk", "theano", "plaidml")) {
  if (!identical(backend[1], "tensorflow"))
    stop("use_backend(): kerasnative has one backend, its native engine with TensorFlow's semantics (\"tensorflow\"); ",
         "\"", backend[1], "\" is not available", call. = FALSE)
  invisible(NULL)
}

# The Python environment functions keras re-exports from reticulate.
python_only <- function(fn, instead) {
  force(fn); force(instead)
  function(...) stop(fn, "(): kerasnative runs without Python; ", instead, call. = FALSE)
}

#' Functions tied to Python or TensorFlow SavedModel
#'
#' kerasnative needs no Python: these stop with a message saying what to use
#' instead.
#' @param ... Ignored.
#' @return Nothing: they signal an error.
#' @name python_only
#' @export
use_python <- python_only("use_python", "there is no Python to choose; remove the call")
#' @rdname python_only
#' @export
use_virtualenv <- python_only("use_virtualenv", "there is no Python environment to choose; remove the call")
#' @rdname python_only
#' @export
use_condaenv <- python_only("use_condaenv", "there is no conda environment to choose; remove the call")
#' @rdname python_only
#' @export
export_savedmodel <- python_only("export_savedmodel",
                                 "TensorFlow SavedModels are not written; save the model with save_model_hdf5() instead")
#' @rdname python_only
#' @export
multi_gpu_model <- python_only("multi_gpu_model", "there are no GPUs; the engine uses all CPU cores (see kn_threads())")

#' MobileNet helpers
#'
#' `mobilenet_decode_predictions()` and `mobilenet_v2_decode_predictions()`
#' are [imagenet_decode_predictions()]; `mobilenet_load_model_hdf5()` and
#' `mobilenet_v2_load_model_hdf5()` load a saved MobileNet with
#' [load_model_hdf5()] (its ReLU6 and DepthwiseConv2D layers are built in).
#' @param preds,top See [imagenet_decode_predictions()].
#' @param filepath File to load.
#' @return Decoded predictions or a model.
#' @export
mobilenet_decode_predictions <- function(preds, top = 5) imagenet_decode_predictions(preds, top)
#' @rdname mobilenet_decode_predictions
#' @export
mobilenet_load_model_hdf5 <- function(filepath) load_model_hdf5(filepath)
#' @rdname mobilenet_decode_predictions
#' @export
mobilenet_v2_decode_predictions <- function(preds, top = 5) imagenet_decode_predictions(preds, top)
#' @rdname mobilenet_decode_predictions
#' @export
mobilenet_v2_load_model_hdf5 <- function(filepath) load_model_hdf5(filepath)

#' Instantiates the DenseNet architecture with any blocks
#'
#' @inheritParams application_vgg16
#' @param blocks Numbers of building blocks of the four dense blocks
#'   (`c(6, 12, 24, 16)` is DenseNet121).
#' @return A Keras model.
#' @export
application_densenet <- function(blocks, include_top = TRUE, weights = "imagenet", input_tensor = NULL,
                                 input_shape = NULL, pooling = NULL, classes = 1000) {
  blocks <- check_whole(blocks, "application_densenet", "blocks", len = 4L)
  std <- list(densenet121 = c(6, 12, 24, 16), densenet169 = c(6, 12, 32, 32), densenet201 = c(6, 12, 48, 32))
  name <- names(std)[vapply(std, function(b) identical(as.integer(b), blocks), TRUE)]
  if (!length(name)) {
    if (identical(weights, "imagenet"))
      stop("application_densenet(): weights = \"imagenet\" exist only for the blocks of DenseNet121/169/201; ",
           "use weights = NULL or a weights file", call. = FALSE)
    name <- "densenet"
  }
  densenet("application_densenet", blocks, include_top, weights, input_tensor, input_shape, pooling, classes, name)
}
