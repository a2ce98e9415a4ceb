# skipgrams(), make_sampling_table(), timeseries_generator() against values
# worked out by hand from keras 2.2.5's definitions and documented examples.

test_that("make_sampling_table follows Keras's Zipf formula (values by hand)", {
  # rank 1: 1 * (0 + 0.577) + 0.5 - 1/12 = 0.9936667 -> sqrt(1e-5 * 0.9936667)
  # rank 2: 2 * (log 2 + 0.577) + 0.5 - 1/24 = 2.998627 -> sqrt(1e-5 * 2.998627)
  expect_equal(make_sampling_table(3), c(0.00315225, 0.00315225, 0.00547597), tolerance = 1e-6)
  expect_equal(make_sampling_table(10)[10], 0.01595580, tolerance = 1e-6)
  expect_equal(make_sampling_table(3, sampling_factor = 10), c(1, 1, 1))  # capped at 1
  expect_error(make_sampling_table(0), "size")
})

test_that("skipgrams: positive couples within the window, negatives, labels, shuffle", {
  sg <- skipgrams(c(1, 2, 3), vocabulary_size = 4, window_size = 1, negative_samples = 0, shuffle = FALSE)
  expect_equal(sg$couples, list(c(1L, 2L), c(2L, 1L), c(2L, 3L), c(3L, 2L)))
  expect_equal(sg$labels, c(1L, 1L, 1L, 1L))
  # zeros are skipped both as words and as contexts
  sg0 <- skipgrams(c(1, 0, 3), vocabulary_size = 4, window_size = 2, negative_samples = 0, shuffle = FALSE)
  expect_equal(sg0$couples, list(c(1L, 3L), c(3L, 1L)))
  # one negative per positive: first words from the positives, contexts in 1..V-1, label 0
  set.seed(5)
  sgn <- skipgrams(c(1, 2, 3), vocabulary_size = 4, window_size = 1, shuffle = FALSE)
  expect_equal(length(sgn$couples), 8)
  expect_equal(sgn$labels, c(1L, 1L, 1L, 1L, 0L, 0L, 0L, 0L))
  neg <- do.call(rbind, sgn$couples[5:8])
  expect_equal(sort(neg[, 1]), sort(c(1L, 2L, 2L, 3L)))  # a permutation of the positives' words
  expect_true(all(neg[, 2] %in% 1:3))
  expect_equal(length(skipgrams(c(1, 2, 3), 4, window_size = 1, negative_samples = 0.5)$couples), 6)
  # shuffle with a seed: couples and labels permuted alike, reproducible, global RNG untouched
  set.seed(6); before <- runif(1)
  set.seed(6)
  a <- skipgrams(1:6, vocabulary_size = 7, window_size = 2, negative_samples = 0, seed = 3)
  expect_equal(runif(1), before)
  b <- skipgrams(1:6, vocabulary_size = 7, window_size = 2, negative_samples = 0, seed = 3)
  expect_identical(a, b)
  plain <- skipgrams(1:6, vocabulary_size = 7, window_size = 2, negative_samples = 0, shuffle = FALSE)
  key <- function(cs) sort(vapply(cs, paste, "", collapse = "-"))
  expect_equal(key(a$couples), key(plain$couples))
  # categorical labels
  sgc <- skipgrams(c(1, 2), vocabulary_size = 3, window_size = 1, categorical = TRUE, shuffle = FALSE)
  expect_equal(sgc$labels, list(c(0L, 1L), c(0L, 1L), c(1L, 0L), c(1L, 0L)))
  # a sampling table of zeros keeps no word
  expect_length(skipgrams(1:3, 4, sampling_table = c(0, 0, 0, 0))$couples, 0)
  expect_error(skipgrams(c(1, 5), 6, sampling_table = c(1, 1)), "sampling_table")
  expect_error(skipgrams(c(1, -1), 4), "sequence")
})

test_that("timeseries_generator reproduces Keras's documented example and its options", {
  # keras docs: data = targets = [[0], [1], ..., [49]], length 10, sampling_rate 2, batch 2
  data <- matrix(0:49, ncol = 1)
  gen <- timeseries_generator(data, data, length = 10, sampling_rate = 2, batch_size = 2)
  expect_equal(length(gen), 20)
  b0 <- gen[[1]]
  expect_equal(b0[[1]], array(c(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), c(2, 5, 1)))  # (2, 5, 1): rows 0,2,4,6,8 / 1,3,..,9
  expect_equal(b0[[1]][1, , 1], c(0, 2, 4, 6, 8))
  expect_equal(b0[[1]][2, , 1], c(1, 3, 5, 7, 9))
  expect_equal(b0[[2]], matrix(c(10, 11), ncol = 1))
  expect_equal(gen(), b0)            # the generator function cycles from batch 0
  expect_equal(gen()[[2]], matrix(c(12, 13), ncol = 1))
  last <- gen[[20]]                  # rows 48, 49
  expect_equal(last[[2]], matrix(c(48, 49), ncol = 1))
  # stride 3, reverse, vectors; len = (49 - 10 + 4 * 3) %/% (4 * 3) = 4
  g2 <- timeseries_generator(0:49, 100 + 0:49, length = 10, stride = 3, reverse = TRUE, batch_size = 4)
  expect_equal(length(g2), 4)
  x <- g2[[1]]
  expect_equal(x[[2]], 100 + c(10, 13, 16, 19))
  expect_equal(x[[1]][2, ], 12:3)    # row 13: data 3..12, reversed
  # the last batch is partial: rows 46, 49
  expect_equal(g2[[4]][[2]], 100 + c(46, 49))
  # start/end index and shuffle (rows drawn in [start + length, end])
  set.seed(7)
  g3 <- timeseries_generator(0:49, 0:49, length = 5, start_index = 10, end_index = 20, shuffle = TRUE,
                             batch_size = 50)
  b3 <- g3[[1]]
  y <- b3[[2]]
  expect_true(all(y >= 15 & y <= 20))
  expect_setequal(y, 15:20)
  expect_equal(b3[[1]][, 5], y - 1)  # last step of each sample is row - 1
  expect_error(timeseries_generator(0:9, 0:8, length = 2), "same length")
  expect_error(timeseries_generator(0:9, 0:9, length = 10), "start_index\\+length=10 > end_index=9")
  expect_error(gen[[21]], "1..20")
})
