# Sequence preprocessing (keras 2.2.5's keras.preprocessing.sequence), plain R.

#' Pads sequences to the same length
#'
#' Transforms a list of `num_samples` integer sequences into a matrix of shape
#' `(num_samples, maxlen)`. Sequences shorter than `maxlen` are padded with
#' `value`; longer ones are truncated. Where padding and truncation happen is
#' set by `padding` and `truncating` (`"pre"`: at the beginning, `"post"`: at
#' the end), as in Keras.
#'
#' @param sequences List of sequences (each a vector of integers), or a matrix
#'   whose rows are the sequences.
#' @param maxlen Maximum length of all sequences; `NULL` uses the length of
#'   the longest sequence.
#' @param dtype Type of the output: `"int32"` gives an integer matrix,
#'   `"int64"`, `"float16"`, `"float32"`, `"float64"` a double matrix. Values
#'   are converted as numpy does (toward zero for the integer types).
#' @param padding `"pre"` or `"post"`: pad before or after each sequence.
#' @param truncating `"pre"` or `"post"`: remove values from sequences longer
#'   than `maxlen` at the beginning or at the end.
#' @param value Padding value.
#' @return A matrix of shape `(length(sequences), maxlen)`.
#' @examples
#' pad_sequences(list(c(1, 2, 3), 4, c(5, 6)), maxlen = 2)
#' @export
pad_sequences <- function(sequences, maxlen = NULL, dtype = "int32", padding = "pre",
                          truncating = "pre", value = 0) {
  if (is.matrix(sequences)) {
    sequences <- lapply(seq_len(nrow(sequences)), function(i) sequences[i, ])
  }
  if (!is.list(sequences))
    stop("pad_sequences(): `sequences` must be a list of numeric vectors (or a matrix), got ",
         class(sequences)[1], call. = FALSE)
  for (i in seq_along(sequences)) {
    s <- sequences[[i]]
    if (is.list(s)) s <- unlist(s)
    if (!is.null(s) && !(is.numeric(s) || is.logical(s)))
      stop("pad_sequences(): sequence ", i, " is not numeric (class ", class(s)[1], ")",
           call. = FALSE)
    sequences[[i]] <- if (is.null(s)) numeric(0) else as.numeric(s)
  }
  if (!is.character(padding) || length(padding) != 1 || !padding %in% c("pre", "post"))
    stop("pad_sequences(): `padding` must be \"pre\" or \"post\", got ",
         paste(format(padding), collapse = " "), call. = FALSE)
  if (!is.character(truncating) || length(truncating) != 1 || !truncating %in% c("pre", "post"))
    stop("pad_sequences(): `truncating` must be \"pre\" or \"post\", got ",
         paste(format(truncating), collapse = " "), call. = FALSE)
  int_types <- "int32"
  dbl_types <- c("float32", "float64", "float16", "int64")
  if (!is.character(dtype) || length(dtype) != 1 || !dtype %in% c(int_types, dbl_types))
    stop("pad_sequences(): unsupported `dtype` ", paste(format(dtype), collapse = " "),
         "; use one of ", paste(c(int_types, dbl_types), collapse = ", "), call. = FALSE)
  if (!is.numeric(value) || length(value) != 1 || is.na(value))
    stop("pad_sequences(): `value` must be a single number", call. = FALSE)
  lengths <- vapply(sequences, length, integer(1))
  if (is.null(maxlen)) {
    maxlen <- if (length(lengths)) max(lengths) else 0L
  } else if (!is.numeric(maxlen) || length(maxlen) != 1 || is.na(maxlen) || maxlen < 1 ||
             maxlen != round(maxlen)) {
    stop("pad_sequences(): `maxlen` must be NULL or a positive integer", call. = FALSE)
  }
  maxlen <- as.integer(maxlen)
  is_int <- dtype %in% c("int32", "int64")
  cast <- function(v) if (is_int) trunc(v) else v
  x <- matrix(cast(value), nrow = length(sequences), ncol = maxlen)
  for (i in seq_along(sequences)) {
    s <- sequences[[i]]
    n <- length(s)
    if (n == 0) next
    if (n > maxlen) s <- if (truncating == "pre") s[(n - maxlen + 1):n] else s[seq_len(maxlen)]
    k <- length(s)
    cols <- if (padding == "post") seq_len(k) else (maxlen - k + 1):maxlen
    x[i, cols] <- cast(s)
  }
  if (dtype %in% int_types) storage.mode(x) <- "integer"
  x
}
