# pad_sequences() against matrices worked out by hand (keras 2.2.5 semantics).

seqs <- list(c(1, 2, 3), 4, c(5, 6, 7, 8, 9), integer(0))

test_that("default pads and truncates at the front to the longest sequence", {
  x <- pad_sequences(seqs)
  expect_identical(x, matrix(c(0L, 0L, 1L, 2L, 3L,
                               0L, 0L, 0L, 0L, 4L,
                               5L, 6L, 7L, 8L, 9L,
                               0L, 0L, 0L, 0L, 0L), nrow = 4, byrow = TRUE))
})

test_that("maxlen with every padding/truncating combination", {
  expect_identical(pad_sequences(seqs, maxlen = 3),
                   matrix(c(1L, 2L, 3L, 0L, 0L, 4L, 7L, 8L, 9L, 0L, 0L, 0L), 4, byrow = TRUE))
  expect_identical(pad_sequences(seqs, maxlen = 3, truncating = "post"),
                   matrix(c(1L, 2L, 3L, 0L, 0L, 4L, 5L, 6L, 7L, 0L, 0L, 0L), 4, byrow = TRUE))
  expect_identical(pad_sequences(seqs, maxlen = 4, padding = "post"),
                   matrix(c(1L, 2L, 3L, 0L, 4L, 0L, 0L, 0L, 6L, 7L, 8L, 9L, 0L, 0L, 0L, 0L),
                          4, byrow = TRUE))
  expect_identical(pad_sequences(seqs, maxlen = 4, padding = "post", truncating = "post"),
                   matrix(c(1L, 2L, 3L, 0L, 4L, 0L, 0L, 0L, 5L, 6L, 7L, 8L, 0L, 0L, 0L, 0L),
                          4, byrow = TRUE))
  expect_identical(pad_sequences(list(c(3, 1)), maxlen = 1, truncating = "pre"), matrix(1L, 1, 1))
})

test_that("value, dtype and numpy-style casts", {
  x <- pad_sequences(list(c(1, 2), 3), value = -1)
  expect_identical(x, matrix(c(1L, 2L, -1L, 3L), 2, byrow = TRUE))
  f <- pad_sequences(list(c(0.5, 2.75), 3), dtype = "float32", value = 0.25, padding = "post")
  expect_identical(f, matrix(c(0.5, 2.75, 3, 0.25), 2, byrow = TRUE))
  # int32 truncates toward zero as numpy's astype does
  expect_identical(pad_sequences(list(c(1.9, -1.9)), maxlen = 3, value = 2.5),
                   matrix(c(2L, 1L, -1L), 1))
  expect_identical(pad_sequences(list(c(1, 2)), dtype = "int64"), matrix(c(1, 2), 1))
})

test_that("matrix input, list elements and empty input", {
  m <- matrix(c(1, 2, 3, 4, 5, 6), 2, byrow = TRUE)
  expect_identical(pad_sequences(m, maxlen = 2), matrix(c(2L, 3L, 5L, 6L), 2, byrow = TRUE))
  expect_identical(pad_sequences(list(list(1, 2), list(3)), padding = "post"),
                   matrix(c(1L, 2L, 3L, 0L), 2, byrow = TRUE))
  e <- pad_sequences(list(), maxlen = 3)
  expect_identical(dim(e), c(0L, 3L))
})

test_that("bad arguments are clear errors", {
  expect_error(pad_sequences(seqs, padding = "middle"), "`padding` must be \"pre\" or \"post\"")
  expect_error(pad_sequences(seqs, truncating = "both"), "`truncating` must be")
  expect_error(pad_sequences(seqs, maxlen = 0), "`maxlen` must be NULL or a positive integer")
  expect_error(pad_sequences(seqs, maxlen = 2.5), "`maxlen`")
  expect_error(pad_sequences(seqs, dtype = "complex64"), "unsupported `dtype`")
  expect_error(pad_sequences(list("a", 1)), "sequence 1 is not numeric")
  expect_error(pad_sequences("abc"), "must be a list")
})
