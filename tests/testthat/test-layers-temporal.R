# 1D (temporal) layers and sequence reshaping against plain-R computations.

one_layer <- function(layer_fn, in_shape, ...) {
  inp <- layer_input(shape = in_shape)
  keras_model(inp, layer_fn(inp, ...))
}

test_that("global 1D pooling, average pooling, upsampling, cropping and padding match plain R", {
  set.seed(1)
  N <- 3; TT <- 7; C <- 2
  x <- array(rnorm(N * TT * C), c(N, TT, C))
  expect_equal(predict(one_layer(layer_global_average_pooling_1d, c(TT, C)), x),
               apply(x, c(1, 3), mean), tolerance = 1e-6)
  expect_equal(predict(one_layer(layer_global_max_pooling_1d, c(TT, C)), x),
               apply(x, c(1, 3), max), tolerance = 1e-6)
  # average pooling, valid: windows 1:2, 3:4, 5:6
  want <- array(0, c(N, 3, C))
  for (w in 1:3) want[, w, ] <- (x[, 2 * w - 1, ] + x[, 2 * w, ]) / 2
  expect_equal(predict(one_layer(layer_average_pooling_1d, c(TT, C), pool_size = 2), x), want,
               tolerance = 1e-6)
  # same padding, pool 3 stride 2: 4 windows [0,2), [1,4), [3,6), [5,7) (pad 1 before)
  wins <- list(1:2, 2:4, 4:6, 6:7)
  want <- array(0, c(N, 4, C))
  for (w in 1:4) want[, w, ] <- apply(x[, wins[[w]], , drop = FALSE], c(1, 3), mean)
  expect_equal(predict(one_layer(layer_average_pooling_1d, c(TT, C), pool_size = 3, strides = 2,
                                 padding = "same"), x), want, tolerance = 1e-6)
  expect_equal(predict(one_layer(layer_upsampling_1d, c(TT, C), size = 3), x),
               x[, rep(1:TT, each = 3), ], tolerance = 1e-6)
  expect_equal(predict(one_layer(layer_cropping_1d, c(TT, C), cropping = c(1, 2)), x),
               x[, 2:(TT - 2), ], tolerance = 1e-6)
  padded <- array(0, c(N, TT + 3, C)); padded[, 3:(TT + 2), ] <- x
  expect_equal(predict(one_layer(layer_zero_padding_1d, c(TT, C), padding = c(2, 1)), x), padded,
               tolerance = 1e-6)
  expect_error(layer_cropping_1d(layer_input(shape = c(3, 2)), cropping = c(2, 1)), "removes all 3 steps")
  expect_error(layer_upsampling_1d(size = 0), "`size` must be")
})

test_that("global average pooling honours an embedding mask (mean over unpadded steps)", {
  idx <- rbind(c(0, 0, 1, 2), c(3, 1, 2, 0))
  E <- matrix(c(0, 0, 1, 2, 3, 4, 5, 6), 4, 2, byrow = TRUE)
  m <- keras_model_sequential() %>%
    layer_embedding(input_dim = 4, output_dim = 2, mask_zero = TRUE, input_length = 4) %>%
    layer_global_average_pooling_1d()
  set_weights(m, list(E))
  want <- rbind((E[2, ] + E[3, ]) / 2, (E[4, ] + E[2, ] + E[3, ]) / 3)
  expect_equal(predict(m, idx), want, tolerance = 1e-6)
  expect_error(keras_model_sequential() %>%
                 layer_embedding(input_dim = 4, output_dim = 2, mask_zero = TRUE, input_length = 4) %>%
                 layer_global_max_pooling_1d(), "does not support masking")
})

test_that("repeat_vector and permute move values as Keras; configs round-trip", {
  set.seed(2)
  x <- matrix(rnorm(6), 2, 3)
  got <- predict(one_layer(layer_repeat_vector, 3, n = 4), x)
  expect_equal(dim(got), c(2, 4, 3))
  for (r in 1:4) expect_equal(got[, r, ], x, tolerance = 1e-6)
  y <- array(rnorm(2 * 3 * 4 * 5), c(2, 3, 4, 5))
  got <- predict(one_layer(layer_permute, c(3, 4, 5), dims = c(3, 1, 2)), y)
  expect_equal(got, aperm(y, c(1, 4, 2, 3)), tolerance = 1e-6)
  expect_error(layer_permute(dims = c(1, 1)), "permutation")
  expect_error(layer_permute(layer_input(shape = c(2, 3)), dims = c(1, 3, 2)), "has 3 entries")
  inp <- layer_input(shape = c(6, 2))
  out <- inp %>% layer_zero_padding_1d(padding = 1) %>% layer_cropping_1d(cropping = c(0, 2)) %>%
    layer_upsampling_1d(size = 2) %>% layer_average_pooling_1d(pool_size = 2) %>%
    layer_permute(dims = c(2, 1)) %>% layer_permute(dims = c(2, 1)) %>% layer_global_max_pooling_1d() %>%
    layer_repeat_vector(n = 2) %>% layer_global_average_pooling_1d()
  m <- keras_model(inp, out)
  m2 <- model_from_json(model_to_json(m))
  xx <- array(rnorm(3 * 12), c(3, 6, 2))
  expect_equal(predict(m2, xx), predict(m, xx))
  expect_equal(vapply(get_config(m2)$layers, function(l) l$class_name, ""),
               vapply(get_config(m)$layers, function(l) l$class_name, ""))
})
