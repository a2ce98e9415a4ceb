# CuDNNLSTM / CuDNNGRU (CuDNN's equations on the CPU) and GRU(reset_after = TRUE)
# against recurrences written here in plain R from the CuDNN / Keras equations.

sigm <- function(z) 1 / (1 + exp(-z))

# x (N, T, F); kernel blocks along columns; b = c(input biases, recurrent biases).
ref_cudnn_lstm <- function(x, W, U, b) {
  N <- dim(x)[1]; TT <- dim(x)[2]; u <- nrow(U)
  blk <- function(v, k) v[((k - 1) * u + 1):(k * u)]
  out <- array(0, c(N, TT, u))
  for (n in 1:N) {
    h <- rep(0, u); cc <- rep(0, u)
    for (t in 1:TT) {
      z <- as.vector(x[n, t, ] %*% W) + b[1:(4 * u)] + as.vector(h %*% U) + b[(4 * u + 1):(8 * u)]
      cc <- sigm(blk(z, 2)) * cc + sigm(blk(z, 1)) * tanh(blk(z, 3))
      h <- sigm(blk(z, 4)) * tanh(cc)
      out[n, t, ] <- h
    }
  }
  out
}

ref_gru_after <- function(x, W, U, b, ract = sigm) {
  N <- dim(x)[1]; TT <- dim(x)[2]; u <- nrow(U)
  cols <- function(k) ((k - 1) * u + 1):(k * u)
  bi <- b[1:(3 * u)]; br <- b[(3 * u + 1):(6 * u)]
  out <- array(0, c(N, TT, u))
  for (n in 1:N) {
    h <- rep(0, u)
    for (t in 1:TT) {
      xw <- as.vector(x[n, t, ] %*% W) + bi
      hu <- as.vector(h %*% U) + br
      z <- ract(xw[cols(1)] + hu[cols(1)])
      r <- ract(xw[cols(2)] + hu[cols(2)])
      hh <- tanh(xw[cols(3)] + r * hu[cols(3)])
      h <- z * h + (1 - z) * hh
      out[n, t, ] <- h
    }
  }
  out
}

test_that("layer_cudnn_lstm: Keras's weight layout, double biases, sigmoid gates", {
  set.seed(31)
  m <- keras_model_sequential() %>% layer_cudnn_lstm(units = 3, return_sequences = TRUE, input_shape = c(5, 2))
  w <- get_weights(m)
  expect_equal(lapply(w, dim), list(c(2, 12), c(3, 12), NULL))
  expect_length(w[[3]], 24)
  # unit_forget_bias: ones only at the recurrent forget bias (entries 16..18)
  expect_equal(w[[3]], c(rep(0, 15), rep(1, 3), rep(0, 6)))
  w <- list(matrix(rnorm(24, sd = 0.5), 2, 12), matrix(rnorm(36, sd = 0.5), 3, 12), rnorm(24, sd = 0.4))
  set_weights(m, w)
  x <- array(rnorm(4 * 5 * 2), c(4, 5, 2))
  expect_equal(predict(m, x), ref_cudnn_lstm(x, w[[1]], w[[2]], w[[3]]), tolerance = 1e-5)
  cfg <- get_config(m$layers[[1]])
  expect_null(cfg$activation)
  expect_true(cfg$unit_forget_bias)
})

test_that("layer_cudnn_gru and layer_gru(reset_after = TRUE) reset after the recurrent product", {
  set.seed(32)
  x <- array(rnorm(3 * 6 * 2), c(3, 6, 2))
  W <- matrix(rnorm(18, sd = 0.5), 2, 9); U <- matrix(rnorm(27, sd = 0.5), 3, 9); b <- rnorm(18, sd = 0.4)
  m <- keras_model_sequential() %>% layer_cudnn_gru(units = 3, return_sequences = TRUE, input_shape = c(6, 2))
  expect_length(get_weights(m)[[3]], 18)
  set_weights(m, list(W, U, b))
  expect_equal(predict(m, x), ref_gru_after(x, W, U, b), tolerance = 1e-5)
  # Keras's GRU(reset_after = TRUE): bias (2, 3u) = rows input, recurrent; hard_sigmoid gates
  g <- keras_model_sequential() %>%
    layer_gru(units = 3, reset_after = TRUE, return_sequences = TRUE, input_shape = c(6, 2))
  expect_equal(dim(get_weights(g)[[3]]), c(2, 9))
  set_weights(g, list(W, U, matrix(b, 2, 9, byrow = TRUE)))
  expect_equal(predict(g, x), ref_gru_after(x, W, U, b, ract = hsig), tolerance = 1e-5)
  expect_true(get_config(g$layers[[1]])$reset_after)
})

test_that("CuDNN layers refuse masks and train", {
  expect_error(keras_model_sequential() %>%
                 layer_embedding(input_dim = 5, output_dim = 2, mask_zero = TRUE, input_length = 3) %>%
                 layer_cudnn_lstm(units = 2), "does not support masking")
  set.seed(33)
  m <- keras_model_sequential() %>% layer_cudnn_gru(units = 4, input_shape = c(5, 2)) %>% layer_dense(units = 1)
  m %>% compile(loss = "mse", optimizer = optimizer_adam(lr = 0.02))
  x <- array(rnorm(64 * 5 * 2), c(64, 5, 2))
  y <- matrix(apply(x[, , 1], 1, sum), ncol = 1)
  h <- fit(m, x, y, epochs = 30, batch_size = 16, verbose = 0)
  expect_lt(tail(h$metrics$loss, 1), 0.5 * h$metrics$loss[1])
})
