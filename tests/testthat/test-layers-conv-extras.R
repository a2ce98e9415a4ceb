# Bilinear UpSampling2D and dilated Conv2DTranspose against plain-R loops;
# gradients through a training step against the same loops differentiated by
# finite differences.

bilinear_ref <- function(x, s) {  # x (N, H, W, C); TF resize_bilinear, corners not aligned
  d <- dim(x)
  out <- array(0, c(d[1], d[2] * s[1], d[3] * s[2], d[4]))
  for (i in seq_len(d[2] * s[1])) for (j in seq_len(d[3] * s[2])) {
    r <- (i - 1) / s[1]; c <- (j - 1) / s[2]
    r0 <- floor(r); c0 <- floor(c); fr <- r - r0; fc <- c - c0
    r1 <- min(r0 + 1, d[2] - 1); c1 <- min(c0 + 1, d[3] - 1)
    out[, i, j, ] <- (1 - fr) * (1 - fc) * x[, r0 + 1, c0 + 1, ] + (1 - fr) * fc * x[, r0 + 1, c1 + 1, ] +
      fr * (1 - fc) * x[, r1 + 1, c0 + 1, ] + fr * fc * x[, r1 + 1, c1 + 1, ]
  }
  out
}

test_that("layer_upsampling_2d(interpolation = 'bilinear') is TF's resize_bilinear", {
  set.seed(1)
  x <- array(rnorm(2 * 2 * 3 * 2), c(2, 2, 3, 2))
  m <- keras_model_sequential() %>%
    layer_upsampling_2d(size = c(2, 3), interpolation = "bilinear", input_shape = c(2, 3, 2))
  expect_equal(predict(m, x), bilinear_ref(x, c(2, 3)), tolerance = 1e-6)
  # by hand, one row (0, 10) upsampled by 2: 0, 5, 10, 10
  m1 <- keras_model_sequential() %>% layer_upsampling_2d(size = c(1, 2), interpolation = "bilinear", input_shape = c(1, 2, 1))
  expect_equal(as.vector(predict(m1, array(c(0, 10), c(1, 1, 2, 1)))), c(0, 5, 10, 10))
  expect_equal(get_config(m)$layers[[1]]$config$interpolation, "bilinear")
  # channels_first gives the transposed result
  mc <- keras_model_sequential() %>%
    layer_upsampling_2d(size = c(2, 3), interpolation = "bilinear", data_format = "channels_first", input_shape = c(2, 2, 3))
  expect_equal(predict(mc, aperm(x, c(1, 4, 2, 3))), aperm(bilinear_ref(x, c(2, 3)), c(1, 4, 2, 3)), tolerance = 1e-6)
  expect_error(layer_upsampling_2d(interpolation = "bicubic"), "interpolation")
})

dilated_tconv_ref <- function(x, k, b, rate, padding) {  # x (N, H, W, C), k (kh, kw, F, C), strides 1
  d <- dim(x); kh <- dim(k)[1]; kw <- dim(k)[2]; f <- dim(k)[3]
  eh <- (kh - 1) * rate + 1; ew <- (kw - 1) * rate + 1
  full <- array(0, c(d[1], d[2] + eh - 1, d[3] + ew - 1, f))
  for (n in seq_len(d[1])) for (i in seq_len(d[2])) for (j in seq_len(d[3])) for (u in seq_len(kh)) for (v in seq_len(kw))
    for (o in seq_len(f)) full[n, i + (u - 1) * rate, j + (v - 1) * rate, o] <-
      full[n, i + (u - 1) * rate, j + (v - 1) * rate, o] + sum(x[n, i, j, ] * k[u, v, o, ])
  for (o in seq_len(f)) full[, , , o] <- full[, , , o] + b[o]
  if (padding == "valid") return(full)
  top <- (eh - 1) %/% 2; left <- (ew - 1) %/% 2
  full[, top + seq_len(d[2]), left + seq_len(d[3]), , drop = FALSE]
}

test_that("dilated layer_conv_2d_transpose matches a plain-R atrous transposed convolution", {
  set.seed(2)
  x <- array(rnorm(2 * 4 * 3 * 2), c(2, 4, 3, 2))
  for (padding in c("valid", "same")) {
    m <- keras_model_sequential() %>%
      layer_conv_2d_transpose(filters = 3, kernel_size = c(2, 3), dilation_rate = 2, padding = padding,
                              input_shape = c(4, 3, 2))
    w <- get_weights(m)
    expect_equal(dim(w[[1]]), c(2, 3, 3, 2))   # Keras's compact kernel (kh, kw, filters, in)
    k <- array(rnorm(length(w[[1]])), dim(w[[1]])); b <- c(0.1, -0.2, 0.3)
    set_weights(m, list(k, b))
    p <- predict(m, x)
    expect_equal(p, dilated_tconv_ref(x, k, b, 2, padding), tolerance = 1e-5)
  }
  expect_equal(dim(p), c(2, 4, 3, 3))
  expect_equal(unlist(get_config(m)$layers[[1]]$config$dilation_rate), c(2, 2))
  expect_error(layer_conv_2d_transpose(filters = 1, kernel_size = 2, strides = 2, dilation_rate = 2), "strides = 1")
  expect_error(layer_conv_2d_transpose(filters = 1, kernel_size = 2, dilation_rate = c(1, 2)), "same rate")
})

test_that("the dilated kernel's gradient (one SGD step) matches finite differences of the plain-R loss", {
  set.seed(3)
  x <- array(rnorm(1 * 3 * 3 * 1), c(1, 3, 3, 1))
  y <- array(rnorm(1 * 5 * 5 * 1), c(1, 5, 5, 1))
  m <- keras_model_sequential() %>%
    layer_conv_2d_transpose(filters = 1, kernel_size = 2, dilation_rate = 2, input_shape = c(3, 3, 1))
  k <- array(rnorm(4), c(2, 2, 1, 1)); b <- 0.2
  set_weights(m, list(k, b))
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
  m %>% fit(x, y, epochs = 1, batch_size = 1, verbose = 0)
  loss <- function(kv, bv) mean((dilated_tconv_ref(x, array(kv, dim(k)), bv, 2, "valid") - y)^2)
  h <- 1e-5
  gk <- vapply(seq_along(k), function(i) { e <- replace(numeric(4), i, h); (loss(k + e, b) - loss(k - e, b)) / (2 * h) }, 0)
  gb <- (loss(k, b + h) - loss(k, b - h)) / (2 * h)
  w <- get_weights(m)
  expect_equal(as.vector(w[[1]]), as.vector(k) - 0.1 * gk, tolerance = 1e-4)
  expect_equal(as.vector(w[[2]]), b - 0.1 * gb, tolerance = 1e-4)
})
