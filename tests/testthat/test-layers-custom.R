# R6 custom layers (KerasLayer + create_layer()): traced once into ops, with
# real weights (trained, counted, get/set, saved), as in keras R's
# "Writing custom layers" vignette.

CustomLayer <- R6::R6Class("CustomLayer",
  inherit = KerasLayer,
  public = list(
    output_dim = NULL,
    kernel = NULL,
    initialize = function(output_dim) {
      self$output_dim <- output_dim
    },
    build = function(input_shape) {
      self$kernel <- self$add_weight(
        name = "kernel",
        shape = list(input_shape[[2]], self$output_dim),
        initializer = "random_normal",
        trainable = TRUE
      )
    },
    call = function(x, mask = NULL) {
      k_dot(x, self$kernel)
    },
    compute_output_shape = function(input_shape) {
      list(input_shape[[1]], self$output_dim)
    }
  )
)

layer_custom <- function(object, output_dim, name = NULL, trainable = TRUE) {
  create_layer(CustomLayer, object, list(
    output_dim = as.integer(output_dim),
    name = name,
    trainable = trainable
  ))
}

# A dense layer with a trainable kernel and bias and a non-trainable scale.
ScaledDense <- R6::R6Class("ScaledDense",
  inherit = KerasLayer,
  public = list(
    units = NULL, kernel = NULL, bias = NULL, scale = NULL,
    initialize = function(units, scale = 1) {
      self$units <- units
      private$s <- scale
    },
    build = function(input_shape) {
      self$kernel <- self$add_weight("kernel", list(input_shape[[2]], self$units), initializer = "glorot_uniform")
      self$scale <- self$add_weight("scale", list(self$units), initializer = "ones", trainable = FALSE)
      self$bias <- self$add_weight("bias", list(self$units), initializer = "zeros")
    },
    call = function(x, mask = NULL) k_tanh(k_dot(x, self$kernel) + self$bias) * self$scale * private$s
  ),
  private = list(s = NULL)
)

test_that("the vignette's custom layer computes x %*% kernel and its weight is a real weight", {
  set.seed(1)
  model <- keras_model_sequential() %>%
    layer_dense(units = 5, input_shape = 4, name = "d") %>%
    layer_custom(output_dim = 3, name = "custom")
  w <- get_weights(model)
  expect_length(w, 3)
  expect_equal(dim(w[[3]]), c(5L, 3L))
  expect_lt(abs(sd(as.vector(w[[3]])) - 0.05), 0.04)  # random_normal(0, 0.05)
  expect_equal(count_params(model), 4 * 5 + 5 + 5 * 3)
  x <- matrix(rnorm(8), 2, 4)
  expect_equal(predict(model, x), (x %*% w[[1]] + rep(w[[2]], each = 2)) %*% w[[3]], tolerance = 1e-5)
  k <- matrix(seq(-1, 1, length.out = 15), 5, 3)
  set_weights(model, list(w[[1]], w[[2]], k))
  expect_equal(get_weights(model)[[3]], k, tolerance = 1e-7)
  expect_equal(predict(model, x), (x %*% w[[1]] + rep(w[[2]], each = 2)) %*% k, tolerance = 1e-5)
  lay <- get_layer(model, "custom")
  expect_equal(lay$weights[[1]], k, tolerance = 1e-7)
  expect_equal(get_config(lay)$output_dim, 3L)
  expect_equal(attr(get_config(lay), "config_class"), "CustomLayer")
  expect_output(summary(model), "custom \\(CustomLayer\\)\\s+\\(None, 3\\)\\s+15")
})

test_that("a custom layer's forward and gradients match plain-R computations", {
  set.seed(2)
  inp <- layer_input(shape = 3)
  out <- inp %>% create_layer(ScaledDense, ., list(units = 2, scale = 2, name = "sd"))
  model <- keras_model(inp, out)
  w <- get_weights(model)
  expect_equal(vapply(get_layer(model, "sd")$weights, function(a) length(a), 1), c(6, 2, 2))
  # Keras order: trainable weights (kernel, bias) first, then non-trainable (scale)
  expect_equal(w[[3]], c(1, 1))
  expect_equal(count_params(model), 10)
  expect_output(summary(model), "Trainable params: 8\\s+Non-trainable params: 2")
  expect_equal(model$trainable_weights, w[1:2])
  x <- matrix(rnorm(12), 4, 3)
  fwd <- function(kernel, bias) tanh(x %*% kernel + rep(bias, each = nrow(x))) * 2
  w[[2]] <- c(0.3, -0.2)
  set_weights(model, w)
  expect_equal(predict(model, x), fwd(w[[1]], w[[2]]), tolerance = 1e-5)
  # one SGD step with mse: W <- W - lr * dL/dW, computed by hand
  y <- matrix(rnorm(8), 4, 2)
  model %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.5))
  z <- x %*% w[[1]] + rep(w[[2]], each = 4)
  p <- tanh(z) * 2
  dp <- 2 * (p - y) / length(y)
  dz <- dp * 2 * (1 - tanh(z)^2)
  train_on_batch(model, x, y)
  w2 <- get_weights(model)
  expect_equal(w2[[1]], w[[1]] - 0.5 * t(x) %*% dz, tolerance = 1e-5)
  expect_equal(w2[[2]], w[[2]] - 0.5 * colSums(dz), tolerance = 1e-5)
  expect_equal(w2[[3]], c(1, 1))  # non-trainable: unchanged
})

test_that("a custom layer trains to the accuracy of the built-in Dense layer (MNIST sample)", {
  mn <- kn_mnist_sample()
  build <- function(custom) {
    set.seed(11)
    m <- keras_model_sequential() %>% layer_dense(units = 32, activation = "relu", input_shape = 784, name = "h")
    if (custom) m %>% create_layer(ScaledDense, ., list(units = 10, name = "out"))
    else m %>% layer_dense(units = 10, activation = "tanh", name = "out")
    m %>% layer_activation("softmax")
    m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = 0.1), metrics = "accuracy")
  }
  m1 <- build(FALSE); m2 <- build(TRUE)
  w <- get_weights(m1)
  set_weights(m2, c(w, list(rep(1, 10))))  # the same start; ScaledDense's scale = 1
  h1 <- fit(m1, mn$x, mn$y, epochs = 3, batch_size = 32, shuffle = FALSE, verbose = 0)
  h2 <- fit(m2, mn$x, mn$y, epochs = 3, batch_size = 32, shuffle = FALSE, verbose = 0)
  expect_equal(h2$metrics$loss, h1$metrics$loss, tolerance = 1e-4)
  expect_equal(h2$metrics$acc, h1$metrics$acc, tolerance = 1e-3)
  expect_gt(tail(h2$metrics$acc, 1), 0.8)
})

test_that("freezing a custom layer keeps its weights; shared application reuses them", {
  set.seed(3)
  a <- layer_input(shape = 3)
  b <- layer_input(shape = 3)
  shared <- create_layer(ScaledDense, NULL, list(units = 2, name = "shared"))
  out <- layer_add(list(shared(a), shared(b)))
  model <- keras_model(list(a, b), out)
  expect_equal(count_params(model), 10)
  xa <- matrix(rnorm(6), 2); xb <- matrix(rnorm(6), 2)
  w <- get_weights(model)
  f <- function(x) tanh(x %*% w[[1]] + rep(w[[2]], each = 2))
  expect_equal(predict(model, list(xa, xb)), f(xa) + f(xb), tolerance = 1e-5)
  freeze_weights(model)
  model %>% compile(loss = "mse", optimizer = "sgd")
  fit(model, list(xa, xb), matrix(1, 2, 2), epochs = 2, verbose = 0)
  expect_equal(get_weights(model), w)
  expect_error(shared(layer_input(shape = 4)), "was built for input shape")
})

test_that("custom layer errors name the layer and the problem", {
  Bad <- R6::R6Class("Bad", inherit = KerasLayer, public = list(
    call = function(x, mask = NULL) k_sum(x)))
  expect_error(create_layer(Bad, layer_input(shape = 3), list(name = "bad")),
               "layer 'bad' \\(Bad\\).*first dimension is the batch")
  NoCall <- R6::R6Class("NoCall", inherit = KerasLayer)
  expect_error(create_layer(NoCall, layer_input(shape = 3), list()), "must implement the call function")
  WrongShape <- R6::R6Class("WrongShape", inherit = KerasLayer, public = list(
    call = function(x, mask = NULL) x * 2,
    compute_output_shape = function(input_shape) list(NULL, 7L)))
  expect_error(create_layer(WrongShape, layer_input(shape = 3), list()), "compute_output_shape\\(\\) gives")
  Reg <- R6::R6Class("Reg", inherit = KerasLayer, public = list(
    build = function(input_shape) self$add_weight("k", list(3, 2), regularizer = "l2"),
    call = function(x, mask = NULL) x))
  expect_error(create_layer(Reg, layer_input(shape = 3), list()), "regularizer")
  NotKeras <- R6::R6Class("NotKeras", public = list(call = function(x) x))
  expect_error(create_layer(NotKeras, NULL, list()), "must inherit from KerasLayer")
  expect_error(KerasLayer$new()$add_weight("w", list(2)), "only be called from a layer's build")
})
