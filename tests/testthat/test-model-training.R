# fit / evaluate / predict: the seed-001 script, numerics checked by hand,
# reproducibility, progress output and bad input.

test_that("the seed-001 getting-started script trains well above chance", {
  mnist <- test_mnist()
  n <- min(6000, dim(mnist$train$x)[1])
  x_train <- mnist$train$x[seq_len(n), , ]
  y_train <- mnist$train$y[seq_len(n)]
  x_test <- mnist$test$x[1:1000, , ]
  y_test <- mnist$test$y[1:1000]
  dim(x_train) <- c(nrow(x_train), 784)
  dim(x_test) <- c(nrow(x_test), 784)
  x_train <- x_train / 255
  x_test <- x_test / 255
  y_train <- to_categorical(y_train, 10)
  y_test <- to_categorical(y_test, 10)
  set.seed(1)
  model <- keras_model_sequential()
  model %>%
    layer_dense(units = 256, activation = "relu", input_shape = c(784)) %>%
    layer_dropout(rate = 0.4) %>%
    layer_dense(units = 128, activation = "relu") %>%
    layer_dropout(rate = 0.3) %>%
    layer_dense(units = 10, activation = "softmax")
  model %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_rmsprop(),
                    metrics = c("accuracy"))
  history <- model %>% fit(x_train, y_train, epochs = 4, batch_size = 128,
                           validation_split = 0.2, verbose = 0)
  expect_s3_class(history, "keras_training_history")
  expect_named(history$metrics, c("val_loss", "val_acc", "loss", "acc"))
  expect_length(history$metrics$acc, 4)
  expect_lt(history$metrics$loss[4], history$metrics$loss[1])
  res <- model %>% evaluate(x_test, y_test, verbose = 0)
  expect_named(res, c("loss", "acc"))
  expect_gt(res$acc, 0.85)
  cls <- model %>% predict_classes(x_test)
  expect_type(cls, "integer")
  expect_true(all(cls %in% 0:9))
  expect_equal(mean(cls == mnist$test$y[1:1000]), res$acc, tolerance = 1e-6)
})

test_that("evaluate() matches loss and accuracy computed by hand in R", {
  set.seed(3)
  model <- mlp_model(c(8, 8), input = 5, classes = 3)
  model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
  x <- matrix(rnorm(50 * 5), 50, 5)
  y <- to_categorical(sample(0:2, 50, TRUE), 3)
  p <- predict(model, x)
  expect_equal(dim(p), c(50, 3))
  expect_equal(rowSums(p), rep(1, 50), tolerance = 1e-6)
  q <- pmin(pmax(p / rowSums(p), 1e-7), 1 - 1e-7)
  loss <- mean(-rowSums(y * log(q)))
  acc <- mean(max.col(p, "first") == max.col(y, "first"))
  res <- evaluate(model, x, y, verbose = 0, batch_size = 7)
  expect_equal(res$loss, loss, tolerance = 1e-5)
  expect_equal(res$acc, acc)
  # forward pass by hand from get_weights()
  w <- get_weights(model)
  relu <- function(z) pmax(z, 0)
  h <- relu(sweep(x %*% w[[1]], 2, w[[2]], "+"))
  h <- relu(sweep(h %*% w[[3]], 2, w[[4]], "+"))
  z <- sweep(h %*% w[[5]], 2, w[[6]], "+")
  sm <- exp(z - apply(z, 1, max)); sm <- sm / rowSums(sm)
  expect_equal(p, sm, tolerance = 1e-5)
})

test_that("sparse and binary losses and their accuracies follow Keras", {
  set.seed(4)
  x <- matrix(rnorm(40), 20, 2)
  m <- keras_model_sequential() %>% layer_dense(units = 3, activation = "softmax", input_shape = 2)
  m %>% compile(loss = "sparse_categorical_crossentropy", optimizer = "adam", metrics = "accuracy")
  y <- sample(0:2, 20, TRUE)
  p <- predict(m, x)
  res <- evaluate(m, x, y, verbose = 0)
  expect_equal(res$loss, mean(-log(pmin(pmax(p[cbind(1:20, y + 1)], 1e-7), 1 - 1e-7))), tolerance = 1e-5)
  expect_equal(res$acc, mean(max.col(p, "first") - 1 == y))
  b <- keras_model_sequential() %>% layer_dense(units = 1, activation = "sigmoid", input_shape = 2)
  b %>% compile(loss = "binary_crossentropy", optimizer = "sgd", metrics = "accuracy")
  yb <- as.numeric(x[, 1] > 0)
  pb <- as.vector(predict(b, x))
  res <- evaluate(b, x, yb, verbose = 0)
  expect_equal(res$loss, mean(-(yb * log(pb) + (1 - yb) * log(1 - pb))), tolerance = 1e-5)
  expect_equal(res$acc, mean((pb > 0.5) == yb))
  expect_equal(predict_classes(b, x), as.integer(pb > 0.5))
})

test_that("optimizer steps match Keras's update rules computed by hand", {
  x <- matrix(c(1, 2, 3, 4, -1, 0.5), 3, 2, byrow = TRUE)
  y <- matrix(c(1, 2, 0), 3, 1)
  w0 <- matrix(c(0.5, -0.3), 2, 1)
  grad <- function(w) 2 / 3 * t(x) %*% (x %*% w - y)  # d mean((xw - y)^2) / dw
  run <- function(opt, steps = 3) {
    m <- keras_model_sequential() %>% layer_dense(units = 1, use_bias = FALSE, input_shape = 2)
    set_weights(m, list(w0))
    m %>% compile(loss = "mse", optimizer = opt)
    for (i in seq_len(steps)) train_on_batch(m, x, y)
    get_weights(m)[[1]]
  }
  # SGD, momentum 0.9, nesterov, decay 0.01
  w <- w0; v <- 0
  for (it in 0:2) {
    lr <- 0.05 / (1 + 0.01 * it); g <- grad(w)
    v <- 0.9 * v - lr * g
    w <- w + 0.9 * v - lr * g
  }
  expect_equal(run(optimizer_sgd(lr = 0.05, momentum = 0.9, decay = 0.01, nesterov = TRUE)), w, tolerance = 1e-5)
  # RMSprop
  w <- w0; a <- 0
  for (it in 0:2) {
    g <- grad(w); a <- 0.9 * a + 0.1 * g^2
    w <- w - 0.01 * g / (sqrt(a) + 1e-7)
  }
  expect_equal(run(optimizer_rmsprop(lr = 0.01)), w, tolerance = 1e-5)
  # Adam with decay
  w <- w0; m1 <- 0; m2 <- 0
  for (it in 0:2) {
    t <- it + 1; lr <- 0.01 / (1 + 0.1 * it)
    lr_t <- lr * sqrt(1 - 0.999^t) / (1 - 0.9^t)
    g <- grad(w); m1 <- 0.9 * m1 + 0.1 * g; m2 <- 0.999 * m2 + 0.001 * g^2
    w <- w - lr_t * m1 / (sqrt(m2) + 1e-7)
  }
  expect_equal(run(optimizer_adam(lr = 0.01, decay = 0.1)), w, tolerance = 1e-5)
  # Adagrad
  w <- w0; a <- 0
  for (it in 0:2) { g <- grad(w); a <- a + g^2; w <- w - 0.1 * g / (sqrt(a) + 1e-7) }
  expect_equal(run(optimizer_adagrad(lr = 0.1)), w, tolerance = 1e-5)
})

test_that("set.seed() makes training bitwise reproducible with 1 or 2 threads", {
  old <- kn_threads()
  on.exit(kn_threads(old))
  x <- matrix(runif(300 * 20), 300, 20)
  y <- to_categorical(sample(0:3, 300, TRUE), 4)
  train <- function(threads) {
    kn_threads(threads)
    set.seed(123)
    m <- mlp_model(c(64, 32), input = 20, classes = 4)
    m %>% compile(loss = "categorical_crossentropy", optimizer = "adam", metrics = "accuracy")
    h <- m %>% fit(x, y, epochs = 3, batch_size = 32, validation_split = 0.2, verbose = 0)
    list(w = get_weights(m), h = h$metrics)
  }
  a <- train(1)
  b <- train(2)
  c2 <- train(2)
  expect_identical(a$w, b$w)
  expect_identical(a$h, b$h)
  expect_identical(b$w, c2$w)
  set.seed(124)
  m <- mlp_model(c(64, 32), input = 20, classes = 4)
  expect_false(identical(get_weights(m), a$w))
})

test_that("progress output follows Keras 2.2's format", {
  set.seed(5)
  x <- matrix(runif(200), 100, 2)
  y <- to_categorical(as.integer(x[, 1] > x[, 2]), 2)
  m <- keras_model_sequential() %>% layer_dense(units = 2, activation = "softmax", input_shape = 2)
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
  out <- capture.output(fit(m, x, y, epochs = 2, batch_size = 10, verbose = 1, validation_split = 0.2))
  expect_equal(out[1], "Train on 80 samples, validate on 20 samples")
  expect_equal(out[2], "Epoch 1/2")
  expect_match(out[3], "^80/80 \\[==============================\\] - [0-9]+s [0-9]+[um]?s/step - loss: [0-9.e-]+ - acc: [0-9.]+ - val_loss: [0-9.e-]+ - val_acc: [0-9.]+$")
  expect_equal(out[4], "Epoch 2/2")
  expect_length(out, 5)
  out2 <- capture.output(fit(m, x, y, epochs = 1, verbose = 2))
  expect_match(out2[3], "^ - [0-9]+s - loss: [0-9.e-]+ - acc: [0-9.]+$")
  expect_length(capture.output(fit(m, x, y, epochs = 1, verbose = 0)), 0)
  ev <- capture.output(r <- evaluate(m, x, y, verbose = 1))
  expect_match(ev, "^100/100 \\[==============================\\] - [0-9]+s [0-9]+[um]?s/step$")
})

test_that("the training history prints, converts and plots like keras's", {
  h <- structure(list(
    params = list(batch_size = 128, epochs = 2, samples = 48000, do_validation = TRUE,
                  validation_samples = 12000),
    metrics = list(val_loss = c(0.2, 0.1), val_acc = c(0.9, 0.95), loss = c(0.5, 0.25),
                   acc = c(0.85, 0.93))), class = "keras_training_history")
  expect_equal(capture.output(print(h)), c(
    "Trained on 48,000 samples, validated on 12,000 samples (batch_size=128, epochs=2)",
    "Final epoch (plot to see history):",
    "val_loss: 0.1000", " val_acc: 0.9500", "    loss: 0.2500", "     acc: 0.9300 "))
  df <- as.data.frame(h)
  expect_equal(nrow(df), 8)
  expect_equal(df$value[df$metric == "loss" & df$data == "validation"], c(0.2, 0.1))
  expect_setequal(levels(df$metric), c("loss", "acc"))
  pdf(NULL)
  on.exit(dev.off())
  expect_null(plot(h, method = "base"))
  if (requireNamespace("ggplot2", quietly = TRUE)) expect_s3_class(plot(h), "ggplot")
})

test_that("bad input gives clear errors and leaves the model as it was", {
  set.seed(6)
  m <- keras_model_sequential() %>% layer_dense(units = 3, activation = "softmax", input_shape = 4)
  x <- matrix(runif(40), 10, 4)
  y <- to_categorical(sample(0:2, 10, TRUE), 3)
  expect_error(fit(m, x, y), "compile")
  m %>% compile(loss = "categorical_crossentropy", optimizer = "rmsprop", metrics = "accuracy")
  w <- get_weights(m)
  expect_error(fit(m, x, y[1:9, ], verbose = 0), "same number of samples.*10 vs 9")
  expect_error(fit(m, x, to_categorical(sample(0:3, 10, TRUE), 4), verbose = 0), "y has shape \\(10, 4\\) but the model output is \\(None, 3\\)")
  expect_error(fit(m, x[, 1:3], y, verbose = 0), "expected arrays of shape \\(None, 4\\).*\\(None, 3\\)")
  expect_error(fit(m, matrix(letters[1:40], 10), y, verbose = 0), "numeric")
  xna <- x; xna[3, 2] <- NA
  expect_error(fit(m, xna, y, verbose = 0), "NA")
  expect_error(fit(m, x, y, validation_split = 1, verbose = 0), "validation_split.*\\[0, 1\\)")
  expect_error(fit(m, x, y, validation_split = -0.1, verbose = 0), "validation_split")
  expect_identical(get_weights(m), w)
  expect_error(compile(m, loss = "no_such_loss", optimizer = "sgd"), "no_such_loss")
  expect_error(compile(m, loss = "mse", optimizer = "nadamx"), "unknown optimizer 'nadamx'")
  expect_error(compile(m, loss = "mse", optimizer = "sgd", metrics = "auc"), "metric 'auc'")
  expect_error(keras_model_sequential() %>% layer_dense(units = 2, activation = "relux", input_shape = 2),
               "unknown activation 'relux'")
  expect_error(keras_model_sequential() %>% layer_dense(units = 2), "first layer.*input_shape")
  expect_error(layer_dropout(rate = 1.5), "rate")
  # a usable model after all that
  expect_silent(fit(m, x, y, verbose = 0, epochs = 1))
})

test_that("sample_weight and class_weight weight the loss as Keras does", {
  set.seed(7)
  m <- keras_model_sequential() %>% layer_dense(units = 2, activation = "softmax", input_shape = 3)
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
  x <- matrix(rnorm(30), 10, 3)
  y <- to_categorical(rep(0:1, 5), 2)
  sw <- c(0, 0, 1, 2, 1, 1, 3, 0, 1, 1)
  p <- predict(m, x)
  per <- -rowSums(y * log(p))
  expect_equal(evaluate(m, x, y, sample_weight = sw, verbose = 0)$loss,
               mean(per * sw) / mean(sw != 0), tolerance = 1e-5)
  w0 <- get_weights(m)
  train_on_batch(m, x, y, class_weight = list("0" = 0, "1" = 0))
  expect_equal(get_weights(m), w0)
})

test_that("Ctrl-C (SIGINT) during fit() stops at a batch boundary and leaves the model usable", {
  skip_on_os("windows")
  script <- tempfile(fileext = ".R")
  writeLines(c(
    "library(kerasnative)",
    "set.seed(1)",
    "x <- matrix(runif(100000 * 20), 100000, 20); y <- to_categorical(sample(0:1, 100000, TRUE), 2)",
    "m <- keras_model_sequential() %>% layer_dense(units = 128, activation = 'relu', input_shape = 20) %>%",
    "  layer_dense(units = 2, activation = 'softmax')",
    "m %>% compile(loss = 'categorical_crossentropy', optimizer = 'sgd', metrics = 'accuracy')",
    "system(sprintf('(sleep 2.5; kill -INT %d) &', Sys.getpid()))",
    "t0 <- Sys.time()",
    "h <- fit(m, x, y, epochs = 1000, batch_size = 32, verbose = 0)",
    "cat('RETURNED', as.numeric(Sys.time() - t0, units = 'secs') < 60, '\\n')",
    "r <- evaluate(m, x[1:100, ], y[1:100, ], verbose = 0)",
    "cat('FINITE', all(is.finite(unlist(r))), all(is.finite(unlist(get_weights(m)))), '\\n')"), script)
  out <- system2(file.path(R.home("bin"), "Rscript"), script, stdout = TRUE, stderr = TRUE,
                 env = paste0("R_LIBS=", paste(.libPaths(), collapse = ":")))
  expect_true(any(grepl("Training interrupted during epoch", out)))
  expect_true(any(out == "RETURNED TRUE "))
  expect_true(any(out == "FINITE TRUE TRUE "))
})

test_that("R arrays become float32 rows as plain R computes them (parallel conversion, many blocks)", {
  old <- kn_threads()
  on.exit(kn_threads(old))
  f32 <- function(x) readBin(writeBin(as.vector(x), raw(), size = 4), "double", n = length(x), size = 4)
  set.seed(3)
  n <- 203  # four 64-sample conversion blocks, the last partial
  x <- array(rnorm(n * 3 * 4 * 2), c(n, 3, 4, 2))
  m <- keras_model_sequential() %>% layer_flatten(input_shape = c(3, 4, 2))
  # plain R: sample i flattened row-major = aperm(x[i, , , ]) read column-major
  want <- t(vapply(seq_len(n), function(i) as.vector(aperm(x[i, , , ], 3:1)), numeric(24)))
  for (th in c(1, 2)) {
    kn_threads(th)
    got <- predict(m, x, batch_size = 50)
    expect_identical(got, matrix(f32(want), n, 24))
  }
  xi <- array(seq_len(n * 6) - 300L, c(n, 6))  # integer input
  m2 <- keras_model_sequential() %>% layer_flatten(input_shape = 6)
  expect_identical(predict(m2, xi), matrix(as.double(xi), n, 6))
  # non-finite values are found by the parallel check and named by element
  x[150, 2, 3, 1] <- NA
  expect_error(predict(m, x), "`x` contains NA \\(element 1571\\)")  # 150 + 203 * 1 + 609 * 2
  x[150, 2, 3, 1] <- -Inf
  expect_error(predict(m, x), "`x` contains -Inf \\(element 1571\\)")
  expect_false(kerasnative:::cpp_all_finite(c(1, NaN)))
  expect_true(kerasnative:::cpp_all_finite(c(1L, -5L)))
  expect_false(kerasnative:::cpp_all_finite(c(TRUE, NA)))
})
