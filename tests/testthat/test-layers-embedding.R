# layer_embedding() checked against row look-ups done in R.

test_that("embedding looks up rows of the weight matrix (0-based indices)", {
  m <- keras_model_sequential() %>%
    layer_embedding(input_dim = 6, output_dim = 3, input_length = 4)
  w <- get_weights(m)[[1]]
  expect_equal(dim(w), c(6, 3))
  expect_true(all(abs(w) <= 0.05))            # "uniform": U(-0.05, 0.05)
  W <- matrix(seq(-1, 1, length.out = 18), 6, 3)
  set_weights(m, list(W))
  x <- rbind(c(0, 5, 2, 2), c(1, 1, 3, 4))
  p <- predict(m, x)
  expect_equal(dim(p), c(2, 4, 3))
  for (i in 1:2) for (t in 1:4) expect_equal(p[i, t, ], W[x[i, t] + 1, ], tolerance = 1e-6)
})

test_that("indices outside [0, input_dim) or not whole are errors naming layer and index", {
  m <- keras_model_sequential() %>%
    layer_embedding(input_dim = 6, output_dim = 2, input_length = 2, name = "emb")
  expect_error(predict(m, rbind(c(0, 6))), "layer 'emb' \\(Embedding\\): index 6.* input_dim = 6")
  expect_error(predict(m, rbind(c(-1, 0))), "index -1")
  expect_error(predict(m, rbind(c(0.5, 0))), "not an integer")
  expect_equal(dim(predict(m, rbind(c(0, 5)))), c(1, 2, 2))  # still usable afterwards
})

test_that("unsupported arguments stop instead of being ignored", {
  # mask_zero is supported (test-layers-recurrent-states.R); a non-flag is an error
  expect_error(layer_embedding(input_dim = 3, output_dim = 2, mask_zero = NA), "mask_zero")
  # regularizers are supported (test-layers-penalties-more.R); a non-regularizer is an error
  expect_error(layer_embedding(input_dim = 3, output_dim = 2, embeddings_regularizer = "l3"),
               "embeddings_regularizer")
  expect_error(layer_embedding(input_dim = 3, output_dim = 2, embeddings_constraint = "x"),
               "embeddings_constraint")
  expect_error(layer_embedding(input_dim = 0, output_dim = 2), "input_dim")
  expect_error(layer_embedding(input_dim = 3, output_dim = 2, foo = 1), "unknown argument.*foo")
  expect_error(keras_model_sequential() %>%
                 layer_embedding(input_dim = 3, output_dim = 2, input_length = 4,
                                 input_shape = 5), "input_length 4")
})

test_that("embedding configs round-trip through JSON", {
  m <- keras_model_sequential() %>%
    layer_embedding(input_dim = 7, output_dim = 2, input_length = 3, name = "e1")
  cfg <- get_config(get_layer(m, "e1"))
  expect_equal(cfg$input_dim, 7)
  expect_equal(cfg$output_dim, 2)
  expect_equal(cfg$input_length, 3)
  expect_false(cfg$mask_zero)
  expect_equal(cfg$embeddings_initializer$class_name, "RandomUniform")
  m2 <- model_from_json(model_to_json(m))
  set_weights(m2, get_weights(m))
  x <- rbind(c(6, 0, 3))
  expect_equal(predict(m2, x), predict(m, x))
})
