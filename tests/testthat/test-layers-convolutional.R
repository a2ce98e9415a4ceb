# Conv2D / Conv1D / ZeroPadding2D / Reshape against plain R loops.

# Reference conv2d: x (H, W, C), kernel (kh, kw, C, F) -> (Ho, Wo, F), TF padding.
ref_conv2d <- function(x, k, b, stride = c(1, 1), padding = "valid", dil = c(1, 1)) {
  H <- dim(x)[1]; W <- dim(x)[2]; C <- dim(x)[3]
  kh <- dim(k)[1]; kw <- dim(k)[2]; Fo <- dim(k)[4]
  ekh <- (kh - 1) * dil[1] + 1; ekw <- (kw - 1) * dil[2] + 1
  if (padding == "same") {
    Ho <- ceiling(H / stride[1]); Wo <- ceiling(W / stride[2])
    pt <- max((Ho - 1) * stride[1] + ekh - H, 0) %/% 2
    pl <- max((Wo - 1) * stride[2] + ekw - W, 0) %/% 2
  } else {
    Ho <- floor((H - ekh) / stride[1]) + 1; Wo <- floor((W - ekw) / stride[2]) + 1
    pt <- 0; pl <- 0
  }
  out <- array(0, c(Ho, Wo, Fo))
  for (i in seq_len(Ho)) for (j in seq_len(Wo)) for (f in seq_len(Fo)) {
    s <- b[f]
    for (a in seq_len(kh)) for (c2 in seq_len(kw)) {
      r <- (i - 1) * stride[1] + (a - 1) * dil[1] + 1 - pt
      q <- (j - 1) * stride[2] + (c2 - 1) * dil[2] + 1 - pl
      if (r >= 1 && r <= H && q >= 1 && q <= W) s <- s + sum(x[r, q, ] * k[a, c2, , f])
    }
    out[i, j, f] <- s
  }
  out
}

test_that("layer_conv_2d matches a reference convolution (valid/same, strides, dilation)", {
  set.seed(20)
  cases <- list(
    list(in_shape = c(7, 6, 2), k = c(3, 3), s = c(1, 1), p = "valid", d = c(1, 1), f = 3),
    list(in_shape = c(7, 6, 2), k = c(3, 3), s = c(1, 1), p = "same", d = c(1, 1), f = 3),
    list(in_shape = c(7, 7, 1), k = c(3, 2), s = c(2, 2), p = "same", d = c(1, 1), f = 2),
    list(in_shape = c(8, 5, 3), k = c(2, 3), s = c(2, 1), p = "valid", d = c(1, 1), f = 4),
    list(in_shape = c(9, 9, 2), k = c(3, 3), s = c(1, 1), p = "same", d = c(2, 2), f = 2),
    list(in_shape = c(6, 8, 1), k = c(4, 4), s = c(2, 2), p = "SAME", d = c(1, 1), f = 1))
  for (cs in cases) {
    m <- keras_model_sequential() %>%
      layer_conv_2d(filters = cs$f, kernel_size = cs$k, strides = cs$s, padding = cs$p,
                    dilation_rate = cs$d, input_shape = cs$in_shape)
    w <- get_weights(m)
    expect_equal(dim(w[[1]]), c(cs$k, cs$in_shape[3], cs$f))
    b <- rnorm(cs$f)
    set_weights(m, list(w[[1]], b))
    x <- array(rnorm(2 * prod(cs$in_shape)), c(2, cs$in_shape))
    p <- predict(m, x)
    for (i in 1:2) {
      xi <- array(x[i, , , ], dim(x)[-1])
      pi <- array(p[i, , , ], dim(p)[-1])
      expect_equal(pi, ref_conv2d(xi, w[[1]], b, cs$s, tolower(cs$p), cs$d), tolerance = 1e-4,
                   info = paste(cs$p, paste(cs$s, collapse = "x"), paste(cs$d, collapse = "x")))
    }
  }
})

test_that("shape inference and errors name the layer", {
  expect_error(keras_model_sequential() %>%
                 layer_conv_2d(filters = 2, kernel_size = 5, input_shape = c(3, 3, 1), name = "big"),
               "big")
  # channels_first reads (C, H, W): one channel of 8 x 1 is too small for a 3 x 3 kernel
  expect_error(layer_conv_2d(layer_input(shape = c(8, 8, 1)), filters = 2, kernel_size = 3,
                             data_format = "channels_first"), "larger than the input 8x1")
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, data_format = "channels_middle"), "data_format")
  t <- layer_input(shape = c(28, 28, 1)) %>% layer_conv_2d(filters = 32, kernel_size = c(3, 3))
  expect_equal(dim(t), c(NA, 26, 26, 32))
  t2 <- layer_input(shape = c(28, 28, 1)) %>% layer_conv_2d(filters = 8, kernel_size = 5, padding = "same", strides = 2)
  expect_equal(dim(t2), c(NA, 14, 14, 8))
})

test_that("layer_conv_1d matches a reference", {
  set.seed(21)
  m <- keras_model_sequential() %>% layer_conv_1d(filters = 2, kernel_size = 3, input_shape = c(7, 2))
  w <- get_weights(m)
  x <- array(rnorm(14), c(1, 7, 2))
  p <- predict(m, x)
  ref <- matrix(0, 5, 2)
  for (t in 1:5) for (f in 1:2) ref[t, f] <- sum(x[1, t:(t + 2), ] * w[[1]][, , f]) + w[[2]][f]
  expect_equal(p[1, , ], ref, tolerance = 1e-5)
})

test_that("layer_zero_padding_2d and layer_reshape move values as Keras does", {
  x <- array(1:8, c(1, 2, 2, 2))
  m <- keras_model_sequential() %>% layer_zero_padding_2d(padding = list(c(1, 0), c(0, 2)), input_shape = c(2, 2, 2))
  p <- predict(m, x)
  expect_equal(dim(p), c(1, 3, 4, 2))
  expect_equal(p[1, 2:3, 1:2, ], x[1, , , ])
  expect_equal(sum(p), sum(x))
  r <- keras_model_sequential() %>% layer_reshape(target_shape = c(2, -1), input_shape = 6)
  x2 <- matrix(1:12, 2, byrow = TRUE)
  expect_equal(predict(r, x2), array_reshape(x2, c(2, 2, 3)))
  expect_error(keras_model_sequential() %>% layer_reshape(target_shape = c(4, 4), input_shape = 6), "Reshape|reshape|size|16")
})

test_that("parameter counts of the three seed CNNs match Keras", {
  seed000 <- keras_model_sequential() %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu", padding = "valid",
                  input_shape = c(28, 28, 1)) %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_conv_2d(filters = 64, kernel_size = c(3, 3), activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_flatten() %>%
    layer_dense(units = 512, activation = "relu") %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = 10, activation = "softmax")
  expect_equal(count_params(seed000), 843658)
  seed002 <- keras_model_sequential() %>%
    layer_conv_2d(filters = 32, kernel_size = c(5, 5), padding = "same", activation = "relu",
                  input_shape = c(28, 28, 1)) %>%
    layer_max_pooling_2d(pool_size = c(2, 2), strides = 2) %>%
    layer_conv_2d(filters = 64, kernel_size = c(5, 5), padding = "same", activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2), strides = 2) %>%
    layer_flatten() %>%
    layer_dense(units = 1024, activation = "relu") %>%
    layer_dropout(rate = 0.4) %>%
    layer_dense(units = 10)
  expect_equal(count_params(seed002), 3274634)
  seed004 <- keras_model_sequential() %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu", input_shape = c(28, 28, 1)) %>%
    layer_conv_2d(filters = 64, kernel_size = c(3, 3), activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_dropout(rate = 0.25) %>%
    layer_flatten() %>%
    layer_dense(units = 128, activation = "relu") %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = 10, activation = "softmax")
  expect_equal(count_params(seed004), 1199882)
})

test_that("the seed-000 CNN built with the functional API trains above chance", {
  mnist <- test_mnist()
  n <- 2048
  x <- array_reshape(mnist$train$x[1:n, , ], c(n, 28, 28, 1)) / 255
  y <- to_categorical(mnist$train$y[1:n], 10)
  xt <- array_reshape(mnist$test$x[1:500, , ], c(500, 28, 28, 1)) / 255
  yt <- to_categorical(mnist$test$y[1:500], 10)
  cnn_layers <- function(inp) inp %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu", padding = "valid") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_conv_2d(filters = 64, kernel_size = c(3, 3), activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_flatten() %>%
    layer_dense(units = 512, activation = "relu") %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = 10, activation = "softmax", name = "x_train_out")
  set.seed(22)
  inp <- layer_input(shape = c(28, 28, 1))
  model <- keras_model(inputs = inp, outputs = cnn_layers(inp))
  expect_equal(count_params(model), 843658)
  model %>% compile(optimizer = optimizer_rmsprop(lr = 2e-3, decay = 1e-5),
                    loss = "categorical_crossentropy", metrics = c("accuracy"))
  model %>% fit(x, y, epochs = 1, batch_size = 128, verbose = 0)
  res <- evaluate(model, xt, yt, verbose = 0)
  expect_gt(res$acc, 0.7)
})

test_that("a Dense stack on a 4-D tensor without Flatten is reported at fit time, naming the output", {
  m <- keras_model_sequential() %>%
    layer_conv_2d(filters = 2, kernel_size = 3, input_shape = c(6, 6, 1)) %>%
    layer_dense(units = 3, activation = "softmax", name = "out")
  expect_equal(unlist(m$output_shape), c(4, 4, 3))
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
  expect_error(fit(m, array(runif(72), c(2, 6, 6, 1)), to_categorical(c(0, 2), 3), verbose = 0),
               "output 'out'.*\\(2, 3\\).*\\(None, 4, 4, 3\\).*Flatten")
})
