# Callbacks: each one's effect checked against an independent computation
# (the Keras rule applied by hand to the recorded history, plain-R SGD steps).

toy_data <- function(n = 200, seed = 1) {
  set.seed(seed)
  x <- matrix(runif(n * 4), ncol = 4)
  y <- to_categorical(as.integer(x[, 1] + 0.3 * rnorm(n) > x[, 2]), 2)
  list(x = x, y = y)
}
toy_model <- function(lr = 0.5) {
  m <- keras_model_sequential() %>%
    layer_dense(units = 8, activation = "relu", input_shape = 4) %>%
    layer_dense(units = 2, activation = "softmax")
  m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = lr), metrics = "accuracy")
  m
}
# records the weights at the end of every epoch (0-based epoch -> weights)
weight_recorder <- function(env) {
  callback_lambda(on_epoch_end = function(epoch, logs) env$w[[epoch + 1]] <- get_weights(env$model))
}

test_that("early stopping stops at the epoch Keras's rule gives and restores the best weights", {
  d <- toy_data()
  model <- toy_model(lr = 2)
  rec <- new.env(); rec$model <- model; rec$w <- list()
  h <- model %>% fit(d$x, d$y, epochs = 40, batch_size = 16, verbose = 0, validation_split = 0.3,
                     callbacks = list(weight_recorder(rec),
                                      callback_early_stopping(patience = 2, min_delta = 0.002,
                                                              restore_best_weights = TRUE)))
  v <- h$metrics$val_loss
  # Keras 2.2.5 EarlyStopping, by hand: improvement iff current - min_delta < best
  best <- Inf; wait <- 0; stop_at <- NA; best_ep <- NA
  for (e in seq_along(v)) {
    if (v[e] - 0.002 < best) { best <- v[e]; wait <- 0; best_ep <- e }
    else { wait <- wait + 1; if (wait >= 2) { stop_at <- e; break } }
  }
  expect_false(is.na(stop_at))          # it did stop early
  expect_lt(stop_at, 40)
  expect_equal(length(v), stop_at)      # trained exactly up to that epoch
  expect_equal(get_weights(model), rec$w[[best_ep]])   # best epoch's weights restored
  expect_false(isTRUE(all.equal(rec$w[[stop_at]], rec$w[[best_ep]])))
})

test_that("early stopping with an unbeatable baseline stops after `patience` epochs", {
  d <- toy_data()
  model <- toy_model()
  h <- model %>% fit(d$x, d$y, epochs = 10, verbose = 0, validation_split = 0.2,
                     callbacks = callback_early_stopping(monitor = "val_acc", baseline = 1.01, patience = 3))
  expect_length(h$metrics$val_acc, 3)
  out <- capture.output(model %>% fit(d$x, d$y, epochs = 10, verbose = 0, validation_split = 0.2,
                        callbacks = callback_early_stopping(monitor = "loss", baseline = -1, patience = 2, verbose = 1)))
  expect_true(any(grepl("Epoch 00002: early stopping", out, fixed = TRUE)))
})

test_that("an unknown monitor key warns as Keras does and training goes on", {
  d <- toy_data()
  model <- toy_model()
  w <- character()
  h <- withCallingHandlers(model %>% fit(d$x, d$y, epochs = 2, verbose = 0,
                                         callbacks = callback_early_stopping(monitor = "val_lost")),
                           warning = function(c) { w <<- c(w, conditionMessage(c)); invokeRestart("muffleWarning") })
  expect_equal(w, rep("Early stopping conditioned on metric `val_lost` which is not available. Available metrics are: loss,acc", 2))
  expect_length(h$metrics$loss, 2)
  expect_warning(model %>% fit(d$x, d$y, epochs = 1, verbose = 0,
                               callbacks = callback_reduce_lr_on_plateau(monitor = "nope")), "not available")
  expect_warning(model %>% fit(d$x, d$y, epochs = 1, verbose = 0,
                               callbacks = callback_model_checkpoint(file.path(tempdir(), "x.h5"), save_best_only = TRUE)),
                 "Can save best model only with val_loss available, skipping.")
  expect_error(callback_early_stopping(mode = "maximum"), "should be one of")
  expect_error(callback_reduce_lr_on_plateau(factor = 1), "factor >= 1.0")
})

test_that("checkpoint files get Keras's template names and load back", {
  d <- toy_data()
  model <- toy_model()
  dir <- tempfile("ckpt")
  rec <- new.env(); rec$model <- model; rec$w <- list()
  h <- model %>% fit(d$x, d$y, epochs = 3, verbose = 0, validation_split = 0.25,
                     callbacks = list(weight_recorder(rec),
                                      callback_model_checkpoint(file.path(dir, "weights.{epoch:02d}-{val_loss:.2f}.hdf5"),
                                                                save_weights_only = TRUE)))
  want <- sprintf("weights.%02d-%.2f.hdf5", 1:3, h$metrics$val_loss)
  expect_setequal(list.files(dir), want)
  fresh <- toy_model()
  for (e in 1:3) {
    load_model_weights_hdf5(fresh, file.path(dir, want[e]))
    expect_equal(get_weights(fresh), rec$w[[e]])
  }
  # full model, best only, period 2
  dir2 <- tempfile("ckpt")
  h2 <- model %>% fit(d$x, d$y, epochs = 4, verbose = 0, validation_split = 0.25,
                      callbacks = callback_model_checkpoint(file.path(dir2, "m-{epoch}.h5"), period = 2))
  expect_setequal(list.files(dir2), c("m-2.h5", "m-4.h5"))
  m4 <- load_model_hdf5(file.path(dir2, "m-4.h5"))
  expect_equal(predict(m4, d$x[1:5, ]), predict(model, d$x[1:5, ]), tolerance = 1e-6)
  # save_best_only: a file per improving epoch (by hand from the history)
  dir3 <- tempfile("ckpt")
  h3 <- toy_model(lr = 3) %>% fit(d$x, d$y, epochs = 6, verbose = 0, validation_split = 0.25,
                      callbacks = callback_model_checkpoint(file.path(dir3, "b{epoch:03d}.h5"), save_best_only = TRUE))
  v <- h3$metrics$val_loss
  improving <- which(v < cummin(c(Inf, v))[seq_along(v)])
  expect_setequal(list.files(dir3), sprintf("b%03d.h5", improving))
  expect_error(toy_model() %>% fit(d$x, d$y, epochs = 1, verbose = 0,
                                   callbacks = callback_model_checkpoint(file.path(dir3, "{val_acc}.h5"))),
               "uses \\{val_acc\\} but the logs hold only: epoch, loss, acc")
})

test_that("Python str.format subset used by checkpoint names", {
  f <- kerasnative:::format_filepath
  expect_equal(f("w.{epoch:02d}-{val_loss:.2f}.hdf5", list(epoch = 3L, val_loss = 0.12345)), "w.03-0.12.hdf5")
  expect_equal(f("{{x}}{epoch}_{loss:.3e}", list(epoch = 12L, loss = 1234.5)), "{x}12_1.234e+03")
  expect_equal(f("{loss}", list(loss = 0.1)), "0.1")
  expect_error(f("{loss:02d}", list(loss = 0.5)), "format 'd' needs an integer")
})

test_that("the CSV log has Keras's header, 0-based epochs and the history's values", {
  d <- toy_data()
  model <- toy_model()
  f <- file.path(tempfile("csvdir"), "sub", "log.csv")
  h <- model %>% fit(d$x, d$y, epochs = 3, verbose = 0, validation_split = 0.2,
                     callbacks = callback_csv_logger(f))
  raw <- readBin(f, "raw", file.size(f))
  txt <- rawToChar(raw)
  lines <- strsplit(txt, "\r\n", fixed = TRUE)[[1]]
  expect_equal(lines[1], "epoch,acc,loss,val_acc,val_loss")   # sorted keys, as Keras
  expect_length(lines, 4)
  expect_true(endsWith(txt, "\r\n"))                           # csv module's line ends
  csv <- read.csv(f)
  expect_equal(csv$epoch, 0:2)
  for (k in c("acc", "loss", "val_acc", "val_loss")) expect_identical(csv[[k]], h$metrics[[k]])
  expect_equal(list.files(dirname(f), all.files = TRUE, no.. = TRUE), "log.csv")  # no temp file left
  # append: no second header; separator
  model %>% fit(d$x, d$y, epochs = 2, verbose = 0, validation_split = 0.2, callbacks = callback_csv_logger(f, append = TRUE))
  lines <- readLines(f)
  expect_length(lines, 6)
  expect_equal(sum(grepl("^epoch", lines)), 1)
  f2 <- tempfile(fileext = ".csv")
  model %>% fit(d$x, d$y, epochs = 1, verbose = 0, callbacks = callback_csv_logger(f2, separator = ";"))
  expect_equal(readLines(f2)[1], "epoch;acc;loss")
  expect_error(callback_csv_logger(f2, separator = ";;"), "single character")
})

test_that("values are written as Python prints them", {
  s <- kerasnative:::py_str
  expect_equal(s(0.1), "0.1")
  expect_equal(s(1e-05), "1e-05")
  expect_equal(s(1.5e16), "1.5e+16")
  expect_equal(s(123), "123.0")
  expect_equal(s(0.5385050773620605), "0.5385050773620605")
  expect_equal(s(-2.5e-7), "-2.5e-07")
  expect_equal(s(0.0010000000474974513, float32 = TRUE), "0.001")
  expect_equal(s(NaN), "nan")
})

# one Dense layer, MSE: the gradient is known in closed form
linear_problem <- function() {
  set.seed(3)
  x <- matrix(rnorm(40), ncol = 4)
  y <- matrix(rnorm(20), ncol = 2)
  model <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 4)
  model %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
  list(x = x, y = y, model = model)
}
sgd_step <- function(w, x, y, lr) {
  W <- w[[1]]; b <- w[[2]]
  r <- x %*% W + matrix(b, nrow(x), length(b), byrow = TRUE) - y
  g <- 2 * r / length(r)
  list(W - lr * t(x) %*% g, b - lr * colSums(g))
}
f32 <- function(v) readBin(writeBin(v, raw(), size = 4), "numeric", size = 4, n = length(v))

test_that("the learning rate schedule is the rate the optimizer uses (plain-R SGD check)", {
  p <- linear_problem()
  rates <- c(0.1, 0.01, 0.3)
  w <- list(get_weights(p$model))
  rec <- new.env(); rec$model <- p$model; rec$w <- list()
  seen_lr <- numeric()
  h <- p$model %>% fit(p$x, p$y, epochs = 3, batch_size = 10, shuffle = FALSE, verbose = 0,
    callbacks = list(callback_learning_rate_scheduler(function(epoch, lr) { seen_lr <<- c(seen_lr, lr); rates[epoch + 1] }),
                     weight_recorder(rec)))
  expect_equal(seen_lr, f32(c(0.1, rates[1:2])))   # the schedule sees the current (float32) lr
  expect_equal(h$metrics$lr, f32(rates))
  for (e in 1:3) {
    w[[e + 1]] <- sgd_step(w[[e]], p$x, p$y, f32(rates[e]))
    expect_equal(lapply(rec$w[[e]], as.vector), lapply(w[[e + 1]], as.vector), tolerance = 1e-5)
  }
  # a one-argument schedule is called with the epoch only
  p$model %>% fit(p$x, p$y, epochs = 2, verbose = 0, callbacks = callback_learning_rate_scheduler(function(epoch) 0.5 / (epoch + 1)))
  expect_equal(k_get_value(p$model$optimizer$lr), f32(0.25))
  expect_error(p$model %>% fit(p$x, p$y, epochs = 1, verbose = 0,
                               callbacks = callback_learning_rate_scheduler(function(epoch) "fast")),
               "returned fast for epoch 0")
})

test_that("k_get_value / k_set_value reach the optimizer's learning rate", {
  p <- linear_problem()
  expect_equal(k_get_value(p$model$optimizer$lr), f32(0.1))
  k_set_value(p$model$optimizer$lr, 0.05)
  expect_equal(k_get_value(p$model$optimizer$lr), f32(0.05))
  w0 <- get_weights(p$model)
  train_on_batch(p$model, p$x, p$y)
  want <- sgd_step(w0, p$x, p$y, f32(0.05))
  expect_equal(lapply(get_weights(p$model), as.vector), lapply(want, as.vector), tolerance = 1e-5)
  expect_equal(p$model$optimizer$config$lr, f32(0.05))
  expect_error(k_set_value(p$model$optimizer$lr, -1), "non-negative")
  expect_equal(k_get_value(0.5), 0.5)
  expect_error(k_set_value(0.5, 1), "must be a variable")
})

test_that("reduce LR on plateau follows Keras's rule and logs lr", {
  p <- linear_problem()
  h <- p$model %>% fit(p$x, p$y, epochs = 4, verbose = 0,
                       callbacks = callback_reduce_lr_on_plateau(monitor = "loss", factor = 0.5, patience = 1,
                                                                 min_delta = 10))
  # epoch 0 improves on Inf; every later epoch fails min_delta = 10 and halves lr
  expect_equal(h$metrics$lr, f32(c(0.1, 0.1, 0.05, 0.025)), tolerance = 1e-7)
  expect_equal(k_get_value(p$model$optimizer$lr), f32(0.0125), tolerance = 1e-7)
  out <- capture.output(p$model %>% fit(p$x, p$y, epochs = 2, verbose = 0,
    callbacks = callback_reduce_lr_on_plateau(monitor = "loss", patience = 0, min_delta = 10, verbose = 1, min_lr = 0.001)))
  # 0.0125 (float32) * 0.1, printed as Python prints the double
  expect_true(any(grepl("Epoch 00002: ReduceLROnPlateau reducing learning rate to 0.0012500000186264", out, fixed = TRUE)))
})

test_that("batch-level hooks run at every batch boundary with Keras's logs", {
  d <- toy_data(n = 100)
  model <- toy_model()
  ev <- character()
  cb <- callback_lambda(
    on_train_begin = function(logs) ev <<- c(ev, "train_begin"),
    on_epoch_begin = function(epoch, logs) ev <<- c(ev, paste0("epoch_begin", epoch)),
    on_batch_begin = function(batch, logs) ev <<- c(ev, sprintf("b%d/%d", batch, logs$size)),
    on_batch_end = function(batch, logs) {
      stopifnot(is.numeric(logs$loss), is.numeric(logs$acc))
      ev <<- c(ev, sprintf("e%d", batch))
    },
    on_test_begin = function(logs) ev <<- c(ev, "test_begin"),
    on_test_batch_end = function(batch, logs) ev <<- c(ev, sprintf("t%d", batch)),
    on_epoch_end = function(epoch, logs) ev <<- c(ev, paste0("epoch_end", epoch)),
    on_train_end = function(logs) ev <<- c(ev, "train_end"))
  model %>% fit(d$x, d$y, epochs = 2, batch_size = 32, verbose = 0, validation_data = list(d$x[1:40, ], d$y[1:40, ]),
                callbacks = cb)
  one <- function(e) c(paste0("epoch_begin", e), "b0/32", "e0", "b1/32", "e1", "b2/32", "e2", "b3/4", "e3",
                       "test_begin", "t0", "t1", paste0("epoch_end", e))
  expect_equal(ev, c("train_begin", one(0), one(1), "train_end"))
  # evaluate and predict hooks
  ev <- character()
  cb2 <- callback_lambda(on_test_batch_begin = function(batch, logs) ev <<- c(ev, sprintf("tb%d/%d", batch, logs$size)),
                         on_test_end = function(logs) ev <<- c(ev, "test_end"),
                         on_predict_begin = function(logs) ev <<- c(ev, "pred_begin"),
                         on_predict_batch_end = function(batch, logs) ev <<- c(ev, sprintf("pe%d", batch)))
  evaluate(model, d$x[1:50, ], d$y[1:50, ], batch_size = 20, verbose = 0, callbacks = cb2)
  predict(model, d$x[1:50, ], batch_size = 25, callbacks = cb2)
  expect_equal(ev, c("tb0/20", "tb1/20", "tb2/10", "test_end", "pred_begin", "pe0", "pe1"))
})

test_that("a KerasCallback subclass sees self$model, self$params and can stop training mid-epoch", {
  d <- toy_data(n = 100)
  model <- toy_model()
  Stopper <- R6::R6Class("Stopper", inherit = KerasCallback, public = list(
    batches = 0, params_seen = NULL, same_model = NA,
    on_train_begin = function(logs = NULL) { self$params_seen <- self$params; self$same_model <- identical(self$model, model) },
    on_batch_end = function(batch, logs = NULL) {
      self$batches <- self$batches + 1
      if (batch == 1) self$model$stop_training <- TRUE
    }))
  s <- Stopper$new()
  h <- model %>% fit(d$x, d$y, epochs = 5, batch_size = 10, verbose = 0, validation_split = 0.2, callbacks = list(s))
  expect_true(s$same_model)
  expect_equal(s$params_seen$epochs, 5L)
  expect_equal(s$params_seen$samples, 80L)
  expect_equal(s$params_seen$metrics, c("val_loss", "val_acc", "loss", "acc"))
  expect_equal(s$batches, 2)               # stopped after the second batch
  expect_length(h$metrics$loss, 1)
  expect_length(h$metrics$val_loss, 1)
  expect_true(is.na(h$metrics$val_loss))   # validation skipped, as Keras
  expect_error(fit(model, d$x, d$y, verbose = 0, callbacks = list(function() 1)), "not a callback")
})

test_that("terminate on NaN stops at the batch whose loss is not finite", {
  p <- linear_problem()
  losses <- numeric()
  cb <- callback_lambda(on_batch_end = function(batch, logs) losses <<- c(losses, logs$loss))
  k_set_value(p$model$optimizer$lr, 1e18)
  out <- capture.output(h <- p$model %>% fit(p$x, p$y, epochs = 3, batch_size = 1, shuffle = FALSE, verbose = 0,
                                             callbacks = list(cb, callback_terminate_on_naan())))
  first_bad <- which(!is.finite(losses))[1]
  expect_false(is.na(first_bad))
  expect_length(losses, first_bad)          # no batch after it
  expect_true(any(grepl(sprintf("Batch %d: Invalid loss, terminating training", first_bad - 1), out, fixed = TRUE)))
  expect_length(h$metrics$loss, 1)
})

test_that("progbar logger prints Keras's bar counting steps or samples", {
  d <- toy_data(n = 64)
  model <- toy_model()
  out <- capture.output(model %>% fit(d$x, d$y, epochs = 1, batch_size = 16, verbose = 2,
                                      callbacks = callback_progbar_logger(count_mode = "steps")))
  expect_true(sum(grepl("Epoch 1/1", out, fixed = TRUE)) == 2)   # fit's own line and the logger's
  expect_error(callback_progbar_logger("batches"), "Unknown `count_mode`")
})

test_that("remote monitor POSTs each epoch's logs", {
  skip_if(Sys.which("python3") == "", "python3 not available")
  skip_if_not_installed("processx")
  port <- 18000L + sample.int(1000, 1)
  body_file <- tempfile()
  srv <- tempfile(fileext = ".py")
  writeLines(c(
    "import http.server, sys",
    "class H(http.server.BaseHTTPRequestHandler):",
    "    def do_POST(self):",
    "        n = int(self.headers['Content-Length'])",
    "        b = self.rfile.read(n)",
    "        with open(sys.argv[2], 'ab') as f: f.write(self.path.encode() + b' ' + self.headers['Content-Type'].encode() + b' ' + b + b'\\n')",
    "        self.send_response(200); self.end_headers()",
    "    def log_message(self, *a): pass",
    "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()"), srv)
  proc <- processx::process$new("python3", c(srv, port, body_file))
  on.exit(proc$kill(), add = TRUE)
  Sys.sleep(1)
  d <- toy_data(n = 50)
  model <- toy_model()
  h <- model %>% fit(d$x, d$y, epochs = 2, verbose = 0,
                     callbacks = callback_remote_monitor(root = sprintf("http://127.0.0.1:%d", port), send_as_json = TRUE))
  got <- readLines(body_file)
  expect_length(got, 2)
  expect_true(all(startsWith(got, "/publish/epoch/end/ application/json ")))
  j <- jsonlite::fromJSON(sub("^\\S+ \\S+ ", "", got[2]))
  expect_equal(j$epoch, 1)
  expect_equal(j$loss, h$metrics$loss[2])
  model %>% fit(d$x, d$y, epochs = 1, verbose = 0,
                callbacks = callback_remote_monitor(root = sprintf("http://127.0.0.1:%d", port)))
  got <- readLines(body_file)
  expect_true(startsWith(got[3], "/publish/epoch/end/ application/x-www-form-urlencoded data=%7B%22epoch%22%3A0"))
  expect_warning(model %>% fit(d$x, d$y, epochs = 1, verbose = 0,
                               callbacks = callback_remote_monitor(root = "http://127.0.0.1:1")),
                 "could not reach RemoteMonitor root server at http://127.0.0.1:1")
})

test_that("remote monitor without curl: https is a clear error", {
  skip_if(requireNamespace("curl", quietly = TRUE), "curl is installed (https works through it)")
  d <- toy_data(n = 20)
  expect_error(toy_model() %>% fit(d$x, d$y, epochs = 1, verbose = 0,
                                   callbacks = callback_remote_monitor(root = "https://example.invalid")),
               "only http:// URLs are supported")
})
