# Regularizers, constraints and initializers: their effect checked against
# plain-R computations.

test_that("kernel, bias and activity penalties are part of the loss fit() reports and minimises", {
  set.seed(5)
  x <- matrix(rnorm(12), 4, 3); y <- matrix(rnorm(8), 4, 2)
  w <- matrix(c(0.4, -0.3, 0.2, 0.6, -0.5, 0.1), 3, 2); b <- c(0.1, -0.2)
  m <- keras_model_sequential() %>%
    layer_dense(units = 2, input_shape = 3, kernel_regularizer = regularizer_l1_l2(l1 = 0.01, l2 = 0.02),
                bias_regularizer = regularizer_l2(0.5), activity_regularizer = regularizer_l1(0.05))
  set_weights(m, list(w, b))
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
  z <- sweep(x %*% w, 2, b, "+")
  l1 <- 0.01; l2 <- 0.02
  penalty <- sum(l1 * abs(w)) + sum(l2 * w^2) + 0.5 * sum(b^2) + 0.05 * sum(abs(z))
  expected <- mean((z - y)^2) + penalty
  expect_equal(evaluate(m, x, y, verbose = 0)[[1]], expected, tolerance = 1e-5)
  loss <- train_on_batch(m, x, y)
  expect_equal(loss[[1]], expected, tolerance = 1e-5)
  dz <- 2 * (z - y) / length(z) + 0.05 * sign(z)
  dw <- crossprod(x, dz) + l1 * sign(w) + 2 * l2 * w
  db <- colSums(dz) + 2 * 0.5 * b
  got <- get_weights(m)
  expect_equal(got[[1]], w - 0.1 * dw, tolerance = 1e-5)
  expect_equal(got[[2]], b - 0.1 * db, tolerance = 1e-5)
})

test_that("constraints hold after every update and match Keras's projection", {
  set.seed(6)
  x <- matrix(rnorm(60), 20, 3); y <- matrix(rnorm(40) * 10, 20, 2)
  m <- keras_model_sequential() %>%
    layer_dense(units = 2, input_shape = 3, kernel_constraint = constraint_maxnorm(0.5, axis = 0),
                bias_constraint = constraint_nonneg())
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.5))
  w0 <- get_weights(m)
  train_on_batch(m, x, y)
  # plain-R step then projection
  z <- sweep(x %*% w0[[1]], 2, w0[[2]], "+")
  d <- 2 * (z - y) / length(z)
  w1 <- w0[[1]] - 0.5 * crossprod(x, d)
  n <- sqrt(colSums(w1^2))
  w1 <- sweep(w1, 2, pmin(n, 0.5) / (1e-7 + n), "*")
  b1 <- w0[[2]] - 0.5 * colSums(d)
  got <- get_weights(m)
  expect_equal(got[[1]], w1, tolerance = 1e-5)
  expect_equal(got[[2]], b1 * (b1 >= 0), tolerance = 1e-6)
  fit(m, x, y, epochs = 3, batch_size = 5, verbose = 0)
  expect_true(all(sqrt(colSums(get_weights(m)[[1]]^2)) <= 0.5 + 1e-6))
  expect_true(all(get_weights(m)[[2]] >= 0))
  u <- keras_model_sequential() %>% layer_dense(units = 3, input_shape = 4, kernel_constraint = constraint_unitnorm())
  u %>% compile(loss = "mse", optimizer = "sgd")
  train_on_batch(u, matrix(1, 2, 4), matrix(0, 2, 3))
  expect_equal(sqrt(colSums(get_weights(u)[[1]]^2)), rep(1, 3), tolerance = 1e-5)
  mm <- keras_model_sequential() %>%
    layer_dense(units = 3, input_shape = 4, kernel_constraint = constraint_minmaxnorm(2, 3, rate = 1))
  mm %>% compile(loss = "mse", optimizer = "sgd")
  train_on_batch(mm, matrix(1, 2, 4), matrix(0, 2, 3))
  n <- sqrt(colSums(get_weights(mm)[[1]]^2))
  expect_true(all(n >= 2 - 1e-5 & n <= 3 + 1e-5))
})

test_that("regularizers and constraints round-trip through the Keras config", {
  m <- keras_model_sequential() %>%
    layer_dense(units = 2, input_shape = 3, kernel_regularizer = regularizer_l2(0.01),
                kernel_constraint = constraint_maxnorm(2))
  cfg <- get_config(get_layer(m, index = 1))
  expect_equal(cfg$kernel_regularizer$class_name, "L1L2")
  expect_equal(cfg$kernel_regularizer$config$l2, 0.009999999776482582)
  expect_equal(cfg$kernel_constraint$class_name, "MaxNorm")
  m2 <- model_from_json(model_to_json(m))
  cfg2 <- get_config(get_layer(m2, index = 1))
  expect_equal(cfg2$kernel_regularizer, cfg$kernel_regularizer)
  expect_equal(cfg2$kernel_constraint, cfg$kernel_constraint)
  expect_error(layer_dense(units = 2, kernel_regularizer = 0.01), "kernel_regularizer")
  expect_error(keras_model_sequential() %>%
                 layer_dense(units = 2, input_shape = 3, use_bias = FALSE, bias_regularizer = regularizer_l2()),
               "no weight 'bias'")
})

test_that("initializers: seeds reproduce, distributions and special matrices are Keras's", {
  w_of <- function(init, units = 50, input = 40)
    get_weights(keras_model_sequential() %>% layer_dense(units = units, input_shape = input, kernel_initializer = init))[[1]]
  a <- w_of(initializer_random_normal(stddev = 0.3, seed = 7))
  b <- w_of(initializer_random_normal(stddev = 0.3, seed = 7))
  expect_identical(a, b)
  expect_false(identical(a, w_of(initializer_random_normal(stddev = 0.3, seed = 8))))
  expect_equal(sd(as.vector(a)), 0.3, tolerance = 0.05)
  u <- w_of(initializer_random_uniform(-0.2, 0.6, seed = 1))
  expect_true(all(u >= -0.2 & u <= 0.6))
  expect_equal(mean(u), 0.2, tolerance = 0.05)
  tn <- w_of(initializer_truncated_normal(mean = 1, stddev = 0.1, seed = 2))
  expect_true(all(abs(tn - 1) <= 0.2 + 1e-6))
  expect_equal(w_of(initializer_constant(0.25), 2, 3), matrix(0.25, 3, 2))
  expect_equal(w_of(initializer_identity(gain = 2), 4, 4), diag(2, 4))
  expect_error(w_of(initializer_identity(), 3, 4), "2D square")
  o <- w_of(initializer_orthogonal(gain = 1.5, seed = 3), 20, 30)
  expect_equal(crossprod(o), diag(1.5^2, 20), tolerance = 1e-5)
  v <- w_of(initializer_variance_scaling(scale = 3, mode = "fan_out", distribution = "uniform", seed = 4), 100, 80)
  expect_true(max(abs(v)) <= sqrt(3 * 3 / 100) + 1e-6)
  expect_equal(var(as.vector(v)), 3 / 100, tolerance = 0.08)
  ln <- w_of(initializer_lecun_normal(seed = 5), 200, 150)
  expect_equal(sd(as.vector(ln)), sqrt(1 / 150), tolerance = 0.06)
  hu <- w_of(initializer_he_uniform(seed = 6), 100, 50)
  expect_true(max(abs(hu)) <= sqrt(6 / 50) + 1e-6)
  gn <- w_of(initializer_glorot_normal(seed = 9), 100, 60)
  expect_equal(sd(as.vector(gn)), sqrt(2 / 160), tolerance = 0.06)
  expect_equal(w_of(initializer_zeros(), 2, 2), matrix(0, 2, 2))
  expect_equal(w_of(initializer_ones(), 2, 2), matrix(1, 2, 2))
  expect_true(max(abs(w_of(initializer_lecun_uniform(seed = 1), 30, 30))) <= sqrt(3 / 30) + 1e-6)
  expect_true(max(abs(w_of(initializer_glorot_uniform(seed = 1), 30, 30))) <= sqrt(6 / 60) + 1e-6)
  expect_true(max(abs(w_of(initializer_he_normal(seed = 1), 30, 30))) <= 2 * sqrt(2 / 30) / 0.8796256610342398 + 1e-6)
  expect_error(initializer_variance_scaling(mode = "fan_x"), "arg")
  expect_output(print(initializer_he_normal()), "keras.initializers.VarianceScaling")
})

test_that("batch normalization's gamma and beta take regularizers and constraints", {
  set.seed(7)
  x <- matrix(rnorm(24), 8, 3)
  m <- keras_model_sequential() %>%
    layer_batch_normalization(input_shape = 3, gamma_regularizer = regularizer_l2(0.1),
                              beta_constraint = constraint_nonneg())
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.5))
  # inference: gamma = 1, beta = 0, moving mean 0 / variance 1 -> y = x / sqrt(1 + eps); loss + 0.1 * sum(gamma^2)
  y0 <- x / sqrt(1 + 0.001)
  expect_equal(evaluate(m, x, x * 0, verbose = 0)[[1]], mean(y0^2) + 0.1 * 3, tolerance = 1e-5)
  train_on_batch(m, x, x * 0 - 5)   # pushes beta down: the constraint keeps it at 0
  w <- get_weights(m)
  expect_true(all(w[[2]] >= 0))
  expect_error(keras_model_sequential() %>%
                 layer_batch_normalization(input_shape = 3, center = FALSE, beta_regularizer = regularizer_l1()),
               "no weight 'beta'")
})
