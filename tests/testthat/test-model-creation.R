# Sequential and functional models: naming, summary, layers, freezing.

test_that("layers are named as Keras 2.2 names them, and k_clear_session() resets", {
  k_clear_session()
  m <- keras_model_sequential() %>%
    layer_dense(units = 4, input_shape = 3) %>%
    layer_dropout(rate = 0.1) %>%
    layer_dense(units = 2)
  expect_equal(vapply(m$layers, function(l) l$name, ""), c("dense_1", "dropout_1", "dense_2"))
  expect_equal(m$name, "sequential_1")
  t <- layer_input(shape = c(8, 8, 1)) %>% layer_conv_2d(filters = 2, kernel_size = 3) %>%
    layer_max_pooling_2d() %>% layer_activation_leaky_relu() %>% layer_global_average_pooling_2d()
  expect_equal(t$layer$name, "global_average_pooling2d_1")
  expect_equal(t$inputs[[1]]$layer$name, "leaky_re_lu_1")
  k_clear_session()
  expect_equal((layer_dense(units = 1))$name, "dense_1")
  expect_error(keras_model_sequential() %>% layer_dense(units = 2, input_shape = 2, name = "a") %>%
                 layer_dense(units = 2, name = "a"), "unique names.*'a'")
})

test_that("summary() prints Keras's table", {
  k_clear_session()
  m <- keras_model_sequential()
  m %>%
    layer_dense(units = 256, activation = "relu", input_shape = c(784)) %>%
    layer_dropout(rate = 0.4) %>%
    layer_dense(units = 128, activation = "relu") %>%
    layer_dropout(rate = 0.3) %>%
    layer_dense(units = 10, activation = "softmax")
  out <- capture.output(summary(m, line_length = 65))
  expect_equal(out, c(
    "_________________________________________________________________",
    "Layer (type)                 Output Shape              Param #   ",
    "=================================================================",
    "dense_1 (Dense)              (None, 256)               200960    ",
    "_________________________________________________________________",
    "dropout_1 (Dropout)          (None, 256)               0         ",
    "_________________________________________________________________",
    "dense_2 (Dense)              (None, 128)               32896     ",
    "_________________________________________________________________",
    "dropout_2 (Dropout)          (None, 128)               0         ",
    "_________________________________________________________________",
    "dense_3 (Dense)              (None, 10)                1290      ",
    "=================================================================",
    "Total params: 235,146",
    "Trainable params: 235,146",
    "Non-trainable params: 0",
    "_________________________________________________________________"))
  withr_width <- options(width = 80)
  on.exit(options(withr_width))
  expect_snapshot(print(m))
})

test_that("functional models: multiple inputs and outputs, Connected to, fit on lists", {
  k_clear_session()
  set.seed(40)
  a <- layer_input(shape = 3, name = "a")
  b <- layer_input(shape = 2, name = "b")
  h <- layer_concatenate(list(a, b)) %>% layer_dense(units = 8, activation = "tanh")
  out1 <- h %>% layer_dense(units = 2, activation = "softmax", name = "cls")
  out2 <- h %>% layer_dense(units = 1, name = "reg")
  m <- keras_model(list(a, b), list(out1, out2))
  s <- capture.output(summary(m))
  expect_true(any(grepl("Connected to", s)))
  expect_true(any(grepl("^concatenate_1 \\(Concatenat.*a\\[0\\]\\[0\\]", s)))
  expect_true(any(grepl("b\\[0\\]\\[0\\]", s)))
  m %>% compile(loss = c("categorical_crossentropy", "mse"), optimizer = "adam", metrics = "accuracy",
                loss_weights = c(1, 0.5))
  xa <- matrix(rnorm(60), 20, 3); xb <- matrix(rnorm(40), 20, 2)
  y1 <- to_categorical(sample(0:1, 20, TRUE), 2); y2 <- matrix(rnorm(20), 20, 1)
  h <- fit(m, list(xa, xb), list(y1, y2), epochs = 2, verbose = 0)
  expect_named(h$metrics, c("loss", "cls_loss", "reg_loss", "cls_acc", "reg_acc"))
  p <- predict(m, list(xa, xb))
  expect_length(p, 2)
  r <- evaluate(m, list(xa, xb), list(y1, y2), verbose = 0)
  expect_equal(r$loss, r$cls_loss + 0.5 * r$reg_loss, tolerance = 1e-5)
  q <- pmin(pmax(p[[1]], 1e-7), 1 - 1e-7)
  expect_equal(r$cls_loss, mean(-rowSums(y1 * log(q))), tolerance = 1e-5)
  expect_equal(r$reg_loss, mean((p[[2]] - y2)^2), tolerance = 1e-5)
})

test_that("merge layers compute element-wise results and check shapes", {
  a <- layer_input(shape = 3); b <- layer_input(shape = 3)
  xa <- matrix(c(1, -2, 3, 0.5, 5, -6), 2); xb <- matrix(c(2, 2, -1, 4, 0, 1), 2)
  f <- list(layer_add = `+`, layer_subtract = `-`, layer_multiply = `*`,
            layer_average = function(u, v) (u + v) / 2, layer_maximum = pmax, layer_minimum = pmin)
  for (nm in names(f)) {
    m <- keras_model(list(a, b), do.call(nm, list(list(a, b))))
    expect_equal(predict(m, list(xa, xb)), f[[nm]](xa, xb), tolerance = 1e-6, info = nm)
  }
  expect_error(layer_add(list(a, layer_input(shape = 4))), "same shape")
  expect_error(layer_concatenate(list(layer_input(shape = c(2, 3)), layer_input(shape = c(3, 3))), axis = -1),
               "matching shapes")
})

test_that("get_layer, pop_layer, freeze_weights", {
  set.seed(41)
  m <- keras_model_sequential() %>%
    layer_dense(units = 4, input_shape = 3, name = "first") %>%
    layer_dense(units = 2, name = "second") %>%
    layer_dense(units = 1, name = "third")
  expect_equal(get_layer(m, "second")$name, "second")
  expect_equal(get_layer(m, index = 1)$name, "first")
  expect_error(get_layer(m, "nope"), "no such layer")
  pop_layer(m)
  expect_length(m$layers, 2)
  expect_equal(unlist(m$output_shape), 2)
  freeze_weights(m, to = "first")
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
  w <- get_weights(m)
  fit(m, matrix(rnorm(30), 10, 3), matrix(rnorm(20), 10, 2), epochs = 2, verbose = 0)
  w2 <- get_weights(m)
  expect_identical(w2[1:2], w[1:2])
  expect_false(identical(w2[[3]], w[[3]]))
  s <- capture.output(summary(m))
  expect_true(any(grepl("Non-trainable params: 16", s)))
  unfreeze_weights(m)
  fit(m, matrix(rnorm(30), 10, 3), matrix(rnorm(20), 10, 2), epochs = 1, verbose = 0)
  expect_false(identical(get_weights(m)[[1]], w[[1]]))
})

test_that("utility functions behave as keras's", {
  expect_equal(to_categorical(c(0, 2, 1)), rbind(c(1, 0, 0), c(0, 0, 1), c(0, 1, 0)))
  expect_error(to_categorical(c(0, 5), 3), "\\[0, 3\\)")
  x <- array(1:24, c(2, 3, 4))
  r <- array_reshape(x, c(2, 12))
  expect_equal(r[1, ], as.vector(t(x[1, , ])))
  expect_equal(array_reshape(r, c(2, 3, 4)), x)
  expect_equal(k_backend(), "tensorflow")
  expect_true(is_keras_available())
  expect_message(install_keras(), "nothing to install")
})
