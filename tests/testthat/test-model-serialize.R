# Tests for models under R's own serialization (saveRDS/readRDS, serialize,
# save/load, fresh R processes): the saved object is the model as it is when
# R serializes it (src/r_serialize.cpp), never an older copy.
# Evidence: a model read back is compared with the same model kept in memory
# (two independent paths), and with the weights before the change to show the
# change is there; frozen layers are checked by training (their weights stay).

rds_trip <- function(x) {
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  saveRDS(x, f)
  readRDS(f)
}

ser_mlp <- function() {
  keras_model_sequential() %>%
    layer_dense(units = 5, activation = "relu", input_shape = 3, name = "h") %>%
    layer_dense(units = 2, activation = "softmax", name = "o")
}

ser_functional <- function() {
  inp <- layer_input(shape = 3, name = "x")
  a <- inp %>% layer_dense(units = 4, activation = "tanh", name = "a")
  b <- inp %>% layer_dense(units = 4, activation = "relu", name = "b")
  out <- layer_concatenate(list(a, b), name = "cat") %>% layer_dense(units = 2, activation = "softmax", name = "o")
  keras_model(inp, out)
}

ser_data <- function(n = 16) {
  x <- matrix(runif(n * 3), n, 3)
  list(x = x, y = to_categorical((x[, 1] > x[, 2]) * 1, 2))
}

trainable_flags <- function(m) {
  vapply(Filter(function(l) inherits(l, "kerasnative_layer"), m$layers), function(l) l$trainable, logical(1))
}

test_that("saveRDS after train_on_batch and fit keeps the trained weights", {
  set.seed(1)
  d <- ser_data()
  for (make in list(ser_mlp, ser_functional)) {
    m <- make()
    m %>% compile(optimizer = "sgd", loss = "categorical_crossentropy", metrics = "accuracy")
    w0 <- get_weights(m)
    train_on_batch(m, d$x, d$y)
    expect_false(isTRUE(all.equal(get_weights(m), w0)))  # training changed them
    m2 <- rds_trip(m)
    expect_identical(get_weights(m2), get_weights(m))
    expect_identical(predict(m2, d$x), predict(m, d$x))
    fit(m, d$x, d$y, epochs = 2, batch_size = 4, verbose = 0)
    m3 <- rds_trip(m)
    expect_identical(get_weights(m3), get_weights(m))
    expect_false(isTRUE(all.equal(get_weights(m3), get_weights(m2))))
  }
})

test_that("frozen layers come back frozen and stay frozen when trained", {
  set.seed(2)
  d <- ser_data()
  m <- ser_mlp()
  m %>% compile(optimizer = "adam", loss = "categorical_crossentropy")
  freeze_weights(m, to = "h")
  m2 <- rds_trip(m)
  expect_identical(trainable_flags(m2), c(FALSE, TRUE))
  h0 <- get_weights(get_layer(m2, "h"))
  train_on_batch(m2, d$x, d$y)
  expect_identical(get_weights(get_layer(m2, "h")), h0)
  unfreeze_weights(m)
  expect_identical(trainable_flags(rds_trip(m)), c(TRUE, TRUE))
  lo <- get_layer(m, "o")
  lo$trainable <- FALSE
  m4 <- rds_trip(m)
  expect_identical(trainable_flags(m4), c(TRUE, FALSE))
  o0 <- get_weights(get_layer(m4, "o"))
  train_on_batch(m4, d$x, d$y)
  expect_identical(get_weights(get_layer(m4, "o")), o0)
})

test_that("optimizer state survives: the next step equals the step without the round trip", {
  opts <- list(sgd = function() optimizer_sgd(lr = 0.05, momentum = 0.9, decay = 0.01),
               rmsprop = function() optimizer_rmsprop(lr = 0.01, decay = 0.05),
               adam = function() optimizer_adam(lr = 0.01, amsgrad = TRUE),
               adagrad = function() optimizer_adagrad(lr = 0.05, decay = 0.01))
  d <- ser_data()
  for (make in list(ser_mlp, ser_functional)) {
    for (nm in names(opts)) {
      set.seed(3)
      m <- make()
      m %>% compile(optimizer = opts[[nm]](), loss = "categorical_crossentropy", metrics = "accuracy")
      train_on_batch(m, d$x, d$y)
      train_on_batch(m, d$x, d$y)
      m2 <- rds_trip(m)
      expect_equal(m2$optimizer$class_name, m$optimizer$class_name, info = nm)
      expect_equal(kerasnative:::cpp_model_optimizer(kerasnative:::model_ptr(m2))$iterations, 2, info = nm)
      set.seed(4); l1 <- train_on_batch(m, d$x, d$y)
      set.seed(4); l2 <- train_on_batch(m2, d$x, d$y)
      expect_identical(l2, l1, info = nm)
      expect_identical(get_weights(m2), get_weights(m), info = nm)
    }
  }
})

test_that("freezing after training, then a round trip, trains like the original", {
  set.seed(5)
  d <- ser_data()
  m <- ser_mlp()
  m %>% compile(optimizer = "adam", loss = "categorical_crossentropy")
  train_on_batch(m, d$x, d$y)
  freeze_weights(m, to = "h")
  m2 <- rds_trip(m)
  set.seed(6); train_on_batch(m, d$x, d$y)
  set.seed(6); train_on_batch(m2, d$x, d$y)
  expect_identical(get_weights(m2), get_weights(m))
  # and the other way round: a round trip, then freezing, then a step
  m3 <- rds_trip(m)
  unfreeze_weights(m); unfreeze_weights(m3)
  set.seed(7); train_on_batch(m, d$x, d$y)
  set.seed(7); train_on_batch(m3, d$x, d$y)
  expect_identical(get_weights(m3), get_weights(m))
})

test_that("models inside lists, serialize() to raw (versions 2 and 3) and save()/load()", {
  set.seed(7)
  d <- ser_data()
  m <- ser_mlp()
  m %>% compile(optimizer = "rmsprop", loss = "categorical_crossentropy")
  fm <- ser_functional()
  train_on_batch(m, d$x, d$y)
  obj <- list(models = list(seq = m, fun = fm), note = "x")
  for (v in 2:3) {
    raw <- serialize(obj, NULL, version = v)
    expect_type(raw, "raw")
    back <- unserialize(raw)
    expect_identical(back$note, "x")
    expect_identical(predict(back$models$seq, d$x), predict(m, d$x))
    expect_identical(predict(back$models$fun, d$x), predict(fm, d$x))
  }
  # a second save after more training holds the new weights
  train_on_batch(m, d$x, d$y)
  back <- unserialize(serialize(obj, NULL))
  expect_identical(get_weights(back$models$seq), get_weights(m))
  f <- tempfile(fileext = ".RData")
  on.exit(unlink(f))
  saved <- m
  save(saved, file = f)
  e <- new.env()
  load(f, envir = e)
  expect_identical(predict(e$saved, d$x), predict(m, d$x))
  # the state's bytes are the model as a Keras HDF5 file
  st <- as.raw(.subset2(m, "state"))
  expect_equal(st[1:8], as.raw(c(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)))
  expect_identical(predict(unserialize_model(st), d$x), predict(m, d$x))
})

test_that("a model saved with saveRDS() loads in a fresh R process", {
  skip_on_cran()
  set.seed(8)
  d <- ser_data()
  m <- ser_functional()
  m %>% compile(optimizer = "adam", loss = "categorical_crossentropy")
  fit(m, d$x, d$y, epochs = 1, batch_size = 8, verbose = 0)
  dir <- tempfile("kn_fresh")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  saveRDS(list(model = m, x = d$x), file.path(dir, "in.rds"))
  script <- file.path(dir, "run.R")
  writeLines(c(
    "obj <- readRDS(commandArgs(TRUE)[1])",  # no library(): the ALTREP class loads kerasnative
    "stopifnot('kerasnative' %in% loadedNamespaces())",
    "saveRDS(list(pred = stats::predict(obj$model, obj$x),",
    "             n = kerasnative::count_params(obj$model)), commandArgs(TRUE)[2])"), script)
  lib <- dirname(find.package("kerasnative"))
  rscript <- file.path(R.home("bin"), "Rscript")
  out <- system2(rscript, c(shQuote(script), shQuote(file.path(dir, "in.rds")), shQuote(file.path(dir, "out.rds"))),
                 env = paste0("R_LIBS=", lib), stdout = TRUE, stderr = TRUE)
  expect_true(file.exists(file.path(dir, "out.rds")), info = paste(out, collapse = "\n"))
  res <- readRDS(file.path(dir, "out.rds"))
  expect_identical(res$pred, predict(m, d$x))
  expect_equal(res$n, count_params(m))
})

test_that("layer handles read back give a clear error; damaged states too", {
  m <- ser_mlp()
  l <- rds_trip(get_layer(m, "h"))
  expect_error(get_weights(l), "get_layer\\(model, name\\)")
  m2 <- rds_trip(m)
  assign("state", as.raw(1:10), envir = m2)
  expect_error(predict(m2, matrix(1, 1, 3)), "restoring the model read back by readRDS")
  m3 <- rds_trip(m)
  rm("state", envir = m3)
  expect_error(predict(m3, matrix(1, 1, 3)), "holds no saved state")
  # the original is untouched and an empty Sequential round-trips
  expect_equal(dim(predict(m, matrix(1, 1, 3))), c(1, 2))
  es <- rds_trip(keras_model_sequential(name = "empty"))
  es %>% layer_dense(units = 2, input_shape = 3)
  expect_length(es$layers, 1)
})

test_that("building a 50-layer model costs nothing for serialization", {
  skip_on_cran()
  build <- function() {
    m <- keras_model_sequential()
    m %>% layer_dense(units = 32, activation = "relu", input_shape = 32)
    for (i in 1:49) m %>% layer_dense(units = 32, activation = "relu")
    m
  }
  invisible(build())
  t <- min(replicate(3, system.time(build())[["elapsed"]]))
  # Measured on the 2-core dev machine: 2.0 s with the old per-layer
  # snapshots, 0.19 s without.
  expect_lt(t, 1)
  m <- build()
  expect_length(rds_trip(m)$layers, 50)
})
