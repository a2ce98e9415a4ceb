# Core layers checked against R arithmetic.

one_layer <- function(layer_fn, input_shape, ...) {
  keras_model_sequential() %>% layer_fn(..., input_shape = input_shape)
}

test_that("layer_dense computes activation(x %*% W + b) for every activation", {
  set.seed(10)
  x <- matrix(rnorm(12), 4, 3)
  acts <- list(
    linear = identity, relu = function(z) pmax(z, 0), sigmoid = function(z) 1 / (1 + exp(-z)),
    tanh = tanh, elu = function(z) ifelse(z > 0, z, exp(z) - 1),
    selu = function(z) 1.0507009873554805 * ifelse(z > 0, z, 1.6732632423543772 * (exp(z) - 1)),
    softplus = function(z) log1p(exp(z)), softsign = function(z) z / (1 + abs(z)),
    hard_sigmoid = function(z) pmin(pmax(0.2 * z + 0.5, 0), 1),
    softmax = function(z) { e <- exp(z - apply(z, 1, max)); e / rowSums(e) })
  for (a in names(acts)) {
    m <- one_layer(layer_dense, 3, units = 2, activation = a)
    w <- get_weights(m)
    expect_equal(dim(w[[1]]), c(3, 2))
    expect_equal(w[[2]], c(0, 0))
    b <- c(0.3, -0.2)
    set_weights(m, list(w[[1]], b))
    z <- sweep(x %*% w[[1]], 2, b, "+")
    expect_equal(predict(m, x), acts[[a]](z), tolerance = 1e-5, info = a)
  }
})

test_that("glorot_uniform and other initializers have Keras's ranges and scales", {
  set.seed(11)
  m <- one_layer(layer_dense, 300, units = 200)
  k <- get_weights(m)[[1]]
  limit <- sqrt(6 / (300 + 200))
  expect_lte(max(abs(k)), limit)
  expect_equal(var(as.vector(k)), limit^2 / 3, tolerance = 0.05)
  h <- get_weights(one_layer(layer_dense, 400, units = 300, kernel_initializer = "he_normal"))[[1]]
  expect_equal(sd(as.vector(h)), sqrt(2 / 400), tolerance = 0.05)
  expect_lte(max(abs(h)), 2 * sqrt(2 / 400) / 0.87962566103423978 + 1e-6)  # truncated at 2 sd
  o <- get_weights(one_layer(layer_dense, 3, units = 2, kernel_initializer = "ones",
                             bias_initializer = "ones"))
  expect_equal(o, list(matrix(1, 3, 2), c(1, 1)))
  expect_error(one_layer(layer_dense, 3, units = 2, kernel_initializer = "nope"), "unknown initializer 'nope'")
})

test_that("layer_dropout is the identity at inference and inverted dropout in training", {
  set.seed(12)
  m <- keras_model_sequential() %>%
    layer_dense(units = 1000, use_bias = FALSE, kernel_initializer = "ones", input_shape = 1,
                trainable = FALSE) %>%
    layer_dropout(rate = 0.4)
  x <- matrix(1, 5, 1)
  expect_equal(predict(m, x), matrix(1, 5, 1000))
  # training: observe the mask through the gradient of a following layer
  m2 <- keras_model_sequential() %>%
    layer_dense(units = 2000, use_bias = FALSE, kernel_initializer = "ones", input_shape = 1,
                trainable = FALSE) %>%
    layer_dropout(rate = 0.4) %>%
    layer_dense(units = 1, use_bias = FALSE, kernel_initializer = "zeros")
  m2 %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 1))
  train_on_batch(m2, matrix(1, 1, 1), matrix(-0.5, 1, 1))
  # gradient of (w.h + 0.5)^2 at w = 0 is 2 * 0.5 * h with h in {0, 1/0.6}
  g <- -as.vector(get_weights(m2)[[2]])
  expect_setequal(round(unique(g), 5), round(c(0, 1 / 0.6), 5))
  expect_equal(mean(g == 0), 0.4, tolerance = 0.1)
})

test_that("layer_flatten keeps Keras's order (channels fastest)", {
  x <- array(seq_len(2 * 3 * 4 * 2), c(2, 3, 4, 2))
  m <- keras_model_sequential() %>% layer_flatten(input_shape = c(3, 4, 2))
  p <- predict(m, x)
  expect_equal(dim(p), c(2, 24))
  expect_equal(p[2, ], as.vector(aperm(x[2, , , ], c(3, 2, 1))))
  expect_equal(p, array_reshape(x, c(2, 24)))
})

test_that("layer_activation applies the named function", {
  x <- matrix(c(-1, 0.5, 2, -3), 2)
  m <- keras_model_sequential() %>% layer_activation("relu", input_shape = 2)
  expect_equal(predict(m, x), pmax(x, 0))
})

test_that("layers called without an object return reusable layer objects", {
  d <- layer_dense(units = 3, name = "shared_dense")
  expect_s3_class(d, "keras.layers.core.Dense")
  expect_equal(d$name, "shared_dense")
  a <- layer_input(shape = 4)
  b <- layer_input(shape = 4)
  out <- layer_add(list(d(a), d(b)))
  m <- keras_model(list(a, b), out)
  expect_equal(count_params(m), 4 * 3 + 3)
  xa <- matrix(rnorm(8), 2, 4); xb <- matrix(rnorm(8), 2, 4)
  w <- get_weights(m)
  expect_equal(predict(m, list(xa, xb)),
               sweep(xa %*% w[[1]], 2, w[[2]], "+") + sweep(xb %*% w[[1]], 2, w[[2]], "+"),
               tolerance = 1e-5)
})

test_that("regularizer and constraint identifiers are keras's; unknown ones are refused by name", {
  # (regularizers and constraints are supported since issue 13: keras's string identifiers
  # give the objects with their default arguments)
  d <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3, kernel_regularizer = "l2")
  expect_equal(get_config(get_layer(d, index = 1))$kernel_regularizer$config$l2, 0.009999999776482582)
  c2 <- keras_model_sequential() %>%
    layer_conv_2d(filters = 2, kernel_size = 3, bias_constraint = "max_norm", input_shape = c(4, 4, 1))
  expect_equal(get_config(get_layer(c2, index = 1))$bias_constraint$class_name, "MaxNorm")
  expect_error(layer_dense(units = 2, kernel_regularizer = "l3"), "`kernel_regularizer` must be a regularizer")
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, bias_constraint = "max"),
               "`bias_constraint` must be a constraint")
})
