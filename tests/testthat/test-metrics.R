# metric_* functions against plain R, and custom metrics in compile()/fit().

test_that("metric functions match plain-R formulas", {
  yt <- matrix(c(1, 0, 0, 0, 1, 0, 0, 0, 1), 3, byrow = TRUE)
  yp <- matrix(c(0.7, 0.2, 0.1, 0.5, 0.3, 0.2, 0.1, 0.1, 0.8), 3, byrow = TRUE)
  ev <- function(f, a, b) as.numeric(k_eval(f(k_constant(a), k_constant(b))))
  expect_equal(ev(metric_categorical_accuracy, yt, yp), as.numeric(max.col(yt) == max.col(yp)))
  expect_equal(ev(metric_sparse_categorical_accuracy, matrix(c(0, 1, 2)), yp), as.numeric(c(0, 1, 2) == max.col(yp) - 1))
  expect_equal(ev(metric_binary_accuracy, yt, yp), rowMeans(yt == round(yp)), tolerance = 1e-6)
  expect_equal(ev(metric_mean_absolute_error, yt, yp), rowMeans(abs(yt - yp)), tolerance = 1e-6)
  expect_equal(ev(metric_mean_squared_error, yt, yp), rowMeans((yt - yp)^2), tolerance = 1e-6)
  # top-k: is the true class among the k highest scores (plain-R ranks)
  in_top <- function(k) mean(vapply(1:3, function(i) sum(yp[i, ] > yp[i, max.col(yt)[i]]) < k, logical(1)))
  expect_equal(ev(metric_top_k_categorical_accuracy, yt, yp), in_top(5), tolerance = 1e-6)  # default k = 5
  expect_equal(as.numeric(k_eval(metric_top_k_categorical_accuracy(k_constant(yt), k_constant(yp), k = 2))),
               in_top(2), tolerance = 1e-6)
  expect_equal(ev(metric_sparse_top_k_categorical_accuracy, matrix(max.col(yt) - 1), yp), in_top(5), tolerance = 1e-6)
})

test_that("custom and named metrics are traced, reported and averaged like Keras", {
  set.seed(2)
  xv <- matrix(rnorm(200), 100, 2)
  y <- matrix(as.numeric(xv[, 1] > 0))
  m <- keras_model_sequential() %>% layer_dense(units = 1, activation = "sigmoid", input_shape = 2)
  mean_pred <- custom_metric("mean_pred", function(y_true, y_pred) k_mean(y_pred))
  m %>% compile(loss = "binary_crossentropy", optimizer = optimizer_sgd(lr = 0.5),
                metrics = list("accuracy", "mae", mean_pred, metric_binary_accuracy))
  expect_equal(m$metrics_names, c("loss", "acc", "mean_absolute_error", "mean_pred", "binary_accuracy"))
  p <- predict(m, xv)
  ev <- evaluate(m, xv, y, batch_size = 100, verbose = 0)
  expect_equal(ev$mean_pred, mean(p), tolerance = 1e-6)
  expect_equal(ev$mean_absolute_error, mean(abs(p - y)), tolerance = 1e-6)
  expect_equal(ev$binary_accuracy, mean(round(p) == y), tolerance = 1e-6)
  expect_equal(ev$binary_accuracy, ev$acc, tolerance = 1e-6)  # traced metric == native accuracy
  h <- fit(m, xv, y, epochs = 10, batch_size = 10, verbose = 0, validation_split = 0.2)
  expect_true(all(c("mean_pred", "val_mean_pred", "binary_accuracy") %in% names(h$metrics)))
  expect_equal(h$metrics$binary_accuracy, h$metrics$acc, tolerance = 1e-6)
  expect_gt(tail(h$metrics$acc, 1), 0.85)
  expect_error(compile(m, loss = "mse", optimizer = "sgd", metrics = "nonsense"), "unknown metric 'nonsense'")
})
