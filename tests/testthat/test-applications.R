# Applications: parameter counts equal to those Keras 2.2.5 reports for each
# architecture (the keras applications documentation table), and the
# preprocessing functions against R arithmetic.

test_that("application parameter counts match Keras's", {
  skip_on_cran()
  n <- function(m) count_params(m)
  # (with top, without top): Keras's published totals; inputs at the minimum size (counts do not depend on it)
  expect_equal(n(application_resnet50(weights = NULL, input_shape = c(32, 32, 3))), 25636712)
  expect_equal(n(application_resnet50(weights = NULL, include_top = FALSE, input_shape = c(32, 32, 3))), 23587712)
  expect_equal(n(application_vgg16(weights = NULL, include_top = FALSE, input_shape = c(32, 32, 3))), 14714688)
  expect_equal(n(application_vgg19(weights = NULL, include_top = FALSE, input_shape = c(32, 32, 3))), 20024384)
  expect_equal(n(application_xception(weights = NULL, input_shape = c(71, 71, 3))), 22910480)
  expect_equal(n(application_inception_v3(weights = NULL, input_shape = c(75, 75, 3))), 23851784)
  expect_equal(n(application_mobilenet(weights = NULL, input_shape = c(32, 32, 3))), 4253864)
  expect_equal(n(application_mobilenet_v2(weights = NULL, input_shape = c(32, 32, 3))), 3538984)
  expect_equal(n(application_densenet121(weights = NULL, input_shape = c(32, 32, 3))), 8062504)
  expect_equal(n(application_densenet169(weights = NULL, include_top = FALSE, input_shape = c(32, 32, 3))), 12642880)
})

test_that("applications run, pool and refuse what they cannot do", {
  m <- application_mobilenet(weights = NULL, include_top = FALSE, pooling = "avg", input_shape = c(32, 32, 3))
  y <- predict(m, array(runif(2 * 32 * 32 * 3), c(2, 32, 32, 3)))
  expect_equal(dim(y), c(2, 1024))
  v <- application_vgg16(weights = NULL, include_top = FALSE, input_shape = c(32, 32, 3))
  expect_equal(get_layer(v, index = 2)$name, "block1_conv1")
  old <- Sys.getenv("KERAS_HOME", NA)
  Sys.setenv(KERAS_HOME = tempfile())
  expect_error(application_vgg16(), "does not download")
  if (is.na(old)) Sys.unsetenv("KERAS_HOME") else Sys.setenv(KERAS_HOME = old)
  expect_error(application_resnet50(weights = NULL, input_shape = c(16, 16, 3)), "at least 32")
  expect_error(application_vgg16(weights = NULL, pooling = "mean"), "pooling")
})

test_that("preprocess_input functions follow keras's modes", {
  x <- array(c(10, 20, 30, 40, 50, 60), c(1, 2, 1, 3))
  caffe <- imagenet_preprocess_input(x)
  expect_equal(caffe[1, 1, 1, ], c(50, 30, 10) - c(103.939, 116.779, 123.68))
  expect_equal(xception_preprocess_input(x), x / 127.5 - 1)
  expect_equal(densenet_preprocess_input(x)[1, 2, 1, ], (c(20, 40, 60) / 255 - c(0.485, 0.456, 0.406)) / c(0.229, 0.224, 0.225))
  idx <- tempfile(fileext = ".json")
  writeLines(jsonlite::toJSON(setNames(lapply(0:999, function(i) c(sprintf("n%08d", i), paste0("class", i))),
                                       as.character(0:999))), idx)
  p <- matrix(0, 2, 1000); p[1, 5] <- 0.9; p[1, 7] <- 0.1; p[2, 1000] <- 1
  d <- imagenet_decode_predictions(p, top = 2, class_index_path = idx)
  expect_equal(d[[1]]$class_description, c("class4", "class6"))
  expect_equal(d[[2]]$class_name[1], "n00000999")
})
