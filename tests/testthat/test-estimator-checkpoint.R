# Estimator checkpoints hold the optimizer state: train(steps = 10) twice
# continues exactly as one train(steps = 20) run (weights, per-step losses,
# global step); weights-only checkpoints of older runs still load.

ckpt_data <- local({
  set.seed(5)
  x <- matrix(runif(40 * 6, -1, 1), 40, 6)           # (40, 6)
  y <- as.integer((x[, 1] + x[, 2] > 0) + (x[, 3] > 0.5))  # classes 0..2
  list(x = x, y = y)
})

ckpt_model_fn <- function(optimizer) function(features, labels, mode, params) {
  h <- tf$layers$dense(inputs = features$x, units = 8L, activation = tf$nn$tanh)
  logits <- tf$layers$dense(inputs = h, units = 3L)
  xent <- tf$nn$sparse_softmax_cross_entropy_with_logits(labels = labels, logits = logits, name = "xent")
  loss <- tf$losses$sparse_softmax_cross_entropy(labels = labels, logits = logits)
  estimator_spec(mode = mode, loss = loss,
                 train_op = optimizer()$minimize(loss = loss, global_step = tf$train$get_global_step()))
}

# 40 examples in batches of 4, in order: 10 steps are exactly one epoch, so a
# new train() call (a new queue) sees the batches a single run sees next.
ckpt_input_fn <- function() tf$estimator$inputs$numpy_input_fn(
  x = list(x = ckpt_data$x), y = ckpt_data$y, batch_size = 4L, num_epochs = NULL, shuffle = FALSE)

# Trains `est` for each of `steps`; returns the per-example losses of every step (steps x 4).
ckpt_train <- function(est, steps) {
  rec <- new.env()
  rec$loss <- list()
  hook <- hook_logging_tensor(list(xent = "xent"), every_n_iter = 1L,
                              formatter = function(v) { rec$loss[[length(rec$loss) + 1]] <- as.vector(v$xent); "" })
  msgs <- character(0)
  for (s in steps) msgs <- c(msgs, capture_messages(train(est, input_fn = ckpt_input_fn, steps = s, hooks = hook)))
  list(loss = do.call(rbind, rec$loss), msgs = msgs)
}

ckpt_weights <- function(path) {
  m <- keras_model_sequential() %>% layer_dense(8, input_shape = 6, name = "dense") %>% layer_dense(3, name = "dense_1")
  load_model_weights_hdf5(m, path, by_name = TRUE)
  get_weights(m)
}

for (opt in list(list(name = "Adam", fn = function() tf$train$AdamOptimizer(learning_rate = 0.05)),
                 list(name = "RMSProp", fn = function() tf$train$RMSPropOptimizer(learning_rate = 0.02)))) {
  test_that(paste0("train(10) + train(10) with ", opt$name, " continues exactly as train(20)"), {
    k_clear_session()
    set.seed(3)
    one <- estimator(ckpt_model_fn(opt$fn), model_dir = tempfile("est1"))
    r1 <- ckpt_train(one, 20)
    k_clear_session()
    set.seed(3)
    two <- estimator(ckpt_model_fn(opt$fn), model_dir = tempfile("est2"))
    r2 <- ckpt_train(two, c(10, 10))
    expect_true(any(grepl("Restoring parameters from .*model.ckpt-10\n", r2$msgs)))
    expect_false(any(grepl("fresh", r2$msgs)))
    expect_true(any(grepl("Saving checkpoints for 20 ", r2$msgs)))
    expect_equal(readLines(file.path(two$model_dir, "checkpoint"))[1], 'model_checkpoint_path: "model.ckpt-20"')
    expect_equal(dim(r1$loss), c(20L, 4L))
    expect_equal(r2$loss, r1$loss, tolerance = 1e-6)
    # the per-example losses of step 1 (same initial weights) and a falling curve
    expect_lt(mean(r1$loss[20, ]), mean(r1$loss[1, ]))
    w1 <- ckpt_weights(file.path(one$model_dir, "model.ckpt-20.h5"))
    w2 <- ckpt_weights(file.path(two$model_dir, "model.ckpt-20.h5"))
    for (k in seq_along(w1)) expect_equal(w2[[k]], w1[[k]], tolerance = 1e-6)
    # the step-11 loss recomputed in plain R from the step-10 checkpoint's weights
    w10 <- ckpt_weights(file.path(two$model_dir, "model.ckpt-10.h5"))
    x <- ckpt_data$x[1:4, , drop = FALSE]                       # (4, 6): batch 11 = batch 1
    z <- tanh(x %*% w10[[1]] + matrix(w10[[2]], 4, 8, byrow = TRUE)) %*% w10[[3]] +
      matrix(w10[[4]], 4, 3, byrow = TRUE)                     # (4, 3)
    xe <- log(rowSums(exp(z))) - z[cbind(1:4, ckpt_data$y[1:4] + 1)]
    expect_equal(r2$loss[11, ], xe, tolerance = 1e-5)
  })
}

test_that("a weights-only checkpoint (older runs) loads with fresh optimizer slots and says so", {
  k_clear_session()
  set.seed(3)
  ref <- ckpt_train(estimator(ckpt_model_fn(function() tf$train$AdamOptimizer(learning_rate = 0.05)),
                              model_dir = tempfile("est4")), 20)
  k_clear_session()
  set.seed(3)
  est <- estimator(ckpt_model_fn(function() tf$train$AdamOptimizer(learning_rate = 0.05)), model_dir = tempfile("est3"))
  r <- ckpt_train(est, 10)
  f <- file.path(est$model_dir, "model.ckpt-10.h5")
  w <- ckpt_weights(f)
  m <- keras_model_sequential() %>% layer_dense(8, input_shape = 6, name = "dense") %>% layer_dense(3, name = "dense_1")
  set_weights(m, w)
  save_model_weights_hdf5(m, f)  # the format written before checkpoints held the optimizer state
  r2 <- ckpt_train(est, 10)
  expect_true(any(grepl("model.ckpt-10 holds no optimizer state .*fresh slots", r2$msgs)))
  expect_true(any(grepl("Saving checkpoints for 20 ", r2$msgs)))
  # restored weights: the first loss after the restore matches plain R on them
  z <- tanh(ckpt_data$x[1:4, ] %*% w[[1]] + matrix(w[[2]], 4, 8, byrow = TRUE)) %*% w[[3]] +
    matrix(w[[4]], 4, 3, byrow = TRUE)                         # (4, 3)
  expect_equal(r2$loss[1, ], log(rowSums(exp(z))) - z[cbind(1:4, ckpt_data$y[1:4] + 1)], tolerance = 1e-5)
  # fresh Adam slots (m = v = 0, t = 0) move the weights otherwise than the restored ones
  expect_equal(r$loss, ref$loss[1:10, ], tolerance = 1e-6)
  expect_equal(r2$loss[1, ], ref$loss[11, ], tolerance = 1e-6)
  expect_gt(max(abs(r2$loss[2:10, ] - ref$loss[12:20, ])), 1e-4)
  ev <- suppressMessages(evaluate(est, input_fn = function() tf$estimator$inputs$numpy_input_fn(
    x = list(x = ckpt_data$x), y = ckpt_data$y, batch_size = 8L, num_epochs = 1L, shuffle = FALSE)))
  expect_equal(ev$global_step, 20)
})
