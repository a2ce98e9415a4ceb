ref_pool <- function(x, size, stride, fun, padding = "valid") {
  H <- dim(x)[1]; W <- dim(x)[2]; C <- dim(x)[3]
  if (padding == "same") {
    Ho <- ceiling(H / stride[1]); Wo <- ceiling(W / stride[2])
    pt <- max((Ho - 1) * stride[1] + size[1] - H, 0) %/% 2
    pl <- max((Wo - 1) * stride[2] + size[2] - W, 0) %/% 2
  } else {
    Ho <- floor((H - size[1]) / stride[1]) + 1; Wo <- floor((W - size[2]) / stride[2]) + 1
    pt <- 0; pl <- 0
  }
  out <- array(0, c(Ho, Wo, C))
  for (i in seq_len(Ho)) for (j in seq_len(Wo)) for (c2 in seq_len(C)) {
    r <- ((i - 1) * stride[1] + 1 - pt):((i - 1) * stride[1] + size[1] - pt)
    q <- ((j - 1) * stride[2] + 1 - pl):((j - 1) * stride[2] + size[2] - pl)
    r <- r[r >= 1 & r <= H]; q <- q[q >= 1 & q <= W]
    out[i, j, c2] <- fun(x[r, q, c2])
  }
  out
}

test_that("max and average pooling match reference loops", {
  set.seed(30)
  x <- array(rnorm(2 * 7 * 5 * 3), c(2, 7, 5, 3))
  for (cfg in list(list(s = c(2, 2), st = NULL, p = "valid"), list(s = c(3, 3), st = c(2, 2), p = "same"),
                   list(s = c(2, 3), st = c(1, 2), p = "valid"), list(s = c(2, 2), st = NULL, p = "same"))) {
    st <- cfg$st %||% cfg$s
    mx <- keras_model_sequential() %>% layer_zero_padding_2d(padding = 0, input_shape = c(7, 5, 3)) %>%
      layer_max_pooling_2d(pool_size = cfg$s, strides = cfg$st, padding = cfg$p)
    av <- keras_model_sequential() %>%
      layer_average_pooling_2d(pool_size = cfg$s, strides = cfg$st, padding = cfg$p, input_shape = c(7, 5, 3))
    pm <- predict(mx, x); pa <- predict(av, x)
    for (i in 1:2) {
      expect_equal(pm[i, , , ], ref_pool(x[i, , , ], cfg$s, st, max, cfg$p), tolerance = 1e-6)
      expect_equal(pa[i, , , ], ref_pool(x[i, , , ], cfg$s, st, mean, cfg$p), tolerance = 1e-5)
    }
  }
  g <- keras_model_sequential() %>% layer_zero_padding_2d(padding = 0, input_shape = c(7, 5, 3)) %>%
    layer_global_average_pooling_2d()
  expect_equal(predict(g, x), apply(x, c(1, 4), mean), tolerance = 1e-6)
  gm <- keras_model_sequential() %>% layer_zero_padding_2d(padding = 0, input_shape = c(7, 5, 3)) %>%
    layer_global_max_pooling_2d()
  expect_equal(predict(gm, x), apply(x, c(1, 4), max), tolerance = 1e-6)
  p1 <- keras_model_sequential() %>% layer_conv_1d(filters = 1, kernel_size = 1, use_bias = FALSE,
                                                   kernel_initializer = "ones", input_shape = c(6, 1)) %>%
    layer_max_pooling_1d(pool_size = 2)
  x1 <- array(c(1, 5, 2, 2, -1, -3), c(1, 6, 1))
  expect_equal(as.vector(predict(p1, x1)), c(5, 2, -1))
})

test_that("batch normalization uses batch statistics in training and moving ones at inference", {
  set.seed(31)
  m <- keras_model_sequential() %>% layer_batch_normalization(input_shape = 3, momentum = 0.5)
  x <- matrix(rnorm(30, 2, 3), 10, 3)
  expect_equal(predict(m, x), x / sqrt(1 + 1e-3), tolerance = 1e-5)  # moving mean 0, var 1
  w <- get_weights(m)
  expect_length(w, 4)
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0))
  train_on_batch(m, x, x)
  w2 <- get_weights(m)
  mu <- colMeans(x)
  v_unbiased <- apply(x, 2, var)
  expect_equal(w2[[3]], 0.5 * 0 + 0.5 * mu, tolerance = 1e-5)
  expect_equal(w2[[4]], 0.5 * 1 + 0.5 * v_unbiased, tolerance = 1e-4)
  expect_equal(predict(m, x), sweep(sweep(x, 2, w2[[3]]), 2, sqrt(w2[[4]] + 1e-3), "/"), tolerance = 1e-5)
  s <- capture.output(summary(m))
  expect_true(any(grepl("Non-trainable params: 6", s)))
})

test_that("leaky relu", {
  m <- keras_model_sequential() %>% layer_activation_leaky_relu(alpha = 0.1, input_shape = 3)
  x <- matrix(c(-2, 0.5, 3, -1, 0, 4), 2)
  expect_equal(predict(m, x), ifelse(x > 0, x, 0.1 * x), tolerance = 1e-6)
})
