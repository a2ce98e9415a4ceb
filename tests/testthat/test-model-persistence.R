# Tests for R/model-persistence.R: Keras HDF5 weights / full models, JSON and
# list configs, raw serialization, saveRDS()/readRDS(), errors.
# Evidence: real Keras files in ../shared/testdata/keras-h5 (outputs stored by
# Keras, accuracies stated by their producers); expected values elsewhere are
# computed independently (matrix formulas in R) or compare two independent
# paths (a model before saving vs after loading).

# ---- helpers ---------------------------------------------------------------

keras_h5_dir <- function() {
  td <- shared_testdata()
  if (is.null(td) || !dir.exists(file.path(td, "keras-h5"))) testthat::skip("shared keras-h5 test data not found")
  file.path(td, "keras-h5")
}

tiny_mlp <- function(names = c("a", "b"), units = c(4, 2), input = 3) {
  keras_model_sequential() %>%
    layer_dense(units = units[1], activation = "relu", input_shape = input, name = names[1]) %>%
    layer_dense(units = units[2], activation = "softmax", name = names[2])
}

toy_data <- function(n = 64, p = 3, k = 2) {
  x <- matrix(runif(n * p), n, p)
  y <- to_categorical((x[, 1] + x[, 2] > 1) * 1, k)
  list(x = x, y = y)
}

h5_info <- function(path) kerasnative:::cpp_h5_read(path)

relu <- function(z) pmax(z, 0)
softmax_rows <- function(z) { e <- exp(z - apply(z, 1, max)); e / rowSums(e) }

# ---- weights files -----------------------------------------------------------

test_that("weights round trip through HDF5 reproduces predictions", {
  set.seed(1)
  m1 <- tiny_mlp()
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_weights_hdf5(m1, f)
  m2 <- tiny_mlp(names = c("c", "d"))  # names differ: loading by order ignores them
  x <- matrix(runif(30), 10)
  expect_false(isTRUE(all.equal(predict(m1, x), predict(m2, x))))
  load_model_weights_hdf5(m2, f)
  expect_identical(predict(m2, x), predict(m1, x))
  expect_identical(get_weights(m2), get_weights(m1))
  # independent forward pass with the loaded arrays
  w <- get_weights(m2)
  ref <- softmax_rows(relu(x %*% w[[1]] + rep(w[[2]], each = 10)) %*% w[[3]] + rep(w[[4]], each = 10))
  expect_equal(predict(m2, x), ref, tolerance = 1e-5)
})

test_that("weights files have the Keras 2.2.4 layout and names", {
  m <- tiny_mlp(names = c("dense_a", "dense_b"))
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_weights_hdf5(m, f)
  info <- h5_info(f)
  expect_equal(as.character(info$layer_names), c("dense_a", "dense_b"))
  expect_equal(as.character(info$weight_names[[1]]), c("dense_a/kernel:0", "dense_a/bias:0"))
  expect_equal(info$keras_version, "2.2.4")
  expect_equal(info$backend, "tensorflow")
  expect_false(info$full_model)
  expect_equal(info$model_config, "")
  # kernel stored (in, out) like Keras
  k <- kerasnative:::cpp_h5_layer_weights(info$handle, "dense_a")[[1]]
  expect_equal(dim(k), c(3L, 4L))
  expect_equal(k, get_weights(m)[[1]], tolerance = 0)
})

test_that("functional weights files list input layers like Keras", {
  inp <- layer_input(shape = 3, name = "in_x")
  out <- inp %>% layer_dense(units = 2, name = "fd")
  m <- keras_model(inp, out)
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_weights_hdf5(m, f)
  expect_equal(as.character(h5_info(f)$layer_names), c("in_x", "fd"))
})

test_that("by_name loads matching layers only; skip_mismatch skips with a warning", {
  set.seed(2)
  src <- tiny_mlp(names = c("a", "b"))
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_weights_hdf5(src, f)
  dst <- tiny_mlp(names = c("x", "b"))
  wx <- get_weights(dst)[1:2]
  load_model_weights_hdf5(dst, f, by_name = TRUE)
  expect_identical(get_weights(dst)[1:2], wx)                      # 'x' not in the file
  expect_identical(get_weights(dst)[3:4], get_weights(src)[3:4])   # 'b' loaded

  bad <- tiny_mlp(names = c("a", "z"), units = c(5, 2))
  before <- get_weights(bad)
  expect_error(load_model_weights_hdf5(bad, f, by_name = TRUE), "'a'.*\\(3, 5\\).*\\(3, 4\\)")
  expect_identical(get_weights(bad), before)
  ws <- character(0)
  withCallingHandlers(load_model_weights_hdf5(bad, f, by_name = TRUE, skip_mismatch = TRUE),
                      warning = function(w) { ws <<- c(ws, conditionMessage(w)); invokeRestart("muffleWarning") })
  expect_length(ws, 2)  # kernel and bias of 'a'; 'z' is not in the file
  expect_match(ws[1], "skipping layer 'a': weight 'kernel' has shape \\(3, 5\\)")
  expect_identical(get_weights(bad), before)
})

test_that("mismatching weights give clear errors and leave the model untouched", {
  src <- tiny_mlp()
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_weights_hdf5(src, f)
  # shape mismatch in the second layer: the first must not be assigned either
  m <- tiny_mlp(names = c("p", "q"), units = c(4, 3))
  before <- get_weights(m)
  expect_error(load_model_weights_hdf5(m, f), "layer 'q'.*\\(4, 3\\).*\\(4, 2\\)")
  expect_identical(get_weights(m), before)
  # layer count mismatch
  m3 <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3)
  expect_error(load_model_weights_hdf5(m3, f), "2 layer\\(s\\) with weights.*has 1")
})

test_that("reshape = TRUE accepts arrays with the same number of elements", {
  set.seed(3)
  src <- tiny_mlp()
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_weights_hdf5(src, f)
  # 1x1 convolution on a 1x1x3 image == dense layer on 3 features
  conv <- keras_model_sequential() %>%
    layer_conv_2d(filters = 4, kernel_size = c(1, 1), activation = "relu", input_shape = c(1, 1, 3)) %>%
    layer_flatten() %>%
    layer_dense(units = 2, activation = "softmax")
  expect_error(load_model_weights_hdf5(conv, f), "\\(1, 1, 3, 4\\)")
  load_model_weights_hdf5(conv, f, reshape = TRUE)
  x <- matrix(runif(15), 5)
  expect_equal(predict(conv, array(x, c(5, 1, 1, 3))), predict(src, x), tolerance = 1e-6)
})

# ---- full models --------------------------------------------------------------

test_that("full model round trip: architecture, compile settings, optimizer state, resumed training", {
  for (opt in list(optimizer_adam(lr = 0.01), optimizer_rmsprop(lr = 0.01, decay = 0.01),
                   optimizer_sgd(lr = 0.05, momentum = 0.9, nesterov = TRUE))) {
    set.seed(10)
    d <- toy_data()
    m <- tiny_mlp()
    m %>% compile(optimizer = opt, loss = "categorical_crossentropy", metrics = "accuracy")
    fit(m, d$x, d$y, epochs = 2, batch_size = 16, verbose = 0)
    f <- tempfile(fileext = ".h5")
    save_model_hdf5(m, f)
    m2 <- load_model_hdf5(f)
    unlink(f)
    expect_identical(predict(m2, d$x), predict(m, d$x))
    expect_equal(m2$optimizer$class_name, opt$class_name)
    expect_equal(m2$loss, "categorical_crossentropy")
    expect_equal(m2$metrics_names, c("loss", "acc"))
    it1 <- kerasnative:::cpp_model_optimizer(kerasnative:::model_ptr(m))$iterations
    it2 <- kerasnative:::cpp_model_optimizer(kerasnative:::model_ptr(m2))$iterations
    expect_equal(it2, it1)
    expect_equal(it1, 8)
    # one more epoch on each, same seed: identical weights afterwards
    set.seed(99); h1 <- fit(m, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
    set.seed(99); h2 <- fit(m2, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
    expect_identical(get_weights(m2), get_weights(m))
    expect_identical(h2$metrics$loss, h1$metrics$loss)
  }
})

test_that("without the optimizer state, resumed training differs (the state matters)", {
  set.seed(11)
  d <- toy_data()
  m <- tiny_mlp()
  m %>% compile(optimizer = optimizer_adam(lr = 0.01), loss = "categorical_crossentropy")
  fit(m, d$x, d$y, epochs = 2, batch_size = 16, verbose = 0)
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f, include_optimizer = FALSE)
  expect_equal(h5_info(f)$training_config, "")
  expect_warning(m2 <- load_model_hdf5(f), "not\\* compiled")
  expect_null(.subset2(m2, "compiled"))
  m2 %>% compile(optimizer = optimizer_adam(lr = 0.01), loss = "categorical_crossentropy")
  set.seed(5); fit(m, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  set.seed(5); fit(m2, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  expect_false(identical(get_weights(m2), get_weights(m)))
  m3 <- load_model_hdf5(f, compile = FALSE)
  expect_null(.subset2(m3, "compiled"))
})

test_that("full model files have the Keras 2.2.4 layout", {
  set.seed(12)
  d <- toy_data()
  m <- tiny_mlp(names = c("dense_1", "dense_2"))
  m %>% compile(optimizer = "adam", loss = "categorical_crossentropy", metrics = "accuracy")
  fit(m, d$x, d$y, epochs = 1, batch_size = 32, verbose = 0)
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f)
  info <- h5_info(f)
  expect_true(info$full_model)
  mc <- jsonlite::fromJSON(info$model_config, simplifyVector = FALSE)
  expect_equal(mc$class_name, "Sequential")
  expect_equal(vapply(mc$config$layers, function(l) l$config$name, ""), c("dense_1", "dense_2"))
  expect_equal(mc$config$layers[[1]]$config$batch_input_shape, list(NULL, 3L))
  tc <- jsonlite::fromJSON(info$training_config, simplifyVector = FALSE)
  expect_equal(tc$optimizer_config$class_name, "Adam")
  expect_equal(tc$loss, "categorical_crossentropy")
  expect_equal(unlist(tc$metrics), "accuracy")
  expect_equal(names(tc)[1:5], c("optimizer_config", "loss", "metrics", "sample_weight_mode", "loss_weights"))
  # Adam: iterations, then m, v, vhat for the 4 weights (Keras 2.2.4 names)
  on <- as.character(info$optimizer_weight_names)
  expect_equal(length(on), 1 + 3 * 4)
  expect_equal(on[1:3], c("Adam/iterations:0", "training/Adam/Variable:0", "training/Adam/Variable_1:0"))
  expect_equal(as.character(info$weight_names[[2]]), c("dense_2/kernel:0", "dense_2/bias:0"))
})

test_that("files open with h5py in the Keras layout", {
  # Debian's python (with python3-h5py) before whatever python3 is first on PATH
  py <- if (file.exists("/usr/bin/python3")) "/usr/bin/python3" else Sys.which("python3")
  skip_if(!nzchar(py), "python3 not available")
  has <- suppressWarnings(system2(py, c("-c", shQuote("import h5py")), stdout = FALSE, stderr = FALSE))
  skip_if(has != 0, "python3-h5py not installed")
  m <- tiny_mlp(names = c("dense_1", "dense_2"))
  m %>% compile(optimizer = "sgd", loss = "categorical_crossentropy")
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f)
  script <- paste(
    "import h5py, json, sys",
    "f = h5py.File(sys.argv[1], 'r')",
    "mw = f['model_weights']",
    "names = [n.decode() if isinstance(n, bytes) else n for n in mw.attrs['layer_names']]",
    "k = mw['dense_1']['dense_1']['kernel:0']",
    "cfg = json.loads(f.attrs['model_config'])",
    "print(','.join(names), k.shape, cfg['class_name'], f.attrs['keras_version'])", sep = "\n")
  out <- system2(py, c("-c", shQuote(script), f), stdout = TRUE)
  expect_match(out, "dense_1,dense_2 \\(3, 4\\) Sequential 2.2.4")
})

test_that("functional models with shared layers round trip (config and weights)", {
  set.seed(13)
  inp <- layer_input(shape = 4, name = "x_in")
  shared <- layer_dense(units = 3, activation = "tanh", name = "shared")
  a <- inp %>% shared
  b <- a %>% layer_dense(units = 4, name = "proj")
  c2 <- b %>% shared             # second application of `shared`
  out <- layer_add(list(a, c2), name = "sum") %>% layer_dense(units = 2, activation = "softmax", name = "out")
  m <- keras_model(inp, out, name = "fm")
  js <- model_to_json(m)
  cfg <- jsonlite::fromJSON(js, simplifyVector = FALSE)
  expect_equal(cfg$class_name, "Model")
  expect_equal(cfg$keras_version, "2.2.4")
  lay <- cfg$config$layers
  nm <- vapply(lay, function(l) l$name, "")
  expect_equal(nm, c("x_in", "shared", "proj", "sum", "out"))
  # shared layer: two inbound nodes; 'sum' uses shared's node 0 and node 1
  expect_length(lay[[2]]$inbound_nodes, 2)
  expect_equal(lay[[4]]$inbound_nodes[[1]][[2]][1:3], list("shared", 1L, 0L))
  expect_equal(cfg$config$input_layers, list(list("x_in", 0L, 0L)))
  expect_equal(cfg$config$output_layers, list(list("out", 0L, 0L)))
  m2 <- model_from_json(js)
  expect_equal(model_to_json(m2), js)
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f)
  m3 <- load_model_hdf5(f, compile = FALSE)
  x <- matrix(runif(20), 5)
  expect_identical(predict(m3, x), predict(m, x))
  expect_equal(length(get_weights(m3)), 6)
})

# ---- configs written by other Keras versions ---------------------------------

test_that("Keras <= 2.2.2 list-form Sequential configs load", {
  js <- '{"class_name": "Sequential", "config": [
    {"class_name": "Dense", "config": {"name": "d1", "units": 2, "activation": "linear",
      "batch_input_shape": [null, 3], "use_bias": true, "trainable": true,
      "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": null}},
      "bias_initializer": {"class_name": "Zeros", "config": {}}}}]}'
  m <- model_from_json(js)
  expect_true(m$sequential)
  expect_equal(m$layers[[1]]$name, "d1")
  w <- list(matrix(1:6, 3, 2), c(0.5, -1))
  set_weights(m, w)
  x <- matrix(c(1, 2, 3, 4, 5, 6), 2)
  expect_equal(predict(m, x), x %*% w[[1]] + rep(w[[2]], each = 2), tolerance = 1e-6)
})

test_that("hand-written Keras 2.2.4 and Keras 3 functional configs load", {
  k2 <- '{"class_name": "Model", "config": {"name": "m", "layers": [
    {"name": "input_1", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 2], "dtype": "float32", "sparse": false, "name": "input_1"}, "inbound_nodes": []},
    {"name": "d", "class_name": "Dense", "config": {"name": "d", "trainable": true, "units": 2, "activation": "relu", "use_bias": true},
     "inbound_nodes": [[["input_1", 0, 0, {}]]]},
    {"name": "s", "class_name": "Add", "config": {"name": "s", "trainable": true},
     "inbound_nodes": [[["d", 0, 0, {}], ["input_1", 0, 0, {}]]]}],
    "input_layers": [["input_1", 0, 0]], "output_layers": [["s", 0, 0]]}}'
  k3 <- '{"module": "keras", "class_name": "Functional", "registered_name": "Functional", "config": {"name": "m3",
    "layers": [
    {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 2], "dtype": "float32", "sparse": false, "name": "inp"}, "registered_name": null, "name": "inp", "inbound_nodes": []},
    {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "trainable": true,
      "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
      "units": 2, "activation": "relu", "use_bias": true,
      "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}},
     "registered_name": null, "build_config": {"input_shape": [null, 2]}, "name": "d",
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 2], "dtype": "float32", "keras_history": ["inp", 0, 0]}}], "kwargs": {}}]},
    {"module": "keras.layers", "class_name": "Add", "config": {"name": "s", "trainable": true}, "registered_name": null, "name": "s",
     "inbound_nodes": [{"args": [[{"class_name": "__keras_tensor__", "config": {"shape": [null, 2], "dtype": "float32", "keras_history": ["d", 0, 0]}},
                                  {"class_name": "__keras_tensor__", "config": {"shape": [null, 2], "dtype": "float32", "keras_history": ["inp", 0, 0]}}]], "kwargs": {}}]}],
    "input_layers": [["inp", 0, 0]], "output_layers": [["s", 0, 0]]}}'
  w <- list(matrix(c(1, -1, 2, 0.5), 2), c(0.1, -0.2))
  x <- matrix(c(1, 2, -1, 3, 0.5, -2), 3)
  ref <- relu(x %*% w[[1]] + rep(w[[2]], each = 3)) + x
  for (js in c(k2, k3)) {
    m <- model_from_json(js)
    expect_false(m$sequential)
    set_weights(m, w)
    expect_equal(predict(m, x), ref, tolerance = 1e-6)
  }
})

test_that("unknown layer classes name the class and suggest custom_objects", {
  js <- '{"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "MyDense", "config": {"name": "my", "units": 2, "batch_input_shape": [null, 3]}}]}}'
  expect_error(model_from_json(js), "unknown layer class 'MyDense'.*custom_objects")
  m <- model_from_json(js, custom_objects = list(MyDense = "Dense"))
  expect_equal(m$layers[[1]]$name, "my")
  expect_s3_class(m$layers[[1]], "keras.layers.core.Dense")
  seen <- NULL
  m2 <- model_from_json(js, custom_objects = list(MyDense = function(config) {
    seen <<- config$units
    layer_dense(units = config$units, name = config$name, batch_input_shape = list(NULL, 3))
  }))
  expect_equal(seen, 2)
  expect_equal(count_params(m2), 8)
  # the same through load_model_hdf5: the file's class name is kept as written
  expect_error(load_model_hdf5(tempfile()), "does not exist")
})

# ---- get_config / from_config / serialize ------------------------------------

test_that("get_config()/from_config() round trip models and layers", {
  m <- tiny_mlp(names = c("h", "o"))
  cfg <- get_config(m)
  expect_equal(attr(cfg, "config_class"), "Sequential")
  expect_equal(cfg$layers[[1]]$config$units, 4L)
  expect_equal(cfg$layers[[2]]$config$activation, "softmax")
  m2 <- from_config(cfg)
  expect_equal(model_to_json(m2), model_to_json(m))
  lc <- get_config(get_layer(m, "h"))
  expect_equal(attr(lc, "config_class"), "Dense")
  expect_equal(lc$name, "h")
  l2 <- from_config(lc)
  expect_equal(l2$name, "h")
  expect_s3_class(l2, "kerasnative_layer")
})

test_that("serialize_model()/unserialize_model() keep everything", {
  set.seed(14)
  d <- toy_data()
  m <- tiny_mlp()
  m %>% compile(optimizer = "rmsprop", loss = "categorical_crossentropy", metrics = "accuracy")
  fit(m, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  raw <- serialize_model(m)
  expect_type(raw, "raw")
  expect_equal(raw[1:8], as.raw(c(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)))  # HDF5 signature
  m2 <- unserialize_model(raw)
  expect_identical(predict(m2, d$x), predict(m, d$x))
  expect_equal(m2$optimizer$class_name, "RMSprop")
  expect_error(unserialize_model("x"), "raw vector")
})

# ---- saveRDS / readRDS -----------------------------------------------------------

test_that("models survive saveRDS()/readRDS() and keep training identically", {
  set.seed(15)
  d <- toy_data()
  m <- tiny_mlp()
  m %>% compile(optimizer = optimizer_rmsprop(lr = 0.01, decay = 0.05), loss = "categorical_crossentropy",
                metrics = "accuracy")
  fit(m, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  saveRDS(m, f)
  m2 <- readRDS(f)
  expect_true(kerasnative:::cpp_ptr_is_null(.subset2(m2, "ptr")))
  expect_identical(predict(m2, d$x), predict(m, d$x))
  expect_false(kerasnative:::cpp_ptr_is_null(.subset2(m2, "ptr")))
  expect_equal(kerasnative:::cpp_model_optimizer(kerasnative:::model_ptr(m2))$iterations, 4)
  set.seed(3); fit(m, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  set.seed(3); fit(m2, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  expect_identical(get_weights(m2), get_weights(m))

  # functional, uncompiled; and an empty Sequential
  inp <- layer_input(shape = 3)
  fm <- keras_model(inp, inp %>% layer_dense(units = 2))
  saveRDS(fm, f)
  fm2 <- readRDS(f)
  expect_identical(predict(fm2, d$x), predict(fm, d$x))
  es <- keras_model_sequential()
  saveRDS(es, f)
  es2 <- readRDS(f)
  es2 %>% layer_dense(units = 2, input_shape = 3)
  expect_length(es2$layers, 1)
})

test_that("a model without saved state gives a clear error", {
  inp <- layer_input(shape = 3)
  m <- keras_model(inp, inp %>% layer_dense(units = 2))
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  saveRDS(m, f)
  m2 <- readRDS(f)
  rm("state", envir = m2)
  expect_error(predict(m2, matrix(1, 1, 3)), "no saved state")
})

test_that("saving an 843k-parameter model with serialize() is fast", {
  skip_on_cran()
  m <- keras_model_sequential() %>%
    layer_conv_2d(filters = 32, kernel_size = 3, padding = "same", activation = "relu", input_shape = c(28, 28, 1)) %>%
    layer_max_pooling_2d(padding = "same") %>%
    layer_conv_2d(filters = 64, kernel_size = 3, padding = "same", activation = "relu") %>%
    layer_max_pooling_2d(padding = "same") %>%
    layer_flatten() %>%
    layer_dense(units = 256, activation = "relu") %>%
    layer_dense(units = 84, activation = "relu") %>%
    layer_dense(units = 10)
  expect_equal(count_params(m), 844326)
  m %>% compile(optimizer = "adam", loss = "mse")
  times <- vapply(1:3, function(i) system.time(serialize(m, NULL))[["elapsed"]], 0)
  expect_lt(min(times), 0.1)
})

# ---- bad input -------------------------------------------------------------------

test_that("bad files and overwrite = FALSE give clear errors", {
  m <- tiny_mlp()
  expect_error(load_model_weights_hdf5(m, tempfile()), "does not exist")
  txt <- tempfile(fileext = ".h5")
  on.exit(unlink(txt))
  writeLines("not hdf5", txt)
  before <- get_weights(m)
  expect_error(load_model_weights_hdf5(m, txt), "load_model_weights_hdf5\\(\\)")
  expect_error(load_model_hdf5(txt), "load_model_hdf5\\(\\)")
  expect_identical(get_weights(m), before)
  # existing file, overwrite = FALSE, not interactive: error, file untouched
  expect_error(save_model_hdf5(m, txt, overwrite = FALSE), "already exists")
  expect_error(save_model_weights_hdf5(m, txt, overwrite = FALSE), "already exists")
  expect_equal(readLines(txt), "not hdf5")
  # weights-only file given to load_model_hdf5
  w <- tempfile(fileext = ".h5")
  save_model_weights_hdf5(m, w)
  expect_error(load_model_hdf5(w), "weights only")
  unlink(w)
  expect_error(save_model_hdf5(keras_model_sequential(), tempfile()), "no layers")
})

# ---- evidence: real Keras files ------------------------------------------------------

test_that("DL4J's Keras 2.0.6 MLP reproduces Keras's stored outputs", {
  d <- keras_h5_dir()
  io <- file.path(d, "dl4j_mnist_mlp_tf_keras_2_inputs_and_outputs.h5")
  x <- kerasnative:::cpp_h5_dataset(io, "inputs/dense_1_input")
  y <- kerasnative:::cpp_h5_dataset(io, "predictions/dense_3")
  expect_equal(dim(x), c(100L, 784L))
  # architecture from Keras's JSON
  m <- model_from_json(file.path(d, "dl4j_mnist_mlp_tf_keras_2_config.json"))
  load_model_weights_hdf5(m, file.path(d, "dl4j_mnist_mlp_tf_keras_2_weights.h5"))
  expect_lt(max(abs(predict(m, x) - y)), 1e-5)
  # architecture by hand, loaded by order (names differ from the file)
  k_clear_session()
  h <- keras_model_sequential() %>%
    layer_dense(units = 512, activation = "relu", input_shape = 784) %>%
    layer_dropout(rate = 0.2) %>%
    layer_dense(units = 512, activation = "relu") %>%
    layer_dropout(rate = 0.2) %>%
    layer_dense(units = 10, activation = "softmax")
  load_model_weights_hdf5(h, file.path(d, "dl4j_mnist_mlp_tf_keras_2_weights.h5"))
  expect_lt(max(abs(predict(h, x) - y)), 1e-5)
  expect_equal(max.col(predict(h, x)), max.col(y))
})

test_that("dnnrepair's Keras 2.2.4 CNN loads with compile settings and scores 0.9854 on MNIST test", {
  d <- keras_h5_dir()
  skip_if(is.null(shared_testdata()), "no MNIST")
  m <- load_model_hdf5(file.path(d, "dnnrepair_mnist0_cnn_full_keras224.hdf5"))
  expect_equal(vapply(m$layers, function(l) l$name, "")[c(1, 7, 10)], c("conv2d_1", "dense_1", "activation_4"))
  expect_equal(m$optimizer$class_name, "Adam")
  expect_equal(m$loss, "categorical_crossentropy")
  expect_equal(kerasnative:::cpp_model_optimizer(kerasnative:::model_ptr(m))$iterations, 9380)
  mn <- test_mnist()
  skip_if(nrow(mn$test$y) < 10000 && length(mn$test$y) < 10000, "full MNIST not available")
  x <- array(mn$test$x, c(dim(mn$test$x), 1))   # raw 0..255, no scaling (as trained)
  ev <- evaluate(m, x, to_categorical(mn$test$y, 10), verbose = 0)
  expect_equal(ev$acc, 0.9854, tolerance = 1e-4)
  # training resumes from the stored Adam state: iterations continue
  fit(m, x[1:64, , , , drop = FALSE], to_categorical(mn$test$y[1:64], 10), batch_size = 32, epochs = 1, verbose = 0)
  expect_equal(kerasnative:::cpp_model_optimizer(kerasnative:::model_ptr(m))$iterations, 9382)
})

test_that("hotaruk's Keras 2.12 MLP loads (InputLayer, Custom>Adam, new slots) and scores ~0.9977 on digits10k", {
  d <- keras_h5_dir()
  td <- shared_testdata()
  img <- file.path(td, "mnist", "digits10k-images-idx3-ubyte.gz")
  skip_if(!file.exists(img), "digits10k not available")
  m <- load_model_hdf5(file.path(d, "hotaruk_mnist_mlp_full_keras212.h5"))
  expect_equal(m$input_shape, list(NULL, 28L, 28L))
  expect_equal(m$optimizer$class_name, "Adam")
  expect_equal(m$loss, "sparse_categorical_crossentropy")
  expect_equal(m$metrics_names, c("loss", "acc"))
  expect_equal(kerasnative:::cpp_model_optimizer(kerasnative:::model_ptr(m))$iterations, 18750)
  x <- kerasnative:::read_idx(img) / 255
  y <- kerasnative:::read_idx(file.path(td, "mnist", "digits10k-labels-idx1-ubyte.gz"))
  ev <- evaluate(m, x, y, verbose = 0)
  expect_equal(ev$acc, 0.9977, tolerance = 2e-4)
  expect_equal(mean(max.col(predict(m, x)) - 1 == y), ev$acc)
})

test_that("kotlindl's tf.keras LeNet loads and scores the stated 0.8414 on Fashion-MNIST", {
  d <- keras_h5_dir()
  m <- model_from_json(file.path(d, "kotlindl_lenet_fashion_modelConfig.json"))
  expect_equal(count_params(m), 844326)
  load_model_weights_hdf5(m, file.path(d, "kotlindl_lenet_fashion_weights_tfkeras.h5"))
  info <- h5_info(file.path(d, "kotlindl_lenet_fashion_weights_tfkeras.h5"))
  expect_identical(get_weights(get_layer(m, "dense_2"))[[2]],
                   unname(kerasnative:::cpp_h5_layer_weights(info$handle, "dense_2")[[2]]))
  fd <- "/usr/share/datasets/fashion-mnist"
  skip_if(!file.exists(file.path(fd, "t10k-images-idx3-ubyte.gz")), "Fashion-MNIST (dataset-fashion-mnist) not installed")
  x <- kerasnative:::read_idx(file.path(fd, "t10k-images-idx3-ubyte.gz")) / 255
  y <- kerasnative:::read_idx(file.path(fd, "t10k-labels-idx1-ubyte.gz"))
  p <- predict(m, array(x, c(dim(x), 1)))
  expect_equal(mean(max.col(p) - 1 == y), 0.8414, tolerance = 2e-4)
})

test_that("multi-output models keep per-output losses and loss weights", {
  set.seed(16)
  inp <- layer_input(shape = 3, name = "i")
  h <- inp %>% layer_dense(units = 4, activation = "relu", name = "h")
  o1 <- h %>% layer_dense(units = 1, name = "reg")
  o2 <- h %>% layer_dense(units = 2, activation = "softmax", name = "cls")
  m <- keras_model(inp, list(o1, o2))
  m %>% compile(optimizer = "sgd", loss = c("mse", "categorical_crossentropy"), loss_weights = c(0.5, 2))
  d <- toy_data(32)
  y <- list(matrix(d$x[, 1], ncol = 1), d$y)
  fit(m, d$x, y, epochs = 1, batch_size = 8, verbose = 0)
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f)
  tc <- jsonlite::fromJSON(h5_info(f)$training_config, simplifyVector = FALSE)
  expect_equal(tc$loss, list("mse", "categorical_crossentropy"))
  expect_equal(unlist(tc$loss_weights), c(0.5, 2))
  m2 <- load_model_hdf5(f)
  expect_equal(m2$metrics_names, m$metrics_names)
  expect_equal(evaluate(m2, d$x, y, verbose = 0), evaluate(m, d$x, y, verbose = 0))
})

test_that("re-saving Keras 2.2.4's file reproduces its layout, names and optimizer state", {
  d <- keras_h5_dir()
  src <- file.path(d, "dnnrepair_mnist0_cnn_full_keras224.hdf5")
  m <- load_model_hdf5(src)
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f)
  a <- h5_info(src)
  b <- h5_info(f)
  expect_equal(b$layer_names, a$layer_names)
  expect_equal(b$weight_names, a$weight_names)
  expect_equal(b$optimizer_weight_names, a$optimizer_weight_names)
  ca <- jsonlite::fromJSON(a$model_config, simplifyVector = FALSE)
  cb <- jsonlite::fromJSON(b$model_config, simplifyVector = FALSE)
  expect_equal(cb$class_name, ca$class_name)
  expect_equal(cb$config$name, ca$config$name)
  strip <- function(l) l[setdiff(names(l), c("noise_shape", "seed"))]
  expect_equal(lapply(cb$config$layers, function(l) strip(l$config)),
               lapply(ca$config$layers, function(l) strip(l$config)))
  expect_equal(jsonlite::fromJSON(b$training_config), jsonlite::fromJSON(a$training_config))
  # arrays identical, optimizer moments included
  for (ln in c("conv2d_1", "dense_2"))
    expect_identical(kerasnative:::cpp_h5_layer_weights(b$handle, ln), kerasnative:::cpp_h5_layer_weights(a$handle, ln))
})
