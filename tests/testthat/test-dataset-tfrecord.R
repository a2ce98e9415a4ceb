# TFRecord writing and reading: round trips, hand-encoded bytes, the
# TensorFlow-written files of ../shared/testdata/tfrecord, corrupted files.

shared_tfrecord_dir <- function() {
  cands <- c(Sys.getenv("KERASNATIVE_SHARED", ""),
             file.path(testthat::test_path(), "..", "..", "..", "shared"))
  for (d in cands) {
    if (!nzchar(d)) next
    for (sub in file.path(d, c("testdata/tfrecord", "tfrecord")))
      if (file.exists(file.path(sub, "tfx_mnist_1000.tfrecord"))) return(normalizePath(sub))
  }
  NULL
}

parse_ds <- function(path, features, ...) {
  tfrecord_dataset(path, ...) %>% dataset_map(function(r) tf$io$parse_single_example(r, features))
}

f32 <- function(x) readBin(writeBin(as.vector(x), raw(), size = 4), "double", n = length(x), size = 4)

test_that("write_tfrecord writes the protobuf bytes of a hand-encoded Example", {
  path <- tempfile(fileext = ".tfrecord")
  write_tfrecord(list(a = 1L), path)
  b <- readBin(path, "raw", 100)
  # Example{features{feature{key "a" value{int64_list{value: 1}}}}}
  payload <- as.raw(c(0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x01, 0x61, 0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x01))
  expect_equal(length(b), 8 + 4 + 14 + 4)
  expect_equal(b[1:8], as.raw(c(14, 0, 0, 0, 0, 0, 0, 0)))
  expect_equal(b[13:26], payload)
})

for (comp in c("", "GZIP", "ZLIB")) {
  test_that(paste0("round trip of every feature type, compression '", comp, "'"), {
    n <- 7
    set.seed(11)
    ints <- sample(-1000:1000, n)
    dbl <- matrix(rnorm(n * 3), n, 3)
    img <- array(sample(0:255, n * 4 * 5, replace = TRUE), c(n, 4, 5))
    txt <- paste0("rec", seq_len(n), "_\u00e9")
    arr <- array(as.integer(seq_len(n * 2 * 3)), c(n, 2, 3))
    ext <- switch(comp, GZIP = ".tfrecord.gz", ZLIB = ".tfrecord.zlib", ".tfrecord")
    path <- tempfile(fileext = ext)
    write_tfrecord(list(i = ints, d = dbl, img = img, s = txt, arr = arr), path, compression_type = comp,
                   as_bytes = "img")
    ds <- tfrecord_dataset(path, compression_type = if (comp == "") "auto" else comp) %>%
      dataset_map(function(r) {
        f <- tf$io$parse_single_example(r, list(
          i = tf$io$FixedLenFeature(shape(), tf$int64), d = tf$io$FixedLenFeature(shape(3), tf$float32),
          img = tf$io$FixedLenFeature(shape(), tf$string), s = tf$io$FixedLenFeature(shape(), tf$string),
          arr = tf$io$FixedLenFeature(shape(2, 3), tf$int64)))
        list(i = f$i, d = f$d, img = tf$reshape(tf$io$decode_raw(f$img, tf$uint8), shape(4, 5)),
             s = f$s, arr = f$arr)
      }, num_parallel_calls = 2) %>% dataset_batch(n)
    b <- iter_next(as_iterator(ds))
    expect_equal(b$i, ints)
    expect_equal(b$d, f32(dbl) |> matrix(n, 3))
    expect_equal(b$img, img)
    expect_equal(b$s, enc2utf8(txt))
    expect_equal(b$arr, array(as.double(arr), dim(arr)))
    # also with the auto-detected compression
    expect_length(iterate(tfrecord_dataset(path)), n)
  })
}

test_that("float lists are float32 and int64 values keep their sign", {
  path <- tempfile(fileext = ".tfrecord")
  write_tfrecord(list(x = c(0.1, -2.5e10), k = c(-5L, .Machine$integer.max)), path)
  got <- iterate(parse_ds(path, list(x = tf$io$FixedLenFeature(shape(), tf$float32),
                                     k = tf$io$FixedLenFeature(shape(), tf$int64))))
  expect_equal(got[[1]]$x, f32(0.1))
  expect_equal(got[[2]]$x, f32(-2.5e10))
  expect_equal(c(got[[1]]$k, got[[2]]$k), c(-5, 2147483647))
})

test_that("tfrecord_writer, default values and VarLenFeature", {
  path <- tempfile(fileext = ".tfrecord")
  w <- tfrecord_writer(path)
  w$write(list(v = c(1L, 2L, 3L), name = "a"))
  w$write(list(name = "b"))
  w$write(list(v = 7L, name = "c", opt = 2.5))
  expect_false(file.exists(path))  # written under a temporary name until close()
  expect_equal(w$close(), 3)
  expect_true(file.exists(path))
  got <- iterate(parse_ds(path, list(v = tf$io$VarLenFeature(tf$int64),
                                     opt = tf$io$FixedLenFeature(shape(), tf$float32, default_value = -1))))
  expect_equal(lapply(got, `[[`, "v"), list(c(1, 2, 3), numeric(0), 7))
  expect_equal(sapply(got, `[[`, "opt"), c(-1, -1, 2.5))
  ex <- read_tfrecord_examples(path)
  expect_equal(ex[[1]]$name$kind, "bytes_list")
  expect_equal(rawToChar(ex[[3]]$name$values[[1]]), "c")
})

test_that("variable-length list columns in write_tfrecord", {
  path <- tempfile(fileext = ".tfrecord")
  write_tfrecord(list(v = list(c(1.5, 2), numeric(0), 3), id = 1:3), path)
  got <- iterate(parse_ds(path, list(v = tf$io$VarLenFeature(tf$float32))))
  expect_equal(lapply(got, `[[`, "v"), list(c(1.5, 2), numeric(0), 3))
})

test_that("interleave and num_parallel_reads alternate between files", {
  p1 <- tempfile(fileext = ".tfrecord"); p2 <- tempfile(fileext = ".tfrecord")
  write_tfrecord(list(k = 1:3), p1); write_tfrecord(list(k = 11:13), p2)
  feat <- list(k = tf$io$FixedLenFeature(shape(), tf$int64))
  seq_k <- function(ds) unlist(iterate(ds %>% dataset_map(function(r) tf$io$parse_single_example(r, feat)$k)))
  expect_equal(seq_k(tfrecord_dataset(c(p1, p2))), c(1:3, 11:13))
  expect_equal(seq_k(tfrecord_dataset(c(p1, p2), num_parallel_reads = 2)), c(1, 11, 2, 12, 3, 13))
  files <- tensor_slices_dataset(c(p1, p2))
  expect_equal(seq_k(files %>% dataset_interleave(function(f) tfrecord_dataset(f), cycle_length = 2, block_length = 2)),
               c(1, 2, 11, 12, 3, 13))
})

test_that("TensorFlow-written files from ../shared/testdata/tfrecord are read", {
  d <- shared_tfrecord_dir()
  if (is.null(d)) skip("shared tfrecord test data not found (set KERASNATIVE_SHARED)")
  # tfx MNIST: 1000 records, labels counted in the README, floats k/255 - 0.5
  m <- iter_next(as_iterator(tfrecord_dataset(file.path(d, "tfx_mnist_1000.tfrecord")) %>%
    dataset_map(function(r) {
      f <- tf$parse_single_example(r, list(image_floats = tf$FixedLenFeature(shape(784), tf$float32),
                                           image_class = tf$FixedLenFeature(shape(), tf$int64)))
      list(tf$reshape(f$image_floats, shape(28, 28)), f$image_class)
    }) %>% dataset_batch(2000)))
  expect_equal(dim(m[[1]]), c(1000, 28, 28))
  expect_equal(as.vector(table(m[[2]])), c(87, 137, 87, 90, 118, 79, 78, 107, 120, 97))
  k <- (m[[1]] + 0.5) * 255
  expect_lt(max(abs(k - round(k))), 1e-3)
  # penguins (GZIP, records with unsorted keys)
  p <- iter_next(as_iterator(parse_ds(file.path(d, "tfx_penguin_eval.tfrecord.gz"),
                                      list(species = tf$io$FixedLenFeature(shape(), tf$int64),
                                           body_mass_g = tf$io$FixedLenFeature(shape(), tf$float32))) %>%
                               dataset_batch(500)))
  expect_equal(as.vector(table(p$species)), c(47, 22, 31))
  expect_true(all(p$body_mass_g >= 0 & p$body_mass_g <= 1))
  # next_page (gzip-tool header): bytes labels page1..page4
  np <- iterate(parse_ds(file.path(d, "tfx_next_page.tfrecord.gz"),
                         list(label = tf$io$FixedLenFeature(shape(), tf$string),
                              session_index = tf$io$FixedLenFeature(shape(), tf$int64))))
  expect_length(np, 100)
  expect_true(all(sapply(np, `[[`, "label") %in% paste0("page", 1:4)))
  expect_true(all(sapply(np, `[[`, "session_index") %in% 0:9))
  # singles: one feature per record
  s <- iterate(parse_ds(file.path(d, "pwnall_singles.tfrecords"),
                        list(int_feature = tf$io$VarLenFeature(tf$int64),
                             float_feature = tf$io$VarLenFeature(tf$float32),
                             byte_feature = tf$io$VarLenFeature(tf$string))))
  expect_equal(s[[1]]$int_feature, 42)
  expect_equal(s[[2]]$float_feature, f32(3.14))
  expect_equal(s[[3]]$byte_feature, "@ABCD")
  expect_length(iterate(tfrecord_dataset(file.path(d, "tfrecord_lite_test.tfrecord"))), 42)
})

test_that("corrupted files raise errors naming file, record and offset", {
  path <- tempfile(fileext = ".tfrecord")
  write_tfrecord(list(a = 1:5, b = c(0.5, 1, 2, 3, 4)), path)
  b <- readBin(path, "raw", file.size(path))
  rec <- length(b) / 5                     # equal-sized records
  bad <- tempfile(fileext = ".tfrecord")
  b2 <- b; b2[3 * rec + 14] <- xor(b2[3 * rec + 14], as.raw(0x10))   # a data byte of record 3
  writeBin(b2, bad)
  msg <- sprintf("'%s', record 3 at byte offset %d: data CRC mismatch", normalizePath(bad), 3 * rec)
  expect_error(iterate(tfrecord_dataset(bad)), msg, fixed = TRUE)
  # through a parallel map and prefetch the error still arrives, after the good records
  it <- as_iterator(parse_ds(bad, list(a = tf$io$FixedLenFeature(shape(), tf$int64))) %>% dataset_prefetch(2))
  expect_equal(iter_next(it)$a, 1)
  expect_equal(iter_next(it)$a, 2)
  expect_equal(iter_next(it)$a, 3)
  expect_error(iter_next(it), "record 3", fixed = TRUE)
  trunc <- tempfile(fileext = ".tfrecord")
  writeBin(b[1:(length(b) - 3)], trunc)
  expect_error(iterate(tfrecord_dataset(trunc)), sprintf("record 4 at byte offset %d: truncated", 4 * rec))
  notrec <- tempfile(fileext = ".tfrecord")
  writeLines("this is plain text, not records", notrec)
  expect_error(iterate(tfrecord_dataset(notrec)), "not a TFRecord file")
  expect_error(iterate(tfrecord_dataset(path, "GZIP")), "gzip")
  expect_error(iterate(parse_ds(path, list(zz = tf$io$FixedLenFeature(shape(), tf$int64)))),
               "record 0 at byte offset 0: .*required feature 'zz' is missing")
  expect_error(iterate(parse_ds(path, list(a = tf$io$FixedLenFeature(shape(), tf$float32)))),
               "feature 'a' should be a float_list but is a int64_list")
  expect_error(iterate(parse_ds(path, list(a = tf$io$FixedLenFeature(shape(3), tf$int64)))),
               "feature 'a' should have 3 value")
  expect_error(tfrecord_dataset(tempfile()), "file not found")
  expect_error(write_tfrecord(list(a = 1:3, b = 1:2), tempfile()), "records")
  expect_error(write_tfrecord(list(img = c(1, 300)), tempfile(), as_bytes = "img"), "0..255")
})

test_that("write_tfrecord() output is byte-identical to the writer before the parallel column encoder", {
  # fixtures/tfrecord/write_ref*.tfrecord: written from write_ref_data() (helper-write-ref.R)
  # by the aperm()-based writer of commit 52b12eb
  d <- write_ref_data()
  path <- tempfile(fileext = ".tfrecord")
  write_tfrecord(d, path, as_bytes = c("img", "img_dbl"))
  ref <- test_path("fixtures", "tfrecord", "write_ref.tfrecord")
  expect_identical(readBin(path, "raw", 1e6), readBin(ref, "raw", 1e6))
  gz <- tempfile(fileext = ".tfrecord.gz")
  write_tfrecord(d["lab"], gz, compression_type = "GZIP")
  expect_identical(readBin(gz, "raw", 1e6), readBin(test_path("fixtures", "tfrecord", "write_ref_lab.tfrecord.gz"), "raw", 1e6))
})

test_that("write_tfrecord() over many chunks: same bytes for 1 and 2 threads, values as plain R reads them", {
  old <- kn_threads()
  on.exit(kn_threads(old))
  n <- 1500L  # three encoder chunks of 512 records
  x <- array((seq_len(n * 6) * 37L) %% 256L, c(n, 2, 3))
  v <- matrix(seq_len(n * 2) / 8, n, 2)
  p1 <- tempfile(fileext = ".tfrecord"); p2 <- tempfile(fileext = ".tfrecord")
  kn_threads(1); write_tfrecord(list(x = x, v = v, k = seq_len(n)), p1, as_bytes = "x")
  kn_threads(2); write_tfrecord(list(x = x, v = v, k = seq_len(n)), p2, as_bytes = "x")
  expect_identical(readBin(p1, "raw", 1e7), readBin(p2, "raw", 1e7))
  recs <- kerasnative:::cpp_tfrecord_read_examples(p2, "", -1)
  expect_length(recs, n)
  for (i in c(1L, 512L, 513L, 1024L, 1025L, n)) {
    # record i: row-major values of slice i, i.e. t(x[i, , ]) flattened in R
    expect_identical(as.integer(recs[[i]]$x$values[[1]]), as.integer(t(x[i, , ])))
    expect_equal(recs[[i]]$v$values, v[i, ])
    expect_equal(recs[[i]]$k$values, i)
  }
})

test_that("write_tfrecord() reports NA / out-of-range values in a later chunk and leaves no file", {
  n <- 2000L
  x <- array(1L, c(n, 3)); x[1800, 2] <- 256L
  path <- tempfile(fileext = ".tfrecord")
  expect_error(write_tfrecord(list(x = x), path, as_bytes = "x"), "feature 'x'.*0\\.\\.255")
  expect_false(file.exists(path))
  expect_length(list.files(dirname(path), pattern = basename(path), all.files = TRUE), 0)
  k <- seq_len(n); k[1999] <- NA
  expect_error(write_tfrecord(list(k = k), path), "feature 'k' contains NA")
  d <- rep(0.5, n); d[700] <- NA
  expect_error(write_tfrecord(list(d = d), path), "feature 'd' contains NA")
  d[700] <- NaN  # NaN is a float value
  write_tfrecord(list(d = d), path)
  expect_true(is.nan(kerasnative:::cpp_tfrecord_read_examples(path, "", -1)[[700]]$d$values))
  expect_error(write_tfrecord(list(b = c(TRUE, FALSE)), path, as_bytes = "b"), "0\\.\\.255")
})
