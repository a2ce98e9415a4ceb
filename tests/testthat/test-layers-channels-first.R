# data_format = "channels_first": forward against plain-R loops on
# (N, C, H, W) data; gradients (one SGD step) equal to the channels-last
# layer's on the transposed data.

conv2d_cf_ref <- function(x, k, b) {  # x (N, C, H, W), k (kh, kw, C, F): valid, stride 1
  d <- dim(x); kh <- dim(k)[1]; kw <- dim(k)[2]; f <- dim(k)[4]
  oh <- d[3] - kh + 1; ow <- d[4] - kw + 1
  out <- array(0, c(d[1], f, oh, ow))
  for (n in seq_len(d[1])) for (o in seq_len(f)) for (i in seq_len(oh)) for (j in seq_len(ow)) {
    s <- b[o]
    for (c in seq_len(d[2])) for (u in seq_len(kh)) for (v in seq_len(kw))
      s <- s + x[n, c, i + u - 1, j + v - 1] * k[u, v, c, o]
    out[n, o, i, j] <- s
  }
  out
}

test_that("layer_conv_2d(data_format = 'channels_first') matches a plain-R convolution", {
  set.seed(1)
  x <- array(rnorm(2 * 3 * 5 * 4), c(2, 3, 5, 4))
  m <- keras_model_sequential() %>%
    layer_conv_2d(filters = 2, kernel_size = c(2, 3), data_format = "channels_first", input_shape = c(3, 5, 4))
  k <- array(rnorm(2 * 3 * 3 * 2), c(2, 3, 3, 2)); b <- c(0.5, -1)
  set_weights(m, list(k, b))
  p <- predict(m, x)
  expect_equal(dim(p), c(2, 2, 4, 2))
  expect_equal(p, conv2d_cf_ref(x, k, b), tolerance = 1e-5)
  expect_equal(get_config(m)$layers[[1]]$config$data_format, "channels_first")
})

test_that("channels_first pooling, global pooling and padding match plain R", {
  set.seed(2)
  x <- array(rnorm(2 * 3 * 4 * 4), c(2, 3, 4, 4))
  inp <- layer_input(shape = c(3, 4, 4))
  pm <- keras_model(inp, inp %>% layer_max_pooling_2d(pool_size = 2, data_format = "channels_first"))
  want <- array(0, c(2, 3, 2, 2))
  for (n in 1:2) for (c in 1:3) for (i in 1:2) for (j in 1:2)
    want[n, c, i, j] <- max(x[n, c, 2 * i - 1:0, 2 * j - 1:0])
  expect_equal(predict(pm, x), want, tolerance = 1e-6)
  ga <- keras_model(inp, inp %>% layer_global_average_pooling_2d(data_format = "channels_first"))
  expect_equal(predict(ga, x), apply(x, c(1, 2), mean), tolerance = 1e-6)
  zp <- keras_model(inp, inp %>% layer_zero_padding_2d(padding = c(1, 0), data_format = "channels_first"))
  z <- predict(zp, x)
  expect_equal(dim(z), c(2, 3, 6, 4))
  expect_equal(z[, , 2:5, ], x, tolerance = 1e-6)
  expect_equal(sum(abs(z[, , c(1, 6), ])), 0)
})

test_that("channels_first layers train like channels_last ones on transposed data", {
  set.seed(3)
  x <- array(rnorm(4 * 2 * 5 * 5), c(4, 2, 5, 5))
  y <- matrix(rnorm(4 * 3), 4)
  build <- function(df, shape) {
    keras_model_sequential() %>%
      layer_conv_2d(filters = 3, kernel_size = 3, padding = "same", data_format = df, input_shape = shape) %>%
      layer_average_pooling_2d(pool_size = 2, data_format = df) %>%
      layer_conv_2d_transpose(filters = 2, kernel_size = 2, strides = 2, data_format = df) %>%
      layer_global_max_pooling_2d(data_format = df) %>%
      layer_dense(3)
  }
  cf <- build("channels_first", c(2, 5, 5))
  cl <- build("channels_last", c(5, 5, 2))
  set_weights(cl, get_weights(cf))
  xl <- aperm(x, c(1, 3, 4, 2))
  expect_equal(predict(cf, x), predict(cl, xl), tolerance = 1e-5)
  for (m in list(cf, cl)) m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
  cf %>% fit(x, y, epochs = 1, batch_size = 4, verbose = 0, shuffle = FALSE)
  cl %>% fit(xl, y, epochs = 1, batch_size = 4, verbose = 0, shuffle = FALSE)
  expect_equal(get_weights(cf), get_weights(cl), tolerance = 1e-5)
})

test_that("3D layers and upsampling take channels_first; 1D and local layers still refuse it", {
  set.seed(4)
  x <- array(rnorm(2 * 2 * 2 * 3 * 2), c(2, 2, 2, 3, 2))
  inp <- layer_input(shape = c(2, 2, 3, 2))
  up <- keras_model(inp, inp %>% layer_upsampling_3d(size = c(1, 2, 1), data_format = "channels_first"))
  expect_equal(predict(up, x), x[, , , rep(1:3, each = 2), , drop = FALSE], tolerance = 1e-6)
  gm <- keras_model(inp, inp %>% layer_global_max_pooling_3d(data_format = "channels_first"))
  expect_equal(predict(gm, x), apply(x, c(1, 2), max), tolerance = 1e-6)
  expect_error(layer_conv_1d(filters = 1, kernel_size = 1, data_format = "channels_first"), "channels")
  expect_error(layer_locally_connected_2d(filters = 1, kernel_size = 1, data_format = "channels_first"), "channels")
})
