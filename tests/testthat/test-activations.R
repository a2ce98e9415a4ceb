# activation_*() on tensors and as layer arguments, against R formulas.

test_that("the 11 activation functions compute Keras's formulas on tensors", {
  x <- matrix(c(-2, -0.5, 0, 0.3, 1.5, 4), 2, 3)
  sa <- 1.6732632423543772; ss <- 1.0507009873554805
  ref <- list(
    relu = pmax(x, 0), elu = ifelse(x > 0, x, exp(x) - 1),
    selu = ss * ifelse(x > 0, x, sa * (exp(x) - 1)), hard_sigmoid = pmin(pmax(0.2 * x + 0.5, 0), 1),
    linear = x, sigmoid = 1 / (1 + exp(-x)), softplus = log1p(exp(x)), softsign = x / (1 + abs(x)),
    tanh = tanh(x), exponential = exp(x),
    softmax = exp(x) / rowSums(exp(x)))
  for (nm in names(ref)) {
    f <- get(paste0("activation_", nm))
    expect_equal(k_eval(f(x)), ref[[nm]], tolerance = 1e-5, info = nm)
  }
  expect_equal(k_eval(activation_relu(x, alpha = 0.1, max_value = 1)), ifelse(x > 0, pmin(x, 1), 0.1 * x),
               tolerance = 1e-6)
  expect_equal(k_eval(activation_relu(x, alpha = 0.2, threshold = 0.5, max_value = 2)),
               ifelse(x > 0.5, pmin(x, 2), 0.2 * (x - 0.5)), tolerance = 1e-6)
  expect_equal(k_eval(activation_elu(x, alpha = 0.5)), ifelse(x > 0, x, 0.5 * (exp(x) - 1)), tolerance = 1e-6)
  expect_equal(k_eval(activation_softmax(x, axis = 1)), sweep(exp(x), 2, colSums(exp(x)), "/"), tolerance = 1e-6)
})

test_that("activation functions work as layer activations and in layer_activation()", {
  set.seed(2)
  x <- matrix(rnorm(12), 4, 3)
  m <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3, activation = activation_tanh)
  w <- get_weights(m)
  expect_equal(predict(m, x), tanh(x %*% w[[1]]), tolerance = 1e-5)
  expect_equal(get_config(get_layer(m, index = 1))$activation, "tanh")
  e <- keras_model_sequential() %>% layer_activation(activation = "exponential", input_shape = 3)
  expect_equal(predict(e, x), exp(x), tolerance = 1e-5)
  expect_error(layer_dense(units = 2, activation = function(x) x), "activation_")
  # on a tensor inside a functional model
  inp <- layer_input(shape = 3)
  out <- activation_selu(inp)
  fm <- keras_model(inp, out)
  expect_equal(predict(fm, x), 1.0507009873554805 * ifelse(x > 0, x, 1.6732632423543772 * (exp(x) - 1)),
               tolerance = 1e-5)
})
