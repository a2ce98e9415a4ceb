# Convolution-family layers of the keras 2.2.5 surface, against plain R loops.

one <- function(layer_fn, x, ...) {
  m <- keras_model_sequential() %>% layer_fn(..., input_shape = dim(x)[-1])
  list(model = m, w = get_weights(m), y = predict(m, x))
}

test_that("layer_conv_2d_transpose scatters each input pixel through the kernel", {
  set.seed(1)
  x <- array(rnorm(2 * 3 * 2 * 2), c(2, 3, 2, 2))
  r <- one(layer_conv_2d_transpose, x, filters = 3, kernel_size = c(3, 2), strides = c(2, 1))
  expect_equal(dim(r$w[[1]]), c(3, 2, 3, 2))  # (kh, kw, filters, in)
  k <- r$w[[1]]
  ref <- array(0, c(2, 3 * 2 + 1, 2 + 1, 3))  # valid: in * s + max(k - s, 0)
  for (n in 1:2) for (h in 1:3) for (w in 1:2) for (i in 1:3) for (j in 1:2) for (f in 1:3) for (c in 1:2)
    ref[n, (h - 1) * 2 + i, (w - 1) + j, f] <- ref[n, (h - 1) * 2 + i, (w - 1) + j, f] + x[n, h, w, c] * k[i, j, f, c]
  expect_equal(r$y, ref, tolerance = 1e-5)
  s <- one(layer_conv_2d_transpose, x, filters = 1, kernel_size = 3, strides = 2, padding = "same")
  expect_equal(dim(s$y), c(2, 6, 4, 1))
  op <- one(layer_conv_2d_transpose, x, filters = 1, kernel_size = 3, strides = 2, output_padding = 1)
  expect_equal(dim(op$y), c(2, 8, 6, 1))  # (in - 1) * s + k + output_padding
  # channels_first and dilation are checked in test-layers-channels-first.R / test-layers-conv-extras.R
  expect_error(layer_conv_2d_transpose(filters = 2, kernel_size = 3, data_format = "nchw"), "data_format")
})

test_that("layer_conv_3d matches a direct sum and trains", {
  set.seed(2)
  x <- array(rnorm(2 * 4 * 3 * 3 * 2), c(2, 4, 3, 3, 2))
  r <- one(layer_conv_3d, x, filters = 2, kernel_size = c(2, 2, 3))
  k <- r$w[[1]]
  ref <- array(0, c(2, 3, 2, 1, 2))
  for (n in 1:2) for (a in 1:3) for (b in 1:2) for (f in 1:2)
    ref[n, a, b, 1, f] <- sum(x[n, a:(a + 1), b:(b + 1), 1:3, ] * k[, , , , f])
  expect_equal(r$y, ref, tolerance = 1e-5)
  t3 <- one(layer_conv_3d_transpose, x, filters = 2, kernel_size = 2, strides = 2)
  expect_equal(dim(t3$y), c(2, 8, 6, 6, 2))
  # each input voxel fills its own 2x2x2 block (strides = kernel)
  expect_equal(t3$y[1, 1:2, 1:2, 1:2, 1], array(apply(t3$w[[1]][, , , 1, ], 1:3, function(v) sum(v * x[1, 1, 1, 1, ])), c(2, 2, 2)),
               tolerance = 1e-5)
  r$model %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.01))
  h <- fit(r$model, x, array(0, dim(r$y)), epochs = 3, verbose = 0)
  expect_lt(h$metrics$loss[3], h$metrics$loss[1])
})

test_that("depthwise and separable convolutions match per-channel sums", {
  set.seed(3)
  x <- array(rnorm(2 * 4 * 4 * 2), c(2, 4, 4, 2))
  d <- one(layer_depthwise_conv_2d, x, kernel_size = 3, depth_multiplier = 2, bias_initializer = "ones")
  D <- d$w[[1]]
  expect_equal(dim(D), c(3, 3, 2, 2))
  ref <- array(0, c(2, 2, 2, 4))
  for (n in 1:2) for (a in 1:2) for (b in 1:2) for (c in 1:2) for (m in 1:2)
    ref[n, a, b, (c - 1) * 2 + m] <- sum(x[n, a:(a + 2), b:(b + 2), c] * D[, , c, m]) + 1
  expect_equal(d$y, ref, tolerance = 1e-5)
  s <- one(layer_separable_conv_2d, x, filters = 3, kernel_size = 3, depth_multiplier = 2)
  expect_equal(lengths(lapply(s$w, dim)), c(4, 4, 0))  # bias: a vector
  expect_equal(dim(s$w[[2]]), c(1, 1, 4, 3))
  z <- array(0, c(2, 2, 2, 4))
  for (n in 1:2) for (a in 1:2) for (b in 1:2) for (c in 1:2) for (m in 1:2)
    z[n, a, b, (c - 1) * 2 + m] <- sum(x[n, a:(a + 2), b:(b + 2), c] * s$w[[1]][, , c, m])
  ref2 <- array(matrix(z, ncol = 4) %*% s$w[[2]][1, 1, , ], c(2, 2, 2, 3))
  expect_equal(s$y, ref2, tolerance = 1e-5)
})

test_that("locally connected layers use one kernel per output position", {
  set.seed(4)
  x <- array(rnorm(3 * 5 * 2), c(3, 5, 2))
  l1 <- one(layer_locally_connected_1d, x, filters = 2, kernel_size = 2, strides = 1)
  K <- l1$w[[1]]; b <- l1$w[[2]]
  expect_equal(dim(K), c(4, 4, 2))
  ref <- array(0, c(3, 4, 2))
  for (n in 1:3) for (p in 1:4) ref[n, p, ] <- as.vector(as.vector(t(x[n, p:(p + 1), ])) %*% K[p, , ]) + b[p, ]
  expect_equal(l1$y, ref, tolerance = 1e-5)
  x2 <- array(rnorm(2 * 4 * 4 * 1), c(2, 4, 4, 1))
  l2 <- one(layer_locally_connected_2d, x2, filters = 3, kernel_size = 2, strides = 2)
  expect_equal(dim(l2$w[[1]]), c(4, 4, 3))
  expect_equal(dim(l2$w[[2]]), c(2, 2, 3))
  p <- 2  # output (1, 2): rows 1-2, cols 3-4, patch order (i, j, c)
  patch <- as.vector(t(x2[1, 1:2, 3:4, 1]))
  expect_equal(l2$y[1, 1, 2, ], as.vector(patch %*% l2$w[[1]][p, , ]) + l2$w[[2]][1, 2, ], tolerance = 1e-5)
  expect_error(layer_locally_connected_2d(filters = 2, kernel_size = 2, padding = "same"), "valid")
})

test_that("3D pooling layers match R's window maxima and means", {
  set.seed(5)
  x <- array(rnorm(2 * 4 * 4 * 2 * 3), c(2, 4, 4, 2, 3))
  mx <- one(layer_max_pooling_3d, x, pool_size = c(2, 2, 2))$y
  av <- one(layer_average_pooling_3d, x, pool_size = c(2, 2, 2))$y
  for (a in 1:2) for (b in 1:2) {
    blk <- x[, (2 * a - 1):(2 * a), (2 * b - 1):(2 * b), 1:2, , drop = FALSE]
    expect_equal(mx[, a, b, 1, ], apply(blk, c(1, 5), max), tolerance = 1e-6)
    expect_equal(av[, a, b, 1, ], apply(blk, c(1, 5), mean), tolerance = 1e-6)
  }
  expect_equal(one(layer_global_max_pooling_3d, x)$y, apply(x, c(1, 5), max), tolerance = 1e-6)
  expect_equal(one(layer_global_average_pooling_3d, x)$y, apply(x, c(1, 5), mean), tolerance = 1e-6)
  same <- one(layer_average_pooling_3d, x, pool_size = 3, strides = 3, padding = "same")$y
  expect_equal(dim(same), c(2, 2, 2, 1, 3))
})

test_that("layer_dot computes batch dot products (normalised: cosine)", {
  a <- layer_input(shape = 4); b <- layer_input(shape = 4)
  m <- keras_model(list(a, b), layer_dot(list(a, b), axes = 1))
  set.seed(6)
  x1 <- matrix(rnorm(12), 3, 4); x2 <- matrix(rnorm(12), 3, 4)
  expect_equal(predict(m, list(x1, x2)), matrix(rowSums(x1 * x2), 3, 1), tolerance = 1e-5)
  mc <- keras_model(list(a, b), layer_dot(list(a, b), axes = 1, normalize = TRUE))
  expect_equal(predict(mc, list(x1, x2)),
               matrix(rowSums(x1 * x2) / sqrt(rowSums(x1^2) * rowSums(x2^2)), 3, 1), tolerance = 1e-5)
  p <- layer_input(shape = c(2, 3)); q <- layer_input(shape = c(4, 3))
  m3 <- keras_model(list(p, q), layer_dot(list(p, q), axes = c(2, 2)))
  y1 <- array(rnorm(2 * 2 * 3), c(2, 2, 3)); y2 <- array(rnorm(2 * 4 * 3), c(2, 4, 3))
  out <- predict(m3, list(y1, y2))
  expect_equal(out[1, , ], y1[1, , ] %*% t(y2[1, , ]), tolerance = 1e-5)
  expect_error(layer_dot(list(a, p), axes = 1), "incompatib")
  expect_error(layer_dot(list(a, b), axes = 2), "out of range")
})
