# tf$train input queues, layer_input(tensor = ), compile(target_tensors = ),
# fit(steps_per_epoch) fed from a queue, and the tf$contrib MNIST loader.

dq <- function(t) kerasnative:::queue_dequeue(t$queue)

sample_mnist_dir <- function() system.file("extdata", "mnist-sample", package = "kerasnative")

test_that("tf$train$batch delivers the data in order, repeating it, rows paired across tensors", {
  k_clear_session()
  x <- outer(1:50, c(1, 10, 100))  # row i = i * (1, 10, 100)
  b <- tf$train$batch(list(x, 1:50), batch_size = 7L, capacity = 20L, enqueue_many = TRUE, num_threads = 3L)
  expect_equal(b[[1]]$get_shape()$as_list(), list(7L, 3L))
  expect_equal(b[[2]]$get_shape()$as_list(), list(7L))
  tf$train$start_queue_runners(k_get_session())
  stream <- rep(1:50, 2)
  for (i in 1:10) {
    d <- dq(b[[1]])
    want <- stream[(i - 1) * 7 + 1:7]
    expect_equal(d[[2]], want)
    expect_equal(d[[1]], outer(want, c(1, 10, 100)))
  }
  k_clear_session()
})

test_that("shuffle_batch draws only from a pool of at most `capacity` examples and keeps min_after_dequeue", {
  k_clear_session()
  n <- 1000L
  s <- tf$train$shuffle_batch(list(seq_len(n)), batch_size = 5L, capacity = 20L, min_after_dequeue = 10L,
                              enqueue_many = TRUE, num_threads = 4L)
  q <- s[[1]]$queue
  tf$train$start_queue_runners()
  seen <- integer(0)
  for (t in 1:30) {
    v <- dq(s[[1]])[[1]]
    # before dequeue t the pool holds the first (t - 1) * 5 + 20 examples of the stream, minus those taken
    expect_true(all(v <= (t - 1) * 5 + 20))
    expect_false(any(v %in% seen))
    seen <- c(seen, v)
    size <- kerasnative:::cpp_queue_size(q$ptr)
    expect_true(size >= 10 && size <= 20)
  }
  expect_false(identical(seen[1:5], 1:5))  # shuffled
  k_clear_session()
})

test_that("with a finite number of epochs every example is delivered exactly once per epoch", {
  k_clear_session()
  for (enqueue_many in TRUE) {
    fn <- tf$estimator$inputs$numpy_input_fn(x = list(x = matrix(1:37, 37, 2)), y = 1:37, batch_size = 8L,
                                             num_epochs = 2L, shuffle = TRUE, queue_capacity = 16L)
    inp <- fn()
    tf$train$start_queue_runners()
    got <- integer(0); sizes <- integer(0)
    repeat {
      d <- dq(inp$labels)
      if (is.null(d)) break
      expect_equal(d[[1]][, 1], d[[2]])  # features and labels stay paired
      got <- c(got, d[[2]]); sizes <- c(sizes, length(d[[2]]))
    }
    expect_equal(sort(got), sort(rep(1:37, 2)))
    expect_equal(sizes, c(rep(8L, 9), 2L))  # the final batch is smaller, as numpy_input_fn allows
  }
  k_clear_session()
})

test_that("queue shuffling is reproducible under set.seed() whatever the thread count", {
  draw <- function(seed, threads) {
    k_clear_session()
    set.seed(seed)
    s <- tf$train$shuffle_batch(list(1:200), batch_size = 16L, capacity = 64L, min_after_dequeue = 32L,
                                enqueue_many = TRUE, num_threads = threads)
    tf$train$start_queue_runners()
    out <- unlist(lapply(1:20, function(i) dq(s[[1]])[[1]]))
    k_clear_session()
    out
  }
  a <- draw(1, 4L)
  expect_identical(a, draw(1, 1L))
  expect_identical(a, draw(1, 4L))
  expect_false(identical(a, draw(2, 4L)))
  # fixed `seed` argument: same batches without set.seed()
  k_clear_session()
  s1 <- tf$train$shuffle_batch(list(1:50), 5L, 20L, 5L, seed = 7L, enqueue_many = TRUE)
  s2 <- tf$train$shuffle_batch(list(1:50), 5L, 20L, 5L, seed = 7L, enqueue_many = TRUE)
  tf$train$start_queue_runners()
  expect_identical(dq(s1[[1]]), dq(s2[[1]]))
  k_clear_session()
})

test_that("queue arguments and states are checked with clear errors", {
  k_clear_session()
  expect_error(tf$train$shuffle_batch(list(1:10), batch_size = 8L, capacity = 10L, min_after_dequeue = 5L,
                                      enqueue_many = TRUE),
               "capacity.*min_after_dequeue")
  expect_error(tf$train$batch(list(1:10, 1:9), batch_size = 2L, enqueue_many = TRUE), "same first dimension")
  expect_error(tf$train$batch(list(c(1, NA)), batch_size = 2L, enqueue_many = TRUE), "NA")
  b <- tf$train$batch(list(1:10), batch_size = 2L, enqueue_many = TRUE)
  expect_error(dq(b[[1]]), "start_queue_runners")
  coord <- tf$train$Coordinator()
  th <- tf$train$start_queue_runners(k_get_session(), coord)
  expect_false(coord$should_stop())
  expect_equal(dq(b[[1]])[[1]], 1:2)
  coord$request_stop()
  expect_true(coord$should_stop())
  # what was queued can still be dequeued (at most `capacity` = 32 examples), then the queue is dry
  expect_error(for (i in 1:17) dq(b[[1]]), "not running")
  expect_error(tf$train$no_such_thing, "tf\\$no_such_thing is not available")
  expect_error(k_set_session(1), "session")
  k_clear_session()
})

test_that("a model fed from a queue: ops become graph nodes, the loss matches plain R, training learns", {
  k_clear_session()
  set.seed(3)
  n <- 64L
  x <- matrix(runif(n * 4), n, 4)
  y <- as.integer(x[, 1] + x[, 2] > x[, 3] + x[, 4])
  q <- tf$train$batch(list(x * 255, y), batch_size = 16L, capacity = 32L, enqueue_many = TRUE)
  xb <- tf$reshape(tf$cast(q[[1]], tf$float32) / 255, shape = list(16L, 2L, 2L))
  yb <- tf$one_hot(tf$cast(q[[2]], tf$int32), 2L)
  expect_equal(xb$get_shape()$as_list(), list(16L, 2L, 2L))
  expect_equal(yb$get_shape()$as_list(), list(16L, 2L))
  expect_error(layer_input(tensor = xb, batch_shape = list(16L, 4L)), "batch_shape")
  inp <- layer_input(tensor = xb, batch_shape = xb$get_shape()$as_list())
  out <- inp %>% layer_flatten() %>% layer_dense(2, activation = "softmax", name = "out")
  model <- keras_model(inp, out)
  model %>% compile(optimizer = optimizer_sgd(lr = 0.5), loss = "categorical_crossentropy",
                    metrics = "accuracy", target_tensors = yb)
  expect_error(fit(model, epochs = 1, steps_per_epoch = 1, verbose = 0), "start_queue_runners")
  w <- get_weights(model)
  tf$train$start_queue_runners()
  h <- fit(model, epochs = 1, steps_per_epoch = 1, verbose = 0)
  # the first batch is rows 1:16 (FIFO); the loss is computed before the update
  p <- x[1:16, ] %*% w[[1]] + matrix(w[[2]], 16, 2, byrow = TRUE)
  p <- exp(p) / rowSums(exp(p))
  expect_equal(h$metrics$loss, mean(-log(p[cbind(1:16, y[1:16] + 1)])), tolerance = 1e-5)
  expect_equal(h$metrics$acc, mean((max.col(p) - 1) == y[1:16]), tolerance = 1e-6)
  h <- fit(model, epochs = 30, steps_per_epoch = 4, verbose = 0)
  expect_lt(tail(h$metrics$loss, 1), h$metrics$loss[1])
  expect_error(fit(model, epochs = 1, verbose = 0), "steps_per_epoch")
  k_clear_session()
})

test_that("load_mnist gives TensorFlow's split: float images in [0, 1] in row-major pixel order", {
  dir <- sample_mnist_dir()
  d <- tf$contrib$learn$datasets$mnist$load_mnist(dir, validation_size = 1000L)
  raw <- kerasnative:::load_idx_dataset(kerasnative:::find_idx_set(dir), "sample")
  nt <- dim(raw$train$x)[1]
  expect_equal(dim(d$train$images), c(nt - 1000L, 784L))
  expect_equal(dim(d$validation$images), c(1000L, 784L))
  expect_equal(dim(d$test$images), c(dim(raw$test$x)[1], 784L))
  expect_true(all(d$train$images >= 0 & d$train$images <= 1))
  expect_type(d$train$labels, "integer")
  expect_equal(d$validation$labels, as.integer(raw$train$y[1:1000]))
  expect_equal(d$train$labels, as.integer(raw$train$y[-(1:1000)]))
  # image 1001 of the file: pixel (r, c) at column (r - 1) * 28 + c
  img <- raw$train$x[1001, , ]
  flat <- numeric(784)
  for (r in 1:28) for (c in 1:28) flat[(r - 1) * 28 + c] <- img[r, c] / 255
  expect_equal(d$train$images[1, ], flat)
  expect_error(tf$contrib$learn$datasets$mnist$load_mnist(dir), "validation_size")
  expect_error(tf$contrib$learn$datasets$load_dataset("cifar"), "only \"mnist\"")
})

test_that("seed 000 runs as written on a short schedule (full MNIST from ../shared)", {
  td <- shared_testdata()
  skip_if(is.null(td), "../shared/testdata is absent")
  home <- tempfile("kh"); dir.create(file.path(home, "datasets"), recursive = TRUE)
  files <- c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")
  file.copy(file.path(td, "mnist", files), file.path(home, "datasets"))
  wd <- tempfile("seed000"); dir.create(wd)
  script <- system.file("scripts", "seed_000.R", package = "kerasnative")
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(sprintf("setwd('%s'); source('%s')", wd, script))),
                 env = c(paste0("KERAS_HOME=", home), "SEED000_EPOCHS=1", "SEED000_STEPS=15",
                         paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))), stdout = TRUE, stderr = TRUE)
  acc <- as.numeric(sub(".*Test accuracy: ", "", grep("Test accuracy", out, value = TRUE)))
  expect_length(acc, 1)
  expect_gt(acc, 0.5)  # 15 steps of 128 examples already beat chance by far
  expect_true(file.exists(file.path(wd, "saved_wt.h5")))
})
