# Keras 2.2.5 layers added for the surface: forward against plain R, training
# behaviour, config round trips and the common arguments.

predict1 <- function(layer_fn, x, ...) {
  m <- keras_model_sequential() %>% layer_fn(..., input_shape = dim(x)[-1])
  list(model = m, y = predict(m, x))
}

test_that("advanced activation layers match their formulas", {
  set.seed(1)
  x <- array(rnorm(2 * 3 * 4), c(2, 3, 4))
  expect_equal(predict1(layer_activation_relu, x, max_value = 0.8, negative_slope = 0.1, threshold = 0.2)$y,
               ifelse(x > 0.2, pmin(x, 0.8), 0.1 * (x - 0.2)), tolerance = 1e-6)
  expect_equal(predict1(layer_activation_elu, x, alpha = 0.5)$y, ifelse(x > 0, x, 0.5 * (exp(x) - 1)), tolerance = 1e-6)
  expect_equal(predict1(layer_activation_thresholded_relu, x, theta = 0.5)$y, ifelse(x > 0.5, x, 0), tolerance = 1e-6)
  sm <- predict1(layer_activation_softmax, x, axis = 1)$y
  expect_equal(sm, sweep(exp(x), c(1, 3), apply(exp(x), c(1, 3), sum), "/"), tolerance = 1e-6)
  sel <- predict1(layer_activation_selu, x)$y
  expect_equal(sel, 1.0507009873554805 * ifelse(x > 0, x, 1.6732632423543772 * (exp(x) - 1)), tolerance = 1e-6)
  p <- predict1(layer_activation_parametric_relu, x, shared_axes = 1, alpha_initializer = initializer_constant(0.25))
  expect_equal(dim(get_weights(p$model)[[1]]), c(1, 4))
  expect_equal(p$y, ifelse(x > 0, x, 0.25 * x), tolerance = 1e-6)
  expect_error(layer_activation_relu(threshold = -1), "threshold")
})

test_that("PReLU learns alpha by gradient descent", {
  x <- matrix(c(-1, -2, 1, 3), 2, 2); y <- matrix(c(-0.5, -1, 1, 3), 2, 2)
  m <- keras_model_sequential() %>% layer_activation_parametric_relu(input_shape = 2)
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
  train_on_batch(m, x, y)
  # alpha from 0: d loss / d alpha_j = sum_i 2 (alpha x - y) x / 4 over x < 0
  g <- c(sum(2 * (0 - y[, 1]) * x[, 1] / 4), 0)
  expect_equal(as.vector(get_weights(m)[[1]]), -0.1 * g, tolerance = 1e-6)
})

test_that("noise layers are identities at inference and act in training", {
  set.seed(4)
  x <- matrix(rnorm(400 * 10), 400, 10)
  for (f in list(function(o) layer_gaussian_noise(o, stddev = 0.5, input_shape = 10),
                 function(o) layer_gaussian_dropout(o, rate = 0.3, input_shape = 10),
                 function(o) layer_alpha_dropout(o, rate = 0.3, input_shape = 10),
                 function(o) layer_activity_regularization(o, l1 = 0.1, input_shape = 10))) {
    m <- keras_model_sequential() %>% f()
    expect_equal(predict(m, x), x, tolerance = 1e-6)
  }
  # in training: a trainable Dense after GaussianNoise sees x + noise. Check through the loss:
  # mse(x + e, 0) with one Dense identity layer frozen -> mean((x + e)^2) ~ mean(x^2) + 0.25
  m <- keras_model_sequential() %>% layer_gaussian_noise(stddev = 0.5, input_shape = 10) %>%
    layer_dense(units = 10, kernel_initializer = initializer_identity(), use_bias = FALSE, trainable = FALSE)
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0))
  l <- train_on_batch(m, x, matrix(0, 400, 10))[[1]]
  expect_equal(l, mean(x^2) + 0.25, tolerance = 0.05)
  # activity regularization adds l1 * sum(|x|) to the training loss
  a <- keras_model_sequential() %>% layer_activity_regularization(l1 = 0.01, l2 = 0.02, input_shape = 10)
  a %>% compile(loss = "mse", optimizer = "sgd")
  expect_equal(evaluate(a, x[1:5, ], x[1:5, ] * 0, verbose = 0)[[1]],
               mean(x[1:5, ]^2) + 0.01 * sum(abs(x[1:5, ])) + 0.02 * sum(x[1:5, ]^2), tolerance = 1e-5)
})

test_that("spatial dropout drops whole channels in training", {
  x <- array(1, c(50, 4, 4, 6))
  inp <- layer_input(shape = c(4, 4, 6))
  m <- keras_model(inp, inp %>% layer_spatial_dropout_2d(rate = 0.5) %>% layer_flatten())
  m %>% compile(loss = "mse", optimizer = "sgd")
  # the loss against 0 is mean(mask^2): each channel map is all 0 or all 2
  l <- train_on_batch(m, x, matrix(0, 50, 96))[[1]]
  expect_equal(l, 0.5 * 4, tolerance = 0.3)
  d <- keras_model_sequential() %>% layer_dropout(rate = 0.5, noise_shape = c(NA, 1, 6), input_shape = c(4, 6))
  expect_equal(get_config(get_layer(d, index = 1))$noise_shape, list(NULL, 1L, 6L))
})

test_that("upsampling, cropping and 3D zero padding move values as keras does", {
  x <- array(seq_len(2 * 3 * 2 * 2), c(2, 3, 2, 2))
  up <- predict1(layer_upsampling_2d, x, size = c(2, 3))$y
  expect_equal(dim(up), c(2, 6, 6, 2))
  expect_equal(up, x[, rep(1:3, each = 2), rep(1:2, each = 3), , drop = FALSE])
  cr <- predict1(layer_cropping_2d, x, cropping = list(c(1, 0), c(0, 1)))$y
  expect_equal(cr, x[, 2:3, 1, , drop = FALSE])
  x3 <- array(seq_len(2 * 2 * 3 * 2 * 1), c(2, 2, 3, 2, 1))
  u3 <- predict1(layer_upsampling_3d, x3, size = c(1, 2, 2))$y
  expect_equal(u3, x3[, , rep(1:3, each = 2), rep(1:2, each = 2), , drop = FALSE])
  c3 <- predict1(layer_cropping_3d, x3, cropping = list(c(0, 1), c(1, 1), c(0, 0)))$y
  expect_equal(c3, x3[, 1, 2, , , drop = FALSE])
  z3 <- predict1(layer_zero_padding_3d, x3, padding = list(c(1, 0), c(0, 1), c(2, 0)))$y
  ref <- array(0, c(2, 3, 4, 4, 1))
  ref[, 2:3, 1:3, 3:4, ] <- x3
  expect_equal(z3, ref)
  # channels_first
  xf <- array(seq_len(2 * 2 * 3 * 2), c(2, 2, 3, 2))
  uf <- predict1(layer_upsampling_2d, xf, size = 2, data_format = "channels_first")$y
  expect_equal(uf, xf[, , rep(1:3, each = 2), rep(1:2, each = 2), drop = FALSE])
  # bilinear is checked in test-layers-conv-extras.R; other methods are errors
  expect_error(layer_upsampling_2d(interpolation = "bicubic"), "interpolation")
})

test_that("new layers round-trip through model_to_json and keep the common arguments", {
  m <- keras_model_sequential() %>%
    layer_zero_padding_3d(padding = 1, input_shape = c(2, 2, 2, 1), name = "zp") %>%
    layer_upsampling_3d(size = 2) %>% layer_cropping_3d(cropping = 1) %>%
    layer_flatten() %>% layer_dense(units = 4) %>%
    layer_activation_relu(max_value = 6) %>% layer_activation_elu(alpha = 0.5) %>%
    layer_activation_parametric_relu(trainable = FALSE) %>% layer_activation_thresholded_relu(theta = 0.1) %>%
    layer_gaussian_noise(stddev = 0.1) %>% layer_gaussian_dropout(rate = 0.1) %>%
    layer_alpha_dropout(rate = 0.1) %>% layer_activity_regularization(l1 = 0.01) %>%
    layer_activation_softmax()
  m2 <- model_from_json(model_to_json(m))
  expect_equal(model_to_json(m2), model_to_json(m))
  set_weights(m2, get_weights(m))
  x <- array(runif(3 * 8), c(3, 2, 2, 2, 1))
  expect_equal(predict(m2, x), predict(m, x), tolerance = 1e-6)
  expect_equal(get_layer(m, "zp")$name, "zp")
  expect_false(get_layer(m, index = 8)$trainable)
  expect_error(layer_gaussian_noise(stddev = 1, dtype = "float64"), "dtype")
  expect_s3_class(layer_activation_relu(), "keras.layers.advanced_activations.ReLU")
})

test_that("every layer honours dtype and trainable", {
  expect_error(layer_flatten(dtype = "float64"), "dtype")
  expect_error(layer_max_pooling_3d(name = "p", dtype = "int32"), "dtype")
  m <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3) %>%
    layer_batch_normalization(trainable = FALSE) %>% layer_activation_parametric_relu(trainable = FALSE)
  expect_false(get_layer(m, index = 2)$trainable)
  expect_false(get_layer(m, index = 3)$trainable)
  expect_equal(count_params(m) - length(unlist(get_weights(get_layer(m, index = 1)))), 8 + 2)
  expect_error(layer_dense(units = 2, trainable = "no"), "trainable")
})
