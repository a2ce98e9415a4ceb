# R/backend-extra.R (cumprod, truncated normal, batch normalization, resize,
# loops, updates, placeholders), k_constant()'s float32 default, symbolic
# k_gradients(), and unknown input dimensions beyond the batch: values against
# plain-R computations.

x <- matrix(c(1, -2, 3, 0.5, -1.5, 2), 2, 3)   # 2 x 3

test_that("k_constant() gives float32 unless a dtype is given (as Keras)", {
  expect_identical(k_dtype(k_constant(c(2L, 0L))), "float32")
  expect_identical(k_dtype(k_constant(TRUE)), "float32")
  expect_identical(k_dtype(k_constant(1:3, dtype = "int32")), "int32")
  expect_identical(k_eval(k_constant(c(2L, 0L))), c(2, 0))
  expect_identical(k_dtype(k_constant(2L) / 4), "float32")
})

test_that("k_cumprod matches cumprod() and its gradient matches plain-R sums", {
  expect_equal(k_eval(k_cumprod(k_constant(x), axis = 2)), t(apply(x, 1, cumprod)))
  expect_equal(k_eval(k_cumprod(k_constant(x), axis = 1)), apply(x, 2, cumprod))
  expect_equal(k_eval(k_cumprod(c(2, 0, 3, 4))), cumprod(c(2, 0, 3, 4)))
  w <- c(2, 3, 4, 0.5)
  v <- k_variable(w)
  g <- k_eval(k_gradients(k_sum(k_cumprod(v)), v)[[1]])
  # d/dw_j sum_i prod_{k <= i} w_k, by central differences in plain R
  f <- function(u) sum(cumprod(u))
  num <- vapply(seq_along(w), function(j) { e <- replace(0 * w, j, 1e-4); (f(w + e) - f(w - e)) / 2e-4 }, 0)
  expect_equal(g, num, tolerance = 1e-4)
  expect_error(k_cumprod(k_constant(x), axis = 3), "k_cumprod\\(\\): axis 2 is out of range")
})

test_that("k_truncated_normal draws within two standard deviations", {
  t <- k_eval(k_truncated_normal(c(200, 50), mean = 3, stddev = 0.5, seed = 1))
  expect_equal(dim(t), c(200L, 50L))
  expect_true(all(t >= 2 - 1e-6 & t <= 4 + 1e-6))
  expect_equal(mean(t), 3, tolerance = 0.01)
  expect_equal(sd(as.vector(t)), 0.5 * 0.8796, tolerance = 0.03)  # sd of N(0, 1) truncated at +-2
  expect_false(identical(t, k_eval(k_truncated_normal(c(200, 50), seed = 2))))
  expect_error(k_truncated_normal(c(NA, 3)), "k_truncated_normal\\(\\): the shape must be fully known")
})

test_that("k_batch_normalization matches the plain-R formula", {
  m <- c(0.5, -1, 2); v <- c(1, 4, 0.25); b <- c(0, 1, -1); g <- c(2, 1, 0.5)
  want <- sweep(sweep(sweep(sweep(x, 2, m), 2, sqrt(v + 0.001), "/"), 2, g, "*"), 2, b, "+")
  expect_equal(k_eval(k_batch_normalization(x, m, v, b, g)), want, tolerance = 1e-6)
  # statistics along axis 2 of a 3D tensor (channels first)
  a <- array(seq_len(24) / 5, c(2, 3, 4))
  got <- k_eval(k_batch_normalization(a, m, v, b, g, axis = 2, epsilon = 0.01))
  want3 <- a
  for (j in 1:3) want3[, j, ] <- (a[, j, ] - m[j]) / sqrt(v[j] + 0.01) * g[j] + b[j]
  expect_equal(got, want3, tolerance = 1e-6)
  expect_equal(k_eval(k_batch_normalization(x, 1, 4, NULL, NULL)), (x - 1) / sqrt(4.001), tolerance = 1e-6)
})

test_that("k_resize_images repeats rows and columns (nearest neighbour)", {
  img <- array(seq_len(2 * 2 * 3 * 2), c(2, 2, 3, 2))   # (batch, h, w, channels)
  got <- k_eval(k_resize_images(img, 2, 3, "channels_last"))
  expect_equal(got, img[, rep(1:2, each = 2), rep(1:3, each = 3), , drop = FALSE])
  cf <- k_eval(k_resize_images(img, 2, 1, "channels_first"))
  expect_equal(cf, img[, , rep(1:3, each = 2), , drop = FALSE])
  expect_error(k_resize_images(matrix(1, 2, 2), 2, 2, NULL), "must be a 4D tensor")
})

test_that("k_map_fn, k_foldl and k_foldr on values match R loops", {
  expect_equal(k_eval(k_map_fn(function(r) k_sum(r), x)), rowSums(x))
  expect_equal(k_eval(k_map_fn(function(r) r * 2, k_constant(x))), x * 2)
  expect_equal(k_eval(k_foldl(function(a, r) a + r, x)), colSums(x))
  expect_equal(k_eval(k_foldl(function(a, r) a * 2 + r, x)), x[1, ] * 2 + x[2, ])
  expect_equal(k_eval(k_foldr(function(a, r) a * 2 + r, x)), x[2, ] * 2 + x[1, ])
  expect_equal(k_eval(k_foldl(function(a, r) a + k_sum(r), x, initializer = k_constant(10))), 10 + sum(x))
})

test_that("k_map_fn on model tensors unrolls a known axis and refuses the batch axis", {
  inp <- layer_input(shape = c(3, 2))
  y <- k_map_fn(function(t) k_sum(t, axis = 2), k_permute_dimensions(inp, c(2, 1, 3)))   # (3, batch)
  f <- k_function(list(inp), list(k_transpose(y)))
  a <- array(seq_len(12) - 6, c(2, 3, 2))
  expect_equal(f(list(a))[[1]], apply(a, c(1, 2), sum), tolerance = 1e-6)
  expect_error(k_map_fn(function(t) t, inp), "k_map_fn\\(\\): axis 1 of `elems` has an unknown size")
})

# plain-R recurrence h_t = 0.5 h_{t-1} + x_t (per sample, per unit)
rnn_ref <- function(a, h0, backwards = FALSE, mask = NULL) {
  n <- dim(a)[2]; h <- h0; out <- array(0, dim(a)); prev <- 0 * h0
  steps <- if (backwards) rev(seq_len(n)) else seq_len(n)
  for (k in seq_along(steps)) {
    t <- steps[k]
    hn <- 0.5 * h + a[, t, ]
    if (!is.null(mask)) { keep <- mask[, t] == 1; hn[!keep, ] <- h[!keep, ]; o <- hn; o[!keep, ] <- prev[!keep, ] } else o <- hn
    h <- hn; out[, k, ] <- o; prev <- o
  }
  list(prev, out, h)
}

test_that("k_rnn matches a plain-R recurrence, backwards and masked, on values and model tensors", {
  a <- array(sin(seq_len(2 * 4 * 3)), c(2, 4, 3))     # (samples, time, units)
  h0 <- matrix(c(0.1, -0.2, 0.3, 0, 1, -1), 2, 3)
  step <- function(x, states) { h <- states[[1]] * 0.5 + x; list(h, list(h)) }
  for (bw in c(FALSE, TRUE)) {
    r <- k_rnn(step, a, list(h0), go_backwards = bw)
    ref <- rnn_ref(a, h0, bw)
    expect_equal(k_eval(r[[1]]), ref[[1]], tolerance = 1e-6)
    expect_equal(k_eval(r[[2]]), ref[[2]], tolerance = 1e-6)
    expect_equal(k_eval(r[[3]][[1]]), ref[[3]], tolerance = 1e-6)
  }
  mask <- matrix(c(1, 1, 0, 1, 1, 0, 1, 1), 2, 4)
  r <- k_rnn(step, a, list(h0), mask = mask)
  ref <- rnn_ref(a, h0, mask = mask)
  expect_equal(k_eval(r[[2]]), ref[[2]], tolerance = 1e-6)
  expect_equal(k_eval(r[[3]][[1]]), ref[[3]], tolerance = 1e-6)
  # traced on a model input: one step per time step
  inp <- layer_input(shape = c(4, 3))
  r <- k_rnn(step, inp, list(k_zeros_like(inp[, 1, ])))
  f <- k_function(list(inp), list(r[[2]], r[[1]]))
  res <- f(list(a))
  ref <- rnn_ref(a, 0 * h0)
  expect_equal(res[[1]], ref[[2]], tolerance = 1e-5)
  expect_equal(res[[2]], ref[[1]], tolerance = 1e-5)
  expect_error(k_rnn(function(x, s) x, a, list(h0)), "must return list\\(output, new_states\\)")
})

test_that("k_update, k_update_add and k_update_sub change variables in place", {
  v <- k_variable(c(1, 2, 3))
  k_update(v, c(4, 5, 6))
  expect_equal(k_get_value(v), c(4, 5, 6))
  k_update_add(v, c(1, 1, 1))
  expect_equal(k_get_value(v), c(5, 6, 7))
  k_update_sub(v, k_constant(c(5, 5, 5)))
  expect_equal(k_get_value(v), c(0, 1, 2))
  expect_error(k_update(k_constant(1), 2), "k_update\\(\\): `x` must be a variable")
  expect_error(k_update(v, c(1, 2)), "the value has shape \\(2,\\) but the variable has shape \\(3,\\)")
})

test_that("k_placeholder makes an input usable in k_function", {
  p <- k_placeholder(shape = list(NULL, 3))
  f <- k_function(list(p), list(k_sum(p * 2, axis = 2)))
  expect_equal(as.vector(f(list(x))[[1]]), rowSums(x * 2), tolerance = 1e-6)
  q <- k_placeholder(ndim = 3)
  expect_equal(k_ndim(q), 3)
  g <- k_function(list(q), list(k_mean(q, axis = 2)))
  a <- array(seq_len(2 * 5 * 2), c(2, 5, 2))
  expect_equal(g(list(a))[[1]], apply(a, c(1, 3), mean), tolerance = 1e-6)
  expect_error(k_placeholder(), "give `shape` or `ndim`")
})

test_that("k_gradients on model tensors gives symbolic gradients for k_function", {
  inp <- layer_input(shape = 3)
  loss <- k_sum(k_square(inp) * 3 + k_sin(inp))
  g <- k_gradients(loss, inp)[[1]]
  f <- k_function(list(inp), list(g))
  res <- f(list(x))
  expect_equal(res[[1]], 6 * x + cos(x), tolerance = 1e-5)
  # through a Dense layer, with respect to the input and to an intermediate tensor
  dense <- layer_dense(units = 2, activation = "tanh")
  h <- dense(inp)
  out <- k_sum(h * c(1, -2))
  grads <- k_gradients(out, list(inp, h))
  f2 <- k_function(list(inp), grads)
  res <- f2(list(x))
  w <- get_weights(dense)
  z <- x %*% w[[1]] + matrix(w[[2]], 2, 2, byrow = TRUE)
  dh <- matrix(c(1, -2), 2, 2, byrow = TRUE)
  expect_equal(res[[2]], dh, tolerance = 1e-6)
  expect_equal(res[[1]], (dh * (1 - tanh(z)^2)) %*% t(w[[1]]), tolerance = 1e-5)
  expect_error(k_gradients(loss, k_variable(1)), "symbolic \\(a model tensor\\), so `variables` must be tensors of the model")
  expect_error(k_sum(g), "can only be an output of k_function")
})

test_that("inputs with unknown dimensions beyond the batch run op nodes", {
  inp <- layer_input(shape = list(NULL, 4))
  expect_equal(k_int_shape(inp), list(NULL, NULL, 4L))
  s <- k_sum(inp, axis = 2)                      # (batch, 4)
  lam <- k_max(inp, axis = 2) * 2
  m <- keras_model(inp, list(s, lam, inp * 2))
  for (len in c(5, 2)) {
    a <- array(cos(seq_len(3 * len * 4)), c(3, len, 4))
    p <- predict(m, a)
    expect_equal(p[[1]], apply(a, c(1, 3), sum), tolerance = 1e-5)
    expect_equal(p[[2]], apply(a, c(1, 3), max) * 2, tolerance = 1e-5)
    expect_equal(dim(p[[3]]), c(3L, len, 4L))
    expect_equal(p[[3]], a * 2, tolerance = 1e-6)
  }
  # a layer after the op node sees the known per-sample shape (4)
  out <- layer_dense(s, units = 2, kernel_initializer = "ones", bias_initializer = "zeros")
  m2 <- keras_model(inp, out)
  a <- array(seq_len(2 * 3 * 4) / 10, c(2, 3, 4))
  expect_equal(predict(m2, a), matrix(rowSums(apply(a, c(1, 3), sum)), 2, 2), tolerance = 1e-5)
  expect_error(predict(m2, array(0, c(2, 3, 5))), "expected arrays of shape \\(None, 3, 4\\) but got \\(None, 3, 5\\)")
  expect_error(layer_dense(inp, units = 2), "known per-sample shape, got shape \\(None, None, 4\\)")
  # Lambda layers are engine layers: they need known per-sample shapes (not built for unknown dims)
  expect_error(layer_lambda(inp, function(t) k_max(t, axis = 2)), "lambda.*known per-sample shape")
})

test_that("CTC functions stop naming themselves", {
  expect_error(k_ctc_batch_cost(1, 1, 1, 1), "k_ctc_batch_cost\\(\\) is not available")
  expect_error(k_ctc_decode(1, 1), "k_ctc_decode\\(\\) is not available")
  expect_error(k_ctc_label_dense_to_sparse(1, 1), "k_ctc_label_dense_to_sparse\\(\\) is not available")
})

test_that("backend utilities: uids, phases, 3D padding and resizing, batch statistics", {
  k_reset_uids()
  expect_identical(c(k_get_uid("d"), k_get_uid("d"), k_get_uid("c")), c(1L, 2L, 1L))
  inp <- layer_input(shape = 2)
  expect_true(k_is_placeholder(inp))
  expect_false(k_is_placeholder(k_constant(1)))
  expect_equal(k_get_variable_shape(k_variable(matrix(0, 2, 3))), list(2L, 3L))
  expect_output(k_print_tensor(k_constant(c(1, 2)), "v:"), "v:")
  expect_error(k_print_tensor(inp), "symbolic")
  # phases: test phase by default, `training` overrides
  expect_equal(k_in_train_phase(1, 2), 2)
  expect_equal(k_in_test_phase(1, 2), 1)
  expect_equal(k_in_train_phase(function() 1, function() 2, training = TRUE), 1)
  expect_error(k_in_train_phase(inp, inp * 2), "give `training`")
  k_set_learning_phase(1)
  expect_equal(k_in_train_phase(1, 2), 1)
  k_set_learning_phase(0)
  expect_error(k_set_learning_phase(3), "0 or 1")
  v5 <- array(seq_len(2 * 2 * 2 * 2), c(1, 2, 2, 2, 2))
  p <- k_eval(k_spatial_3d_padding(v5, list(c(1, 0), c(0, 1), c(1, 1))))
  expect_equal(dim(p), c(1L, 3L, 3L, 4L, 2L))
  expect_equal(p[1, 2:3, 1:2, 2:3, ], v5[1, , , , ])
  expect_equal(sum(abs(p)), sum(v5))
  r <- k_eval(k_resize_volumes(v5, 2, 1, 3, "channels_last"))
  expect_equal(r, v5[, rep(1:2, each = 2), , rep(1:2, each = 3), , drop = FALSE])
  nb <- k_normalize_batch_in_training(x, NULL, NULL, reduction_axes = 1)
  mu <- colMeans(x); va <- colMeans(sweep(x, 2, mu)^2)
  expect_equal(k_eval(nb[[2]]), mu, tolerance = 1e-6)
  expect_equal(k_eval(nb[[3]]), va, tolerance = 1e-6)
  expect_equal(k_eval(nb[[1]]), sweep(sweep(x, 2, mu), 2, sqrt(va + 0.001), "/"), tolerance = 1e-5)
  mv <- k_variable(c(1, 2))
  k_moving_average_update(mv, c(3, 4), 0.9)
  expect_equal(k_get_value(mv), c(1, 2) * 0.9 + c(3, 4) * 0.1, tolerance = 1e-6)
  rv <- k_random_uniform_variable(c(100), 2, 3, seed = 4)
  expect_true(all(k_get_value(rv) >= 2 & k_get_value(rv) < 3))
  expect_error(k_local_conv2d(1), "k_local_conv2d\\(\\) is not available")
})
