# k_conv1d/2d/3d, k_conv2d_transpose, k_depthwise_conv2d, k_separable_conv2d,
# k_pool2d/3d against plain R loops (TensorFlow window placement written out
# here from its formulas). Gradients: the C++ op gradient checks (test_ops.cpp).

tf_axis <- function(n_in, k, s, d, padding) {  # output length and cells padded before
  ext <- (k - 1) * d + 1
  if (padding == "valid") return(c((n_in - ext) %/% s + 1, 0))
  if (padding == "causal") return(c((n_in + s - 1) %/% s, ext - 1))
  out <- (n_in + s - 1) %/% s
  c(out, max((out - 1) * s + ext - n_in, 0) %/% 2)
}

# x (N, s1..sr, C) with r spatial axes, kernel (k1..kr, C, F)
conv_ref <- function(x, kern, strides, padding, dil) {
  dx <- dim(x); r <- length(dx) - 2; dk <- dim(kern)
  ax <- lapply(seq_len(r), function(i) tf_axis(dx[i + 1], dk[i], strides[i], dil[i], padding))
  os <- vapply(ax, `[`, 1, 1)
  y <- array(0, c(dx[1], os, dk[r + 2]))
  grid <- as.matrix(expand.grid(lapply(os, seq_len)))
  taps <- as.matrix(expand.grid(lapply(dk[seq_len(r)], seq_len)))
  for (n in seq_len(dx[1])) for (g in seq_len(nrow(grid))) for (f in seq_len(dk[r + 2])) {
    s <- 0
    for (t in seq_len(nrow(taps))) {
      pos <- vapply(seq_len(r), function(i) (grid[g, i] - 1) * strides[i] - ax[[i]][2] + (taps[t, i] - 1) * dil[i] + 1, 1)
      if (any(pos < 1 | pos > dx[2:(r + 1)])) next
      for (c in seq_len(dx[r + 2]))
        s <- s + do.call(`[`, c(list(x, n), as.list(pos), list(c))) * do.call(`[`, c(list(kern), as.list(taps[t, ]), list(c, f)))
    }
    y <- do.call(`[<-`, c(list(y, n), as.list(grid[g, ]), list(f, value = s)))
  }
  y
}

test_that("k_conv1d / k_conv2d / k_conv3d match plain loops", {
  set.seed(1)
  x <- array(rnorm(2 * 6 * 5 * 3), c(2, 6, 5, 3)); k <- array(rnorm(3 * 2 * 3 * 4), c(3, 2, 3, 4))
  expect_equal(k_eval(k_conv2d(x, k)), conv_ref(x, k, c(1, 1), "valid", c(1, 1)), tolerance = 1e-5)
  expect_equal(k_eval(k_conv2d(x, k, strides = c(2, 2), padding = "same")),
               conv_ref(x, k, c(2, 2), "same", c(1, 1)), tolerance = 1e-5)
  expect_equal(k_eval(k_conv2d(x, k, padding = "same", dilation_rate = c(2, 1))),
               conv_ref(x, k, c(1, 1), "same", c(2, 1)), tolerance = 1e-5)
  x1 <- array(rnorm(2 * 7 * 2), c(2, 7, 2)); k1 <- array(rnorm(3 * 2 * 3), c(3, 2, 3))
  expect_equal(k_eval(k_conv1d(x1, k1, padding = "causal", dilation_rate = 2)),
               conv_ref(x1, k1, 1, "causal", 2), tolerance = 1e-5)
  expect_equal(k_eval(k_conv1d(x1, k1, strides = 2)), conv_ref(x1, k1, 2, "valid", 1), tolerance = 1e-5)
  x3 <- array(rnorm(1 * 3 * 4 * 3 * 2), c(1, 3, 4, 3, 2)); k3 <- array(rnorm(2 * 2 * 2 * 2 * 3), c(2, 2, 2, 2, 3))
  expect_equal(k_eval(k_conv3d(x3, k3, strides = c(1, 2, 1), padding = "same")),
               conv_ref(x3, k3, c(1, 2, 1), "same", c(1, 1, 1)), tolerance = 1e-5)
  # channels_first: the same numbers with channels moved to axis 2
  xf <- aperm(x, c(1, 4, 2, 3))
  expect_equal(k_eval(k_conv2d(xf, k, padding = "same", data_format = "channels_first")),
               aperm(conv_ref(x, k, c(1, 1), "same", c(1, 1)), c(1, 4, 2, 3)), tolerance = 1e-5)
  expect_error(k_conv2d(x, k, padding = "causal"), "k_conv2d\\(\\): `padding`")
  expect_error(k_conv2d(x, array(0, c(3, 3, 2, 4))), "k_conv2d\\(\\): the kernel .* is for 2 input channels but the input has 3")
  expect_error(k_conv2d(x, k, strides = c(0, 1)), "k_conv2d\\(\\): `strides`")
  expect_error(k_conv2d(x, k, data_format = "nhwc"), "data_format")
})

test_that("k_conv2d_transpose scatters each input pixel through the kernel (TF placement)", {
  set.seed(2)
  x <- array(rnorm(2 * 3 * 3 * 2), c(2, 3, 3, 2)); k <- array(rnorm(3 * 3 * 4 * 2), c(3, 3, 4, 2))  # (kh, kw, F, C)
  ref <- function(os, s, padding) {
    y <- array(0, c(2, os[2], os[3], 4))
    pt <- if (padding == "same") max((3 - 1) * s + 3 - os[2], 0) %/% 2 else 0
    pl <- if (padding == "same") max((3 - 1) * s + 3 - os[3], 0) %/% 2 else 0
    for (n in 1:2) for (ih in 1:3) for (iw in 1:3) for (i in 1:3) for (j in 1:3) {
      oh <- (ih - 1) * s - pt + i; ow <- (iw - 1) * s - pl + j
      if (oh < 1 || oh > os[2] || ow < 1 || ow > os[3]) next
      for (f in 1:4) y[n, oh, ow, f] <- y[n, oh, ow, f] + sum(x[n, ih, iw, ] * k[i, j, f, ])
    }
    y
  }
  expect_equal(k_eval(k_conv2d_transpose(x, k, c(2, 6, 6, 4), strides = c(2, 2), padding = "same")),
               ref(c(2, 6, 6, 4), 2, "same"), tolerance = 1e-5)
  expect_equal(k_eval(k_conv2d_transpose(x, k, list(NULL, 7, 7, 4), strides = c(2, 2))),
               ref(c(2, 7, 7, 4), 2, "valid"), tolerance = 1e-5)
  expect_error(k_conv2d_transpose(x, k, c(2, 9, 9, 4), strides = c(2, 2)), "output_shape .* does not match")
})

test_that("k_depthwise_conv2d and k_separable_conv2d match plain loops", {
  set.seed(3)
  x <- array(rnorm(2 * 5 * 4 * 3), c(2, 5, 4, 3)); dk <- array(rnorm(3 * 2 * 3 * 2), c(3, 2, 3, 2))
  ref <- array(0, c(2, 5, 4, 6))  # same padding, stride 1: pads (1, 1) rows and (0, 1) columns
  for (n in 1:2) for (oh in 1:5) for (ow in 1:4) for (c in 1:3) for (m in 1:2) {
    s <- 0
    for (i in 1:3) for (j in 1:2) {
      ih <- oh - 1 + i - 1; iw <- ow + j - 1
      if (ih >= 1 && ih <= 5 && iw >= 1 && iw <= 4) s <- s + x[n, ih, iw, c] * dk[i, j, c, m]
    }
    ref[n, oh, ow, (c - 1) * 2 + m] <- s
  }
  expect_equal(k_eval(k_depthwise_conv2d(x, dk, padding = "same")), ref, tolerance = 1e-5)
  pk <- array(rnorm(6 * 5), c(1, 1, 6, 5))
  sep <- array(0, c(2, 5, 4, 5))
  for (n in 1:2) for (oh in 1:5) for (ow in 1:4) sep[n, oh, ow, ] <- ref[n, oh, ow, ] %*% pk[1, 1, , ]
  expect_equal(k_eval(k_separable_conv2d(x, dk, pk, padding = "same")), sep, tolerance = 1e-5)
  expect_error(k_separable_conv2d(x, dk, array(0, c(3, 3, 6, 5))), "pointwise_kernel")
})

test_that("k_pool2d / k_pool3d (max and avg) match plain loops, padded cells ignored", {
  set.seed(4)
  pool_ref <- function(x, ps, st, padding, mode) {
    dx <- dim(x); r <- length(dx) - 2
    ax <- lapply(seq_len(r), function(i) tf_axis(dx[i + 1], ps[i], st[i], 1, padding))
    os <- vapply(ax, `[`, 1, 1)
    y <- array(0, c(dx[1], os, dx[r + 2]))
    grid <- as.matrix(expand.grid(lapply(os, seq_len)))
    for (n in seq_len(dx[1])) for (g in seq_len(nrow(grid))) for (c in seq_len(dx[r + 2])) {
      idx <- lapply(seq_len(r), function(i) {
        lo <- (grid[g, i] - 1) * st[i] - ax[[i]][2] + 1
        v <- lo:(lo + ps[i] - 1)
        v[v >= 1 & v <= dx[i + 1]]
      })
      vals <- do.call(`[`, c(list(x, n), idx, list(c)))
      y <- do.call(`[<-`, c(list(y, n), as.list(grid[g, ]), list(c, value = if (mode == "max") max(vals) else mean(vals))))
    }
    y
  }
  x <- array(rnorm(2 * 5 * 7 * 3), c(2, 5, 7, 3))
  expect_equal(k_eval(k_pool2d(x, c(2, 2), strides = c(2, 2))), pool_ref(x, c(2, 2), c(2, 2), "valid", "max"),
               tolerance = 1e-6)
  expect_equal(k_eval(k_pool2d(x, c(3, 2), strides = c(2, 3), padding = "same", pool_mode = "avg")),
               pool_ref(x, c(3, 2), c(2, 3), "same", "avg"), tolerance = 1e-6)
  x3 <- array(rnorm(1 * 3 * 4 * 5 * 2), c(1, 3, 4, 5, 2))
  expect_equal(k_eval(k_pool3d(x3, c(2, 2, 2), strides = c(1, 2, 2), padding = "same")),
               pool_ref(x3, c(2, 2, 2), c(1, 2, 2), "same", "max"), tolerance = 1e-6)
  expect_equal(k_eval(k_pool3d(x3, c(2, 3, 2), pool_mode = "avg")),
               pool_ref(x3, c(2, 3, 2), c(1, 1, 1), "valid", "avg"), tolerance = 1e-6)
  expect_error(k_pool2d(x, c(2, 2), pool_mode = "sum"), "pool_mode")
  expect_error(k_pool2d(x, c(9, 2)), "larger than the input")
})

test_that("conv and pool ops record on symbolic tensors and train inside a lambda layer", {
  inp <- layer_input(shape = c(6, 6, 2))
  k <- k_constant(array(0.1, c(3, 3, 2, 4)))
  y <- k_pool2d(k_conv2d(inp, k, padding = "same"), c(2, 2), strides = c(2, 2))
  expect_equal(dim(y), c(NA, 3L, 3L, 4L))
  f <- k_function(list(inp), list(y))
  xv <- array(rnorm(2 * 6 * 6 * 2), c(2, 6, 6, 2))
  expect_equal(f(list(xv))[[1]],
               k_eval(k_pool2d(conv_ref(xv, array(0.1, c(3, 3, 2, 4)), c(1, 1), "same", c(1, 1)), c(2, 2),
                               strides = c(2, 2))), tolerance = 1e-5)
})

test_that("k_gradients flows through k_conv2d and k_pool2d (window sums by hand)", {
  set.seed(5)
  xv <- array(rnorm(2 * 4 * 5 * 2), c(2, 4, 5, 2))
  x <- k_variable(xv); w <- k_variable(array(rnorm(2 * 3 * 2 * 1), c(2, 3, 2, 1)))
  gw <- k_eval(k_gradients(k_sum(k_conv2d(x, w)), w)[[1]])
  # d sum / d w[i, j, c, 1] = sum of x over the (valid) windows' cell (i, j)
  ref <- array(0, c(2, 3, 2, 1))
  for (i in 1:2) for (j in 1:3) for (c in 1:2) ref[i, j, c, 1] <- sum(xv[, i:(i + 2), j:(j + 2), c])
  expect_equal(gw, ref, tolerance = 1e-5)
  gx <- k_eval(k_gradients(k_sum(k_pool2d(x, c(2, 2), strides = c(2, 2), pool_mode = "avg")), x)[[1]])
  ref_x <- array(0.25, c(2, 4, 5, 2))  # 2x2 windows cover rows 1-4 and columns 1-4; column 5 is dropped
  ref_x[, , 5, ] <- 0
  expect_equal(gx, ref_x, tolerance = 1e-6)
})
