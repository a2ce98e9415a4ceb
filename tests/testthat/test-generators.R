# R generator functions: fit_generator(), evaluate_generator(),
# predict_generator() and fit() with a generator. Numbers are checked against
# the array code paths on the same batches in the same order (those are
# checked against plain R in test-model-training.R), and errors name the step.

gen_data <- function(n = 96, seed = 7) {
  set.seed(seed)
  x <- matrix(rnorm(n * 5), ncol = 5)
  y <- to_categorical(as.integer(x[, 1] - x[, 2] > 0), 2)
  list(x = x, y = y)
}
gen_model <- function(seed = 11) {
  set.seed(seed)
  m <- keras_model_sequential() %>%
    layer_dense(units = 6, activation = "tanh", input_shape = 5) %>%
    layer_dense(units = 2, activation = "softmax")
  m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_adam(lr = 0.01), metrics = "accuracy")
  m
}
# yields consecutive batches of `bs` rows, wrapping around
seq_generator <- function(x, y, bs) {
  i <- 0
  n <- nrow(x)
  function() {
    idx <- (i + seq_len(bs) - 1) %% n + 1
    i <<- i + bs
    list(x[idx, , drop = FALSE], y[idx, , drop = FALSE])
  }
}

test_that("fit_generator trains exactly as fit() on the same batches in the same order", {
  d <- gen_data()
  a <- gen_model(); b <- gen_model()
  set_weights(b, get_weights(a))
  ha <- a %>% fit(d$x, d$y, batch_size = 16, epochs = 3, shuffle = FALSE, verbose = 0)
  hb <- b %>% fit_generator(seq_generator(d$x, d$y, 16), steps_per_epoch = 6, epochs = 3, verbose = 0)
  expect_equal(get_weights(b), get_weights(a), tolerance = 1e-6)
  expect_equal(hb$metrics$loss, ha$metrics$loss, tolerance = 1e-6)
  expect_equal(hb$metrics$acc, ha$metrics$acc, tolerance = 1e-6)
  expect_equal(hb$params$steps, 6L)
  # fit() accepts the generator function too
  b <- gen_model(); c2 <- gen_model(); set_weights(c2, get_weights(b))   # fresh optimizer states
  b %>% fit_generator(seq_generator(d$x, d$y, 16), steps_per_epoch = 6, epochs = 1, verbose = 0)
  c2 %>% fit(seq_generator(d$x, d$y, 16), steps_per_epoch = 6, epochs = 1, verbose = 0)
  expect_equal(get_weights(c2), get_weights(b), tolerance = 1e-6)
  expect_error(fit(c2, seq_generator(d$x, d$y, 16), epochs = 1, verbose = 0), "`steps_per_epoch` is required")
})

test_that("epoch metrics are sample-weighted means over uneven batches; validation from a generator", {
  d <- gen_data(n = 50)
  m <- gen_model()
  sizes <- c(20, 20, 10)
  k <- 0
  gen <- function() {
    k <<- k + 1
    s <- sizes[(k - 1) %% 3 + 1]
    start <- c(0, 20, 40)[(k - 1) %% 3 + 1]
    idx <- start + seq_len(s)
    list(d$x[idx, ], d$y[idx, ])
  }
  w0 <- get_weights(m)
  # batch losses before each update, via a batch hook
  losses <- numeric(); accs <- numeric()
  cb <- callback_lambda(on_batch_end = function(batch, logs) { losses <<- c(losses, logs$loss); accs <<- c(accs, logs$acc) })
  vgen <- seq_generator(d$x[1:30, ], d$y[1:30, ], 12)   # 12 + 12 + 6(wrapped: rows 25..30, 1..6)
  h <- m %>% fit_generator(gen, steps_per_epoch = 3, epochs = 1, verbose = 0, callbacks = cb,
                           validation_data = vgen, validation_steps = 3)
  expect_equal(h$metrics$loss, sum(losses * sizes) / 50)
  expect_equal(h$metrics$acc, sum(accs * sizes) / 50)
  vidx <- c(1:12, 13:24, c(25:30, 1:6))
  ev <- evaluate(m, d$x[vidx, ], d$y[vidx, ], batch_size = 12, verbose = 0)
  expect_equal(h$metrics$val_loss, ev$loss, tolerance = 1e-6)
  expect_equal(h$metrics$val_acc, ev$acc, tolerance = 1e-6)
  expect_error(fit_generator(m, gen, steps_per_epoch = 1, validation_data = vgen, verbose = 0),
               "`validation_steps` is required")
  # in-memory validation data
  h2 <- m %>% fit_generator(gen, steps_per_epoch = 3, epochs = 1, verbose = 0,
                            validation_data = list(d$x[1:30, ], d$y[1:30, ]), validation_steps = 1)
  expect_equal(h2$metrics$val_loss, evaluate(m, d$x[1:30, ], d$y[1:30, ], verbose = 0)$loss, tolerance = 1e-6)
})

test_that("evaluate_generator and predict_generator match evaluate() and predict() on the same batches", {
  d <- gen_data()
  m <- gen_model()
  e1 <- evaluate_generator(m, seq_generator(d$x, d$y, 40), steps = 3)   # 40 + 40 + 40 (16 wrapped)
  idx <- (seq_len(120) - 1) %% 96 + 1
  e2 <- evaluate(m, d$x[idx, ], d$y[idx, ], batch_size = 40, verbose = 0)
  expect_equal(e1, e2, tolerance = 1e-6)
  p1 <- predict_generator(m, function() d$x[1:30, ], steps = 2)
  expect_equal(p1, predict(m, rbind(d$x[1:30, ], d$x[1:30, ])), tolerance = 1e-6)
  p2 <- predict_generator(m, seq_generator(d$x, d$y, 32), steps = 3)  # list(x, y): x used
  expect_equal(p2, predict(m, d$x), tolerance = 1e-6)
  n <- 0
  predict_generator(m, function() d$x[1:5, ], steps = 4,
                    callbacks = callback_lambda(on_predict_batch_end = function(b, logs) n <<- n + 1))
  expect_equal(n, 4)
})

test_that("class_weight in fit_generator weights the loss like sample weights", {
  d <- gen_data()
  a <- gen_model(); b <- gen_model(); set_weights(b, get_weights(a))
  cls <- d$y[, 2]
  a %>% fit(d$x, d$y, sample_weight = ifelse(cls == 1, 3, 1), batch_size = 32, epochs = 1, shuffle = FALSE, verbose = 0)
  b %>% fit_generator(seq_generator(d$x, d$y, 32), steps_per_epoch = 3, class_weight = list("0" = 1, "1" = 3), verbose = 0)
  expect_equal(get_weights(b), get_weights(a), tolerance = 1e-6)
})

test_that("a generator returning the wrong thing is an error naming the step and what came back", {
  d <- gen_data()
  m <- gen_model()
  w0 <- get_weights(m)
  k <- 0
  bad_at_3 <- function() {
    k <<- k + 1
    if (k == 3) return(d$x[1:8, ])
    list(d$x[1:8, ], d$y[1:8, ])
  }
  expect_error(fit_generator(m, bad_at_3, steps_per_epoch = 5, verbose = 0),
               "fit_generator\\(\\): generator step 3: expected list\\(x, y\\) or list\\(x, y, sample_weight\\) but the generator returned double array\\[8 x 5\\]")
  k <- 0
  wrong_shape <- function() {
    k <<- k + 1
    list(if (k == 2) d$x[1:8, 1:4] else d$x[1:8, ], d$y[1:8, ])
  }
  expect_error(fit_generator(m, wrong_shape, steps_per_epoch = 3, verbose = 0),
               "generator step 2: x: expected arrays of shape .*5.* but got .*4.*a list of 2: double array\\[8 x 4\\], double array\\[8 x 2\\]")
  k <- 0
  failing <- function() { k <<- k + 1; if (k == 4) stop("disk gone"); list(d$x[1:8, ], d$y[1:8, ]) }
  expect_error(fit_generator(m, failing, steps_per_epoch = 6, verbose = 0), "generator step 4: the generator failed: disk gone")
  expect_error(fit_generator(m, "gen", steps_per_epoch = 1, verbose = 0), "must be a function")
  expect_error(fit_generator(m, failing, steps_per_epoch = 1, workers = 0, verbose = 0), "`workers` must be a whole number >= 1")
  # the model is still usable after the errors
  h <- m %>% fit_generator(seq_generator(d$x, d$y, 16), steps_per_epoch = 2, verbose = 0)
  expect_true(is.finite(h$metrics$loss))
})

test_that("batch hooks and early stopping work in fit_generator and dataset-fed fit", {
  d <- gen_data()
  m <- gen_model()
  ev <- character()
  cb <- callback_lambda(on_batch_begin = function(b, logs) ev <<- c(ev, sprintf("b%d:%d", b, logs$size)),
                        on_batch_end = function(b, logs) ev <<- c(ev, sprintf("e%d", b)))
  m %>% fit_generator(seq_generator(d$x, d$y, 10), steps_per_epoch = 2, epochs = 2, verbose = 0, callbacks = cb)
  expect_equal(ev, rep(c("b0:10", "e0", "b1:10", "e1"), 2))
  ev <- character()
  ds <- tensor_slices_dataset(list(d$x, d$y)) %>% dataset_batch(40)
  m %>% fit(ds, epochs = 1, verbose = 0, callbacks = cb)
  expect_equal(ev, c("b0:40", "e0", "b1:40", "e1", "b2:16", "e2"))
  # stop_training from a batch hook in a dataset-fed fit
  stopper <- callback_lambda(on_batch_end = function(b, logs) if (b == 0) m$stop_training <- TRUE)
  h <- m %>% fit(ds, epochs = 3, verbose = 0, callbacks = stopper)
  expect_length(h$metrics$loss, 1)
  h <- m %>% fit_generator(seq_generator(d$x, d$y, 10), steps_per_epoch = 5, epochs = 30, verbose = 0,
                           validation_data = list(d$x, d$y),
                           callbacks = callback_early_stopping(monitor = "val_loss", min_delta = 10, patience = 1))
  expect_length(h$metrics$val_loss, 2)   # epoch 0 improves on Inf, epoch 1 cannot beat min_delta
})

test_that("progress output counts steps for generators", {
  d <- gen_data()
  m <- gen_model()
  out <- capture.output(m %>% fit_generator(seq_generator(d$x, d$y, 16), steps_per_epoch = 4, epochs = 1, verbose = 1,
                                            validation_data = list(d$x, d$y)))
  expect_true(any(grepl("^4/4 \\[=+\\] - .* - loss: [0-9.]+ - acc: [0-9.]+ - val_loss: [0-9.]+ - val_acc: [0-9.]+$", out)))
})
