# Recurrent layers against recurrences written independently in plain R.

hard_sigmoid <- function(z) pmin(pmax(0.2 * z + 0.5, 0), 1)
sigm <- function(z) 1 / (1 + exp(-z))

# x: (N, T, F) array. Returns (N, u) or (N, T, u) like Keras (go_backwards
# processes t = T..1 and returns the outputs in that processing order).
ref_simple_rnn <- function(x, W, U, b, act = tanh, go_backwards = FALSE, return_sequences = FALSE) {
  N <- dim(x)[1]; TT <- dim(x)[2]; u <- ncol(W)
  out <- array(0, c(N, TT, u)); last <- matrix(0, N, u)
  for (n in 1:N) {
    h <- rep(0, u)
    steps <- if (go_backwards) TT:1 else 1:TT
    for (s in seq_along(steps)) {
      xt <- x[n, steps[s], ]
      h <- act(as.vector(xt %*% W) + as.vector(h %*% U) + b)
      out[n, s, ] <- h
    }
    last[n, ] <- h
  }
  if (return_sequences) out else last
}

ref_lstm <- function(x, W, U, b, act = tanh, ract = hard_sigmoid, go_backwards = FALSE,
                     return_sequences = FALSE) {
  N <- dim(x)[1]; TT <- dim(x)[2]; u <- ncol(W) / 4
  blk <- function(v, k) v[((k - 1) * u + 1):(k * u)]
  out <- array(0, c(N, TT, u)); last <- matrix(0, N, u)
  for (n in 1:N) {
    h <- rep(0, u); cc <- rep(0, u)
    steps <- if (go_backwards) TT:1 else 1:TT
    for (s in seq_along(steps)) {
      z <- as.vector(x[n, steps[s], ] %*% W) + as.vector(h %*% U) + b
      i <- ract(blk(z, 1)); f <- ract(blk(z, 2)); g <- act(blk(z, 3)); o <- ract(blk(z, 4))
      cc <- f * cc + i * g
      h <- o * act(cc)
      out[n, s, ] <- h
    }
    last[n, ] <- h
  }
  if (return_sequences) out else last
}

ref_gru <- function(x, W, U, b, act = tanh, ract = hard_sigmoid, go_backwards = FALSE,
                    return_sequences = FALSE) {
  N <- dim(x)[1]; TT <- dim(x)[2]; u <- ncol(W) / 3
  cols <- function(k) ((k - 1) * u + 1):(k * u)
  out <- array(0, c(N, TT, u)); last <- matrix(0, N, u)
  for (n in 1:N) {
    h <- rep(0, u)
    steps <- if (go_backwards) TT:1 else 1:TT
    for (s in seq_along(steps)) {
      xt <- x[n, steps[s], ]
      z <- ract(as.vector(xt %*% W[, cols(1)]) + as.vector(h %*% U[, cols(1)]) + b[cols(1)])
      r <- ract(as.vector(xt %*% W[, cols(2)]) + as.vector(h %*% U[, cols(2)]) + b[cols(2)])
      hh <- act(as.vector(xt %*% W[, cols(3)]) + as.vector((r * h) %*% U[, cols(3)]) + b[cols(3)])
      h <- z * h + (1 - z) * hh
      out[n, s, ] <- h
    }
    last[n, ] <- h
  }
  if (return_sequences) out else last
}

test_that("layer_simple_rnn matches a plain-R recurrence (sequences, backwards, activations)", {
  set.seed(21)
  N <- 3; TT <- 5; F <- 4; u <- 3
  x <- array(rnorm(N * TT * F), c(N, TT, F))
  W <- matrix(rnorm(F * u, sd = 0.5), F, u); U <- matrix(rnorm(u * u, sd = 0.5), u, u)
  b <- rnorm(u, sd = 0.3)
  for (rs in c(FALSE, TRUE)) for (gb in c(FALSE, TRUE)) for (a in c("tanh", "relu")) {
    m <- keras_model_sequential() %>%
      layer_simple_rnn(units = u, activation = a, return_sequences = rs, go_backwards = gb,
                       input_shape = c(TT, F))
    expect_equal(lengths(get_weights(m)), c(F * u, u * u, u))
    set_weights(m, list(W, U, b))
    actf <- if (a == "tanh") tanh else function(z) pmax(z, 0)
    want <- ref_simple_rnn(x, W, U, b, actf, gb, rs)
    expect_equal(predict(m, x), want, tolerance = 1e-5, info = paste(rs, gb, a))
  }
})

test_that("layer_lstm matches a plain-R recurrence with Keras's gate order i, f, c, o", {
  set.seed(22)
  N <- 2; TT <- 6; F <- 3; u <- 4
  x <- array(rnorm(N * TT * F), c(N, TT, F))
  W <- matrix(rnorm(F * 4 * u, sd = 0.6), F, 4 * u)
  U <- matrix(rnorm(u * 4 * u, sd = 0.6), u, 4 * u)
  b <- rnorm(4 * u, sd = 0.5)
  for (rs in c(FALSE, TRUE)) for (gb in c(FALSE, TRUE)) {
    m <- keras_model_sequential() %>%
      layer_lstm(units = u, return_sequences = rs, go_backwards = gb, input_shape = c(TT, F))
    set_weights(m, list(W, U, b))
    expect_equal(predict(m, x), ref_lstm(x, W, U, b, go_backwards = gb, return_sequences = rs),
                 tolerance = 1e-5, info = paste(rs, gb))
  }
  m <- keras_model_sequential() %>%
    layer_lstm(units = u, recurrent_activation = "sigmoid", use_bias = FALSE, input_shape = c(TT, F))
  set_weights(m, list(W, U))
  expect_equal(predict(m, x), ref_lstm(x, W, U, 0, ract = sigm), tolerance = 1e-5)
})

test_that("layer_gru matches a plain-R recurrence (reset_after = FALSE, blocks z, r, h)", {
  set.seed(25)
  N <- 3; TT <- 5; F <- 2; u <- 3
  x <- array(rnorm(N * TT * F), c(N, TT, F))
  W <- matrix(rnorm(F * 3 * u, sd = 0.7), F, 3 * u)
  U <- matrix(rnorm(u * 3 * u, sd = 0.7), u, 3 * u)
  b <- rnorm(3 * u, sd = 0.5)
  for (rs in c(FALSE, TRUE)) for (gb in c(FALSE, TRUE)) {
    m <- keras_model_sequential() %>%
      layer_gru(units = u, return_sequences = rs, go_backwards = gb, input_shape = c(TT, F))
    expect_equal(lengths(get_weights(m)), c(F * 3 * u, u * 3 * u, 3 * u))
    set_weights(m, list(W, U, b))
    expect_equal(predict(m, x), ref_gru(x, W, U, b, go_backwards = gb, return_sequences = rs),
                 tolerance = 1e-5, info = paste(rs, gb))
  }
  m <- keras_model_sequential() %>%
    layer_gru(units = u, recurrent_activation = "sigmoid", activation = "relu", input_shape = c(TT, F))
  set_weights(m, list(W, U, b))
  expect_equal(predict(m, x), ref_gru(x, W, U, b, act = function(z) pmax(z, 0), ract = sigm),
               tolerance = 1e-5)
  # reset_after = TRUE is checked in test-layers-recurrent-cudnn.R; a non-flag is an error
  expect_error(layer_gru(units = 2, reset_after = NA), "reset_after")
})

test_that("LSTM initial weights follow Keras: orthogonal recurrent kernel, unit forget bias", {
  set.seed(23)
  m <- keras_model_sequential() %>% layer_lstm(units = 5, input_shape = c(4, 3))
  w <- get_weights(m)
  expect_equal(dim(w[[1]]), c(3, 20))
  expect_equal(dim(w[[2]]), c(5, 20))
  expect_equal(w[[3]], c(rep(0, 5), rep(1, 5), rep(0, 10)))
  expect_equal(w[[2]] %*% t(w[[2]]), diag(5), tolerance = 1e-5)  # orthonormal rows
  m2 <- keras_model_sequential() %>%
    layer_lstm(units = 5, unit_forget_bias = FALSE, input_shape = c(4, 3))
  expect_equal(get_weights(m2)[[3]], rep(0, 20))
  r <- get_weights(keras_model_sequential() %>% layer_simple_rnn(units = 6, input_shape = c(2, 2)))
  expect_equal(crossprod(r[[2]]), diag(6), tolerance = 1e-5)
})

test_that("unsupported recurrent arguments stop with a clear error", {
  # return_state is supported (test-layers-recurrent-states.R); a non-flag is an error
  expect_error(layer_lstm(units = 2, return_state = "yes"), "return_state")
  expect_error(layer_lstm(units = 2, stateful = NA), "stateful")
  expect_error(layer_lstm(units = 2, dropout = 1), "dropout")
  expect_error(layer_simple_rnn(units = 2, recurrent_dropout = -0.1), "recurrent_dropout")
  expect_error(layer_gru(units = 2, implementation = 3), "implementation` must be 1 or 2")
  # regularizers are supported (test-layers-penalties-more.R); a non-regularizer is an error
  expect_error(layer_simple_rnn(units = 2, recurrent_regularizer = 0.1), "recurrent_regularizer")
  expect_error(layer_lstm(units = 0), "units")
  expect_error(keras_model_sequential() %>% layer_lstm(units = 2, input_shape = 5),
               "expects inputs of shape \\(batch, time, features\\)")
})

test_that("recurrent configs round-trip through JSON", {
  m <- keras_model_sequential() %>%
    layer_embedding(input_dim = 5, output_dim = 3, input_length = 4) %>%
    layer_simple_rnn(units = 3, return_sequences = TRUE, go_backwards = TRUE, name = "r") %>%
    layer_lstm(units = 2, recurrent_activation = "sigmoid", name = "l")
  cfg <- get_config(get_layer(m, "l"))
  expect_equal(cfg$recurrent_activation, "sigmoid")
  expect_true(cfg$unit_forget_bias)
  expect_equal(cfg$recurrent_initializer$class_name, "Orthogonal")
  expect_true(get_config(get_layer(m, "r"))$go_backwards)
  m2 <- model_from_json(model_to_json(m))
  expect_equal(model_to_json(m2), model_to_json(m))
  set_weights(m2, get_weights(m))
  x <- rbind(c(0, 4, 2, 1), c(3, 3, 0, 2))
  expect_equal(predict(m2, x), predict(m, x))
})

test_that("embedding + LSTM learns whether a sequence contains token 3", {
  set.seed(24)
  make <- function(n) {
    y <- rep(0:1, length.out = n)
    x <- t(vapply(y, function(yi) {
      s <- sample(c(1, 2, 4:9), 8, replace = TRUE)
      if (yi == 1) s[sample(8, sample(1:2, 1))] <- 3
      s
    }, numeric(8)))
    list(x = x, y = y)
  }
  tr <- make(1200); te <- make(400)
  model <- keras_model_sequential() %>%
    layer_embedding(input_dim = 10, output_dim = 8, input_length = 8) %>%
    layer_lstm(units = 8) %>%
    layer_dense(units = 1, activation = "sigmoid")
  model %>% compile(optimizer = optimizer_adam(lr = 0.01), loss = "binary_crossentropy",
                    metrics = "accuracy")
  model %>% fit(tr$x, tr$y, epochs = 12, batch_size = 32, verbose = 0)
  acc <- mean((predict(model, te$x) > 0.5) == te$y)
  message(sprintf("embedding + LSTM 'contains 3' held-out accuracy: %.3f", acc))
  expect_gt(acc, 0.95)
})

test_that("functional sequence models count params as Keras and survive an HDF5 round trip", {
  set.seed(26)
  inp <- layer_input(shape = 5)
  out <- inp %>% layer_embedding(input_dim = 7, output_dim = 3) %>%
    layer_gru(units = 4, return_sequences = TRUE) %>% layer_lstm(units = 2) %>%
    layer_dense(units = 1)
  m <- keras_model(inp, out)
  # Keras: embedding 7*3; GRU 3*(3*4 + 4*4 + 4); LSTM 4*(4*2 + 2*2 + 2); dense 2 + 1
  expect_equal(count_params(m), 21 + 96 + 56 + 3)
  x <- matrix(sample(0:6, 10, TRUE), 2)
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f)
  m2 <- suppressWarnings(load_model_hdf5(f))
  expect_equal(predict(m2, x), predict(m, x))
})
