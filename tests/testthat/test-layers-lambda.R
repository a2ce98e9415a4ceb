# layer_lambda(): R functions of tensors traced into the model graph.

test_that("a lambda layer computes its function (functional and sequential)", {
  set.seed(1)
  inp <- layer_input(shape = 3)
  out <- inp %>% layer_lambda(function(x) k_relu(x) * 2 + k_sum(x, axis = 2, keepdims = TRUE))
  model <- keras_model(inp, out)
  xv <- matrix(rnorm(12), 4, 3)
  expect_equal(predict(model, xv), pmax(xv, 0) * 2 + rowSums(xv), tolerance = 1e-5)

  seq <- keras_model_sequential() %>%
    layer_dense(units = 2, input_shape = 3, use_bias = FALSE, name = "d") %>%
    layer_lambda(function(x, s) k_square(x) * s, arguments = list(s = 3)) %>%
    layer_dense(units = 1, name = "d2")
  w <- get_weights(seq)
  h <- (xv %*% w[[1]])^2 * 3
  expect_equal(predict(seq, xv), h %*% w[[2]] + w[[3]], tolerance = 1e-5)
})

test_that("a lambda over several inputs, slicing and output_shape checks", {
  a <- layer_input(shape = 4)
  b <- layer_input(shape = 4)
  out <- layer_lambda(list(a, b), function(t) t[[1]][, 1:2] * t[[2]][, 3:4], output_shape = 2)
  model <- keras_model(list(a, b), out)
  xa <- matrix(1:8, 2); xb <- matrix(8:1, 2)
  expect_equal(predict(model, list(xa, xb)), xa[, 1:2] * xb[, 3:4])
  expect_error(layer_lambda(a, function(x) x * 2, output_shape = 3), "output_shape")
  expect_error(layer_lambda(a, function(x) k_constant(1)), "must return a tensor computed from its input")
  expect_error(layer_lambda(a, function(x) k_softmax(x, axis = 3)), "k_softmax\\(\\): axis")
  expect_error(layer_lambda(a, function(x) x, mask = TRUE), "mask")
})

test_that("a lambda between layers trains like the equivalent built-in layer", {
  set.seed(42)
  n <- 400
  xv <- matrix(rnorm(n * 4), n, 4)
  yv <- to_categorical(as.integer(xv[, 1] + xv[, 2]^2 > 1), 2)
  build <- function(lambda) {
    m <- keras_model_sequential() %>% layer_dense(units = 16, input_shape = 4, name = "h")
    if (lambda) m %>% layer_lambda(function(x) k_relu(x)) else m %>% layer_activation("relu")
    m %>% layer_dense(units = 2, activation = "softmax", name = "o")
    m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = 0.1), metrics = "accuracy")
  }
  m1 <- build(FALSE); m2 <- build(TRUE)
  set_weights(m2, get_weights(m1))
  h1 <- fit(m1, xv, yv, epochs = 5, batch_size = 20, shuffle = FALSE, verbose = 0)
  h2 <- fit(m2, xv, yv, epochs = 5, batch_size = 20, shuffle = FALSE, verbose = 0)
  expect_equal(h2$metrics$loss, h1$metrics$loss, tolerance = 1e-5)
  expect_equal(get_weights(m2), get_weights(m1), tolerance = 1e-5)
  expect_gt(tail(h2$metrics$acc, 1), 0.8)
})

test_that("models with lambda layers save a Keras Lambda config and load with the function", {
  set.seed(5)
  double_relu <- function(x, s) k_relu(x) * s
  m <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3, name = "d") %>%
    layer_lambda(double_relu, arguments = list(s = 2), name = "lam")
  cfg <- jsonlite::fromJSON(model_to_json(m), simplifyVector = FALSE)
  lam <- cfg$config$layers[[2]]
  expect_equal(lam$class_name, "Lambda")
  expect_equal(lam$config[["function"]], "double_relu")
  expect_equal(lam$config$function_type, "function")
  expect_equal(lam$config$arguments$s, 2L)
  f <- tempfile(fileext = ".h5")
  save_model_hdf5(m, f)
  expect_error(load_model_hdf5(f), "Lambda layer 'lam' uses the function 'double_relu'.*custom_objects")
  m2 <- load_model_hdf5(f, custom_objects = list(double_relu = double_relu), compile = FALSE)
  x <- matrix(rnorm(9), 3)
  w <- get_weights(m)
  expect_equal(predict(m2, x), pmax(x %*% w[[1]] + rep(w[[2]], each = 3), 0) * 2, tolerance = 1e-5)
  expect_identical(predict(m2, x), predict(m, x))
  # anonymous functions are saved under the layer's name
  inp <- layer_input(shape = 3)
  out <- inp %>% layer_lambda(function(x) k_square(x), name = "sq")
  js <- model_to_json(keras_model(inp, out))
  expect_error(model_from_json(js), "Lambda layer 'sq' uses the function 'sq'")
  m3 <- model_from_json(js, custom_objects = list(sq = function(x) k_square(x)))
  expect_equal(predict(m3, x), x^2, tolerance = 1e-6)
  # ops outside any layer still cannot be saved
  raw <- keras_model(inp, k_relu(inp) * 2)
  expect_error(save_model_hdf5(raw, f), "wrap them in layer_lambda")
  unlink(f)
})

test_that("a Keras 2.2.4 config whose Lambda holds Python code loads with the R function by layer name", {
  # The layout Keras 2.2.4 writes for Sequential([Dense(2, input_shape=(3,)), Lambda(lambda x: x * 2)]):
  # function_type "lambda" with the marshalled Python code (not runnable here).
  js <- '{"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
    {"class_name": "Dense", "config": {"name": "dense_1", "trainable": true, "batch_input_shape": [null, 3],
      "dtype": "float32", "units": 2, "activation": "linear", "use_bias": true,
      "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg",
        "distribution": "uniform", "seed": null}},
      "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null,
      "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
    {"class_name": "Lambda", "config": {"name": "lambda_1", "trainable": true,
      "function": ["4wEAAAAAAAAAAQAAAAIAAABDAAAAcwgAAAB8AGQBFABTACkCTukCAAAAqQApAdoBeHIBAAAA", null, null],
      "function_type": "lambda", "output_shape": null, "output_shape_type": "raw", "arguments": {}}}]},
    "keras_version": "2.2.4", "backend": "tensorflow"}'
  expect_error(model_from_json(js), "Lambda layer 'lambda_1' holds Python code.*custom_objects = list\\(lambda_1 =")
  m <- model_from_json(js, custom_objects = list(lambda_1 = function(x) x * 2))
  w <- list(matrix(c(1, 0, -1, 2, 0.5, 1), 3, 2, byrow = TRUE), c(0.1, -0.1))
  set_weights(m, w)
  x <- matrix(c(1, 2, 3, -1, 0, 4), 2, 3, byrow = TRUE)
  # by hand: row 1: (1*1 + 2*-1 + 3*0.5 + 0.1, 1*0 + 2*2 + 3*1 - 0.1) * 2 = (1.2, 13.8)
  #          row 2: (-1*1 + 0 + 4*0.5 + 0.1, 0 + 0 + 4*1 - 0.1) * 2     = (2.2, 7.8)
  expect_equal(predict(m, x), matrix(c(1.2, 2.2, 13.8, 7.8), 2), tolerance = 1e-6)
  expect_equal(get_config(get_layer(m, "lambda_1"))$function_type, "function")
})

test_that("a lambda layer trains to the accuracy of the built-in layer (MNIST sample)", {
  mn <- kn_mnist_sample()
  build <- function(lambda) {
    set.seed(31)
    m <- keras_model_sequential() %>% layer_dense(units = 32, input_shape = 784, name = "h")
    if (lambda) m %>% layer_lambda(function(x) k_maximum(x, 0.1 * x)) else m %>% layer_activation_leaky_relu(alpha = 0.1)
    m %>% layer_dense(units = 10, activation = "softmax", name = "o")
    m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = 0.1), metrics = "accuracy")
  }
  m1 <- build(FALSE); m2 <- build(TRUE)
  set_weights(m2, get_weights(m1))
  h1 <- fit(m1, mn$x, mn$y, epochs = 3, batch_size = 32, shuffle = FALSE, verbose = 0)
  h2 <- fit(m2, mn$x, mn$y, epochs = 3, batch_size = 32, shuffle = FALSE, verbose = 0)
  expect_equal(h2$metrics$loss, h1$metrics$loss, tolerance = 1e-4)
  expect_equal(h2$metrics$acc, h1$metrics$acc, tolerance = 1e-3)
  expect_gt(tail(h2$metrics$acc, 1), 0.8)
})
