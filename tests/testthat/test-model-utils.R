make_mlp <- function() {
  keras_model_sequential() %>%
    layer_dense(units = 5, activation = "relu", input_shape = 3, name = "hidden") %>%
    layer_dropout(0.2) %>%
    layer_dense(units = 2, activation = "softmax", name = "out")
}

test_that("clone_model keeps the configuration and draws fresh, independent weights", {
  m <- make_mlp()
  c1 <- clone_model(m)
  expect_identical(model_to_json(c1), model_to_json(m))
  w0 <- get_weights(m); w1 <- get_weights(c1)
  expect_equal(lapply(w1, dim), lapply(w0, dim))
  expect_false(isTRUE(all.equal(w1[[1]], w0[[1]])))
  # training the clone leaves the original untouched
  c1 %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_sgd(lr = 0.5))
  c1 %>% fit(matrix(runif(30), 10), to_categorical(rep(0:1, 5), 2), epochs = 2, verbose = 0)
  expect_identical(get_weights(m), w0)
  # functional models too
  inp <- layer_input(shape = 4)
  out <- inp %>% layer_dense(3, name = "a") %>% layer_dense(1, name = "b")
  f <- keras_model(inp, out)
  expect_identical(model_to_json(clone_model(f)), model_to_json(f))
  expect_error(clone_model(f, input_tensors = inp), "input_tensors")
  expect_error(clone_model("model"), "must be a model")
})

test_that("model_to_yaml / model_from_yaml round-trip the configuration", {
  skip_if_not_installed("yaml")
  m <- make_mlp()
  y <- model_to_yaml(m)
  parsed <- yaml::yaml.load(y)
  expect_equal(parsed$class_name, "Sequential")
  expect_equal(parsed$config$layers[[1]]$config$units, 5L)
  m2 <- model_from_yaml(y)
  expect_identical(model_to_json(m2), model_to_json(m))
  f <- tempfile(fileext = ".yaml")
  writeLines(y, f)
  expect_identical(model_to_json(model_from_yaml(f)), model_to_json(m))
  expect_error(model_from_yaml("a: [1, 2"), "invalid YAML")
  expect_error(model_from_yaml("a: 1"), "does not describe a model")
})

test_that("use_session_with_seed makes model creation and training bitwise reproducible", {
  old <- kn_threads()
  on.exit(kn_threads(old))
  x <- matrix(seq(0, 1, length.out = 60), 20)
  y <- to_categorical(rep(0:1, 10), 2)
  run <- function(seed) {
    expect_message(use_session_with_seed(seed), sprintf("Set session seed to %d", seed))
    m <- make_mlp()
    m %>% compile(loss = "categorical_crossentropy", optimizer = "adam")
    m %>% fit(x, y, epochs = 3, batch_size = 4, verbose = 0)
    get_weights(m)
  }
  a <- run(42); b <- run(42); d <- run(7)
  expect_identical(a, b)
  expect_false(isTRUE(all.equal(a, d)))
  expect_equal(kn_threads(), 1)
  use_session_with_seed(1, disable_parallel_cpu = FALSE, quiet = TRUE)
  expect_equal(kn_threads(), 1)  # left as it was
  expect_error(use_session_with_seed("a"), "seed")
})
