# Tests for R/datasets.R: IDX / NPY / NPZ readers, dataset_mnist(),
# dataset_fashion_mnist(), the offline fallback and error reporting.
# Expected values come from hand-built files with known content, from raw bytes
# read independently with readBin, and from published MNIST facts.

# ---- helpers ---------------------------------------------------------------

# The real MNIST IDX files shared by the project (../shared/testdata/mnist
# beside the package root), or $KERASNATIVE_SHARED. NULL when unavailable.
shared_mnist_dir <- function() {
  has_set <- function(d) {
    all(file.exists(file.path(d, c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                   "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"))))
  }
  cands <- character(0)
  env <- Sys.getenv("KERASNATIVE_SHARED", "")
  if (nzchar(env)) cands <- c(cands, env, file.path(env, "mnist"), file.path(env, "testdata", "mnist"))
  pkg_root <- file.path(testthat::test_path(), "..", "..")
  cands <- c(cands, file.path(pkg_root, "..", "shared", "testdata", "mnist"))
  for (d in cands) if (dir.exists(d) && has_set(d)) return(normalizePath(d))
  NULL
}

skip_if_no_shared <- function() {
  d <- shared_mnist_dir()
  if (is.null(d)) testthat::skip("shared MNIST test data not found (set KERASNATIVE_SHARED)")
  d
}

# Point KERAS_HOME at a fresh temp dir (with an empty datasets/ subdir) and
# disable downloads, both until the calling test's frame exits.
local_keras_home <- function(env = parent.frame()) {
  home <- tempfile("keras_home_")
  dir.create(file.path(home, "datasets"), recursive = TRUE)
  old_home <- Sys.getenv("KERAS_HOME", NA)
  old_opt <- options(kerasnative.offline = TRUE)
  Sys.setenv(KERAS_HOME = home)
  do.call(on.exit, list(substitute({
    options(old_opt)
    if (is.na(old_home)) Sys.unsetenv("KERAS_HOME") else Sys.setenv(KERAS_HOME = old_home)
    unlink(home, recursive = TRUE)
  }, list(old_opt = old_opt, old_home = old_home, home = home)), add = TRUE), envir = env)
  file.path(home, "datasets")
}

# Write an unsigned-byte IDX file. `values` must already be in storage (C) order.
write_idx_u8 <- function(path, dims, values, gz = FALSE) {
  con <- if (gz) gzfile(path, "wb") else file(path, "wb")
  on.exit(close(con))
  writeBin(as.raw(c(0, 0, 8, length(dims))), con)
  writeBin(as.integer(dims), con, size = 4L, endian = "big")
  writeBin(as.raw(values), con)
}

# Pixel formula for the tiny hand-made datasets (i, r, c are 1-based).
px <- function(i, r, c, salt = 0) (i * 37 + r * 11 + c * 3 + salt) %% 256

# Values of an n x h x w array in C order (last index fastest), built with
# explicit loops so that it does not depend on the code under test.
c_order_values <- function(n, h, w, salt = 0) {
  out <- numeric(n * h * w)
  k <- 1
  for (i in seq_len(n)) for (r in seq_len(h)) for (c in seq_len(w)) {
    out[k] <- px(i, r, c, salt)
    k <- k + 1
  }
  out
}

fortran_order_values <- function(n, h, w, salt = 0) {
  out <- numeric(n * h * w)
  k <- 1
  for (c in seq_len(w)) for (r in seq_len(h)) for (i in seq_len(n)) {
    out[k] <- px(i, r, c, salt)
    k <- k + 1
  }
  out
}

# Write a tiny MNIST-like IDX set (n_train / n_test images of 28 x 28) to `dir`.
write_tiny_idx_set <- function(dir, n_train = 3, n_test = 2, gz = FALSE) {
  ext <- if (gz) ".gz" else ""
  write_idx_u8(file.path(dir, paste0("train-images-idx3-ubyte", ext)), c(n_train, 28, 28),
               c_order_values(n_train, 28, 28, salt = 0), gz)
  write_idx_u8(file.path(dir, paste0("train-labels-idx1-ubyte", ext)), n_train,
               (seq_len(n_train) + 2) %% 10, gz)
  write_idx_u8(file.path(dir, paste0("t10k-images-idx3-ubyte", ext)), c(n_test, 28, 28),
               c_order_values(n_test, 28, 28, salt = 100), gz)
  write_idx_u8(file.path(dir, paste0("t10k-labels-idx1-ubyte", ext)), n_test,
               (seq_len(n_test) + 6) %% 10, gz)
}

expect_tiny_dataset <- function(d, n_train = 3, n_test = 2) {
  expect_named(d, c("train", "test"))
  expect_named(d$train, c("x", "y"))
  expect_true(is.integer(d$train$x) && is.integer(d$train$y))
  expect_true(is.integer(d$test$x) && is.integer(d$test$y))
  expect_equal(dim(d$train$x), c(n_train, 28L, 28L))
  expect_equal(dim(d$test$x), c(n_test, 28L, 28L))
  expect_identical(d$train$y, as.integer((seq_len(n_train) + 2) %% 10))
  expect_identical(d$test$y, as.integer((seq_len(n_test) + 6) %% 10))
  for (pos in list(c(1, 1, 1), c(2, 5, 17), c(3, 28, 1), c(1, 1, 28), c(2, 28, 28))) {
    expect_equal(d$train$x[pos[1], pos[2], pos[3]], px(pos[1], pos[2], pos[3], 0))
  }
  expect_equal(d$test$x[2, 3, 4], px(2, 3, 4, 100))
  expect_equal(d$test$x[1, 28, 9], px(1, 28, 9, 100))
}

# Raw .npy bytes: format 1.0 header padded to a multiple of 64 bytes.
npy_raw <- function(data_raw, shape, descr = "|u1", fortran = FALSE) {
  shape_txt <- if (length(shape) == 1) sprintf("(%d,)", shape) else
    sprintf("(%s)", paste(shape, collapse = ", "))
  dict <- sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                  if (fortran) "True" else "False", shape_txt)
  total <- 10 + nchar(dict) + 1
  pad <- (64 - total %% 64) %% 64
  header <- paste0(dict, strrep(" ", pad), "\n")
  hlen <- nchar(header)
  c(as.raw(0x93), charToRaw("NUMPY"), as.raw(c(1, 0)),
    as.raw(c(hlen %% 256, hlen %/% 256)), charToRaw(header), data_raw)
}

write_npy <- function(path, ...) writeBin(npy_raw(...), path)

skip_if_no_zip <- function() {
  zipcmd <- Sys.getenv("R_ZIPCMD", "zip")
  if (!nzchar(Sys.which(zipcmd))) testthat::skip("no zip program to build .npz files")
}

# Build an .npz from .npy files in `dir` (member names as given).
make_npz <- function(npz, dir, members) {
  old <- setwd(dir)
  on.exit(setwd(old))
  utils::zip(npz, members, flags = "-q")
}

# ---- IDX reader ------------------------------------------------------------

test_that("read_idx reads plain and gzipped IDX files in row-major order", {
  tmp <- tempfile("idx_")
  dir.create(tmp)
  on.exit(unlink(tmp, recursive = TRUE))
  vals <- c_order_values(2, 3, 4)
  for (gz in c(FALSE, TRUE)) {
    f <- file.path(tmp, if (gz) "a.gz" else "a")
    write_idx_u8(f, c(2, 3, 4), vals, gz = gz)
    a <- read_idx(f)
    expect_true(is.integer(a))
    expect_equal(dim(a), c(2L, 3L, 4L))
    for (i in 1:2) for (r in 1:3) for (c in 1:4) expect_equal(a[i, r, c], px(i, r, c))
  }
  # 1-D file -> plain vector
  write_idx_u8(file.path(tmp, "v"), 5, c(0, 1, 254, 255, 7))
  expect_identical(read_idx(file.path(tmp, "v")), c(0L, 1L, 254L, 255L, 7L))
  # big-endian int32 payload (type 0x0C)
  con <- file(file.path(tmp, "i32"), "wb")
  writeBin(as.raw(c(0, 0, 0x0C, 1)), con)
  writeBin(3L, con, size = 4, endian = "big")
  writeBin(c(1L, -2L, 70000L), con, size = 4, endian = "big")
  close(con)
  expect_identical(read_idx(file.path(tmp, "i32")), c(1L, -2L, 70000L))
})

test_that("read_idx reports invalid files precisely", {
  tmp <- tempfile("badidx_")
  dir.create(tmp)
  on.exit(unlink(tmp, recursive = TRUE))
  f <- file.path(tmp, "bad-magic")
  writeBin(as.raw(c(0x12, 0x34, 8, 1, 0, 0, 0, 1, 5)), f)
  expect_error(read_idx(f), "bad-magic.*bad magic number 0x12340801")

  f <- file.path(tmp, "bad-type")
  writeBin(as.raw(c(0, 0, 0x42, 1, 0, 0, 0, 1, 5)), f)
  expect_error(read_idx(f), "bad-type.*unknown data type code 0x42")

  f <- file.path(tmp, "short-header")
  writeBin(as.raw(c(0, 0, 8, 3, 0, 0, 0, 2, 0, 0)), f)
  expect_error(read_idx(f), "short-header.*truncated header: 1 of 3 dimension sizes")

  f <- file.path(tmp, "short-data")
  write_idx_u8(f, c(2, 3, 4), 1:20)  # 24 declared, 20 present
  expect_error(read_idx(f), "short-data.*truncated data.*2 x 3 x 4 = 24 .*only 20")

  f <- file.path(tmp, "short-data.gz")
  write_idx_u8(f, c(2, 3, 4), 1:20, gz = TRUE)
  expect_error(read_idx(f), "short-data.gz.*truncated data")

  f <- file.path(tmp, "trailing")
  write_idx_u8(f, 3, 1:4)
  expect_error(read_idx(f), "trailing.*unexpected trailing bytes")

  f <- file.path(tmp, "empty")
  file.create(f)
  expect_error(read_idx(f), "empty.*truncated header: 0 of 4 magic bytes")

  expect_error(read_idx(file.path(tmp, "nope")), "nope.*does not exist")
})

# ---- NPY / NPZ reader --------------------------------------------------------

test_that("read_npy handles C order, Fortran order and several dtypes", {
  tmp <- tempfile("npy_")
  dir.create(tmp)
  on.exit(unlink(tmp, recursive = TRUE))

  f <- file.path(tmp, "c.npy")
  write_npy(f, as.raw(c_order_values(2, 3, 4)), c(2, 3, 4))
  a <- read_npy(f)
  expect_true(is.integer(a))
  expect_equal(dim(a), c(2L, 3L, 4L))
  for (i in 1:2) for (r in 1:3) for (c in 1:4) expect_equal(a[i, r, c], px(i, r, c))

  f <- file.path(tmp, "f.npy")
  write_npy(f, as.raw(fortran_order_values(2, 3, 4)), c(2, 3, 4), fortran = TRUE)
  b <- read_npy(f)
  expect_equal(dim(b), c(2L, 3L, 4L))
  for (i in 1:2) for (r in 1:3) for (c in 1:4) expect_equal(b[i, r, c], px(i, r, c))

  # little-endian int16, 1-D
  f <- file.path(tmp, "i2.npy")
  write_npy(f, as.raw(c(0x01, 0x00, 0xff, 0xff, 0x00, 0x80)), 3, descr = "<i2")
  expect_identical(read_npy(f), c(1L, -1L, -32768L))

  # big-endian float64, 2 x 2 in C order: [[1.5, -2], [0.25, 1e10]]
  f <- file.path(tmp, "f8.npy")
  con <- rawConnection(raw(0), "wb")
  writeBin(c(1.5, -2, 0.25, 1e10), con, size = 8, endian = "big")
  payload <- rawConnectionValue(con)
  close(con)
  write_npy(f, payload, c(2, 2), descr = ">f8")
  expect_equal(read_npy(f), matrix(c(1.5, -2, 0.25, 1e10), 2, 2, byrow = TRUE))

  # little-endian int64 and uint32
  f <- file.path(tmp, "i8.npy")
  write_npy(f, as.raw(c(0x05, 0, 0, 0, 0, 0, 0, 0,               # 5
                        0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  # -2
                        0, 0, 0, 0, 0x01, 0, 0, 0)), 3, descr = "<i8")  # 2^32
  expect_equal(read_npy(f), c(5, -2, 2^32))
  f <- file.path(tmp, "u4.npy")
  write_npy(f, as.raw(c(0xff, 0xff, 0xff, 0xff, 0x07, 0, 0, 0)), 2, descr = "<u4")
  expect_equal(read_npy(f), c(2^32 - 1, 7))
})

test_that("read_npy reports invalid files precisely", {
  tmp <- tempfile("badnpy_")
  dir.create(tmp)
  on.exit(unlink(tmp, recursive = TRUE))
  f <- file.path(tmp, "magic.npy")
  writeBin(charToRaw("NOTNUMPYATALL"), f)
  expect_error(read_npy(f), "magic.npy.*bad magic string")

  f <- file.path(tmp, "short.npy")
  write_npy(f, as.raw(1:10), c(3, 4))
  expect_error(read_npy(f), "short.npy.*truncated data.*needs 12 values but only 10")

  f <- file.path(tmp, "dtype.npy")
  write_npy(f, raw(8), 2, descr = "<c8")
  expect_error(read_npy(f), "dtype.npy.*unsupported dtype '<c8'")

  f <- file.path(tmp, "hdr.npy")
  writeBin(npy_raw(as.raw(1:4), 4)[1:20], f)
  expect_error(read_npy(f), "hdr.npy.*truncated header")
})

test_that("dataset_mnist reads an .npz archive (C and Fortran order members)", {
  skip_if_no_zip()
  cache <- local_keras_home()
  build <- tempfile("npzsrc_")
  dir.create(build)
  on.exit(unlink(build, recursive = TRUE), add = TRUE)
  write_npy(file.path(build, "x_train.npy"), as.raw(c_order_values(3, 28, 28, 0)), c(3, 28, 28))
  write_npy(file.path(build, "y_train.npy"), as.raw((1:3 + 2) %% 10), 3)
  write_npy(file.path(build, "x_test.npy"), as.raw(fortran_order_values(2, 28, 28, 100)),
            c(2, 28, 28), fortran = TRUE)
  write_npy(file.path(build, "y_test.npy"), as.raw((1:2 + 6) %% 10), 2)
  make_npz(file.path(cache, "mnist.npz"), build,
           c("x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"))

  expect_tiny_dataset(dataset_mnist())
  # other names: relative to the cache dir, or absolute
  file.copy(file.path(cache, "mnist.npz"), file.path(cache, "other.npz"))
  expect_tiny_dataset(dataset_mnist("other.npz"))
  abs_npz <- file.path(build, "abs.npz")
  file.copy(file.path(cache, "mnist.npz"), abs_npz)
  expect_tiny_dataset(dataset_mnist(abs_npz))
  # the .npz takes precedence over IDX files in the cache
  write_tiny_idx_set(cache, n_train = 4, n_test = 4)
  expect_equal(dim(dataset_mnist()$train$x), c(3L, 28L, 28L))

  # bad archives
  make_npz(file.path(cache, "partial.npz"), build, c("x_train.npy", "y_train.npy"))
  expect_error(dataset_mnist("partial.npz"), "partial.npz.*missing member\\(s\\) x_test.npy, y_test.npy")
  writeBin(charToRaw("this is not a zip file"), file.path(cache, "junk.npz"))
  expect_error(dataset_mnist("junk.npz"), "junk.npz.*not a readable zip archive")
  write_npy(file.path(build, "y_test.npy"), as.raw(1:5), 5)  # 5 labels for 2 images
  make_npz(file.path(cache, "mismatch.npz"), build,
           c("x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"))
  expect_error(dataset_mnist("mismatch.npz"), "mismatch.npz.*2 test images but 5 labels")
})

test_that("read_idx checks header claims against the real file size", {
  tmp <- tempfile("claims_")
  dir.create(tmp)
  on.exit(unlink(tmp, recursive = TRUE))
  # 10^9 images of 28 x 28 in a 16-byte file: refused, nothing allocated
  f <- file.path(tmp, "billion")
  con <- file(f, "wb")
  writeBin(as.raw(c(0, 0, 8, 3)), con)
  writeBin(as.integer(c(1e9, 28, 28)), con, size = 4L, endian = "big")
  close(con)
  expect_error(read_idx(f), "billion.*1000000000 x 28 x 28 values, more than the 2147483647.*byte offset 4")
  # 2,000,000 x 28 x 28 fits an R array, but the file holds 3 images
  f <- file.path(tmp, "two-million")
  write_idx_u8(f, c(2e6, 28, 28), rep(1, 3 * 784))
  expect_error(read_idx(f), paste0("two-million.*2000000 x 28 x 28 = 1568000000 unsigned byte values ",
                                   "but only 2352 are present \\(at byte offset 2368\\)"))
  f <- file.path(tmp, "two-million.gz")
  write_idx_u8(f, c(2e6, 28, 28), rep(1, 3 * 784), gz = TRUE)
  expect_error(read_idx(f), "two-million.gz.*only 2352 are present \\(at byte offset 2368\\)")
  # a corrupt gzip stream
  f <- file.path(tmp, "corrupt.gz")
  write_idx_u8(f, c(5, 28, 28), rep(c(3, 200), 5 * 392), gz = TRUE)
  b <- readBin(f, "raw", file.size(f))
  writeBin(b[1:(length(b) - 20)], f)
  expect_error(read_idx(f), "invalid IDX file '.*corrupt.gz': truncated compressed data")
  expect_error(read_idx(tmp), "is a directory")
})

test_that("dataset_mnist rejects caches that are not MNIST-shaped", {
  cache <- local_keras_home()
  # 2 x 2 images instead of 28 x 28
  write_idx_u8(file.path(cache, "train-images-idx3-ubyte"), c(3, 2, 2), 1:12)
  write_idx_u8(file.path(cache, "train-labels-idx1-ubyte"), 3, c(1, 2, 3))
  write_idx_u8(file.path(cache, "t10k-images-idx3-ubyte"), c(1, 2, 2), 1:4)
  write_idx_u8(file.path(cache, "t10k-labels-idx1-ubyte"), 1, 4)
  expect_error(dataset_mnist(), "MNIST IDX files in .*training images should be 28 x 28 pixels, got 2 x 2")
  # label 200
  write_tiny_idx_set(cache)
  write_idx_u8(file.path(cache, "t10k-labels-idx1-ubyte"), 2, c(7, 200))
  expect_error(dataset_mnist(), "test labels should be integers 0 to 9, found 200 \\(label 2\\)")
  # label -1 (a signed-byte label file)
  con <- file(file.path(cache, "t10k-labels-idx1-ubyte"), "wb")
  writeBin(as.raw(c(0, 0, 9, 1, 0, 0, 0, 2, 7, 255)), con)
  close(con)
  expect_error(dataset_mnist(), "test labels should be integers 0 to 9, found -1 \\(label 2\\)")
  # more labels than images
  write_tiny_idx_set(cache)
  write_idx_u8(file.path(cache, "train-labels-idx1-ubyte"), 4, c(1, 2, 3, 4))
  expect_error(dataset_mnist(), "3 training images but 4 labels")
  # a 2-D image file
  write_tiny_idx_set(cache)
  write_idx_u8(file.path(cache, "train-images-idx3-ubyte"), c(3, 784), c_order_values(3, 28, 28))
  expect_error(dataset_mnist(), "training images should be a 3-D array \\(n x 28 x 28\\), got dimensions 3 x 784")
  # pixels beyond 255 (an int32 image file)
  write_tiny_idx_set(cache)
  con <- file(file.path(cache, "t10k-images-idx3-ubyte"), "wb")
  writeBin(as.raw(c(0, 0, 0x0C, 3)), con)
  writeBin(c(2L, 28L, 28L), con, size = 4L, endian = "big")
  writeBin(c(300L, rep(0L, 2 * 784 - 1)), con, size = 4L, endian = "big")
  close(con)
  expect_error(dataset_mnist(), "test pixel values should be integers 0 to 255, found 300")
})

test_that("Fashion-MNIST caches are validated the same way", {
  cache <- local_keras_home()
  old <- options(kerasnative.fashion_mnist_system_dir = tempfile("nosys_"))
  on.exit(options(old), add = TRUE)
  fdir <- file.path(cache, "fashion-mnist")
  dir.create(fdir)
  write_tiny_idx_set(fdir)
  write_idx_u8(file.path(fdir, "train-labels-idx1-ubyte"), 3, c(1, 10, 3))
  expect_error(dataset_fashion_mnist(), "Fashion-MNIST IDX files.*training labels should be integers 0 to 9, found 10")
})

# ---- dataset_mnist from IDX ---------------------------------------------------

test_that("dataset_mnist reads plain and gzipped IDX files from the cache dir", {
  cache <- local_keras_home()
  write_tiny_idx_set(cache, gz = FALSE)
  expect_tiny_dataset(dataset_mnist())
  unlink(list.files(cache, full.names = TRUE))
  write_tiny_idx_set(cache, gz = TRUE)
  expect_tiny_dataset(dataset_mnist())
  # incomplete set -> error naming what is missing
  unlink(file.path(cache, "t10k-labels-idx1-ubyte.gz"))
  expect_error(dataset_mnist(), "incomplete IDX dataset.*missing t10k-labels-idx1-ubyte")
})

test_that("dataset_mnist reads the full real MNIST IDX set", {
  shared <- skip_if_no_shared()
  cache <- local_keras_home()
  files <- c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
  ok <- suppressWarnings(file.symlink(file.path(shared, files), file.path(cache, files)))
  if (!all(ok)) file.copy(file.path(shared, files), cache, overwrite = TRUE)

  m <- dataset_mnist()
  expect_equal(dim(m$train$x), c(60000L, 28L, 28L))
  expect_equal(dim(m$test$x), c(10000L, 28L, 28L))
  expect_true(is.integer(m$train$x) && is.integer(m$train$y))
  expect_equal(range(m$train$x), c(0L, 255L))
  expect_equal(range(m$test$y), c(0L, 9L))
  expect_equal(m$train$y[1:5], c(5L, 0L, 4L, 1L, 9L))
  expect_equal(m$test$y[1:5], c(7L, 2L, 1L, 0L, 4L))
  # published class counts of MNIST
  expect_equal(as.vector(table(m$train$y)),
               c(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949))
  expect_equal(as.vector(table(m$test$y)),
               c(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009))

  # pixels checked against raw bytes: offset 16 + (i-1)*784 + (r-1)*28 + (c-1)
  raw_bytes <- function(file, n) {
    con <- gzfile(file.path(shared, file), "rb")
    on.exit(close(con))
    readBin(con, "raw", n)
  }
  tr <- raw_bytes("train-images-idx3-ubyte.gz", 16 + 3 * 784)
  te <- raw_bytes("t10k-images-idx3-ubyte.gz", 16 + 784)
  byte_at <- function(b, i, r, c) as.integer(b[16 + (i - 1) * 784 + (r - 1) * 28 + c])
  # some non-zero pixels (the digit) and some positions near the borders
  nz <- which(tr[17:(16 + 784)] != as.raw(0))
  positions <- list(c(1, 1, 1), c(1, 28, 28), c(2, 14, 15), c(3, 20, 10), c(3, 5, 27))
  for (k in nz[c(1, 10, length(nz))]) {
    positions[[length(positions) + 1]] <- c(1, (k - 1) %/% 28 + 1, (k - 1) %% 28 + 1)
  }
  for (p in positions) expect_equal(m$train$x[p[1], p[2], p[3]], byte_at(tr, p[1], p[2], p[3]))
  expect_equal(sum(m$train$x[1, , ] > 0), length(nz))
  expect_equal(as.vector(t(m$test$x[1, , ])), as.integer(te[17:(16 + 784)]))
  # image 1 of the training set is a 5: ink in the top rows, blank first/last rows
  expect_equal(sum(m$train$x[1, 1, ]), 0L)
  expect_equal(sum(m$train$x[1, 28, ]), 0L)
})

# ---- offline fallback ------------------------------------------------------------

test_that("offline with an empty cache falls back to the bundled sample with a warning", {
  cache <- local_keras_home()
  expect_warning(s <- dataset_mnist(), "bundled.*mnist.npz.*IDX files.*in that directory")
  expect_equal(dim(s$train$x), c(5000L, 28L, 28L))
  expect_equal(dim(s$test$x), c(1000L, 28L, 28L))
  expect_length(s$train$y, 5000L)
  expect_length(s$test$y, 1000L)
  expect_true(is.integer(s$train$x) && is.integer(s$test$y))
  expect_equal(range(s$train$x), c(0L, 255L))
  expect_setequal(unique(s$train$y), 0:9)
  expect_equal(s$train$y[1:5], c(5L, 0L, 4L, 1L, 9L))
  expect_equal(s$test$y[1:5], c(7L, 2L, 1L, 0L, 4L))
  expect_false(file.exists(file.path(cache, "mnist.npz")))  # nothing downloaded

  # the sample is exactly the first digits of real MNIST (raw bytes)
  shared <- shared_mnist_dir()
  if (!is.null(shared)) {
    con <- gzfile(file.path(shared, "train-images-idx3-ubyte.gz"), "rb")
    b <- readBin(con, "raw", 16 + 5000 * 784)
    close(con)
    last <- b[(16 + 4999 * 784 + 1):(16 + 5000 * 784)]
    expect_equal(as.vector(t(s$train$x[5000, , ])), as.integer(last))
    con <- gzfile(file.path(shared, "t10k-labels-idx1-ubyte.gz"), "rb")
    lb <- readBin(con, "raw", 8 + 1000)
    close(con)
    expect_equal(s$test$y, as.integer(lb[9:1008]))
  }
})

test_that("the MNIST cache dir follows KERAS_HOME", {
  cache <- local_keras_home()
  expect_equal(normalizePath(keras_datasets_dir()), normalizePath(cache))
  Sys.unsetenv("KERAS_HOME")  # restored by local_keras_home
  expect_equal(keras_datasets_dir(), file.path(path.expand("~/.keras"), "datasets"))
})

# ---- Fashion-MNIST ---------------------------------------------------------------

test_that("dataset_fashion_mnist reads the cache dir and errors clearly when absent", {
  cache <- local_keras_home()
  empty_sys <- tempfile("nosys_")
  old <- options(kerasnative.fashion_mnist_system_dir = empty_sys)
  on.exit(options(old), add = TRUE)
  expect_error(dataset_fashion_mnist(),
               "Fashion-MNIST not found.*fashion-mnist.*downloads disabled.*dataset-fashion-mnist")

  fdir <- file.path(cache, "fashion-mnist")
  dir.create(fdir)
  write_tiny_idx_set(fdir, gz = TRUE)
  expect_tiny_dataset(dataset_fashion_mnist())

  writeBin(as.raw(c(1, 2, 3, 4)), file.path(fdir, "train-labels-idx1-ubyte.gz"))
  expect_error(dataset_fashion_mnist(), "train-labels-idx1-ubyte.gz.*bad magic number")
})

test_that("dataset_fashion_mnist reads Debian's dataset-fashion-mnist files", {
  sys_dir <- "/usr/share/datasets/fashion-mnist"
  skip_if_not(file.exists(file.path(sys_dir, "train-labels-idx1-ubyte.gz")),
              "Debian package dataset-fashion-mnist not installed")
  local_keras_home()
  f <- dataset_fashion_mnist()
  expect_equal(dim(f$train$x), c(60000L, 28L, 28L))
  expect_equal(dim(f$test$x), c(10000L, 28L, 28L))
  expect_true(is.integer(f$train$x) && is.integer(f$test$y))
  expect_equal(range(f$test$x), c(0L, 255L))
  # Fashion-MNIST is balanced: 6000 / 1000 per class
  expect_equal(as.vector(table(f$train$y)), rep(6000, 10))
  expect_equal(as.vector(table(f$test$y)), rep(1000, 10))
  expect_equal(f$train$y[1], 9L)  # the first training item is an ankle boot
  con <- gzfile(file.path(sys_dir, "t10k-images-idx3-ubyte.gz"), "rb")
  b <- readBin(con, "raw", 16 + 2 * 784)
  close(con)
  expect_equal(as.vector(t(f$test$x[2, , ])), as.integer(b[(16 + 784 + 1):(16 + 2 * 784)]))
})

# ---- downloads (served from a local file:// URL) ---------------------------------

test_that("missing datasets are downloaded into the cache dir", {
  skip_if_no_zip()
  cache <- local_keras_home()
  server <- tempfile("server_")
  build <- tempfile("npzsrc_")
  dir.create(server)
  dir.create(build)
  on.exit(unlink(c(server, build), recursive = TRUE), add = TRUE)
  write_npy(file.path(build, "x_train.npy"), as.raw(c_order_values(3, 28, 28, 0)), c(3, 28, 28))
  write_npy(file.path(build, "y_train.npy"), as.raw((1:3 + 2) %% 10), 3)
  write_npy(file.path(build, "x_test.npy"), as.raw(c_order_values(2, 28, 28, 100)), c(2, 28, 28))
  write_npy(file.path(build, "y_test.npy"), as.raw((1:2 + 6) %% 10), 2)
  make_npz(file.path(server, "mnist.npz"), build,
           c("x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"))
  write_tiny_idx_set(server, gz = TRUE)
  old <- options(kerasnative.offline = FALSE,
                 kerasnative.datasets_url = paste0("file://", normalizePath(server)),
                 kerasnative.fashion_mnist_system_dir = tempfile("nosys_"))
  on.exit(options(old), add = TRUE)

  expect_message(d <- dataset_mnist(), "Downloading .*mnist.npz")
  expect_tiny_dataset(d)
  expect_true(file.exists(file.path(cache, "mnist.npz")))
  expect_false(file.exists(file.path(cache, "mnist.npz.part")))

  msgs <- character(0)
  f <- withCallingHandlers(dataset_fashion_mnist(), message = function(m) {
    msgs <<- c(msgs, conditionMessage(m))
    invokeRestart("muffleMessage")
  })
  expect_length(grep("^Downloading .*-ubyte\\.gz", msgs), 4)
  expect_tiny_dataset(f)
  expect_true(all(file.exists(file.path(cache, "fashion-mnist",
    c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
      "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")))))
})

test_that("failed downloads fall back (MNIST) or error (Fashion-MNIST) cleanly", {
  cache <- local_keras_home()
  old <- options(kerasnative.offline = FALSE,
                 kerasnative.datasets_url = paste0("file://", tempfile("no_such_server_")),
                 kerasnative.fashion_mnist_system_dir = tempfile("nosys_"))
  on.exit(options(old), add = TRUE)
  expect_warning(suppressMessages(s <- dataset_mnist()), "could not be downloaded.*bundled")
  expect_equal(dim(s$test$x), c(1000L, 28L, 28L))
  expect_error(suppressMessages(dataset_fashion_mnist()), "Fashion-MNIST not found.*download failed")
  expect_length(list.files(cache, recursive = TRUE), 0)  # no partial files left
})
