# Estimators: model_fn traced per mode, numpy_input_fn queues, checkpoints in
# model_dir, hooks; numbers checked against plain-R forward passes.

est_data <- local({
  d <- NULL
  function() {
    if (is.null(d)) d <<- tf$contrib$learn$datasets$mnist$load_mnist(
      system.file("extdata", "mnist-sample", package = "kerasnative"), validation_size = 300L)
    d
  }
})

dense_model_fn <- function(features, labels, mode, params) {
  h <- tf$layers$dense(inputs = features$x, units = 16L, activation = tf$nn$relu)
  h <- tf$layers$dropout(inputs = h, rate = 0.2, training = (mode == "train"))
  logits <- tf$layers$dense(inputs = h, units = 10L)
  classes <- tf$argmax(input = logits, axis = 1L, name = "predicted_classes")
  if (mode == "infer")
    return(estimator_spec(mode = mode, predictions = list(classes = classes,
                                                          probabilities = tf$nn$softmax(logits, name = "softmax_tensor"))))
  loss <- tf$losses$sparse_softmax_cross_entropy(labels = labels, logits = logits)
  if (mode == "train") {
    opt <- tf$train$GradientDescentOptimizer(learning_rate = params$lr)
    return(estimator_spec(mode = mode, loss = loss, train_op = opt$minimize(loss = loss, global_step = tf$train$get_global_step())))
  }
  estimator_spec(mode = mode, loss = loss, eval_metric_ops = list(accuracy = tf$metrics$accuracy(labels = labels, predictions = classes)))
}

train_fn <- function(d, batch = 32L) function() tf$estimator$inputs$numpy_input_fn(
  x = list(x = d$train$images), y = d$train$labels, batch_size = batch, num_epochs = NULL, shuffle = TRUE)
eval_fn <- function(d) function(features_as_named_list) tf$estimator$inputs$numpy_input_fn(
  x = list(x = d$validation$images), y = d$validation$labels, batch_size = 64L, num_epochs = 1L, shuffle = FALSE)

test_that("train() writes checkpoints, resumes the global step, evaluate()/predict() match plain R", {
  k_clear_session()
  set.seed(11)
  d <- est_data()
  dir <- tempfile("est")
  est <- estimator(dense_model_fn, model_dir = dir, params = list(lr = 0.3))
  expect_error(evaluate(est, input_fn = eval_fn(d)), "train\\(\\) first")
  msgs <- capture_messages(train(est, input_fn = train_fn(d), steps = 30))
  expect_true(any(grepl("Saving checkpoints for 30", msgs)))
  expect_true(file.exists(file.path(dir, "model.ckpt-30.h5")))
  expect_equal(readLines(file.path(dir, "checkpoint")),
               c('model_checkpoint_path: "model.ckpt-30"', 'all_model_checkpoint_paths: "model.ckpt-30"'))
  msgs <- capture_messages(train(est, input_fn = train_fn(d), steps = 10))
  expect_true(any(grepl("Restoring parameters from .*model.ckpt-30", msgs)))
  expect_true(any(grepl("Saving checkpoints for 40", msgs)))
  expect_equal(readLines(file.path(dir, "checkpoint"))[1], 'model_checkpoint_path: "model.ckpt-40"')
  expect_equal(length(readLines(file.path(dir, "checkpoint"))), 3)
  # TensorBoard summaries in model_dir: the loss at the first and last step of each train() call
  ev_s <- tfevents_scalars(dir)
  expect_equal(ev_s$step[ev_s$tag == "loss"], c(1, 30, 31, 40))
  expect_true(all(is.finite(ev_s$value) & ev_s$value > 0))

  ev <- suppressMessages(evaluate(est, input_fn = eval_fn(d)))
  expect_s3_class(ev, "data.frame")
  expect_equal(names(ev), c("accuracy", "loss", "global_step"))
  expect_equal(ev$global_step, 40)
  pr <- suppressMessages(predict(est, input_fn = function() tf$estimator$inputs$numpy_input_fn(
    x = list(x = d$validation$images), batch_size = 64L, num_epochs = 1L, shuffle = FALSE)))
  expect_equal(dim(pr$probabilities), c(300L, 10L))
  y <- d$validation$labels
  # streaming accuracy and mean loss over all 300 examples (last batch of 44)
  expect_equal(ev$accuracy, mean(pr$classes == y), tolerance = 1e-6)
  expect_equal(ev$loss, mean(-log(pr$probabilities[cbind(1:300, y + 1)])), tolerance = 1e-4)
  expect_equal(pr$classes, max.col(pr$probabilities, ties.method = "first") - 1)
  # plain-R forward pass with the checkpoint's weights
  m <- keras_model_sequential() %>% layer_dense(16, activation = "relu", input_shape = 784, name = "dense") %>%
    layer_dense(10, name = "dense_1")
  load_model_weights_hdf5(m, file.path(dir, "model.ckpt-40.h5"), by_name = TRUE)
  w <- get_weights(m)
  h <- pmax(d$validation$images %*% w[[1]] + matrix(w[[2]], 300, 16, byrow = TRUE), 0)
  z <- h %*% w[[3]] + matrix(w[[4]], 300, 10, byrow = TRUE)
  p <- exp(z - apply(z, 1, max)); p <- p / rowSums(p)
  expect_equal(pr$probabilities, p, tolerance = 1e-4)
  expect_lt(ev$loss, 2.0)  # trained: untrained ~ log(10) = 2.30
  expect_gt(ev$accuracy, 0.4)

  # max_steps already reached; stop-at-step hook; logging hook output
  msgs <- capture_messages(train(est, input_fn = train_fn(d), max_steps = 40))
  expect_true(any(grepl("Skipping training", msgs)))
  msgs <- capture_messages(train(est, input_fn = train_fn(d), hooks = list(
    hook_stop_at_step(num_steps = 6),
    hook_logging_tensor(list(predicted_classes = "predicted_classes"), every_n_iter = 5))))
  expect_true(any(grepl("Saving checkpoints for 46", msgs)))
  logged <- grep("predicted_classes = \\[", msgs, value = TRUE)
  expect_length(logged, 2)  # iterations 0 and 5
  vals <- scan(text = gsub("INFO:tensorflow:predicted_classes = \\[|\\].*", "", logged[1]), quiet = TRUE)
  expect_length(vals, 32)
  expect_true(all(vals %in% 0:9))
  expect_error(suppressMessages(train(est, input_fn = train_fn(d), steps = 1,
                                      hooks = hook_logging_tensor(list(a = "nope"), every_n_iter = 1))),
               "no tensor named 'nope'")
  k_clear_session()
})

test_that("a half-written checkpoint never replaces the latest one; a bad pointer is a clear error", {
  k_clear_session()
  d <- est_data()
  dir <- tempfile("est")
  est <- estimator(dense_model_fn, model_dir = dir, params = list(lr = 0.1))
  suppressMessages(train(est, input_fn = train_fn(d), steps = 3))
  writeLines("garbage", file.path(dir, "model.ckpt-999.h5"))  # as if R died while writing step 999
  msgs <- capture_messages(ev <- evaluate(est, input_fn = eval_fn(d)))
  expect_true(any(grepl("Restoring parameters from .*model.ckpt-3\n", msgs)))
  expect_equal(ev$global_step, 3)
  writeLines('model_checkpoint_path: "model.ckpt-7"', file.path(dir, "checkpoint"))
  expect_error(suppressMessages(evaluate(est, input_fn = eval_fn(d))), "model.ckpt-7.h5' does not exist")
  k_clear_session()
})

test_that("model_fn mistakes give errors naming the op and the shapes", {
  k_clear_session()
  d <- est_data()
  bad <- function(features, labels, mode) {
    logits <- tf$layers$dense(inputs = features$x, units = 10L)
    loss <- tf$losses$softmax_cross_entropy(onehot_labels = tf$one_hot(tf$cast(labels, tf$int32), 5L), logits = logits)
    estimator_spec(mode = mode, loss = loss, train_op = tf$train$GradientDescentOptimizer(0.1)$minimize(loss))
  }
  expect_error(train(estimator(bad), input_fn = train_fn(d), steps = 1),
               "softmax_cross_entropy.*\\(None, 5\\).*\\(None, 10\\)")
  no_op <- function(features, labels, mode) {
    logits <- tf$layers$dense(inputs = features$x, units = 10L)
    estimator_spec(mode = mode, loss = tf$losses$sparse_softmax_cross_entropy(labels, logits))
  }
  expect_error(train(estimator(no_op), input_fn = train_fn(d), steps = 1), "train_op")
  expect_error(tf$layers$conv3d, "tf\\$conv3d is not available")
  expect_error(tf$layers$dense(inputs = "a", units = 2L), "must be a tensor")
  expect_equal(mode_keys(), list(train = "train", eval = "eval", predict = "infer"))
  k_clear_session()
})

test_that("seed 002 runs as written (NumPy lines in plain R) on a short schedule", {
  td <- shared_testdata()
  skip_if(is.null(td), "../shared/testdata is absent")
  home <- tempfile("kh"); dir.create(file.path(home, "datasets"), recursive = TRUE)
  files <- c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")
  file.copy(file.path(td, "mnist", files), file.path(home, "datasets"))
  script <- system.file("scripts", "seed_002.R", package = "kerasnative")
  out <- system2(file.path(R.home("bin"), "Rscript"), script,
                 env = c(paste0("KERAS_HOME=", home), "SEED002_TRAIN_STEPS=3", paste0("SEED002_DIR=", tempfile("s2")),
                         paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))), stdout = TRUE, stderr = TRUE)
  expect_true(any(grepl("Saving checkpoints for 3 into", out)))
  expect_true(any(grepl("Evaluation \\[10/10\\]", out)))
  expect_true(any(grepl("Saving dict for global step 3: accuracy = ", out)))
})
