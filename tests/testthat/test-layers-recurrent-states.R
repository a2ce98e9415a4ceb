# Recurrent layers with return_state, initial_state and masks (embedding
# mask_zero, layer_masking) against recurrences written in plain R from the
# Keras 2.2 equations: at a masked step every state keeps its value and the
# step's output is the previous h.

# ref_rnn() and rand_weights() are in helper-recurrent.R.

test_that("return_state gives the output and final states (LSTM: h, c) as Keras", {
  set.seed(1)
  N <- 4; TT <- 5; F <- 3; u <- 2
  x <- array(rnorm(N * TT * F), c(N, TT, F))
  for (cell in c("simple", "lstm", "gru")) for (rs in c(FALSE, TRUE)) for (gb in c(FALSE, TRUE)) {
    inp <- layer_input(shape = c(TT, F))
    fn <- switch(cell, simple = layer_simple_rnn, lstm = layer_lstm, gru = layer_gru)
    res <- inp %>% fn(units = u, return_state = TRUE, return_sequences = rs, go_backwards = gb)
    expect_length(res, if (cell == "lstm") 3 else 2)
    expect_equal(dim(res[[2]]), c(NA, u))
    m <- keras_model(inp, res)
    w <- rand_weights(F, u, switch(cell, simple = 1, lstm = 4, gru = 3))
    set_weights(m, w)
    got <- predict(m, x)
    want <- ref_rnn(cell, x, w[[1]], w[[2]], w[[3]], go_backwards = gb, return_sequences = rs)
    info <- paste(cell, rs, gb)
    expect_equal(got[[1]], want$out, tolerance = 1e-5, info = info)
    expect_equal(got[[2]], want$h, tolerance = 1e-5, info = info)
    if (cell == "lstm") expect_equal(got[[3]], want$c, tolerance = 1e-5, info = info)
  }
})

test_that("initial_state feeds a decoder from an encoder's states (seq2seq) and round-trips", {
  set.seed(2)
  N <- 3; Te <- 4; Td <- 3; F <- 2; u <- 3
  xe <- array(rnorm(N * Te * F), c(N, Te, F)); xd <- array(rnorm(N * Td * F), c(N, Td, F))
  enc_in <- layer_input(shape = c(Te, F)); dec_in <- layer_input(shape = c(Td, F))
  enc <- enc_in %>% layer_lstm(units = u, return_state = TRUE, name = "enc")
  dec_layer <- layer_lstm(units = u, return_sequences = TRUE, name = "dec")
  dec <- dec_layer(dec_in, initial_state = list(enc[[2]], enc[[3]]))
  m <- keras_model(list(enc_in, dec_in), dec)
  we <- rand_weights(F, u, 4); wd <- rand_weights(F, u, 4)
  set_weights(m, c(we, wd))
  e <- ref_rnn("lstm", xe, we[[1]], we[[2]], we[[3]])
  want <- ref_rnn("lstm", xd, wd[[1]], wd[[2]], wd[[3]], h0 = e$h, c0 = e$c, return_sequences = TRUE)$out
  got <- predict(m, list(xe, xd))
  expect_equal(got, want, tolerance = 1e-5)
  # the config names output i of the encoder as ["enc", 0, i]
  cfg <- get_config(m)
  dec_cfg <- Filter(function(l) l$name == "dec", cfg$layers)[[1]]
  refs <- dec_cfg$inbound_nodes[[1]]
  expect_equal(vapply(refs, function(r) r[[3]], numeric(1)), c(0, 1, 2))
  m2 <- model_from_json(model_to_json(m))
  set_weights(m2, get_weights(m))
  expect_equal(predict(m2, list(xe, xd)), want, tolerance = 1e-5)
  # gradients reach the encoder only through its states: training changes its weights
  compile(m, optimizer = optimizer_sgd(lr = 0.1), loss = "mse")
  y <- array(runif(N * Td * u), c(N, Td, u))
  before <- get_weights(get_layer(m, "enc"))
  fit(m, list(xe, xd), y, epochs = 1, batch_size = N, verbose = 0)
  after <- get_weights(get_layer(m, "enc"))
  expect_true(all(abs(after[[1]] - before[[1]]) > 0))
})

test_that("state tensors are checked and Sequential models refuse return_state", {
  inp <- layer_input(shape = c(4, 2))
  h0 <- layer_input(shape = 5)
  expect_error(layer_gru(units = 3)(inp, initial_state = list(h0)), "initial state 1 must have shape \\(None, 3\\)")
  expect_error(layer_lstm(units = 3)(inp, initial_state = list(layer_input(shape = 3))),
               "initial state tensor")
  expect_error(keras_model_sequential() %>% layer_lstm(units = 3, return_state = TRUE, input_shape = c(4, 2)),
               "several outputs")
  expect_error(layer_lstm(units = 3)(inp, bogus = 1), "unknown argument")
})

test_that("embedding mask_zero makes recurrent layers skip padded steps (plain-R loops)", {
  set.seed(3)
  N <- 5; TT <- 6; V <- 7; D <- 3; u <- 2
  idx <- matrix(sample(1:(V - 1), N * TT, replace = TRUE), N, TT)
  idx[1, 1:3] <- 0; idx[2, 6] <- 0; idx[3, c(2, 4)] <- 0; idx[5, ] <- 0
  E <- matrix(rnorm(V * D), V, D)
  x <- array(0, c(N, TT, D))
  for (n in 1:N) for (t in 1:TT) x[n, t, ] <- E[idx[n, t] + 1, ]
  mask <- (idx != 0) * 1
  for (cell in c("simple", "lstm", "gru")) for (rs in c(FALSE, TRUE)) for (gb in c(FALSE, TRUE)) {
    fn <- switch(cell, simple = layer_simple_rnn, lstm = layer_lstm, gru = layer_gru)
    m <- keras_model_sequential() %>%
      layer_embedding(input_dim = V, output_dim = D, mask_zero = TRUE, input_length = TT) %>%
      fn(units = u, return_sequences = rs, go_backwards = gb)
    w <- rand_weights(D, u, switch(cell, simple = 1, lstm = 4, gru = 3))
    set_weights(m, c(list(E), w))
    want <- ref_rnn(cell, x, w[[1]], w[[2]], w[[3]], mask = mask, go_backwards = gb, return_sequences = rs)
    expect_equal(predict(m, idx), want$out, tolerance = 1e-5, info = paste(cell, rs, gb))
  }
  # a fully padded sequence keeps the zero state
  expect_equal(predict(m, idx)[5, , ], matrix(0, TT, u))
})

test_that("masks pass through Dense and merge layers; unsupported layers refuse them", {
  set.seed(4)
  N <- 3; TT <- 4; F <- 2; u <- 2
  x <- array(rnorm(N * TT * F), c(N, TT, F))
  x[1, 2, ] <- -1; x[2, 4, ] <- -1
  mask <- matrix(1, N, TT); mask[1, 2] <- 0; mask[2, 4] <- 0
  inp <- layer_input(shape = c(TT, F))
  mk <- inp %>% layer_masking(mask_value = -1)
  d1 <- mk %>% layer_dense(units = F, name = "d1")
  d2 <- mk %>% layer_dense(units = F, name = "d2")
  merged <- layer_add(list(d1, d2))
  out <- merged %>% layer_simple_rnn(units = u, name = "rnn")
  m <- keras_model(inp, out)
  set.seed(5)
  A1 <- matrix(rnorm(4), 2); A2 <- matrix(rnorm(4), 2); w <- rand_weights(F, u, 1)
  set_weights(m, c(list(A1, c(0.1, -0.2), A2, c(0.3, 0)), w))
  xm <- x
  xm[1, 2, ] <- 0; xm[2, 4, ] <- 0            # Masking zeroes masked steps
  z <- array(0, c(N, TT, F))
  for (n in 1:N) for (t in 1:TT)
    z[n, t, ] <- xm[n, t, ] %*% A1 + c(0.1, -0.2) + xm[n, t, ] %*% A2 + c(0.3, 0)
  want <- ref_rnn("simple", z, w[[1]], w[[2]], w[[3]], mask = mask)$out
  expect_equal(predict(m, x), want, tolerance = 1e-5)
  # Masking's own output
  mm <- keras_model(inp, mk)
  expect_equal(predict(mm, x), xm, tolerance = 1e-6)
  expect_error(keras_model_sequential() %>%
                 layer_embedding(input_dim = 5, output_dim = 2, mask_zero = TRUE, input_length = 3) %>%
                 layer_flatten(), "does not support masking")
  cfg <- get_config(layer_embedding(input_dim = 5, output_dim = 2, mask_zero = TRUE))
  expect_true(cfg$mask_zero)
  expect_equal(get_config(layer_masking(mask_value = 2.5))$mask_value, 2.5)
})

test_that("an embedding + LSTM with mask_zero learns a padded sequence task", {
  set.seed(6)
  N <- 200; TT <- 8
  # label: does token 3 occur in the (left-padded) sequence?
  seqs <- lapply(1:N, function(i) sample(1:5, sample(2:TT, 1), replace = TRUE))
  x <- pad_sequences(seqs, maxlen = TT)
  y <- vapply(seqs, function(s) as.numeric(3 %in% s), numeric(1))
  m <- keras_model_sequential() %>%
    layer_embedding(input_dim = 6, output_dim = 8, mask_zero = TRUE, input_length = TT) %>%
    layer_lstm(units = 8) %>%
    layer_dense(units = 1, activation = "sigmoid")
  compile(m, optimizer = optimizer_adam(lr = 0.02), loss = "binary_crossentropy", metrics = "accuracy")
  h <- fit(m, x, y, epochs = 30, batch_size = 20, verbose = 0)
  expect_gt(tail(h$metrics$acc, 1), 0.9)
})

test_that("summary() shows every output of a multi-output layer and which output feeds a layer", {
  enc_in <- layer_input(shape = c(4, 2), name = "enc_in")
  enc <- enc_in %>% layer_lstm(units = 3, return_state = TRUE, name = "enc")
  out <- layer_concatenate(list(enc[[1]], enc[[3]]), name = "cat")
  m <- keras_model(enc_in, out)
  lines <- capture.output(summary(m, line_length = 200))
  # Keras: "enc (LSTM)  [(None, 3), (None, 3), (None, 3)]  72", connections name[0][k]
  enc_line <- grep("^enc \\(LSTM\\)", lines, value = TRUE)
  expect_length(enc_line, 1)
  expect_match(enc_line, "[(None, 3), (None, 3), (None, 3)]", fixed = TRUE)
  expect_match(enc_line, "72")  # 2*12 + 3*12 + 12
  cat_at <- grep("^cat \\(Concatenate\\)", lines)
  expect_match(lines[cat_at], "enc[0][0]", fixed = TRUE)
  expect_match(lines[cat_at + 1], "enc[0][2]", fixed = TRUE)
})
