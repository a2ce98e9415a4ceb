# Skip-grams, sampling tables and time-series batches (keras 2.2.5's
# keras.preprocessing.sequence), plain R. Randomness uses R's RNG.

#' Generates a word rank-based probabilistic sampling table
#'
#' Entry `i` (for the word of rank `i - 1`, rank 0 counted as 1) is the
#' probability of keeping that word when sampling skip-grams, from Zipf's law
#' as in word2vec: `min(1, sqrt(f))` with `f = sampling_factor * inv_fq` and
#' `inv_fq = rank * (log(rank) + gamma) + 1/2 - 1 / (12 * rank)`,
#' `gamma = 0.577` (Keras's formula).
#'
#' @param size Number of possible words to sample.
#' @param sampling_factor The sampling factor in the word2vec formula.
#' @return A numeric vector of length `size`.
#' @examples
#' make_sampling_table(5)
#' @export
make_sampling_table <- function(size, sampling_factor = 1e-05) {
  size <- check_whole(size, "make_sampling_table", "size", min = 1)
  check_number(sampling_factor, "make_sampling_table", "sampling_factor", 0, min_open = TRUE)
  gamma <- 0.577
  rank <- c(1, seq_len(size - 1))  # numpy's arange(size) with rank[0] = 1
  inv_fq <- rank * (log(rank) + gamma) + 0.5 - 1 / (12 * rank)
  f <- sampling_factor * inv_fq
  pmin(1, f / sqrt(f))
}

#' Generates skipgram word pairs
#'
#' For each non-zero word `w[i]` of `sequence` (kept with probability
#' `sampling_table[w[i] + 1]` when a table is given), every non-zero word
#' within `window_size` positions makes a positive couple `c(w[i], w[j])`
#' (label 1). Then `floor(negative_samples * n_positive)` negative couples
#' pair the first words of the positives (shuffled) with random words in
#' `1..(vocabulary_size - 1)` (label 0). As Keras 2.2.5.
#'
#' @param sequence A word sequence (vector of integer word indexes; 0 is
#'   skipped).
#' @param vocabulary_size Maximum word index + 1.
#' @param window_size Half-width of the window of positive couples.
#' @param negative_samples Number of negative couples per positive one (>= 0).
#' @param shuffle Whether to shuffle the couples (and labels alike).
#' @param categorical If `TRUE`, labels are `c(0, 1)` (positive) / `c(1, 0)`
#'   (negative) instead of `1` / `0`.
#' @param sampling_table A vector of keep probabilities indexed by word index
#'   + 1 (see [make_sampling_table()]), or `NULL`.
#' @param seed Seed for the shuffle (the global RNG state is restored after).
#' @return `list(couples, labels)`: `couples` a list of `c(word, context)`
#'   integer pairs, `labels` an integer vector (a list of pairs when
#'   `categorical`).
#' @examples
#' skipgrams(c(1, 2, 3), vocabulary_size = 4, window_size = 1, shuffle = FALSE)
#' @export
skipgrams <- function(sequence, vocabulary_size, window_size = 4, negative_samples = 1,
                      shuffle = TRUE, categorical = FALSE, sampling_table = NULL, seed = NULL) {
  fn <- "skipgrams"
  if (!is.numeric(sequence) || anyNA(sequence) || any(sequence < 0) || any(sequence != round(sequence)))
    arg_fail(fn, "sequence", "a vector of non-negative word indexes", sequence)
  vocabulary_size <- check_whole(vocabulary_size, fn, "vocabulary_size", min = 2)
  window_size <- check_whole(window_size, fn, "window_size", min = 0)
  check_number(negative_samples, fn, "negative_samples", 0)
  check_flag(shuffle, fn, "shuffle")
  check_flag(categorical, fn, "categorical")
  seed <- check_whole(seed, fn, "seed", min = 0, null_ok = TRUE)
  if (!is.null(sampling_table)) {
    if (!is.numeric(sampling_table)) arg_fail(fn, "sampling_table", "a numeric vector", sampling_table)
    if (length(sequence) && max(sequence) >= length(sampling_table))
      stop(fn, "(): `sampling_table` has ", length(sampling_table), " entries but the sequence has word index ",
           max(sequence), call. = FALSE)
  }
  sequence <- as.integer(sequence)
  n <- length(sequence)
  first <- integer(0); second <- integer(0)
  for (i in seq_len(n)) {
    wi <- sequence[i]
    if (wi == 0L) next
    if (!is.null(sampling_table) && sampling_table[wi + 1L] < stats::runif(1)) next
    for (j in max(1L, i - window_size):min(n, i + window_size)) {
      if (j == i || sequence[j] == 0L) next
      first <- c(first, wi); second <- c(second, sequence[j])
    }
  }
  n_pos <- length(first)
  labels <- rep(1L, n_pos)
  n_neg <- floor(n_pos * negative_samples)
  if (n_neg > 0) {
    words <- first[sample.int(n_pos)]
    first <- c(first, words[(seq_len(n_neg) - 1L) %% n_pos + 1L])
    second <- c(second, sample.int(vocabulary_size - 1L, n_neg, replace = TRUE))
    labels <- c(labels, rep(0L, n_neg))
  }
  if (shuffle && length(first)) {
    if (!is.null(seed)) {
      old <- if (exists(".Random.seed", envir = globalenv())) get(".Random.seed", envir = globalenv())
      on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else
        assign(".Random.seed", old, envir = globalenv()))
      set.seed(seed)
    }
    perm <- sample.int(length(first))
    first <- first[perm]; second <- second[perm]; labels <- labels[perm]
  }
  couples <- lapply(seq_along(first), function(k) c(first[k], second[k]))
  if (categorical) labels <- lapply(labels, function(l) if (l == 1L) c(0L, 1L) else c(1L, 0L))
  list(couples = couples, labels = labels)
}

#' Utility function for generating batches of temporal data
#'
#' Keras 2.2.5's `TimeseriesGenerator`: batch `i` (0-based) uses the rows
#' `start_index + length + batch_size * stride * i` onwards in steps of
#' `stride` (up to `end_index`); each sample is `data` rows `row - length`
#' to `row - 1` taken every `sampling_rate` rows, with target `targets[row]`
#' (rows counted from 0 as in Keras). The result is a generator function for
#' [fit_generator()]: each call returns the next batch `list(x, y)`, cycling.
#' `length(gen)` is the number of batches and `gen[[i]]` is batch `i`
#' (1-based).
#'
#' @param data Vector, matrix or array whose first dimension is time.
#' @param targets Targets, with the same first dimension (length) as `data`.
#' @param length Length of the output sequences (in time steps of `data`).
#' @param sampling_rate Period between successive steps within a sample.
#' @param stride Period between successive output samples.
#' @param start_index,end_index First and last rows (0-based, as Keras) of
#'   `data` usable as targets' rows; `end_index = NULL`: the last row.
#' @param shuffle Whether batches draw random rows (with replacement, as
#'   Keras) instead of taking them in order.
#' @param reverse If `TRUE`, the steps of each sample are in reverse order.
#' @param batch_size Number of samples per batch.
#' @return A generator function with class `kerasnative_timeseries_generator`.
#' @examples
#' gen <- timeseries_generator(0:49, 0:49, length = 10, sampling_rate = 2, batch_size = 2)
#' length(gen)
#' gen[[1]]
#' @export
timeseries_generator <- function(data, targets, length, sampling_rate = 1, stride = 1, start_index = 0,
                                 end_index = NULL, shuffle = FALSE, reverse = FALSE, batch_size = 128) {
  fn <- "timeseries_generator"
  n_of <- function(a) if (is.null(dim(a))) base::length(a) else dim(a)[1]
  if (!is.numeric(data) && !is.logical(data)) arg_fail(fn, "data", "a numeric vector, matrix or array", data)
  if (n_of(data) != n_of(targets))
    stop(fn, "(): data and targets have to be of same length (", n_of(data), " vs ", n_of(targets), ")",
         call. = FALSE)
  length <- check_whole(length, fn, "length", min = 1)
  sampling_rate <- check_whole(sampling_rate, fn, "sampling_rate", min = 1)
  stride <- check_whole(stride, fn, "stride", min = 1)
  batch_size <- check_whole(batch_size, fn, "batch_size", min = 1)
  start_index <- check_whole(start_index, fn, "start_index", min = 0)
  end_index <- check_whole(end_index %||% (n_of(data) - 1), fn, "end_index", min = 0)
  check_flag(shuffle, fn, "shuffle")
  check_flag(reverse, fn, "reverse")
  first <- start_index + length
  if (first > end_index)
    stop(sprintf("%s(): `start_index+length=%d > end_index=%d` is disallowed, as no part of the sequence would be left to be used as current step",
                 fn, first, end_index), call. = FALSE)
  if (end_index > n_of(data) - 1)
    stop(fn, "(): `end_index` (", end_index, ") is past the last row of data (", n_of(data) - 1, ")", call. = FALSE)
  n_batches <- (end_index - first + batch_size * stride) %/% (batch_size * stride)
  take <- function(a, rows) {  # rows (0-based) of a along its first dimension
    if (is.null(dim(a))) return(a[rows + 1])
    idx <- rep(list(quote(expr = )), base::length(dim(a)) - 1)
    do.call(`[`, c(list(a, rows + 1), idx, list(drop = FALSE)))
  }
  batch <- function(i) {  # i: 0-based batch index
    rows <- if (shuffle) first + sample.int(end_index - first + 1, batch_size, replace = TRUE) - 1 else {
      r0 <- first + batch_size * stride * i
      seq(r0, min(r0 + batch_size * stride, end_index + 1) - 1, by = stride)
    }
    steps <- seq(0, length - 1, by = sampling_rate)  # offsets from row - length
    feat <- if (is.null(dim(data))) integer(0) else dim(data)[-1]
    x <- array(0, c(base::length(rows), base::length(steps), feat))
    for (k in seq_along(rows)) {
      s <- take(data, rows[k] - length + steps)  # (steps, feat...)
      if (reverse) s <- take(s, rev(seq_along(steps)) - 1)
      x <- assign_sample(x, k, s)
    }
    list(x, take(targets, rows))
  }
  pos <- 0
  gen <- function() {
    b <- batch(pos %% n_batches)
    pos <<- pos + 1
    b
  }
  structure(gen, class = c("kerasnative_timeseries_generator", "function"), n_batches = n_batches,
            batch = batch)
}

# x (n, ...) with sample k set to s (the same dimensions as x[k, ...]).
assign_sample <- function(x, k, s) {
  idx <- rep(list(quote(expr = )), base::length(dim(x)) - 1)
  do.call(`[<-`, c(list(x, k), idx, list(value = s)))
}

#' @export
length.kerasnative_timeseries_generator <- function(x) attr(x, "n_batches")

#' @export
`[[.kerasnative_timeseries_generator` <- function(x, i) {
  if (!is.numeric(i) || base::length(i) != 1 || i < 1 || i > attr(x, "n_batches") || i != round(i))
    stop("timeseries generator: batch index must be a whole number in 1..", attr(x, "n_batches"), call. = FALSE)
  attr(x, "batch")(i - 1)
}
