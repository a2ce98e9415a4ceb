# bidirectional() and time_distributed() against plain-R computations
# (ref_rnn() in helper-recurrent.R).

test_that("bidirectional merges a forward and a backward recurrence as Keras", {
  set.seed(11)
  N <- 3; TT <- 4; F <- 2; u <- 3
  x <- array(rnorm(N * TT * F), c(N, TT, F))
  for (cell in c("lstm", "gru", "simple")) for (rs in c(TRUE, FALSE))
    for (mm in list("concat", "sum", "mul", "ave", NULL)) {
      fn <- switch(cell, simple = layer_simple_rnn, lstm = layer_lstm, gru = layer_gru)
      G <- switch(cell, simple = 1, lstm = 4, gru = 3)
      inp <- layer_input(shape = c(TT, F))
      out <- inp %>% bidirectional(fn(units = u, return_sequences = rs), merge_mode = mm)
      m <- keras_model(inp, out)
      wf <- rand_weights(F, u, G); wb <- rand_weights(F, u, G)
      set_weights(m, c(wf, wb))
      f <- ref_rnn(cell, x, wf[[1]], wf[[2]], wf[[3]], return_sequences = rs)$out
      b <- ref_rnn(cell, x, wb[[1]], wb[[2]], wb[[3]], go_backwards = TRUE, return_sequences = rs)$out
      if (rs) b <- b[, TT:1, , drop = FALSE]   # back in time order
      cat_last <- function(a, b) if (rs) { r <- array(0, c(N, TT, 2 * u)); r[, , 1:u] <- a; r[, , u + 1:u] <- b; r }
                                 else cbind(a, b)
      want <- if (is.null(mm)) list(f, b) else switch(mm, concat = cat_last(f, b), sum = f + b, mul = f * b,
                                                     ave = (f + b) / 2)
      expect_equal(predict(m, x), want, tolerance = 1e-5, info = paste(cell, rs, format(mm)))
    }
})

test_that("bidirectional weights, names, masks, config round trip and training", {
  set.seed(12)
  m <- keras_model_sequential() %>%
    layer_embedding(input_dim = 6, output_dim = 3, mask_zero = TRUE, input_length = 5) %>%
    bidirectional(layer_lstm(units = 2), merge_mode = "concat") %>%
    layer_dense(units = 1, activation = "sigmoid")
  bi <- get_layer(m, index = 2)
  expect_equal(bi$name, get_config(m)$layers[[2]]$config$name)
  expect_equal(lengths(get_weights(bi)), c(3 * 8, 2 * 8, 8, 3 * 8, 2 * 8, 8))
  idx <- rbind(c(0, 0, 1, 2, 3), c(4, 5, 1, 0, 0))
  E <- get_weights(m)[[1]]
  w <- get_weights(bi)
  x <- array(0, c(2, 5, 3)); for (n in 1:2) for (t in 1:5) x[n, t, ] <- E[idx[n, t] + 1, ]
  f <- ref_rnn("lstm", x, w[[1]], w[[2]], w[[3]], mask = idx != 0)$out
  b <- ref_rnn("lstm", x, w[[4]], w[[5]], w[[6]], mask = idx != 0, go_backwards = TRUE)$out
  expect_equal(predict(keras_model_sequential(list(get_layer(m, index = 1), bi)), idx), cbind(f, b),
               tolerance = 1e-5)
  m2 <- model_from_json(model_to_json(m))
  set_weights(m2, get_weights(m))
  expect_equal(predict(m2, idx), predict(m, idx))
  cfg <- get_config(m)$layers[[2]]
  expect_equal(cfg$class_name, "Bidirectional")
  expect_equal(cfg$config$layer$class_name, "LSTM")
  expect_equal(cfg$config$merge_mode, "concat")
  compile(m, optimizer = "adam", loss = "binary_crossentropy")
  y <- c(0, 1)
  l0 <- evaluate(m, idx, y, verbose = 0)[[1]]
  fit(m, idx, y, epochs = 20, verbose = 0)
  expect_lt(evaluate(m, idx, y, verbose = 0)[[1]], l0)
  expect_error(bidirectional(layer = layer_dense(units = 2)), "recurrent layer")
  expect_error(bidirectional(layer = layer_lstm(units = 2), merge_mode = "max"), "merge_mode")
})

test_that("time_distributed applies a layer to every step with shared weights", {
  set.seed(13)
  N <- 2; TT <- 3; F <- 4; u <- 2
  x <- array(rnorm(N * TT * F), c(N, TT, F))
  m <- keras_model_sequential() %>%
    time_distributed(layer_dense(units = u, activation = "tanh"), input_shape = c(TT, F))
  W <- matrix(rnorm(F * u), F, u); b <- rnorm(u)
  set_weights(m, list(W, b))
  want <- array(0, c(N, TT, u))
  for (n in 1:N) for (t in 1:TT) want[n, t, ] <- tanh(x[n, t, ] %*% W + b)
  expect_equal(predict(m, x), want, tolerance = 1e-5)
  expect_equal(get_config(m)$layers[[1]]$config$layer$class_name, "Dense")
  m2 <- model_from_json(model_to_json(m))
  set_weights(m2, get_weights(m))
  expect_equal(predict(m2, x), want, tolerance = 1e-5)
  # keeps an embedding's mask for a following LSTM (plain-R loop with the mask)
  idx <- rbind(c(0, 1, 2), c(3, 0, 1))
  m3 <- keras_model_sequential() %>%
    layer_embedding(input_dim = 4, output_dim = 2, mask_zero = TRUE, input_length = 3) %>%
    time_distributed(layer_dense(units = 2)) %>%
    layer_simple_rnn(units = 2)
  w3 <- get_weights(m3)
  e <- array(0, c(2, 3, 2))
  for (n in 1:2) for (t in 1:3) e[n, t, ] <- w3[[1]][idx[n, t] + 1, ] %*% w3[[2]] + w3[[3]]
  want3 <- ref_rnn("simple", e, w3[[4]], w3[[5]], w3[[6]], mask = idx != 0)$out
  expect_equal(predict(m3, idx), want3, tolerance = 1e-5)
})
