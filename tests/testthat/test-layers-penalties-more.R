# Regularizers and constraints on Embedding, recurrent and Conv1D layers: the
# penalty in the loss equals the value computed in R from the weights; the
# constraints hold after an update.

penalty_gap <- function(build, x, y, penalty) {
  with_pen <- build(TRUE)
  without <- build(FALSE)
  set_weights(without, get_weights(with_pen))
  for (m in list(with_pen, without)) m %>% compile(loss = "mse", optimizer = "sgd")
  gap <- evaluate(with_pen, x, y, verbose = 0)$loss - evaluate(without, x, y, verbose = 0)$loss
  expect_equal(gap, penalty(get_weights(with_pen)), tolerance = 1e-4)
}

test_that("embeddings_regularizer adds l2 * sum(E^2) to the loss", {
  x <- matrix(c(1, 2, 3, 0, 4, 1), 2)
  y <- array(runif(2 * 3 * 2), c(2, 3, 2))
  build <- function(pen) keras_model_sequential() %>%
    layer_embedding(5, 2, input_length = 3, embeddings_regularizer = if (pen) regularizer_l2(0.1))
  penalty_gap(build, x, y, function(w) 0.1 * sum(w[[1]]^2))
})

test_that("recurrent layers take kernel / recurrent / bias regularizers", {
  x <- array(runif(3 * 4 * 2), c(3, 4, 2)); y <- matrix(runif(3 * 3), 3)
  for (f in list(layer_simple_rnn, layer_lstm, layer_gru)) {
    build <- function(pen) keras_model_sequential() %>%
      f(units = 3, input_shape = c(4, 2), kernel_regularizer = if (pen) regularizer_l1(0.01),
        recurrent_regularizer = if (pen) regularizer_l2(0.02), bias_regularizer = if (pen) regularizer_l2(0.5))
    penalty_gap(build, x, y, function(w) 0.01 * sum(abs(w[[1]])) + 0.02 * sum(w[[2]]^2) + 0.5 * sum(w[[3]]^2))
  }
})

test_that("layer_conv_1d takes regularizers and constraints", {
  x <- array(runif(2 * 5 * 2), c(2, 5, 2)); y <- array(runif(2 * 3 * 4), c(2, 3, 4))
  build <- function(pen) keras_model_sequential() %>%
    layer_conv_1d(4, 3, input_shape = c(5, 2), kernel_regularizer = if (pen) regularizer_l1_l2(0.01, 0.02))
  penalty_gap(build, x, y, function(w) 0.01 * sum(abs(w[[1]])) + 0.02 * sum(w[[1]]^2))
  m <- keras_model_sequential() %>% layer_conv_1d(4, 3, input_shape = c(5, 2), kernel_constraint = constraint_nonneg())
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 1))
  m %>% fit(x, y - 10, epochs = 2, verbose = 0)
  expect_gte(min(get_weights(m)[[1]]), 0)
})

test_that("constraints on embeddings and recurrent kernels hold after updates", {
  x <- matrix(c(1, 2, 3, 0, 4, 1), 2)
  m <- keras_model_sequential() %>%
    layer_embedding(5, 2, input_length = 3, embeddings_constraint = constraint_maxnorm(0.05, axis = 1)) %>%
    layer_lstm(2, recurrent_constraint = constraint_unitnorm(axis = 0))
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 1))
  m %>% fit(x, matrix(5, 2, 2), epochs = 2, verbose = 0)
  w <- get_weights(m)
  expect_true(all(sqrt(rowSums(w[[1]]^2)) <= 0.05 + 1e-6))   # keras axis 1: norm over each embedding row
  expect_equal(sqrt(colSums(w[[3]]^2)), rep(1, 8), tolerance = 1e-5)  # axis 0: each column
})

test_that("wrapped layers with regularizers are refused instead of silently unpenalised", {
  expect_error(bidirectional(layer = layer_lstm(units = 2, kernel_regularizer = regularizer_l2(0.1))),
               "kernel_regularizer")
  expect_error(time_distributed(layer = layer_dense(units = 2, kernel_constraint = constraint_nonneg())),
               "kernel_constraint")
})
