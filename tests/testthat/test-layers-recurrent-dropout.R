# dropout / recurrent_dropout of the recurrent layers (Keras 2.2): one input mask
# and one recurrent mask per sequence (per gate with implementation 1), drawn in
# training only. Masks are observed through the gradient reaching a following
# dense layer: with kernel zeros, no bias, mse and target -0.5, SGD(lr = 1)
# moves the dense kernel to exactly -h for a batch of one sample.
# Bounds on mask frequencies are 5 standard deviations of a binomial mean.

observe_h <- function(rnn_layer, x, weights) {
  m <- keras_model_sequential() %>% rnn_layer %>%
    layer_dense(units = 1, use_bias = FALSE, kernel_initializer = "zeros")
  u <- get_config(rnn_layer)$units
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 1))
  function() {  # one training step from the given weights; returns h (u)
    set_weights(m, c(weights, list(matrix(0, u, 1))))
    train_on_batch(m, x, matrix(-0.5, 1, 1))
    -as.vector(get_weights(m)[[length(weights) + 1]])
  }
}

bound5 <- function(p, n) 5 * sqrt(p * (1 - p) / n)

test_that("simple_rnn input dropout: one mask per sequence, rate and scale as Keras, training only", {
  set.seed(1)
  u <- 1000; TT <- 3
  rnn <- layer_simple_rnn(units = u, activation = NULL, dropout = 0.4, input_shape = c(TT, u))
  w <- list(diag(u), diag(u), rep(0, u))  # h[t] = x[t] * m + h[t-1]
  x <- array(1, c(1, TT, u))
  draw <- observe_h(rnn, x, w)
  h <- draw()
  # the same mask at every step: h[T] = T * m with m in {0, 1/0.6}
  expect_setequal(round(unique(h), 4), round(c(0, TT / 0.6), 4))
  expect_lt(abs(mean(h == 0) - 0.4), bound5(0.4, u))
  h2 <- draw()
  expect_false(identical(h, h2))  # a new mask per batch
  # inference: no dropout (the rnn alone outputs T at every unit)
  m_inf <- keras_model_sequential() %>%
    layer_simple_rnn(units = u, activation = NULL, dropout = 0.4, input_shape = c(TT, u))
  set_weights(m_inf, w)
  expect_equal(predict(m_inf, x), matrix(TT, 1, u))
})

test_that("simple_rnn recurrent_dropout: one mask on h[t-1] per sequence", {
  set.seed(2)
  u <- 1000
  rnn <- layer_simple_rnn(units = u, activation = NULL, recurrent_dropout = 0.3, input_shape = c(2, u))
  w <- list(diag(u), diag(u), rep(0, u))  # h1 = 1, h2 = 1 + h1 * rm
  h <- observe_h(rnn, array(1, c(1, 2, u)), w)()
  expect_setequal(round(unique(h), 4), round(c(1, 1 + 1 / 0.7), 4))
  expect_lt(abs(mean(h == 1) - 0.3), bound5(0.3, u))
})

test_that("lstm dropout: implementation 1 draws a mask per gate, implementation 2 one for all", {
  u <- 600
  # gates from the inputs only: i = [m_i > 0], g = tanh(10 m_c) ~ 1, o = [m_o > 0], so
  # h = tanh(tanh(10 m_c)) when the i, c and o masks all keep the unit, else 0
  W <- cbind(10 * diag(u), matrix(0, u, u), 10 * diag(u), 10 * diag(u))
  w <- list(W, matrix(0, u, 4 * u), c(rep(-5, u), rep(0, u), rep(0, u), rep(-5, u)))
  x <- array(1, c(1, 1, u))
  kept <- function(impl) {
    set.seed(3)
    h <- observe_h(layer_lstm(units = u, dropout = 0.5, implementation = impl, input_shape = c(1, u)),
                   x, w)()
    expect_setequal(round(unique(h), 4), round(c(0, tanh(tanh(20))), 4))
    mean(h != 0)
  }
  expect_lt(abs(kept(1) - 0.5^3), bound5(0.5^3, u))
  expect_lt(abs(kept(2) - 0.5), bound5(0.5, u))
})

test_that("with dropout, inference matches the plain-R recurrences and training is reproducible", {
  set.seed(4)
  x <- array(rnorm(3 * 5 * 2), c(3, 5, 2))
  y <- matrix(rnorm(3 * 4), 3, 4)
  cells <- list(
    simple = function(m) layer_simple_rnn(m, units = 4, dropout = 0.3, recurrent_dropout = 0.2, input_shape = c(5, 2)),
    lstm = function(m) layer_lstm(m, units = 4, dropout = 0.3, recurrent_dropout = 0.2, input_shape = c(5, 2)),
    gru = function(m) layer_gru(m, units = 4, dropout = 0.3, recurrent_dropout = 0.2, input_shape = c(5, 2)))
  for (cell in names(cells)) {
    m <- cells[[cell]](keras_model_sequential())
    w <- get_weights(m)
    expect_equal(predict(m, x), ref_rnn(cell, x, w[[1]], w[[2]], w[[3]])$out, tolerance = 1e-5, info = cell)
    m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
    run <- function(seed) {
      set_weights(m, w)
      set.seed(seed)
      fit(m, x, y, epochs = 3, batch_size = 3, verbose = 0)
      get_weights(m)
    }
    a <- run(11); b <- run(11); c2 <- run(12)
    expect_identical(a, b, info = cell)
    expect_false(isTRUE(all.equal(a, c2)), info = cell)
    # the same steps without dropout give other weights (the masks are used in training)
    f0 <- switch(cell, simple = layer_simple_rnn, lstm = layer_lstm, gru = layer_gru)
    m0 <- keras_model_sequential() %>% f0(units = 4, input_shape = c(5, 2))
    set_weights(m0, w)
    m0 %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
    set.seed(11)
    fit(m0, x, y, epochs = 3, batch_size = 3, verbose = 0)
    expect_false(isTRUE(all.equal(a, get_weights(m0))), info = cell)
    expect_equal(get_config(m$layers[[1]])$dropout, 0.3)
  }
})
