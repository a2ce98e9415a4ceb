# Metrics given by name in compile(), checked against R arithmetic on one batch.

test_that("metric names (and their aliases) compute keras's formulas", {
  set.seed(8)
  x <- matrix(runif(20), 5, 4)
  y <- matrix(runif(15, 0.1, 1), 5, 3)
  m <- keras_model_sequential() %>%
    layer_dense(units = 3, input_shape = 4, activation = "softplus", kernel_initializer = initializer_constant(0.2))
  m %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0),
                metrics = c("mae", "mse", "mape", "msle", "cosine", "logcosh", "poisson", "squared_hinge"))
  p <- predict(m, x)
  r <- evaluate(m, x, y, verbose = 0)
  eps <- 1e-7
  expect_equal(r$mean_absolute_error, mean(abs(p - y)), tolerance = 1e-5)
  expect_equal(r$mean_squared_error, mean((p - y)^2), tolerance = 1e-5)
  expect_equal(r$mean_absolute_percentage_error, 100 * mean(abs((y - p) / pmax(abs(y), eps))), tolerance = 1e-5)
  expect_equal(r$mean_squared_logarithmic_error, mean((log(pmax(p, eps) + 1) - log(pmax(y, eps) + 1))^2), tolerance = 1e-5)
  l2 <- function(v) v / sqrt(pmax(rowSums(v^2), 1e-12))
  expect_equal(r$cosine_proximity, -mean(rowSums(l2(y) * l2(p))), tolerance = 1e-5)
  expect_equal(r$logcosh, mean(log(cosh(p - y))), tolerance = 1e-5)
  expect_equal(r$poisson, mean(p - y * log(p + eps)), tolerance = 1e-5)
  expect_equal(r$squared_hinge, mean(pmax(1 - y * p, 0)^2), tolerance = 1e-5)
})

test_that("top-k accuracy metrics by name", {
  x <- diag(4)
  m <- keras_model_sequential() %>% layer_dense(units = 4, input_shape = 4, use_bias = FALSE, activation = "softmax")
  w <- matrix(c(4, 3, 2, 1,  1, 4, 3, 2,  2, 1, 4, 3,  3, 2, 1, 4), 4, 4, byrow = TRUE)
  set_weights(m, list(w))
  y <- diag(4)[c(2, 2, 1, 4), ]  # true classes 2, 2, 1, 4; predicted ranks from w's rows
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd",
                metrics = list("top_k_categorical_accuracy", "categorical_accuracy",
                               custom_metric("top2", function(t, p) metric_top_k_categorical_accuracy(t, p, k = 2))))
  r <- evaluate(m, x, y, verbose = 0)
  ranks <- t(apply(w, 1, function(v) rank(-v)))
  truth <- c(2, 2, 1, 4)
  expect_equal(r$top_k_categorical_accuracy, mean(ranks[cbind(1:4, truth)] <= 5))
  expect_equal(r$categorical_accuracy, mean(apply(w, 1, which.max) == truth))
  expect_equal(r$top2, mean(ranks[cbind(1:4, truth)] <= 2))
})
