# Text datasets (IMDB, Reuters), read from the Keras cache only (no downloads).
#
# Keras stores the reviews/newswires in imdb.npz / reuters.npz as numpy
# *object* arrays (pickled Python lists). kerasnative's npz reader reads
# numeric arrays only and does not unpickle (unpickling safely and fast enough
# for 25,000 x ~240 Python ints needs a pickle reader we do not have), so
# those files give a clear error. The word-index JSON files are read fully.

kn_text_dataset_path <- function(path, fn) {
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path))
    stop(fn, "(): `path` must be a single non-empty file name", call. = FALSE)
  file <- if (is_absolute_path(path)) path.expand(path) else file.path(keras_datasets_dir(), path)
  if (!file.exists(file))
    stop(fn, "(): '", file, "' not found. kerasnative does not download it: put Keras's '",
         basename(path), "' (from ", kn_default_datasets_url, basename(path),
         ") there, or give an absolute `path`", call. = FALSE)
  file
}

kn_read_sequence_npz <- function(file, members, fn) {
  tryCatch(read_npz(file, members), error = function(e) {
    msg <- conditionMessage(e)
    if (grepl("dtype '[|<>=]?O", msg))
      stop(fn, "(): '", file, "' stores its sequences as numpy object arrays (pickled Python ",
           "lists), which kerasnative cannot read (its npz reader reads numeric arrays only ",
           "and does not unpickle). Reader message: ", msg, call. = FALSE)
    stop(fn, "(): ", msg, call. = FALSE)
  })
}

kn_check_opt_int <- function(x, arg, fn, min = 0) {
  if (is.null(x)) return(NULL)
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < min || x != round(x))
    stop(fn, "(): `", arg, "` must be NULL or a whole number >= ", min, call. = FALSE)
  as.integer(x)
}

# Keras's load_data() steps on `splits` (a list of list(x, y), x a list of
# integer vectors): shuffle each split (R's RNG seeded once with `seed`; the
# order differs from numpy's), prepend start_char and shift by index_from,
# drop sequences of length >= maxlen, default num_words to the largest index
# over all splits (Keras's rule: that word then counts as out of range), and
# replace words outside [skip_top, num_words) by oov_char (or drop them when
# oov_char is NULL). Returns the processed splits.
kn_prepare_text_sequences <- function(splits, num_words, skip_top, maxlen, seed,
                                      start_char, oov_char, index_from, fn) {
  if (!is.null(seed)) {
    old <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
    on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else
      assign(".Random.seed", old, envir = globalenv()), add = TRUE)
    set.seed(seed)
  }
  index_from <- if (is.null(index_from)) 0L else index_from
  splits <- lapply(splits, function(s) {
    if (length(s$x) != length(s$y))
      stop(fn, "(): ", length(s$x), " sequences but ", length(s$y), " labels", call. = FALSE)
    perm <- if (is.null(seed)) seq_along(s$x) else sample.int(length(s$x))
    x <- lapply(s$x[perm], function(v) c(start_char, as.integer(v) + index_from))
    y <- s$y[perm]
    if (!is.null(maxlen)) {
      keep <- lengths(x) < maxlen
      x <- x[keep]
      y <- y[keep]
    }
    list(x = x, y = y)
  })
  if (is.null(num_words)) num_words <- max(0L, unlist(lapply(splits, `[[`, "x")))
  lapply(splits, function(s) {
    x <- lapply(s$x, function(v) {
      out <- v < skip_top | v >= num_words
      if (is.null(oov_char)) v[!out] else replace(v, out, oov_char)
    })
    list(x = x, y = as.integer(s$y))
  })
}

#' IMDB movie review sentiment classification
#'
#' 25,000 training and 25,000 test movie reviews, each a sequence of word
#' indexes (words ranked by frequency), labelled positive (1) or negative
#' (0), as in Keras. The file is read from the Keras dataset cache,
#' `file.path(Sys.getenv("KERAS_HOME", "~/.keras"), "datasets", path)`, or from
#' an absolute `path`; kerasnative never downloads it, and an absent file is
#' an error naming the path.
#'
#' Limitation: Keras's `imdb.npz` stores the reviews as numpy object arrays
#' (pickled Python lists), which kerasnative's npz reader cannot read; such
#' a file gives an error saying so. The Keras steps that follow the reading
#' are implemented (in this order): shuffling with `seed` (R's generator, so
#' the order differs from Keras's numpy shuffle), `start_char` prepended and
#' indexes shifted by `index_from`, sequences of length `>= maxlen` dropped
#' (within each split), and words of index `< skip_top` or `>= num_words`
#' replaced by `oov_char` (dropped when `oov_char` is `NULL`); when
#' `num_words` is `NULL` it is the largest index found, as in Keras (so that
#' index itself counts as out of range).
#'
#' @param path File name in the cache directory, or an absolute path.
#' @param num_words `NULL` or the number of most frequent words to keep.
#' @param skip_top Number of most frequent words to replace by `oov_char`.
#' @param maxlen `NULL` or the length from which sequences are dropped.
#' @param seed Seed of the shuffling.
#' @param start_char Index marking the start of a sequence (`NULL`: none).
#' @param oov_char Index replacing dropped words (`NULL`: remove them).
#' @param index_from Offset added to the word indexes.
#' @return `list(train = list(x, y), test = list(x, y))` with `x` a list of
#'   integer vectors and `y` an integer vector of labels.
#' @seealso [dataset_imdb_word_index()]
#' @examples
#' imdb <- tryCatch(dataset_imdb(num_words = 1000), error = function(e) conditionMessage(e))
#' str(imdb, max.level = 1)
#' @export
dataset_imdb <- function(path = "imdb.npz", num_words = NULL, skip_top = 0L, maxlen = NULL,
                         seed = 113L, start_char = 1L, oov_char = 2L, index_from = 3L) {
  fn <- "dataset_imdb"
  args <- list(num_words = kn_check_opt_int(num_words, "num_words", fn, 1),
               skip_top = kn_check_opt_int(skip_top, "skip_top", fn),
               maxlen = kn_check_opt_int(maxlen, "maxlen", fn, 1),
               seed = kn_check_opt_int(seed, "seed", fn),
               start_char = kn_check_opt_int(start_char, "start_char", fn),
               oov_char = kn_check_opt_int(oov_char, "oov_char", fn),
               index_from = kn_check_opt_int(index_from, "index_from", fn))
  if (is.null(args$skip_top)) args$skip_top <- 0L
  file <- kn_text_dataset_path(path, fn)
  a <- kn_read_sequence_npz(file, c("x_train", "y_train", "x_test", "y_test"), fn)
  d <- do.call(kn_prepare_text_sequences,
               c(list(list(list(x = a$x_train, y = a$y_train), list(x = a$x_test, y = a$y_test))),
                 args, fn = fn))
  list(train = d[[1]], test = d[[2]])
}

#' Reuters newswire topics classification
#'
#' 11,228 newswires from Reuters, labelled over 46 topics, as sequences of
#' word indexes, as in Keras. Read like [dataset_imdb()] (same cache, same
#' limitation for Keras's pickled `reuters.npz`, same processing steps); after
#' shuffling and filtering, the first `(1 - test_split)` of the newswires form
#' the training set.
#'
#' @inheritParams dataset_imdb
#' @param test_split Fraction of the data used as the test set.
#' @return `list(train = list(x, y), test = list(x, y))`.
#' @seealso [dataset_reuters_word_index()]
#' @examples
#' reuters <- tryCatch(dataset_reuters(num_words = 1000), error = function(e) conditionMessage(e))
#' str(reuters, max.level = 1)
#' @export
dataset_reuters <- function(path = "reuters.npz", num_words = NULL, skip_top = 0L, maxlen = NULL,
                            test_split = 0.2, seed = 113L, start_char = 1L, oov_char = 2L,
                            index_from = 3L) {
  fn <- "dataset_reuters"
  if (!is.numeric(test_split) || length(test_split) != 1L || is.na(test_split) ||
      test_split < 0 || test_split > 1)
    stop(fn, "(): `test_split` must be a number between 0 and 1", call. = FALSE)
  args <- list(num_words = kn_check_opt_int(num_words, "num_words", fn, 1),
               skip_top = kn_check_opt_int(skip_top, "skip_top", fn),
               maxlen = kn_check_opt_int(maxlen, "maxlen", fn, 1),
               seed = kn_check_opt_int(seed, "seed", fn),
               start_char = kn_check_opt_int(start_char, "start_char", fn),
               oov_char = kn_check_opt_int(oov_char, "oov_char", fn),
               index_from = kn_check_opt_int(index_from, "index_from", fn))
  if (is.null(args$skip_top)) args$skip_top <- 0L
  file <- kn_text_dataset_path(path, fn)
  a <- kn_read_sequence_npz(file, c("x", "y"), fn)
  d <- do.call(kn_prepare_text_sequences, c(list(list(list(x = a$x, y = a$y))), args, fn = fn))[[1]]
  n_train <- as.integer(length(d$x) * (1 - test_split))
  tr <- seq_len(n_train)
  list(train = list(x = d$x[tr], y = d$y[tr]),
       test = list(x = d$x[-tr], y = d$y[-tr]))
}

kn_read_word_index <- function(path, fn) {
  file <- kn_text_dataset_path(path, fn)
  wi <- tryCatch(jsonlite::fromJSON(file, simplifyVector = FALSE), error = function(e)
    stop(fn, "(): '", file, "' is not valid JSON: ", conditionMessage(e), call. = FALSE))
  ok <- is.list(wi) && !is.null(names(wi)) &&
    all(vapply(wi, function(v) is.numeric(v) && length(v) == 1L, logical(1)))
  if (!ok)
    stop(fn, "(): '", file, "' must hold a JSON object mapping words to integer indexes",
         call. = FALSE)
  lapply(wi, as.integer)
}

#' Word index of the IMDB and Reuters datasets
#'
#' Reads Keras's word-index JSON file (word -> index, the index of a word in
#' the datasets before `index_from` is added) from the Keras dataset cache
#' or an absolute `path`; never downloads.
#'
#' @param path File name in the cache directory, or an absolute path.
#' @return A named list of integer indexes.
#' @examples
#' f <- tempfile(fileext = ".json")
#' writeLines('{"the": 1, "and": 2}', f)
#' dataset_imdb_word_index(f)
#' @export
dataset_imdb_word_index <- function(path = "imdb_word_index.json") {
  kn_read_word_index(path, "dataset_imdb_word_index")
}

#' @rdname dataset_imdb_word_index
#' @export
dataset_reuters_word_index <- function(path = "reuters_word_index.json") {
  kn_read_word_index(path, "dataset_reuters_word_index")
}
