# predict(), evaluate() and fit() with a batch size larger than the data, equal
# to it and not dividing it (issue 8), for an MLP and a conv model, against
# plain-R forward passes, losses and SGD steps; and the seed-002 CNN's predict()
# at batch_size 1000 and 500 on 1,000 images (it aborted R: an im2col overflow).

# ---- plain-R forward passes, one sample at a time
relu <- function(z) pmax(z, 0)
softmax_rows <- function(z) { e <- exp(z - apply(z, 1, max)); e / rowSums(e) }
dense_fwd <- function(h, w, b, act = identity) act(sweep(h %*% w, 2, b, "+"))

# Conv2D, stride 1, TensorFlow "same" padding: x (H, W, C), k (kh, kw, C, F).
conv_same <- function(x, k, b, act = identity) {
  H <- dim(x)[1]; W <- dim(x)[2]; C <- dim(x)[3]; kh <- dim(k)[1]; kw <- dim(k)[2]
  xp <- array(0, c(H + kh - 1, W + kw - 1, C))
  xp[(kh - 1) %/% 2 + seq_len(H), (kw - 1) %/% 2 + seq_len(W), ] <- x
  P <- matrix(0, H * W, kh * kw * C)  # rows (h, w), h fastest; columns as k[, , , f]
  col <- 0
  for (c in seq_len(C)) for (j in seq_len(kw)) for (i in seq_len(kh)) {
    col <- col + 1
    P[, col] <- as.vector(xp[i - 1 + seq_len(H), j - 1 + seq_len(W), c])
  }
  array(act(sweep(P %*% matrix(k, ncol = dim(k)[4]), 2, b, "+")), c(H, W, dim(k)[4]))
}
# 2x2 max pooling, stride 2, "valid" (odd edges dropped).
max_pool2 <- function(a) {
  i <- 2 * seq_len(dim(a)[1] %/% 2) - 1; j <- 2 * seq_len(dim(a)[2] %/% 2) - 1
  pmax(a[i, j, , drop = FALSE], a[i + 1, j, , drop = FALSE], a[i, j + 1, , drop = FALSE],
       a[i + 1, j + 1, , drop = FALSE])
}
flatten_hwc <- function(a) as.vector(aperm(a, c(3, 2, 1)))  # Keras order: channels fastest
sample_of <- function(x, s) array(x[s, , , ], dim(x)[-1])
per_sample <- function(x, f) do.call(rbind, lapply(seq_len(dim(x)[1]), function(s) f(sample_of(x, s))))

# Keras 2.2 categorical crossentropy (softmax output renormalised and clipped) and accuracy.
cce <- function(p, y) { q <- pmin(pmax(p / rowSums(p), 1e-7), 1 - 1e-7); mean(-rowSums(y * log(q))) }
acc <- function(p, y) mean(max.col(p, "first") == max.col(y, "first"))

# Central differences of f at v (f is smooth: tanh / linear models).
num_grad <- function(f, v, h = 1e-6) {
  vapply(seq_along(v), function(i) { e <- numeric(length(v)); e[i] <- h; (f(v + e) - f(v - e)) / (2 * h) }, 0)
}
unflatten <- function(v, like) {
  o <- 0
  for (i in seq_along(like)) { n <- length(like[[i]]); like[[i]][] <- v[o + seq_len(n)]; o <- o + n }
  like
}
# One epoch of plain SGD (no shuffling) over chunks of `batch` rows: returns the
# final weights and Keras's epoch loss (batch losses before each update,
# averaged weighted by batch size).
sgd_epoch <- function(w, n, batch, lr, loss_of) {
  v <- unlist(w); total <- 0
  for (s in seq(1, n, by = batch)) {
    rows <- s:min(n, s + batch - 1)
    f <- function(u) loss_of(unflatten(u, w), rows)
    total <- total + f(v) * length(rows)
    v <- v - lr * num_grad(f, v)
  }
  list(w = unflatten(v, w), loss = total / n)
}

# ---- the models (n = 10 samples; batch sizes 3, 10 and 32)
batches <- c(3, 10, 32)

mlp <- function() {
  keras_model_sequential() %>%
    layer_dense(units = 8, activation = "relu", input_shape = 6) %>%
    layer_dense(units = 8, activation = "relu") %>%
    layer_dense(units = 3, activation = "softmax")
}
mlp_ref <- function(w, x) {
  h <- dense_fwd(x, w[[1]], w[[2]], relu)
  softmax_rows(dense_fwd(dense_fwd(h, w[[3]], w[[4]], relu), w[[5]], w[[6]]))
}
# conv 5x5 "same" (pads 2 of a width-5 input) + relu, max-pool 2, flatten, dense softmax
cnn <- function() {
  keras_model_sequential() %>%
    layer_conv_2d(filters = 3, kernel_size = c(5, 5), padding = "same", activation = "relu",
                  input_shape = c(7, 5, 2)) %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_flatten() %>%
    layer_dense(units = 4, activation = "softmax")
}
cnn_ref <- function(w, x) {
  h <- per_sample(x, function(xs) flatten_hwc(max_pool2(conv_same(xs, w[[1]], w[[2]], relu))))
  softmax_rows(dense_fwd(h, w[[3]], w[[4]]))
}

test_that("predict() and evaluate() of an MLP at batch sizes 3, 10 and 32 on 10 rows match plain R", {
  set.seed(81)
  m <- mlp()
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
  x <- matrix(rnorm(10 * 6), 10, 6)
  y <- to_categorical(sample(0:2, 10, TRUE), 3)
  ref <- mlp_ref(get_weights(m), x)
  for (b in batches) {
    p <- predict(m, x, batch_size = b)
    expect_equal(dim(p), c(10, 3))
    expect_equal(p, ref, tolerance = 1e-5, info = paste("batch", b))
    res <- evaluate(m, x, y, batch_size = b, verbose = 0)
    expect_equal(res$loss, cce(ref, y), tolerance = 1e-5, info = paste("batch", b))
    expect_equal(res$acc, acc(ref, y), info = paste("batch", b))
  }
  by_row <- t(vapply(1:10, function(i) as.vector(predict(m, x[i, , drop = FALSE])), numeric(3)))
  expect_equal(by_row, ref, tolerance = 1e-5)
  expect_equal(predict(m, x, batch_size = 1), ref, tolerance = 1e-5)
})

test_that("predict() and evaluate() of a conv model at batch sizes 3, 10 and 32 match plain R", {
  set.seed(82)
  m <- cnn()
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
  w <- get_weights(m)
  w[[2]] <- c(0.1, -0.05, 0.02)  # nonzero biases
  set_weights(m, w)
  x <- array(rnorm(10 * 7 * 5 * 2), c(10, 7, 5, 2))
  y <- to_categorical(sample(0:3, 10, TRUE), 4)
  ref <- cnn_ref(w, x)
  for (b in batches) {
    p <- predict(m, x, batch_size = b)
    expect_equal(dim(p), c(10, 4))
    expect_equal(p, ref, tolerance = 1e-5, info = paste("batch", b))
    res <- evaluate(m, x, y, batch_size = b, verbose = 0)
    expect_equal(res$loss, cce(ref, y), tolerance = 1e-5, info = paste("batch", b))
    expect_equal(res$acc, acc(ref, y), info = paste("batch", b))
  }
  by_row <- t(vapply(1:10, function(i) as.vector(predict(m, x[i, , , , drop = FALSE])), numeric(4)))
  expect_equal(by_row, ref, tolerance = 1e-5)
})

test_that("fit() of an MLP with batch sizes 3, 10 and 32 on 10 rows takes plain-R SGD steps", {
  set.seed(83)
  x <- matrix(rnorm(10 * 3), 10, 3)
  y <- matrix(rnorm(10 * 2), 10, 2)
  fwd <- function(w, rows) dense_fwd(dense_fwd(x[rows, , drop = FALSE], w[[1]], w[[2]], tanh), w[[3]], w[[4]])
  loss_of <- function(w, rows) mean((fwd(w, rows) - y[rows, , drop = FALSE])^2)
  m0 <- keras_model_sequential() %>%
    layer_dense(units = 4, activation = "tanh", input_shape = 3) %>%
    layer_dense(units = 2)
  w0 <- get_weights(m0)
  w0[[2]] <- c(0.1, -0.2, 0.05, 0)
  for (b in batches) {
    m <- keras_model_sequential() %>%
      layer_dense(units = 4, activation = "tanh", input_shape = 3) %>%
      layer_dense(units = 2)
    set_weights(m, w0)
    m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
    h <- fit(m, x, y, batch_size = b, epochs = 1, shuffle = FALSE, verbose = 0)
    ref <- sgd_epoch(w0, 10, b, 0.1, loss_of)
    got <- get_weights(m)
    for (i in seq_along(got))
      expect_equal(as.vector(got[[i]]), as.vector(ref$w[[i]]), tolerance = 1e-5, info = paste("batch", b, "weight", i))
    expect_equal(h$metrics$loss, ref$loss, tolerance = 1e-5, info = paste("batch", b))
    expect_equal(evaluate(m, x, y, batch_size = b, verbose = 0)[[1]], loss_of(ref$w, 1:10), tolerance = 1e-5)
  }
})

test_that("fit() of a conv model with batch sizes 3, 10 and 32 on 10 images takes plain-R SGD steps", {
  set.seed(84)
  x <- array(rnorm(10 * 5 * 4), c(10, 5, 4, 1))
  y <- matrix(rnorm(10 * 2), 10, 2)
  build <- function() {
    keras_model_sequential() %>%
      layer_conv_2d(filters = 2, kernel_size = c(3, 3), padding = "same", activation = "tanh",
                    input_shape = c(5, 4, 1)) %>%
      layer_flatten() %>%
      layer_dense(units = 2)
  }
  fwd <- function(w, rows) {
    h <- per_sample(x[rows, , , , drop = FALSE], function(xs) flatten_hwc(conv_same(xs, w[[1]], w[[2]], tanh)))
    dense_fwd(h, w[[3]], w[[4]])
  }
  loss_of <- function(w, rows) mean((fwd(w, rows) - y[rows, , drop = FALSE])^2)
  w0 <- get_weights(build())
  w0[[2]] <- c(0.05, -0.1)
  for (b in batches) {
    m <- build()
    set_weights(m, w0)
    m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.05))
    h <- fit(m, x, y, batch_size = b, epochs = 1, shuffle = FALSE, verbose = 0)
    ref <- sgd_epoch(w0, 10, b, 0.05, loss_of)
    got <- get_weights(m)
    for (i in seq_along(got))
      expect_equal(as.vector(got[[i]]), as.vector(ref$w[[i]]), tolerance = 1e-5, info = paste("batch", b, "weight", i))
    expect_equal(h$metrics$loss, ref$loss, tolerance = 1e-5, info = paste("batch", b))
  }
})

test_that("the seed-002 CNN predicts 1,000 images at batch_size 1000 and 500 as at 100 and 1", {
  set.seed(85)
  m <- keras_model_sequential() %>%
    layer_conv_2d(filters = 32, kernel_size = c(5, 5), padding = "same", activation = "relu",
                  input_shape = c(28, 28, 1)) %>%
    layer_max_pooling_2d(pool_size = c(2, 2), strides = 2) %>%
    layer_conv_2d(filters = 64, kernel_size = c(5, 5), padding = "same", activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2), strides = 2) %>%
    layer_flatten() %>%
    layer_dense(units = 1024, activation = "relu") %>%
    layer_dropout(rate = 0.4) %>%
    layer_dense(units = 10, activation = "softmax")
  x <- array(runif(1000 * 28 * 28), c(1000, 28, 28, 1))
  p1000 <- predict(m, x, batch_size = 1000)
  p500 <- predict(m, x, batch_size = 500)
  p100 <- predict(m, x, batch_size = 100)
  expect_equal(dim(p1000), c(1000, 10))
  expect_equal(p1000, p100, tolerance = 1e-5)
  expect_equal(p500, p100, tolerance = 1e-5)
  rows <- c(1, 2, 500, 999, 1000)
  p1 <- predict(m, x[rows, , , , drop = FALSE], batch_size = 1)
  expect_equal(p1, p1000[rows, ], tolerance = 1e-5)
  # and two rows by a plain-R forward pass (dropout is off in predict)
  w <- get_weights(m)
  ref <- per_sample(x[c(1, 1000), , , , drop = FALSE], function(xs) {
    h <- max_pool2(conv_same(xs, w[[1]], w[[2]], relu))
    flatten_hwc(max_pool2(conv_same(h, w[[3]], w[[4]], relu)))
  })
  ref <- softmax_rows(dense_fwd(dense_fwd(ref, w[[5]], w[[6]], relu), w[[7]], w[[8]]))
  expect_equal(p1000[c(1, 1000), ], ref, tolerance = 1e-4)
})
