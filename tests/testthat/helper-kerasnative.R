# Shared test helpers.

# ../shared/testdata beside the package root (or $KERASNATIVE_SHARED); NULL if absent.
shared_testdata <- function() {
  cands <- c(Sys.getenv("KERASNATIVE_SHARED", ""),
             file.path(testthat::test_path(), "..", "..", "..", "shared", "testdata"))
  for (d in cands) {
    if (!nzchar(d)) next
    for (sub in c(d, file.path(d, "testdata"))) if (dir.exists(file.path(sub, "mnist"))) return(normalizePath(sub))
  }
  NULL
}

# MNIST for tests: the full set from ../shared when present, else the bundled
# sample. Returns dataset_mnist()'s structure.
test_mnist <- function() {
  home <- tempfile("kerashome")
  dir.create(file.path(home, "datasets"), recursive = TRUE)
  old <- Sys.getenv("KERAS_HOME")
  on.exit(Sys.setenv(KERAS_HOME = old))
  Sys.setenv(KERAS_HOME = home)
  td <- shared_testdata()
  if (!is.null(td)) {
    files <- c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    file.copy(file.path(td, "mnist", files), file.path(home, "datasets"))
  }
  withr_opts <- options(kerasnative.offline = TRUE)
  on.exit(options(withr_opts), add = TRUE)
  suppressWarnings(dataset_mnist())
}

# A small, fast MLP like seed 001's.
mlp_model <- function(units = c(32, 16), input = 784, classes = 10) {
  model <- keras_model_sequential()
  model %>% layer_dense(units = units[1], activation = "relu", input_shape = input) %>%
    layer_dropout(rate = 0.2) %>%
    layer_dense(units = units[2], activation = "relu") %>%
    layer_dense(units = classes, activation = "softmax")
  model
}

`%||%` <- function(a, b) if (is.null(a)) b else a
