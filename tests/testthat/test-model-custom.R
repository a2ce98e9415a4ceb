# keras_model_custom(): layers created in model_fn(self), the forward pass
# traced when the model first meets data; and saving/loading models with
# custom layers.

keras_model_simple_mlp <- function(num_classes, use_dp = FALSE, name = NULL) {
  keras_model_custom(name = name, function(self) {
    self$dense1 <- layer_dense(units = 16, activation = "relu", name = "dense1")
    self$dense2 <- layer_dense(units = num_classes, activation = "softmax", name = "dense2")
    if (use_dp) self$dp <- layer_dropout(rate = 0.5)
    function(inputs, mask = NULL) {
      x <- self$dense1(inputs)
      if (use_dp) x <- self$dp(x)
      self$dense2(x)
    }
  })
}

test_that("a custom model builds on its first data and trains like the functional model", {
  set.seed(4)
  n <- 300
  x <- matrix(rnorm(n * 4), n, 4)
  y <- to_categorical(as.integer(x[, 1] * x[, 2] > 0), 2)
  cm <- keras_model_simple_mlp(2, name = "mlp")
  cm %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = 0.2), metrics = "accuracy")
  expect_true(is.null(cm$compiled))  # kept until the model is built
  inp <- layer_input(shape = 4)
  fm <- keras_model(inp, inp %>% layer_dense(units = 16, activation = "relu") %>%
                      layer_dense(units = 2, activation = "softmax"))
  fm %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = 0.2), metrics = "accuracy")
  p0 <- predict(cm, x[1:3, ])  # builds the model
  expect_equal(cm$name, "mlp")
  expect_equal(vapply(cm$layers, function(l) l$name, ""), c(cm$layers[[1]]$name, "dense1", "dense2"))
  expect_equal(count_params(cm), 4 * 16 + 16 + 16 * 2 + 2)
  w <- get_weights(cm)
  expect_equal(p0, { h <- pmax(x[1:3, ] %*% w[[1]] + rep(w[[2]], each = 3), 0)
                     z <- h %*% w[[3]] + rep(w[[4]], each = 3); exp(z) / rowSums(exp(z)) }, tolerance = 1e-5)
  set_weights(fm, w)
  h1 <- fit(fm, x, y, epochs = 5, batch_size = 30, shuffle = FALSE, verbose = 0)
  h2 <- fit(cm, x, y, epochs = 5, batch_size = 30, shuffle = FALSE, verbose = 0)
  expect_equal(h2$metrics$loss, h1$metrics$loss, tolerance = 1e-5)
  expect_equal(get_weights(cm), get_weights(fm), tolerance = 1e-5)
  expect_gt(tail(h2$metrics$acc, 1), 0.8)
})

test_that("a custom model built by fit(), with a custom R6 layer inside", {
  Scale <- R6::R6Class("Scale", inherit = KerasLayer, public = list(
    w = NULL,
    build = function(input_shape) self$w <- self$add_weight("w", list(input_shape[[2]]), initializer = "ones"),
    call = function(x, mask = NULL) x * self$w))
  set.seed(6)
  cm <- keras_model_custom(function(self) {
    self$scale <- create_layer(Scale, NULL, list(name = "scale"))
    self$out <- layer_dense(units = 1, name = "out")
    function(inputs, mask = NULL) self$out(self$scale(inputs))
  })
  cm %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.05))
  x <- matrix(rnorm(200), 100, 2)
  y <- x %*% c(2, -1)
  h <- fit(cm, x, y, epochs = 20, batch_size = 10, verbose = 0)
  expect_lt(tail(h$metrics$loss, 1), h$metrics$loss[1] / 10)
  w <- get_weights(cm)
  expect_equal(predict(cm, x), (x * rep(w[[1]], each = 100)) %*% w[[2]] + w[[3]], tolerance = 1e-5)
  expect_error(keras_model_custom(function(self) 1), "must return the forward pass")
  cm2 <- keras_model_simple_mlp(2)
  expect_error(fit(cm2, list2env(list()), NULL), "built from its first data")
})

test_that("models with custom layers save and load with custom_objects (HDF5, JSON, weights)", {
  Affine <- R6::R6Class("Affine", inherit = KerasLayer, public = list(
    units = NULL, k = NULL, b = NULL, fixed = NULL,
    initialize = function(units, tag = c(1, 2)) {
      stopifnot(is.numeric(tag), length(tag) == 2)  # vectors come back as vectors from the config
      self$units <- units
    },
    build = function(input_shape) {
      self$k <- self$add_weight("k", list(input_shape[[2]], self$units))
      self$fixed <- self$add_weight("fixed", list(self$units), initializer = "ones", trainable = FALSE)
      self$b <- self$add_weight("b", list(self$units), initializer = "zeros")
    },
    call = function(x, mask = NULL) k_dot(x, self$k) * self$fixed + self$b))
  set.seed(9)
  inp <- layer_input(shape = 3)
  out <- inp %>% create_layer(Affine, ., list(units = 2, tag = c(3, 4), name = "aff")) %>%
    layer_lambda(function(x) k_tanh(x), name = "squash")
  m <- keras_model(inp, out)
  m %>% compile(loss = "mse", optimizer = optimizer_adam(lr = 0.01))
  x <- matrix(rnorm(30), 10, 3)
  fit(m, x, matrix(0.5, 10, 2), epochs = 2, verbose = 0)
  set_weights(m, c(get_weights(m)[1:2], list(c(2, 3))))  # non-trainable weight changed and saved
  f <- tempfile(fileext = ".h5")
  save_model_hdf5(m, f)
  cfg <- jsonlite::fromJSON(model_to_json(m), simplifyVector = FALSE)$config$layers
  expect_equal(vapply(cfg, function(l) l$class_name, ""), c("InputLayer", "Affine", "Lambda"))
  expect_equal(cfg[[2]]$config$units, 2L)
  expect_equal(cfg[[2]]$config$tag, list(3L, 4L))
  expect_error(load_model_hdf5(f), "unknown layer class 'Affine'.*custom_objects")
  objs <- list(Affine = Affine, squash = function(x) k_tanh(x))
  m2 <- load_model_hdf5(f, custom_objects = objs)
  expect_identical(predict(m2, x), predict(m, x))
  w <- get_weights(m)
  expect_equal(predict(m2, x), tanh((x %*% w[[1]]) * rep(c(2, 3), each = 10) + rep(w[[2]], each = 10)),
               tolerance = 1e-5)
  # training resumes identically (optimizer state restored)
  fit(m, x, matrix(0.5, 10, 2), epochs = 1, shuffle = FALSE, verbose = 0)
  fit(m2, x, matrix(0.5, 10, 2), epochs = 1, shuffle = FALSE, verbose = 0)
  expect_equal(get_weights(m2), get_weights(m), tolerance = 1e-6)
  # JSON round trip and weights-only files
  m3 <- with_custom_object_scope(objs, model_from_json(model_to_json(m)))
  fw <- tempfile(fileext = ".h5")
  save_model_weights_hdf5(m, fw)
  load_model_weights_hdf5(m3, fw)
  expect_identical(predict(m3, x), predict(m, x))
  unlink(c(f, fw))
})
