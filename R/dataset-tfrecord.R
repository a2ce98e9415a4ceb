# TFRecord sources and writers.

check_compression <- function(x, what = "compression_type", allow_auto = TRUE) {
  if (is.null(x) || (length(x) == 1 && is.na(x))) x <- ""
  if (!is.character(x) || length(x) != 1) stop("`", what, "` must be a string", call. = FALSE)
  ok <- c("", "none", "gzip", "zlib", if (allow_auto) "auto")
  if (!tolower(x) %in% ok)
    stop("`", what, "` must be one of ", paste0('"', c("", "GZIP", "ZLIB", if (allow_auto) "auto"), '"', collapse = ", "),
         ", not \"", x, "\"", call. = FALSE)
  if (x == "") "none" else tolower(x)
}

#' A dataset of the records of TFRecord files
#'
#' Each element is one record: a scalar string tensor holding the serialized
#' bytes (usually a `tf.train.Example`; parse it with
#' `tf$io$parse_single_example()` in [dataset_map()]). Every record's length
#' and data CRC are verified; a corrupt, truncated or wrongly compressed file
#' raises an error naming the file, the record index and its byte offset.
#'
#' @param filenames Character vector of file paths (read in order), or,
#'   inside [dataset_interleave()]'s `map_func`, its argument.
#' @param compression_type `"auto"` (detect GZIP/ZLIB/none from the file's
#'   first bytes, then its extension), `""` (none), `"GZIP"` or `"ZLIB"`.
#' @param buffer_size Ignored (the reader buffers internally).
#' @param num_parallel_reads With several files, read this many at once,
#'   interleaving their records one by one (deterministic order).
#' @return A dataset of scalar strings.
#' @examples
#' path <- tempfile(fileext = ".tfrecord")
#' write_tfrecord(list(label = 1:3), path)
#' ds <- tfrecord_dataset(path)
#' ds
#' length(iterate(ds))
#' @export
tfrecord_dataset <- function(filenames, compression_type = "auto", buffer_size = NULL,
                             num_parallel_reads = NULL) {
  comp <- check_compression(compression_type)
  structure <- tspec("string", integer(0))
  if (is_sym(filenames)) {
    tr <- trace_state$interleave
    if (is.null(tr) || !identical(filenames$trace, tr) || tensor_kind(filenames) != "data")
      stop("tfrecord_dataset(): a tensor can only be given as the argument of dataset_interleave()'s map_func",
           call. = FALSE)
    if (tensor_dtype(filenames) != "string") stop("tfrecord_dataset(): file names must be strings", call. = FALSE)
    return(new_dataset(list(op = "tfrecord", file_arg = filenames$index, compression = comp), structure,
                       "TFRecordDataset"))
  }
  if (is_dataset(filenames)) {
    return(dataset_interleave(filenames, function(f) tfrecord_dataset(f, compression_type),
                              cycle_length = num_parallel_reads %||% 1))
  }
  if (!is.character(filenames) || !length(filenames) || anyNA(filenames))
    stop("tfrecord_dataset(): `filenames` must be a character vector of paths", call. = FALSE)
  files <- path.expand(filenames)
  missing <- files[!file.exists(files)]
  if (length(missing)) stop("tfrecord_dataset(): file not found: '", missing[1], "'", call. = FALSE)
  files <- normalizePath(files)
  npr <- if (is.null(num_parallel_reads)) 1L else count_int(num_parallel_reads, "num_parallel_reads", min = -1)
  if (npr < 0) npr <- length(files)
  if (npr > 1 && length(files) > 1) {
    spec <- list(op = "interleave", input = list(op = "strings", values = I(files)),
                 inner = list(op = "tfrecord", file_arg = 0L, compression = comp),
                 cycle_length = npr, block_length = 1L)
    return(new_dataset(spec, structure, "ParallelInterleaveDataset"))
  }
  new_dataset(list(op = "tfrecord", files = I(files), compression = comp), structure, "TFRecordDataset")
}

# ---------------------------------------------------------------- writing

# One feature of write_tfrecord(): the array as it is (R order) + kind code;
# the engine reads record i's values in row-major order straight from it and
# checks the values (NA, 0..255 for bytes) while encoding.
feature_column <- function(name, x, n, as_bytes) {
  if (!is.atomic(x) || is.null(x))
    stop("write_tfrecord(): feature '", name, "' must be an integer, double, logical, character or raw ",
         "array, not ", class(x)[1], call. = FALSE)
  if (is.factor(x)) x <- array(as.character(x), dim(x) %||% length(x))
  d <- dim(x)
  if (is.null(d)) d <- length(x)
  if (d[1] != n)
    stop(sprintf("write_tfrecord(): feature '%s' has %d records (first dimension) but '%s' has %d",
                 name, d[1], "the first feature", n), call. = FALSE)
  col <- function(kind, values) list(name = name, kind = kind, values = values, dims = as.numeric(d))
  if (name %in% as_bytes) {
    if (!is.raw(x) && !is.numeric(x))
      stop("write_tfrecord(): feature '", name, "' is listed in `as_bytes` but its values are not ",
           "integers in 0..255", call. = FALSE)
    return(col(3L, x))
  }
  if (is.raw(x)) return(col(3L, x))
  if (is.character(x)) return(col(2L, enc2utf8(as.vector(x))))
  if (is.integer(x) || is.logical(x)) return(col(0L, x))
  if (is.double(x)) return(col(1L, x))
  stop("write_tfrecord(): feature '", name, "' must be integer, double, logical, character or raw, not ",
       class(x)[1], call. = FALSE)
}

#' Write arrays to a TFRecord file of tf.train.Example records
#'
#' Record `i` holds slice `i` (along the first dimension) of every feature.
#' Integer and logical arrays become `int64_list`, double arrays
#' `float_list` (float32), character arrays `bytes_list` (one value per
#' string); each record's values are in row-major order (as NumPy's
#' `tostring()`, so an (N, 28, 28) array gives 784 values per record, row
#' by row). Raw arrays, and the numeric features named in `as_bytes` (values
#' 0..255), are written as one bytes value per record holding the row-major
#' uint8 bytes, like the `image_raw` feature of the Keras MNIST TFRecord
#' example (decode with `tf$io$decode_raw(x, tf$uint8)`). A list of vectors
#' (one per record) writes variable-length features. The file is written
#' under a temporary name and renamed when complete.
#'
#' @param data A named list (or data frame) of arrays/vectors with the same
#'   first dimension.
#' @param path Output file.
#' @param compression_type `""` (none), `"GZIP"`, `"ZLIB"` or `"auto"`
#'   (from the extension: `.gz` GZIP, `.zlib` ZLIB).
#' @param as_bytes Names of numeric features to write as raw uint8 bytes.
#' @return `path`, invisibly.
#' @examples
#' path <- tempfile(fileext = ".tfrecord")
#' images <- array(sample(0:255, 2 * 4 * 4, replace = TRUE), c(2, 4, 4))
#' write_tfrecord(list(image_raw = images, label = c(3L, 7L)), path, as_bytes = "image_raw")
#' ds <- tfrecord_dataset(path) %>% dataset_map(function(r) {
#'   f <- tf$io$parse_single_example(r, list(
#'     image_raw = tf$io$FixedLenFeature(shape(), tf$string),
#'     label = tf$io$FixedLenFeature(shape(), tf$int64)))
#'   list(tf$reshape(tf$io$decode_raw(f$image_raw, tf$uint8), shape(4, 4)), f$label)
#' })
#' el <- iter_next(as_iterator(ds))
#' all(el[[1]] == images[1, , ])
#' @export
write_tfrecord <- function(data, path, compression_type = "", as_bytes = NULL) {
  path <- check_string(path, "write_tfrecord", "path")
  if (is.data.frame(data)) data <- as.list(data)
  if (!is.list(data) || !length(data) || is.null(names(data)) || any(!nzchar(names(data))) ||
      anyDuplicated(names(data)))
    stop("write_tfrecord(): `data` must be a named list of arrays (unique names)", call. = FALSE)
  comp <- check_compression(compression_type)
  if (!is.null(as_bytes) && !all(as_bytes %in% names(data)))
    stop("write_tfrecord(): `as_bytes` names features not in `data`: ",
         paste(setdiff(as_bytes, names(data)), collapse = ", "), call. = FALSE)
  first <- data[[1]]
  n <- if (is.list(first) && !is.data.frame(first)) length(first) else n_samples(first)
  path <- path.expand(path)
  if (any(vapply(data, function(x) is.list(x), logical(1)))) {
    # variable-length features: one record at a time
    w <- tfrecord_writer(path, comp)
    ok <- FALSE
    on.exit(if (!ok) w$abort())
    for (i in seq_len(n)) {
      ex <- lapply(names(data), function(nm) {
        x <- data[[nm]]
        if (is.list(x)) return(x[[i]])
        if (is.null(dim(x))) return(x[i])
        array(take_rows(x, i), dim(x)[-1])
      })
      names(ex) <- names(data)
      w$write(ex, as_bytes = as_bytes)
    }
    w$close()
    ok <- TRUE
    return(invisible(path))
  }
  cols <- lapply(names(data), function(nm) feature_column(nm, data[[nm]], n, as_bytes))
  cpp_write_tfrecord(path, comp, cols, n)
  invisible(path)
}

#' Write TFRecord files record by record
#'
#' `tfrecord_writer()` opens a writer (under a temporary name, renamed to
#' `path` by `$close()`). `$write(example)` appends one `tf.train.Example`
#' built from a named list (integer/logical -> int64_list, double ->
#' float_list, character -> bytes_list, raw -> a single bytes value; arrays
#' in row-major order), or, given a raw vector, that record as it is.
#' `$close()` finishes the file; `$abort()` discards it.
#'
#' @param path Output file.
#' @param compression_type `""` (none), `"GZIP"`, `"ZLIB"` or `"auto"` (from the extension).
#' @return A writer object with methods `write(example, as_bytes = NULL)`,
#'   `close()` (returns the number of records) and `abort()`.
#' @examples
#' path <- tempfile(fileext = ".tfrecord.gz")
#' w <- tfrecord_writer(path, "GZIP")
#' w$write(list(x = c(1.5, 2), tag = "a", id = 1L))
#' w$write(list(x = c(3, 4), tag = "b", id = 2L))
#' w$close()
#' ds <- tfrecord_dataset(path) %>% dataset_map(function(r)
#'   tf$io$parse_single_example(r, list(x = tf$io$FixedLenFeature(shape(2), tf$float32),
#'                                      tag = tf$io$FixedLenFeature(shape(), tf$string))))
#' iterate(ds)
#' @export
tfrecord_writer <- function(path, compression_type = "") {
  path <- check_string(path, "tfrecord_writer", "path")
  comp <- check_compression(compression_type)
  path <- path.expand(path)
  ptr <- cpp_tfrecord_writer_new(path, comp)
  self <- new.env(parent = emptyenv())
  self$path <- path
  self$write <- function(example, as_bytes = NULL) {
    if (is.raw(example)) return(invisible(cpp_tfrecord_writer_write(ptr, list(), example)))
    if (!is.list(example) || is.null(names(example)) || any(!nzchar(names(example))))
      stop("$write(): `example` must be a named list of feature values (or a raw record)", call. = FALSE)
    cols <- lapply(names(example), function(nm) {
      x <- example[[nm]]
      if (!is.atomic(x) || is.null(x))
        stop("write_tfrecord(): feature '", nm, "' must be an integer, double, logical, character or raw ",
             "array, not ", class(x)[1], call. = FALSE)
      d <- dim(x)
      x1 <- if (is.null(d)) array(x, c(1, length(x))) else array(x, c(1, d))
      if (is.raw(x) && !(nm %in% as_bytes)) x1 <- array(x, c(1, length(x)))
      feature_column(nm, x1, 1, as_bytes)
    })
    invisible(cpp_tfrecord_writer_write(ptr, cols, NULL))
  }
  self$close <- function() invisible(cpp_tfrecord_writer_close(ptr))
  self$abort <- function() {
    cpp_tfrecord_writer_abort(ptr)
    invisible(NULL)
  }
  class(self) <- "kerasnative_tfrecord_writer"
  self
}

#' @export
print.kerasnative_tfrecord_writer <- function(x, ...) {
  cat("<TFRecord writer: ", x$path, ">\n", sep = "")
  invisible(x)
}

#' Read the Examples of a TFRecord file into R lists
#'
#' For inspection: every record parsed as a `tf.train.Example`, as a list
#' (one per record) of features `list(kind, values)` (kind `"int64_list"`,
#' `"float_list"` or `"bytes_list"`; bytes as a list of raw vectors). Use
#' [tfrecord_dataset()] for training.
#'
#' @param path A TFRecord file.
#' @param compression_type As for [tfrecord_dataset()].
#' @param max Maximum number of records (`NULL` = all).
#' @return A list of records.
#' @examples
#' path <- tempfile(fileext = ".tfrecord")
#' write_tfrecord(list(a = c(1L, 2L), b = c(0.5, 1)), path)
#' str(read_tfrecord_examples(path))
#' @export
read_tfrecord_examples <- function(path, compression_type = "auto", max = NULL) {
  path <- check_string(path, "read_tfrecord_examples", "path")
  comp <- check_compression(compression_type)
  max <- check_whole(max, "read_tfrecord_examples", "max", min = 0, max = 2^53, null_ok = TRUE)
  if (!file.exists(path)) stop("read_tfrecord_examples(): file not found: '", path, "'", call. = FALSE)
  tryCatch(cpp_tfrecord_read_examples(normalizePath(path), comp, if (is.null(max)) -1 else max),
           error = function(e) stop(conditionMessage(e), call. = FALSE))
}
