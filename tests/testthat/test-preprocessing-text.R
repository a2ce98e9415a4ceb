# Text preprocessing and text datasets; every expected value below is worked
# out by hand (comments give the steps) or with plain base-R loops.

texts <- c("The cat sat on the mat.", "The dog ate my homework!", "cat, cat")
# counts in first-seen order: the 3, cat 3, sat 1, on 1, mat 1, dog 1, ate 1, my 1, homework 1
# documents containing each: the 2, cat 2, all others 1

test_that("text_to_word_sequence filters, lower-cases and splits as Keras", {
  expect_equal(text_to_word_sequence("The cat, the HAT!"), c("the", "cat", "the", "hat"))
  expect_equal(text_to_word_sequence("a\tb\nc  d"), c("a", "b", "c", "d"))
  expect_equal(text_to_word_sequence("A-b", lower = FALSE), c("A", "b"))
  expect_equal(text_to_word_sequence("a-b c", filters = "", split = "-"), c("a", "b c"))
  expect_equal(text_to_word_sequence("..."), character(0))
  expect_error(text_to_word_sequence(c("a", "b")), "`text` must be a single string")
  expect_error(text_to_word_sequence("a", split = ""), "`split` must not be empty")
})

test_that("fit_text_tokenizer builds word_index, counts and docs as Keras", {
  tok <- text_tokenizer()
  expect_identical(fit_text_tokenizer(tok, texts), tok)
  expect_equal(tok$document_count, 3)
  expect_equal(unlist(tok$word_index),
               c(the = 1, cat = 2, sat = 3, on = 4, mat = 5, dog = 6, ate = 7, my = 8, homework = 9))
  expect_equal(tok$word_index$cat, 2L)
  expect_equal(unlist(tok$word_counts),
               c(the = 3, cat = 3, sat = 1, on = 1, mat = 1, dog = 1, ate = 1, my = 1, homework = 1))
  expect_equal(unlist(tok$word_docs[c("the", "cat", "dog")]), c(the = 2, cat = 2, dog = 1))
  expect_equal(unlist(tok$index_docs[c("1", "2", "9")]), c(`1` = 2, `2` = 2, `9` = 1))
  expect_equal(tok$index_word[["6"]], "dog")
  # a second fit adds to the counts: "dog" now 3 > the/cat 3? tie -> first seen wins
  fit_text_tokenizer(tok, c("dog dog", "zebra"))
  expect_equal(tok$document_count, 5)
  expect_equal(tok$word_counts$dog, 3L)
  expect_equal(tok$word_docs$dog, 2L)
  expect_equal(unlist(tok$word_index)[1:4], c(the = 1, cat = 2, dog = 3, sat = 4))
  expect_equal(tok$word_index$zebra, 10L)
})

test_that("texts_to_sequences drops unknown words and index >= num_words", {
  tok <- fit_text_tokenizer(text_tokenizer(num_words = 4), texts)
  # the=1 cat=2 sat=3 kept; dog=6 and mat=5 >= 4 dropped; 'unknown' unknown
  expect_equal(texts_to_sequences(tok, c("the cat the dog", "unknown mat", "sat")),
               list(c(1L, 2L, 1L), integer(0), 3L))
  # without num_words every known word is kept
  tok2 <- fit_text_tokenizer(text_tokenizer(), texts)
  expect_equal(texts_to_sequences(tok2, "my dog ate zzz"), list(c(8L, 6L, 7L)))
  gen <- texts_to_sequences_generator(tok, c("the cat the dog", "sat"))
  expect_equal(gen(), c(1L, 2L, 1L))
  expect_equal(gen(), 3L)
  expect_null(gen())
})

test_that("oov_token takes index 1 and replaces unknown and rare words", {
  tok <- fit_text_tokenizer(text_tokenizer(num_words = 3, oov_token = "<OOV>"), c("b a b", "c"))
  # counts b 2, a 1, c 1 -> <OOV>=1, b=2, a=3, c=4; num_words 3 keeps 1, 2
  expect_equal(unlist(tok$word_index), c(`<OOV>` = 1, b = 2, a = 3, c = 4))
  expect_equal(texts_to_sequences(tok, "a z b c"), list(c(1L, 1L, 2L, 1L)))
})

test_that("char_level tokenizes characters without filtering", {
  tok <- fit_text_tokenizer(text_tokenizer(char_level = TRUE), c("Abca", "b!"))
  # a 2, b 2, c 1, ! 1 (lower-cased, '!' not filtered)
  expect_equal(unlist(tok$word_index), c(a = 1, b = 2, c = 3, `!` = 4))
  expect_equal(texts_to_sequences(tok, "cab!"), list(c(3L, 1L, 2L, 4L)))
})

test_that("sequences_to_matrix and texts_to_matrix give Keras's four modes", {
  tok <- fit_text_tokenizer(text_tokenizer(num_words = 4), texts)
  seqs <- list(c(1, 1, 2, 7), integer(0), c(3, 3, 3))
  # column j + 1 holds index j; index 7 >= 4 is not counted (but counts in the length)
  count <- rbind(c(0, 2, 1, 0), 0, c(0, 0, 0, 3))
  expect_equal(sequences_to_matrix(tok, seqs, "count"), count)
  expect_equal(sequences_to_matrix(tok, seqs, "binary"), (count > 0) * 1)
  expect_equal(sequences_to_matrix(tok, seqs, "freq"), rbind(c(0, 2, 1, 0) / 4, 0, c(0, 0, 0, 1)))
  # tf-idf: (1 + log c) * log(1 + D / (1 + docs)), D = 3, docs(the) = docs(cat) = 2, docs(sat) = 1
  tfidf <- matrix(0, 3, 4)
  tfidf[1, 2] <- (1 + log(2)) * log(1 + 3 / 3)
  tfidf[1, 3] <- (1 + log(1)) * log(1 + 3 / 3)
  tfidf[3, 4] <- (1 + log(3)) * log(1 + 3 / 2)
  expect_equal(sequences_to_matrix(tok, seqs, "tfidf"), tfidf)
  # default mode is binary; texts_to_matrix = sequences of the texts
  expect_equal(texts_to_matrix(tok, c("the the cat dog", "sat")),
               rbind(c(0, 1, 1, 0), c(0, 0, 0, 1)))
  expect_equal(texts_to_matrix(tok, "the the cat dog", mode = "freq"), rbind(c(0, 2, 1, 0) / 3))
  # no num_words: length(word_index) + 1 columns
  tok2 <- fit_text_tokenizer(text_tokenizer(), texts)
  expect_equal(dim(texts_to_matrix(tok2, texts)), c(3, 10))
  expect_error(sequences_to_matrix(tok, seqs, "bogus"), "unknown `mode`")
  expect_error(sequences_to_matrix(text_tokenizer(), list(1)), "specify a dimension")
  expect_error(sequences_to_matrix(text_tokenizer(num_words = 5), list(1), "tfidf"),
               "fit the tokenizer")
  expect_error(sequences_to_matrix(tok, list(c(1, -1))), "sequence 1 must hold non-negative")
})

test_that("hashing trick and one-hot map words into 1..n-1 consistently", {
  h <- text_hashing_trick("The cat, the cat sat", n = 7)
  expect_true(all(h >= 1 & h <= 6))
  expect_equal(h[1], h[3])
  expect_equal(h[2], h[4])
  # the stable hash by hand for "ab": bytes 97, 98 -> (97 * 257 + 98) %% (2^31 - 1) = 25027
  expect_equal(text_one_hot("ab", n = 100), 25027 %% 99 + 1)
  expect_equal(text_hashing_trick("a bb ccc", n = 5, hash_function = nchar), c(1, 2, 3) %% 4 + 1)
  expect_error(text_hashing_trick("a", n = 5, hash_function = "sha1"), "must be NULL, \"md5\" or a function")
  expect_error(text_one_hot("a", n = 1), "`n` must be a whole number >= 2")
})

test_that("md5 hashing trick gives Keras's indexes (digest checked against tools::md5sum and RFC 1321)", {
  # RFC 1321 test suite values
  expect_equal(kerasnative:::cpp_md5_hex(c("", "a", "abc", "message digest",
                                          strrep("1234567890", 8))),
               c("d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
                 "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
                 "57edf4a22be3c955ac49da2e2107b67a"))
  # int(hexdigest, 16) %% (n - 1) + 1 by hand from tools::md5sum of each word in a file
  hex_mod <- function(hex, m) {
    r <- 0
    for (d in strsplit(hex, "")[[1]]) r <- (r * 16 + strtoi(d, 16L)) %% m
    r
  }
  words <- c("the", "cat", "sat", "on", "mat", "\u00e9t\u00e9", strrep("long", 40))
  n <- 1000003
  expected <- vapply(words, function(w) {
    f <- tempfile()
    on.exit(unlink(f))
    writeBin(charToRaw(enc2utf8(w)), f)
    hex_mod(unname(tools::md5sum(f)), n - 1) + 1
  }, numeric(1), USE.NAMES = FALSE)
  got <- text_hashing_trick(paste(words, collapse = " "), n = n, hash_function = "md5")
  expect_equal(got, expected)
  # Keras docs example: the same word always gets the same index
  h <- text_hashing_trick("The cat sat on the mat", n = 20, hash_function = "md5")
  expect_equal(h[1], h[5])
  expect_true(all(h >= 1 & h <= 19))
})

test_that("save_text_tokenizer / load_text_tokenizer round trip", {
  tok <- fit_text_tokenizer(text_tokenizer(num_words = 4, oov_token = "x"), texts)
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  save_text_tokenizer(tok, f)
  tok2 <- load_text_tokenizer(f)
  expect_s3_class(tok2, "text_tokenizer")
  expect_equal(tok2$word_index, tok$word_index)
  expect_equal(tok2$num_words, 4L)
  expect_equal(texts_to_sequences(tok2, "the zz"), list(c(2L, 1L)))
  saveRDS(list(a = 1), f)
  expect_error(load_text_tokenizer(f), "does not hold a tokenizer")
  expect_error(load_text_tokenizer(file.path(tempdir(), "nope.rds")), "does not exist")
})

test_that("tokenizer arguments are checked", {
  expect_error(text_tokenizer(num_words = 0), "`num_words` must be NULL or a positive")
  expect_error(text_tokenizer(lower = NA), "`lower` must be TRUE or FALSE")
  expect_error(text_tokenizer(oov_token = 1), "`oov_token` must be a single string")
  expect_error(fit_text_tokenizer(list(), "a"), "expected a tokenizer")
  expect_error(fit_text_tokenizer(text_tokenizer(), 1:3), "`texts` must be a character vector")
  expect_error(texts_to_sequences(text_tokenizer(), NA_character_), "contains NA")
})

# --- datasets -------------------------------------------------------------

# A .npy file (format 1.0) with the given header descr and payload bytes.
npy_bytes <- function(descr, shape, payload) {
  hdr <- sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s,), }", descr,
                 paste(shape, collapse = ", "))
  pad <- 64 - (10 + nchar(hdr) + 1) %% 64
  hdr <- paste0(hdr, strrep(" ", pad %% 64), "\n")
  c(as.raw(0x93), charToRaw("NUMPY"), as.raw(c(1, 0)),
    writeBin(nchar(hdr), raw(), size = 2, endian = "little"), charToRaw(hdr), payload)
}

test_that("dataset_imdb / dataset_reuters name the missing file", {
  home <- tempfile("keras_home")
  withr_env <- Sys.getenv("KERAS_HOME", NA)
  Sys.setenv(KERAS_HOME = home)
  on.exit(if (is.na(withr_env)) Sys.unsetenv("KERAS_HOME") else Sys.setenv(KERAS_HOME = withr_env))
  expect_error(dataset_imdb(), paste0("'", file.path(home, "datasets", "imdb.npz"), "' not found"),
               fixed = TRUE)
  expect_error(dataset_reuters(), "reuters.npz' not found")
  expect_error(dataset_imdb_word_index(), "imdb_word_index.json' not found")
  expect_error(dataset_imdb(num_words = -1), "`num_words` must be NULL or a whole number >= 1")
  expect_error(dataset_reuters(test_split = 2), "`test_split` must be a number between 0 and 1")
})

test_that("Keras's pickled object arrays give a clear error", {
  skip_if(!nzchar(Sys.which("zip")), "no zip program to write the npz fixture")
  dir <- tempfile("npz")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  obj <- npy_bytes("|O", 2, as.raw(c(0x80, 0x02, 0x2e)))
  lab <- npy_bytes("<i8", 2, writeBin(c(0L, 0L, 1L, 0L), raw(), size = 4, endian = "little"))
  for (m in c("x_train", "x_test")) writeBin(obj, file.path(dir, paste0(m, ".npy")))
  for (m in c("y_train", "y_test")) writeBin(lab, file.path(dir, paste0(m, ".npy")))
  npz <- file.path(dir, "imdb.npz")
  old <- setwd(dir)
  utils::zip(npz, c("x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"), flags = "-q0")
  setwd(old)
  expect_error(dataset_imdb(npz), "numpy object arrays \\(pickled Python lists\\)")
})

test_that("word index files are read as named integer lists", {
  f <- tempfile(fileext = ".json")
  on.exit(unlink(f))
  writeLines('{"the": 1, "and": 2, "fawn": 34701}', f)
  expect_equal(dataset_imdb_word_index(f), list(the = 1L, and = 2L, fawn = 34701L))
  expect_equal(dataset_reuters_word_index(f)$fawn, 34701L)
  writeLines('["a", "b"]', f)
  expect_error(dataset_reuters_word_index(f), "must hold a JSON object")
})

test_that("Keras's start_char / index_from / maxlen / skip_top / num_words steps", {
  prep <- kerasnative:::kn_prepare_text_sequences
  tr <- list(x = list(c(1, 2, 3), c(4, 5), c(1, 1, 1, 1, 1)), y = c(1, 0, 1))
  te <- list(x = list(c(6), c(2, 9)), y = c(0, 1))
  # no shuffle: start_char 1, shift by 3 -> (1,4,5,6) (1,7,8) (1,4,4,4,4,4) | (1,9) (1,5,12)
  # maxlen 5 drops the length-5+ sequence (lengths must be < 5) -> (1,4,5,6) (1,7,8) | (1,9) (1,5,12)
  # num_words 8, skip_top 2: indexes < 2 or >= 8 -> oov 2
  d <- prep(list(tr, te), num_words = 8L, skip_top = 2L, maxlen = 5L, seed = NULL,
            start_char = 1L, oov_char = 2L, index_from = 3L, fn = "t")
  expect_equal(d[[1]], list(x = list(c(2L, 4L, 5L, 6L), c(2L, 7L, 2L)), y = c(1L, 0L)))
  expect_equal(d[[2]], list(x = list(c(2L, 2L), c(2L, 5L, 2L)), y = c(0L, 1L)))
  # oov_char NULL removes; num_words NULL -> the largest index (9), itself out of range
  d <- prep(list(tr, te), num_words = NULL, skip_top = 0L, maxlen = NULL, seed = NULL,
            start_char = NULL, oov_char = NULL, index_from = 0L, fn = "t")
  expect_equal(d[[2]]$x, list(6L, 2L))
  expect_equal(d[[1]]$x[[1]], c(1L, 2L, 3L))
  # a seed shuffles sequences and labels together (same pairs) and leaves .Random.seed alone
  set.seed(1); before <- .Random.seed
  d <- prep(list(tr), num_words = 100L, skip_top = 0L, maxlen = NULL, seed = 113L,
            start_char = NULL, oov_char = 2L, index_from = 0L, fn = "t")[[1]]
  expect_identical(.Random.seed, before)
  key <- vapply(tr$x, paste, "", collapse = ",")
  expect_setequal(vapply(d$x, paste, "", collapse = ","), key)
  expect_equal(d$y, as.integer(tr$y[match(vapply(d$x, paste, "", collapse = ","), key)]))
  expect_error(prep(list(list(x = list(1), y = c(1, 2))), NULL, 0L, NULL, NULL, NULL, NULL, 0L,
                    fn = "dataset_imdb"), "1 sequences but 2 labels")
})

test_that("a random corpus matches plain-R loops (word_index order, sequences, tf-idf)", {
  set.seed(7)
  vocab <- c("alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta")
  docs <- vapply(1:12, function(i) paste(sample(vocab, sample(1:9, 1), TRUE), collapse = " "), "")
  tok <- fit_text_tokenizer(text_tokenizer(num_words = 6), docs)
  # counts and first-seen order by loops
  seen <- character(0); cnt <- integer(0); dcnt <- integer(0)
  for (d in docs) {
    ws <- strsplit(d, " ")[[1]]
    for (w in ws) {
      if (!w %in% seen) { seen <- c(seen, w); cnt <- c(cnt, 0L); dcnt <- c(dcnt, 0L) }
      cnt[seen == w] <- cnt[seen == w] + 1L
    }
    for (w in unique(ws)) dcnt[seen == w] <- dcnt[seen == w] + 1L
  }
  # insertion sort by decreasing count, ties keep first-seen order
  ord <- seen
  for (k in seq_along(ord)) for (m in rev(seq_len(k - 1)))
    if (cnt[seen == ord[m + 1]] > cnt[seen == ord[m]]) ord[c(m, m + 1)] <- ord[c(m + 1, m)]
  expect_equal(names(tok$word_index), ord)
  expect_equal(unname(unlist(tok$word_index)), seq_along(ord))
  m <- texts_to_matrix(tok, docs, mode = "tfidf")
  for (i in seq_along(docs)) {
    ws <- strsplit(docs[i], " ")[[1]]
    want <- numeric(6)
    for (j in 1:5) {
      c <- sum(ws == ord[j])
      if (c > 0) want[j + 1] <- (1 + log(c)) * log(1 + 12 / (1 + dcnt[seen == ord[j]]))
    }
    expect_equal(m[i, ], want)
    expect_equal(texts_to_sequences(tok, docs[i])[[1]], match(ws, ord)[match(ws, ord) < 6])
  }
})
