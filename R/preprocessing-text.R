# Text preprocessing (keras 2.2.5's keras_preprocessing/text.py), plain R.

kn_text_filters <- "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n"

kn_check_string <- function(x, arg, fn) {
  if (!is.character(x) || length(x) != 1L || is.na(x))
    stop(fn, "(): `", arg, "` must be a single string", call. = FALSE)
}

kn_check_flag <- function(x, arg, fn) {
  if (!is.logical(x) || length(x) != 1L || is.na(x))
    stop(fn, "(): `", arg, "` must be TRUE or FALSE", call. = FALSE)
}

kn_check_texts <- function(texts, fn) {
  if (is.list(texts) && all(vapply(texts, is.character, logical(1)))) return(texts)
  if (!is.character(texts))
    stop(fn, "(): `texts` must be a character vector (or a list of character vectors), got ",
         class(texts)[1], call. = FALSE)
  if (anyNA(texts)) stop(fn, "(): `texts` contains NA (text ", which(is.na(texts))[1], ")",
                         call. = FALSE)
  texts
}

# Word sequences of several texts at once: a list of character vectors.
kn_split_texts <- function(texts, filters, lower, split) {
  if (lower) texts <- tolower(texts)
  for (ch in strsplit(filters, "", fixed = TRUE)[[1]]) texts <- gsub(ch, split, texts, fixed = TRUE)
  lapply(strsplit(texts, split, fixed = TRUE), function(s) s[nzchar(s)])
}

#' Convert text to a sequence of words (or tokens)
#'
#' As Keras: the text is lower-cased (if `lower`), every character of
#' `filters` is replaced by `split`, and the text is split on `split`; empty
#' tokens are dropped.
#'
#' @param text A single string.
#' @param filters Characters to filter out. The default (Keras's) is every
#'   ASCII punctuation character except the apostrophe, plus tab and line
#'   feed.
#' @param lower Whether to convert the text to lower case.
#' @param split Word separator.
#' @return A character vector of words.
#' @examples
#' text_to_word_sequence("The cat, the HAT!")
#' @export
text_to_word_sequence <- function(text, filters = kn_text_filters, lower = TRUE, split = " ") {
  kn_check_string(text, "text", "text_to_word_sequence")
  kn_check_string(filters, "filters", "text_to_word_sequence")
  kn_check_flag(lower, "lower", "text_to_word_sequence")
  kn_check_string(split, "split", "text_to_word_sequence")
  if (!nzchar(split)) stop("text_to_word_sequence(): `split` must not be empty", call. = FALSE)
  kn_split_texts(text, filters, lower, split)[[1]]
}

# A stable 31-bit string hash (polynomial over the UTF-8 bytes, modulo 2^31 - 1).
kn_string_hash <- function(words) {
  vapply(words, function(w) {
    h <- 0
    for (b in as.integer(charToRaw(enc2utf8(w)))) h <- (h * 257 + b) %% 2147483647
    h
  }, numeric(1), USE.NAMES = FALSE)
}

#' Converts a text to a sequence of indexes in a fixed-size hashing space
#'
#' Each word `w` becomes `hash(w) %% (n - 1) + 1`, as in Keras, so indexes lie
#' in `1..(n - 1)` and 0 is left for padding. Two words may share an index.
#'
#' `hash_function = NULL` uses a stable hash of the word's UTF-8 bytes
#' (polynomial, modulo \eqn{2^{31}-1}); the same word always gets the same
#' index, across sessions. (Keras's default is Python's `hash`, which is
#' randomised per Python process, so no fixed values can be matched.)
#' `"md5"` is Keras's stable choice: the word's MD5 digest read as a 128-bit
#' integer, `int(md5(w).hexdigest(), 16) %% (n - 1) + 1`, so the indexes are
#' the ones Keras gives. A function taking a word and returning a non-negative
#' number may also be given.
#'
#' @inheritParams text_to_word_sequence
#' @param n Size of the hashing space (at least 2).
#' @param hash_function `NULL` (the stable hash above), `"md5"`, or a
#'   function of one word returning a non-negative whole number.
#' @return An integer vector of word indexes (1 to `n - 1`).
#' @examples
#' text_hashing_trick("the cat sat on the mat", n = 10)
#' @export
text_hashing_trick <- function(text, n, hash_function = NULL, filters = kn_text_filters,
                               lower = TRUE, split = " ") {
  if (!is.numeric(n) || length(n) != 1L || is.na(n) || n < 2 || n != round(n))
    stop("text_hashing_trick(): `n` must be a whole number >= 2, got ",
         paste(format(n), collapse = " "), call. = FALSE)
  if (!is.null(hash_function) && !is.function(hash_function) && !identical(hash_function, "md5"))
    stop("text_hashing_trick(): `hash_function` must be NULL, \"md5\" or a function, got ",
         paste(format(hash_function), collapse = " "), call. = FALSE)
  words <- text_to_word_sequence(text, filters, lower, split)
  if (identical(hash_function, "md5")) return(as.integer(cpp_md5_hash_index(words, n - 1)))
  h <- if (is.null(hash_function)) kn_string_hash(words) else
    vapply(words, function(w) as.numeric(hash_function(w)), numeric(1), USE.NAMES = FALSE)
  if (length(h) && (anyNA(h) || any(h < 0) || any(h != round(h))))
    stop("text_hashing_trick(): `hash_function` must return non-negative whole numbers",
         call. = FALSE)
  as.integer(h %% (n - 1) + 1)
}

#' One-hot encode a text into a list of word indexes in a vocabulary of size n
#'
#' `text_hashing_trick()` with the default hash (see there): each word becomes
#' an index in `1..(n - 1)`.
#'
#' @inheritParams text_hashing_trick
#' @return An integer vector of word indexes.
#' @examples
#' text_one_hot("The cat sat on the mat.", n = 20)
#' @export
text_one_hot <- function(text, n, filters = kn_text_filters, lower = TRUE, split = " ") {
  text_hashing_trick(text, n, hash_function = NULL, filters = filters, lower = lower,
                     split = split)
}

#' Text tokenization utility
#'
#' Vectorizes a text corpus by turning each text into a sequence of integers
#' (each integer the index of a word in a dictionary) or into a vector. As in
#' Keras 2.2, `fit_text_tokenizer()` builds `word_index` with words ordered by
#' decreasing count (ties in the order first seen), indexes starting at 1; an
#' `oov_token` takes index 1. Only the `num_words - 1` most frequent words are
#' kept by `texts_to_sequences()` and the matrix functions.
#'
#' The tokenizer is an environment (modified in place by
#' `fit_text_tokenizer()`) with fields `word_index`, `index_word`,
#' `word_counts`, `word_docs` (named lists), `index_docs` (named by index),
#' `document_count` and the arguments below.
#'
#' @param num_words `NULL` or the maximum number of words to keep (by
#'   frequency); words of index `>= num_words` are dropped.
#' @param filters Characters filtered out of the texts (default as in
#'   [text_to_word_sequence()]).
#' @param lower Whether to convert the texts to lower case.
#' @param split Word separator.
#' @param char_level If `TRUE`, every character is a token.
#' @param oov_token `NULL` or a token that replaces out-of-vocabulary words in
#'   `texts_to_sequences()`.
#' @return A tokenizer (class `text_tokenizer`).
#' @seealso [fit_text_tokenizer()], [texts_to_sequences()], [texts_to_matrix()]
#' @examples
#' tok <- text_tokenizer(num_words = 10)
#' fit_text_tokenizer(tok, c("The cat sat.", "The dog sat on the cat."))
#' tok$word_index
#' texts_to_sequences(tok, "the dog and the cat")
#' @export
text_tokenizer <- function(num_words = NULL, filters = kn_text_filters, lower = TRUE,
                           split = " ", char_level = FALSE, oov_token = NULL) {
  fn <- "text_tokenizer"
  if (!is.null(num_words) && (!is.numeric(num_words) || length(num_words) != 1L ||
                              is.na(num_words) || num_words < 1 || num_words != round(num_words)))
    stop(fn, "(): `num_words` must be NULL or a positive whole number", call. = FALSE)
  kn_check_string(filters, "filters", fn)
  kn_check_flag(lower, "lower", fn)
  kn_check_string(split, "split", fn)
  if (!nzchar(split)) stop(fn, "(): `split` must not be empty", call. = FALSE)
  kn_check_flag(char_level, "char_level", fn)
  if (!is.null(oov_token)) kn_check_string(oov_token, "oov_token", fn)
  tok <- new.env(parent = emptyenv())
  tok$num_words <- if (is.null(num_words)) NULL else as.integer(num_words)
  tok$filters <- filters
  tok$lower <- lower
  tok$split <- split
  tok$char_level <- char_level
  tok$oov_token <- oov_token
  tok$document_count <- 0L
  tok$word_counts <- stats::setNames(list(), character(0))
  tok$word_docs <- stats::setNames(list(), character(0))
  tok$word_index <- stats::setNames(list(), character(0))
  tok$index_word <- stats::setNames(list(), character(0))
  tok$index_docs <- stats::setNames(list(), character(0))
  class(tok) <- "text_tokenizer"
  tok
}

#' @export
print.text_tokenizer <- function(x, ...) {
  cat("<text_tokenizer> ", x$document_count, " documents, ", length(x$word_index), " words",
      if (!is.null(x$num_words)) paste0(", num_words = ", x$num_words), "\n", sep = "")
  invisible(x)
}

kn_check_tokenizer <- function(tok, fn) {
  if (!inherits(tok, "text_tokenizer"))
    stop(fn, "(): expected a tokenizer made by text_tokenizer(), got ", class(tok)[1],
         call. = FALSE)
}

# The token sequences of `texts` for tokenizer `tok` (list of character vectors).
kn_tokenize <- function(tok, texts, fn) {
  texts <- kn_check_texts(texts, fn)
  if (is.list(texts)) return(lapply(texts, function(t) if (tok$lower) tolower(t) else t))
  if (tok$char_level) {
    if (tok$lower) texts <- tolower(texts)
    return(strsplit(texts, "", fixed = TRUE))
  }
  kn_split_texts(texts, tok$filters, tok$lower, tok$split)
}

#' Update tokenizer internal vocabulary based on a list of texts
#'
#' Counts the words of `x` (adding to earlier fits) and rebuilds
#' `word_index`, as Keras's `fit_on_texts()`. The tokenizer is modified in
#' place.
#'
#' @param object A tokenizer from [text_tokenizer()].
#' @param x A character vector of texts, or a list of character vectors
#'   (texts already split into tokens).
#' @return The tokenizer, invisibly.
#' @examples
#' tok <- text_tokenizer()
#' fit_text_tokenizer(tok, c("a b b", "b c"))
#' unlist(tok$word_index)
#' @export
fit_text_tokenizer <- function(object, x) {
  kn_check_tokenizer(object, "fit_text_tokenizer")
  seqs <- kn_tokenize(object, x, "fit_text_tokenizer")
  old_counts <- unlist(object$word_counts)
  old_docs <- unlist(object$word_docs)
  words <- unique(c(names(old_counts), unlist(seqs)))
  counts <- tabulate(match(unlist(seqs), words), length(words))
  docs <- tabulate(match(unlist(lapply(seqs, unique)), words), length(words))
  counts[seq_along(old_counts)] <- counts[seq_along(old_counts)] + old_counts
  pos <- match(names(old_docs), words)
  docs[pos] <- docs[pos] + old_docs
  names(counts) <- names(docs) <- words
  object$document_count <- object$document_count + length(seqs)
  object$word_counts <- as.list(counts)
  object$word_docs <- as.list(docs[docs > 0])
  # Stable sort: ties keep their first-seen order, as Python's sort does.
  voc <- c(object$oov_token, words[order(-counts, method = "radix")])
  idx <- seq_along(voc)
  # A repeated key (oov_token also a word) keeps its last index, like dict(zip()).
  last <- !duplicated(voc, fromLast = TRUE)
  wi <- stats::setNames(idx[last], voc[last])
  wi <- wi[order(match(names(wi), voc))]
  object$word_index <- as.list(wi)
  object$index_word <- stats::setNames(as.list(names(wi)), as.character(wi))
  d <- unlist(object$word_docs)
  object$index_docs <- stats::setNames(as.list(unname(d)), as.character(wi[names(d)]))
  invisible(object)
}

# Integer sequences of token lists, with Keras's num_words / oov rules.
kn_sequences <- function(tok, seqs) {
  wi <- unlist(tok$word_index)
  oov <- if (is.null(tok$oov_token)) NA_integer_ else unname(wi[tok$oov_token])
  nw <- tok$num_words
  # one lookup for all tokens of all texts, then split back per text
  i <- unname(wi[match(unlist(seqs), names(wi))])
  if (!is.null(nw)) i[!is.na(i) & i >= nw] <- oov
  i[is.na(i)] <- oov
  text_id <- rep.int(seq_along(seqs), lengths(seqs))
  keep <- !is.na(i)
  out <- split(as.integer(i[keep]), factor(text_id[keep], levels = seq_along(seqs)))
  unname(out)
}

#' Transform each text in texts to a sequence of integers
#'
#' Only words known to the tokenizer are kept, and only those of index below
#' `num_words` (when set); with an `oov_token`, the others become its index.
#'
#' @param tokenizer A fitted tokenizer from [text_tokenizer()].
#' @param texts A character vector of texts (or a list of token vectors).
#' @return A list of integer vectors, one per text.
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(), c("a b b", "b c"))
#' texts_to_sequences(tok, c("b a", "c d b"))
#' @export
texts_to_sequences <- function(tokenizer, texts) {
  kn_check_tokenizer(tokenizer, "texts_to_sequences")
  kn_sequences(tokenizer, kn_tokenize(tokenizer, texts, "texts_to_sequences"))
}

#' Transforms each text in texts to a sequence of integers, one at a time
#'
#' Returns a generator: a function that, at each call, returns the sequence of
#' the next text (as [texts_to_sequences()] does) and `NULL` after the last.
#'
#' @inheritParams texts_to_sequences
#' @return A function of no arguments.
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(), c("a b b", "b c"))
#' gen <- texts_to_sequences_generator(tok, c("b a", "c"))
#' gen(); gen(); gen()
#' @export
texts_to_sequences_generator <- function(tokenizer, texts) {
  kn_check_tokenizer(tokenizer, "texts_to_sequences_generator")
  texts <- kn_check_texts(texts, "texts_to_sequences_generator")
  i <- 0L
  function() {
    if (i >= length(texts)) return(NULL)
    i <<- i + 1L
    texts_to_sequences(tokenizer, texts[i])[[1]]
  }
}

#' Convert a list of sequences into a matrix
#'
#' Row `i` describes sequence `i`; column `j + 1` holds word index `j`
#' (column 1, index 0, stays 0). The matrix has `num_words` columns, or
#' `length(word_index) + 1` when `num_words` is `NULL`. Modes, as in Keras:
#' `"binary"` (1 if the word occurs), `"count"`, `"freq"` (count / sequence
#' length) and `"tfidf"`: \eqn{(1 + \log c) \log(1 + D / (1 + d_j))} with
#' `c` the count, `D` the tokenizer's `document_count` and \eqn{d_j} the
#' number of fitted documents containing word `j`.
#'
#' @inheritParams texts_to_sequences
#' @param sequences A list of integer vectors.
#' @param mode One of "binary", "count", "tfidf", "freq".
#' @return A numeric matrix.
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(), c("a b b", "b c"))
#' sequences_to_matrix(tok, list(c(1, 1, 2), 3), mode = "count")
#' @export
sequences_to_matrix <- function(tokenizer, sequences, mode = c("binary", "count", "tfidf", "freq")) {
  kn_check_tokenizer(tokenizer, "sequences_to_matrix")
  if (!is.character(mode) || !length(mode) || !mode[1] %in% c("binary", "count", "tfidf", "freq"))
    stop("sequences_to_matrix(): unknown `mode` ", paste(format(mode), collapse = " "),
         "; use \"binary\", \"count\", \"tfidf\" or \"freq\"", call. = FALSE)
  mode <- mode[1]
  if (is.matrix(sequences)) sequences <- lapply(seq_len(nrow(sequences)), function(i) sequences[i, ])
  if (!is.list(sequences))
    stop("sequences_to_matrix(): `sequences` must be a list of integer vectors", call. = FALSE)
  nw <- tokenizer$num_words
  if (is.null(nw)) {
    if (!length(tokenizer$word_index))
      stop("sequences_to_matrix(): specify a dimension (`num_words` in text_tokenizer()), ",
           "or fit the tokenizer on some text first", call. = FALSE)
    nw <- length(tokenizer$word_index) + 1L
  }
  if (mode == "tfidf" && !tokenizer$document_count)
    stop("sequences_to_matrix(): fit the tokenizer on some texts before using mode \"tfidf\"",
         call. = FALSE)
  # idf of word index j in idf[j + 1]
  idf <- NULL
  if (mode == "tfidf") {
    idocs <- unlist(tokenizer$index_docs)
    dj <- numeric(nw)
    j <- as.integer(names(idocs))
    dj[j[j < nw] + 1] <- idocs[j < nw]
    idf <- log(1 + tokenizer$document_count / (1 + dj))
  }
  x <- matrix(0, length(sequences), nw)
  for (i in seq_along(sequences)) {
    s <- sequences[[i]]
    if (!length(s)) next
    if (!is.numeric(s) || anyNA(s) || any(s < 0) || any(s != round(s)))
      stop("sequences_to_matrix(): sequence ", i, " must hold non-negative whole numbers",
           call. = FALSE)
    kept <- s[s < nw]
    if (!length(kept)) next
    cnt <- tabulate(kept + 1, nw)
    j <- which(cnt > 0)
    x[i, j] <- switch(mode,
      binary = 1,
      count = cnt[j],
      freq = cnt[j] / length(s),
      tfidf = (1 + log(cnt[j])) * idf[j])
  }
  x
}

#' Convert a list of texts to a matrix
#'
#' `sequences_to_matrix(tokenizer, texts_to_sequences(tokenizer, texts), mode)`.
#'
#' @inheritParams texts_to_sequences
#' @inheritParams sequences_to_matrix
#' @return A numeric matrix (see [sequences_to_matrix()]).
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(), c("a b b", "b c"))
#' texts_to_matrix(tok, c("b b a", "c"), mode = "tfidf")
#' @export
texts_to_matrix <- function(tokenizer, texts, mode = c("binary", "count", "tfidf", "freq")) {
  kn_check_tokenizer(tokenizer, "texts_to_matrix")
  sequences_to_matrix(tokenizer, texts_to_sequences(tokenizer, texts), mode)
}

#' Save a text tokenizer to a file, or load it
#'
#' The tokenizer (its settings and fitted vocabulary) is stored with
#' [saveRDS()].
#'
#' @param object A tokenizer from [text_tokenizer()].
#' @param filename File name.
#' @return `save_text_tokenizer()` returns `object` invisibly;
#'   `load_text_tokenizer()` returns the tokenizer.
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(), c("a b b", "b c"))
#' f <- tempfile(fileext = ".rds")
#' save_text_tokenizer(tok, f)
#' identical(load_text_tokenizer(f)$word_index, tok$word_index)
#' @export
save_text_tokenizer <- function(object, filename) {
  kn_check_tokenizer(object, "save_text_tokenizer")
  kn_check_string(filename, "filename", "save_text_tokenizer")
  saveRDS(list(kerasnative_text_tokenizer = 1L, fields = as.list.environment(object, all.names = TRUE)),
          filename)
  invisible(object)
}

#' @rdname save_text_tokenizer
#' @export
load_text_tokenizer <- function(filename) {
  kn_check_string(filename, "filename", "load_text_tokenizer")
  if (!file.exists(filename))
    stop("load_text_tokenizer(): file '", filename, "' does not exist", call. = FALSE)
  x <- tryCatch(readRDS(filename), error = function(e)
    stop("load_text_tokenizer(): '", filename, "' is not an RDS file: ", conditionMessage(e),
         call. = FALSE))
  if (!is.list(x) || !identical(x$kerasnative_text_tokenizer, 1L) || !is.list(x$fields))
    stop("load_text_tokenizer(): '", filename, "' does not hold a tokenizer saved by ",
         "save_text_tokenizer()", call. = FALSE)
  tok <- list2env(x$fields, envir = new.env(parent = emptyenv()))
  class(tok) <- "text_tokenizer"
  tok
}
