test_that("normalize divides by the norm along Keras's axis (zero norms kept)", {
  x <- matrix(c(3, 4, 0, 0, 1, 1), 3, byrow = TRUE)
  expect_equal(normalize(x), rbind(c(0.6, 0.8), c(0, 0), c(1, 1) / sqrt(2)))
  expect_equal(normalize(x, axis = 0), sweep(x, 2, sqrt(colSums(x^2)), "/"))
  expect_equal(normalize(x, order = 1), rbind(c(3, 4) / 7, c(0, 0), c(0.5, 0.5)))
  a <- array(1:24, c(2, 3, 4))
  expect_equal(normalize(a)[2, 3, ], a[2, 3, ] / sqrt(sum(a[2, 3, ]^2)))
  expect_equal(normalize(c(3, 4)), c(0.6, 0.8))
  expect_error(normalize(x, axis = 2), "axis")
})

test_that("keras_array converts types and keeps dimensions", {
  expect_identical(keras_array(matrix(1:4, 2)), matrix(as.double(1:4), 2))
  expect_identical(keras_array(c(1.7, 2), "int32"), c(1L, 2L))
  expect_equal(keras_array(list(1:2, matrix(1, 1, 1))), list(c(1, 2), matrix(1, 1, 1)))
  expect_error(keras_array("a"), "numeric")
})

test_that("get_file uses the cache, checks MD5, extracts, and fails clearly offline", {
  withr::local_options(kerasnative.offline = TRUE)
  home <- tempfile("kh"); dir.create(file.path(home, "datasets"), recursive = TRUE)
  f <- file.path(home, "datasets", "data.txt")
  writeLines("hello", f)
  expect_equal(get_file("data.txt", "http://example.invalid/data.txt", cache_dir = home), f)
  md5 <- unname(tools::md5sum(f))
  expect_equal(get_file("data.txt", "http://x.invalid", file_hash = md5, cache_dir = home), f)
  expect_error(get_file("data.txt", "http://x.invalid", file_hash = strrep("0", 32), cache_dir = home), "MD5")
  expect_error(get_file("other.txt", "http://x.invalid/o", cache_dir = home), "could not be downloaded.*offline")
  src <- tempfile("pkg"); dir.create(src); writeLines("inner", file.path(src, "in.txt"))
  old <- setwd(dirname(src)); utils::tar(file.path(home, "datasets", "arch.tar.gz"), basename(src), compression = "gzip"); setwd(old)
  get_file("arch.tar.gz", "http://x.invalid", cache_dir = home, extract = TRUE)
  expect_equal(readLines(file.path(home, "datasets", basename(src), "in.txt")), "inner")
})

test_that("%<-% destructures nested lists", {
  c(c(a, b), c(d)) %<-% list(list(1, "x"), list(TRUE))
  expect_equal(list(a, b, d), list(1, "x", TRUE))
  expect_error(c(p, q) %<-% list(1), "2 names")
})

test_that("predict_on_batch equals predict; backend() exposes k_ functions; Python-only calls explain", {
  m <- keras_model_sequential() %>% layer_dense(2, input_shape = 3)
  x <- matrix(runif(12), 4)
  expect_equal(predict_on_batch(m, x), predict(m, x))
  K <- backend()
  expect_identical(K$epsilon, k_epsilon)
  expect_equal(implementation(), "keras")
  expect_error(use_backend("theano"), "tensorflow")
  expect_error(use_python("/usr/bin/python"), "without Python")
  expect_error(export_savedmodel(m, "dir"), "save_model_hdf5")
})

test_that("application_densenet builds any blocks; DenseNet121's blocks give its parameter count", {
  skip_on_cran()
  expect_equal(count_params(application_densenet(c(6, 12, 24, 16), weights = NULL, input_shape = c(32, 32, 3))), 8062504)
  small <- application_densenet(c(1, 1, 1, 1), weights = NULL, include_top = FALSE, input_shape = c(32, 32, 3))
  expect_s3_class(small, "keras.engine.training.Model")
  expect_error(application_densenet(c(1, 1, 1, 1)), "imagenet")
})
