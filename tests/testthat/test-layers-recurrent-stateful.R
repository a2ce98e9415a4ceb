# stateful = TRUE (Keras 2.2): the final states of a batch start the next batch
# (sample i continues sample i) until reset_states(); checked against the
# plain-R recurrences of helper-recurrent.R carried over by hand.

stateful_model <- function(cell, u = 3, B = 2, TT = 4, F = 2) {
  f <- switch(cell, simple = layer_simple_rnn, lstm = layer_lstm, gru = layer_gru)
  keras_model_sequential() %>% f(units = u, stateful = TRUE, batch_input_shape = c(B, TT, F))
}

test_that("stateful layers carry states across predict calls and batches; reset_states() zeroes them", {
  set.seed(21)
  for (cell in c("simple", "lstm", "gru")) {
    m <- stateful_model(cell)
    w <- get_weights(m)
    x1 <- array(rnorm(2 * 4 * 2), c(2, 4, 2)); x2 <- array(rnorm(2 * 4 * 2), c(2, 4, 2))
    r1 <- ref_rnn(cell, x1, w[[1]], w[[2]], w[[3]])
    r2 <- ref_rnn(cell, x2, w[[1]], w[[2]], w[[3]], h0 = r1$h, c0 = if (cell == "lstm") r1$c)
    expect_equal(predict(m, x1, batch_size = 2), r1$out, tolerance = 1e-5, info = cell)
    expect_equal(predict(m, x2, batch_size = 2), r2$out, tolerance = 1e-5, info = cell)
    reset_states(m)
    expect_equal(predict(m, x2, batch_size = 2), ref_rnn(cell, x2, w[[1]], w[[2]], w[[3]])$out,
                 tolerance = 1e-5, info = cell)
    # one call of 4 samples in batches of 2: samples 3, 4 continue samples 1, 2
    m$reset_states()
    x <- abind_samples(x1, x2)
    expect_equal(predict(m, x, batch_size = 2), rbind(r1$out, r2$out), tolerance = 1e-5, info = cell)
    # the layer's own reset_states()
    m$layers[[1]]$reset_states()
    expect_equal(predict(m, x1, batch_size = 2), r1$out, tolerance = 1e-5, info = cell)
    expect_true(get_config(m$layers[[1]])$stateful)
  }
})

test_that("fit carries the states across batches (no shuffling, lr = 0 keeps the weights)", {
  set.seed(22)
  m <- stateful_model("lstm")
  w <- get_weights(m)
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0))
  x1 <- array(rnorm(16), c(2, 4, 2)); x2 <- array(rnorm(16), c(2, 4, 2)); x3 <- array(rnorm(16), c(2, 4, 2))
  fit(m, abind_samples(x1, x2), matrix(0, 4, 3), batch_size = 2, epochs = 1, shuffle = FALSE, verbose = 0)
  expect_equal(get_weights(m), w)
  r1 <- ref_rnn("lstm", x1, w[[1]], w[[2]], w[[3]])
  r2 <- ref_rnn("lstm", x2, w[[1]], w[[2]], w[[3]], h0 = r1$h, c0 = r1$c)
  r3 <- ref_rnn("lstm", x3, w[[1]], w[[2]], w[[3]], h0 = r2$h, c0 = r2$c)
  expect_equal(predict(m, x3, batch_size = 2), r3$out, tolerance = 1e-5)
  # training still updates the weights with carried states (gradients stop at the batch edge)
  m2 <- stateful_model("gru")
  m2 %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.5))
  w2 <- get_weights(m2)
  fit(m2, abind_samples(x1, x2), matrix(0.3, 4, 3), batch_size = 2, epochs = 2, shuffle = FALSE, verbose = 0)
  expect_false(isTRUE(all.equal(get_weights(m2), w2)))
})

test_that("stateful layers need a fixed batch size and matching batches", {
  expect_error(keras_model_sequential() %>% layer_lstm(units = 2, stateful = TRUE, input_shape = c(4, 2)),
               "stateful and needs to know its batch size")
  m <- stateful_model("simple")
  predict(m, array(0, c(2, 4, 2)), batch_size = 2)
  expect_error(predict(m, array(0, c(3, 4, 2)), batch_size = 3), "batch")
  expect_error(reset_states(1), "model or a layer")
})
