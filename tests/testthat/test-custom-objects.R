# Custom losses and metrics (R functions, custom_metric()), custom objects
# when saving and loading (custom_objects, with_custom_object_scope()).

mnist_mlp <- function(loss, metrics) {
  set.seed(21)
  m <- keras_model_sequential() %>%
    layer_dense(units = 32, activation = "relu", input_shape = 784, name = "h") %>%
    layer_dense(units = 10, activation = "softmax", name = "o")
  m %>% compile(loss = loss, optimizer = optimizer_sgd(lr = 0.1), metrics = metrics)
}

test_that("a custom loss and a custom metric train like the built-in ones (MNIST sample)", {
  mn <- kn_mnist_sample()
  my_crossentropy <- function(y_true, y_pred)
    -k_sum(y_true * k_log(k_clip(y_pred, 1e-7, 1 - 1e-7)), axis = -1)
  my_acc <- custom_metric("my_acc", function(y_true, y_pred)
    k_cast(k_equal(k_argmax(y_true, axis = -1), k_argmax(y_pred, axis = -1)), "float32"))
  m1 <- mnist_mlp("categorical_crossentropy", "accuracy")
  m2 <- mnist_mlp(my_crossentropy, my_acc)
  set_weights(m2, get_weights(m1))
  h1 <- fit(m1, mn$x, mn$y, epochs = 3, batch_size = 32, shuffle = FALSE, verbose = 0)
  h2 <- fit(m2, mn$x, mn$y, epochs = 3, batch_size = 32, shuffle = FALSE, verbose = 0)
  expect_equal(h2$metrics$loss, h1$metrics$loss, tolerance = 1e-4)
  expect_equal(h2$metrics$my_acc, h1$metrics$acc, tolerance = 1e-6)
  expect_gt(tail(h2$metrics$my_acc, 1), 0.8)
  # the metric's value checked by hand on the final weights
  p <- predict(m2, mn$x)
  ev <- evaluate(m2, mn$x, mn$y, verbose = 0, batch_size = 1000)
  expect_equal(ev$my_acc, mean(max.col(p) == mn$labels + 1), tolerance = 1e-6)
  expect_equal(ev$loss, mean(-rowSums(mn$y * log(pmin(pmax(p, 1e-7), 1 - 1e-7)))), tolerance = 1e-4)
})

test_that("custom losses and metrics are saved by name and restored from custom_objects", {
  set.seed(8)
  x <- matrix(rnorm(40), 20, 2)
  y <- cbind(x[, 1] - x[, 2])
  half_mse <- function(y_true, y_pred) k_mean(k_square(y_pred - y_true), axis = -1) / 2
  mean_pred <- custom_metric("mean_pred", function(y_true, y_pred) k_mean(y_pred))
  m <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = 2)
  m %>% compile(loss = half_mse, optimizer = optimizer_sgd(lr = 0.05), metrics = list(mean_pred, "mae"))
  fit(m, x, y, epochs = 2, batch_size = 5, verbose = 0)
  f <- tempfile(fileext = ".h5")
  save_model_hdf5(m, f)
  expect_error(load_model_hdf5(f), "loss 'half_mse'.*custom_objects = list\\(half_mse =")
  expect_error(load_model_hdf5(f, custom_objects = list(half_mse = half_mse)), "metric 'mean_pred'")
  m2 <- load_model_hdf5(f, custom_objects = list(half_mse = half_mse, mean_pred))
  expect_equal(m2$metrics_names, c("loss", "mean_pred", "mean_absolute_error"))
  ev <- evaluate(m2, x, y, verbose = 0, batch_size = 20)
  p <- predict(m2, x)
  expect_equal(ev$loss, mean((p - y)^2) / 2, tolerance = 1e-5)
  expect_equal(ev$mean_pred, mean(p), tolerance = 1e-5)
  expect_equal(ev$mean_absolute_error, mean(abs(p - y)), tolerance = 1e-5)
  # the optimizer resumes: one more epoch gives the same weights on both
  fit(m, x, y, epochs = 1, batch_size = 5, shuffle = FALSE, verbose = 0)
  fit(m2, x, y, epochs = 1, batch_size = 5, shuffle = FALSE, verbose = 0)
  expect_equal(get_weights(m2), get_weights(m), tolerance = 1e-6)
  # with_custom_object_scope() gives the same objects to the loader
  m3 <- with_custom_object_scope(list(half_mse = half_mse, mean_pred), load_model_hdf5(f))
  expect_equal(predict(m3, x), predict(load_model_hdf5(f, custom_objects = list(half_mse = half_mse, mean_pred)), x))
  unlink(f)
})

test_that("with_custom_object_scope() makes names usable in compile() and is undone after", {
  mean_pred <- custom_metric("mean_pred", function(y_true, y_pred) k_mean(y_pred))
  neg_loss <- function(y_true, y_pred) k_mean(k_abs(y_pred - y_true), axis = -1)
  m <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = 2, kernel_initializer = "ones")
  with_custom_object_scope(list(mean_pred, my_l1 = neg_loss), {
    m %>% compile(loss = "my_l1", optimizer = "sgd", metrics = "mean_pred")
  })
  x <- matrix(c(1, 2, 3, 4), 2)
  ev <- evaluate(m, x, matrix(0, 2, 1), verbose = 0)
  expect_equal(ev$loss, mean(abs(x %*% c(1, 1))), tolerance = 1e-5)
  expect_equal(ev$mean_pred, mean(x %*% c(1, 1)), tolerance = 1e-5)
  expect_error(compile(m, loss = "my_l1", optimizer = "sgd"), "unknown loss 'my_l1'")
  expect_error(with_custom_object_scope(list(function(x) x), 1), "entry 1 has no name")
})
