# CIFAR-10, CIFAR-100 and Boston housing, read from the Keras cache
# (file.path(Sys.getenv("KERAS_HOME", "~/.keras"), "datasets")) as keras
# 2.2.5 leaves them there: CIFAR as the extracted Python batches (pickles,
# read by datasets-pickle.R) or their .tar.gz; Boston as boston_housing.npz.
# The CIFAR binary distributions (cifar-10-batches-bin/, cifar-100-binary/)
# are read too. A missing file is downloaded as Keras does unless
# options(kerasnative.offline = TRUE); otherwise a clear error.

# ---------------------------------------------------------------- numpy's RNG

# numpy's legacy RandomState (MT19937 seeded by init_genrand), enough for
# np.random.seed(seed); np.random.shuffle(...) as Keras's loaders call them.
# uint32 values are held in doubles; xor/and work on 16-bit halves.
u32_xor <- function(a, b) {
  bitwXor(a %/% 65536, b %/% 65536) * 65536 + bitwXor(a %% 65536, b %% 65536)
}
u32_and <- function(a, b) {
  bitwAnd(a %/% 65536, b %/% 65536) * 65536 + bitwAnd(a %% 65536, b %% 65536)
}
u32_mul <- function(a, b) {  # (a * b) mod 2^32, a < 2^32, b < 2^32
  ((((a %/% 65536) * b) %% 65536) * 65536 + (a %% 65536) * b) %% 2^32
}

numpy_rng <- function(seed) {
  mt <- numeric(624)
  mt[1] <- seed %% 2^32
  for (i in 2:624) {
    prev <- mt[i - 1]
    mt[i] <- (u32_mul(u32_xor(prev, prev %/% 2^30), 1812433253) + (i - 1)) %% 2^32
  }
  st <- new.env(parent = emptyenv())
  st$mt <- mt; st$pos <- 625L
  twist <- function() {
    m <- st$mt
    for (i in 1:624) {
      y <- (m[i] %/% 2^31) * 2^31 + m[(i %% 624) + 1] %% 2^31
      v <- u32_xor(m[((i + 396) %% 624) + 1], y %/% 2)
      if (y %% 2 == 1) v <- u32_xor(v, 2567483615)  # 0x9908b0df
      m[i] <- v
    }
    st$mt <- m; st$pos <- 1L
  }
  next_u32 <- function() {
    if (st$pos > 624L) twist()
    y <- st$mt[st$pos]; st$pos <- st$pos + 1L
    y <- u32_xor(y, y %/% 2^11)
    y <- u32_xor(y, u32_and((y * 2^7) %% 2^32, 2636928640))   # 0x9d2c5680
    y <- u32_xor(y, u32_and((y * 2^15) %% 2^32, 4022730752))  # 0xefc60000
    u32_xor(y, y %/% 2^18)
  }
  list(
    next_u32 = next_u32,
    # random_sample(): 53-bit double from two draws
    uniform = function() ((next_u32() %/% 32) * 67108864 + next_u32() %/% 64) / 9007199254740992,
    # legacy random_interval(max): masked rejection sampling in [0, max]
    interval = function(max) {
      if (max == 0) return(0)
      mask <- 2^ceiling(log2(max + 1)) - 1
      repeat { v <- u32_and(next_u32(), mask); if (v <= max) return(v) }
    }
  )
}

# The permutation np.random.seed(seed); np.random.shuffle(arange(n)) gives,
# 1-based.
numpy_shuffle_index <- function(n, seed) {
  rng <- numpy_rng(seed)
  idx <- seq_len(n)
  if (n > 1) for (i in (n - 1):1) {
    j <- rng$interval(i)
    tmp <- idx[i + 1]; idx[i + 1] <- idx[j + 1]; idx[j + 1] <- tmp
  }
  idx
}

# ---------------------------------------------------------------- files

# The cached directory `dir` of a Keras dataset, extracting `dir`.tar.gz or
# downloading it from `url` when needed; NULL when none of that is possible.
keras_cached_dir <- function(dir, url) {
  cache <- keras_datasets_dir()
  path <- file.path(cache, dir)
  if (dir.exists(path)) return(path)
  tgz <- paste0(path, ".tar.gz")
  if (!file.exists(tgz) && !kn_download(url, tgz)) return(NULL)
  ok <- tryCatch(utils::untar(tgz, exdir = cache) == 0, error = function(e) FALSE)
  if (!ok || !dir.exists(path))
    stop(sprintf("cannot extract '%s' into '%s' (is it a complete .tar.gz?)", tgz, cache), call. = FALSE)
  path
}

# One CIFAR Python batch: list(x = (N, 32, 32, 3) integers, y = integer labels).
read_cifar_pickle <- function(path, label_key) {
  if (!file.exists(path)) stop(sprintf("CIFAR batch '%s' is missing", path), call. = FALSE)
  d <- py_pickle_read(path, "CIFAR batch")
  if (!inherits(d, "py_dict")) stop(sprintf("CIFAR batch '%s' does not hold a dict", path), call. = FALSE)
  data <- py_get(d, "data"); labels <- py_get(d, label_key)
  if (is.null(data) || is.null(labels))
    stop(sprintf("CIFAR batch '%s' has no '%s' entry", path, if (is.null(data)) "data" else label_key), call. = FALSE)
  labels <- as.integer(unlist(labels))
  if (!is.matrix(data) || ncol(data) != 3072 || nrow(data) != length(labels))
    stop(sprintf("CIFAR batch '%s': expected a (%d, 3072) data array, got (%s)", path, length(labels),
                 paste(dim(data) %||% length(data), collapse = ", ")), call. = FALSE)
  list(x = cifar_rows_to_images(t(data)), y = labels)
}

# (3072, N) pixel rows (channel, row, column in C order) to (N, 32, 32, 3).
cifar_rows_to_images <- function(cols) {
  n <- ncol(cols)
  a <- array(as.integer(cols), c(32, 32, 3, n))  # [col, row, channel, image]
  aperm(a, c(4, 2, 1, 3))
}

# A CIFAR binary file: records of `n_labels` label bytes + 3072 pixel bytes.
read_cifar_bin <- function(path, n_labels, label_index) {
  if (!file.exists(path)) stop(sprintf("CIFAR file '%s' is missing", path), call. = FALSE)
  rec <- n_labels + 3072
  size <- file.size(path)
  if (size %% rec != 0)
    stop(sprintf("CIFAR file '%s' has %d bytes, not a multiple of the %d-byte record", path, size, rec), call. = FALSE)
  con <- file(path, "rb"); on.exit(close(con))
  m <- matrix(as.integer(readBin(con, "raw", size)), nrow = rec)  # (rec, N)
  list(x = cifar_rows_to_images(m[-seq_len(n_labels), , drop = FALSE]), y = m[label_index, ])
}

cifar_join <- function(parts) {
  n <- vapply(parts, function(p) length(p$y), 0)
  x <- array(0L, c(sum(n), 32, 32, 3))
  at <- 0
  for (p in parts) { x[at + seq_along(p$y), , , ] <- p$x; at <- at + length(p$y) }
  list(x = x, y = matrix(unlist(lapply(parts, `[[`, "y")), ncol = 1))
}

cifar_missing <- function(name, dirs, url) {
  stop(sprintf(paste0(
    "%s not found in '%s' (looked for %s)%s. Put Keras's download (%s) there, extracted or as .tar.gz."),
    name, keras_datasets_dir(), paste0("'", dirs, "'", collapse = " and "),
    if (downloads_disabled()) " and downloads are disabled (options(kerasnative.offline = TRUE))"
    else " and the download failed", url), call. = FALSE)
}

#' CIFAR10 small image classification
#'
#' Dataset of 50,000 32x32 color training images, labeled over 10
#' categories, and 10,000 test images, read from the Keras cache
#' (`file.path(Sys.getenv("KERAS_HOME", "~/.keras"), "datasets")`): the
#' Python batches Keras extracts to `cifar-10-batches-py/` (or its `.tar.gz`),
#' or the binary version `cifar-10-batches-bin/`. When absent, the Python
#' version is downloaded (unless `options(kerasnative.offline = TRUE)`).
#'
#' @return Lists of training and test data: `train$x, train$y, test$x, test$y`.
#'   The `x` data is an integer array of RGB image data with shape
#'   `(num_samples, 32, 32, 3)` (values 0-255); the `y` data a one-column
#'   matrix of category labels (integers in range 0-9).
#' @family datasets
#' @export
dataset_cifar10 <- function() {
  url <- "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
  cache <- keras_datasets_dir()
  bin <- file.path(cache, "cifar-10-batches-bin")
  if (!dir.exists(file.path(cache, "cifar-10-batches-py")) && dir.exists(bin)) {
    train <- lapply(1:5, function(i) read_cifar_bin(file.path(bin, sprintf("data_batch_%d.bin", i)), 1, 1))
    test <- read_cifar_bin(file.path(bin, "test_batch.bin"), 1, 1)
  } else {
    dir <- keras_cached_dir("cifar-10-batches-py", url)
    if (is.null(dir)) cifar_missing("CIFAR-10", c("cifar-10-batches-py", "cifar-10-batches-bin"), url)
    train <- lapply(1:5, function(i) read_cifar_pickle(file.path(dir, sprintf("data_batch_%d", i)), "labels"))
    test <- read_cifar_pickle(file.path(dir, "test_batch"), "labels")
  }
  list(train = cifar_join(train), test = cifar_join(list(test)))
}

#' CIFAR100 small image classification
#'
#' Dataset of 50,000 32x32 color training images, labeled over 100
#' categories, and 10,000 test images, read from the Keras cache as
#' [dataset_cifar10()] reads CIFAR-10 (`cifar-100-python/`, its `.tar.gz`, or
#' the binary version `cifar-100-binary/`).
#'
#' @param label_mode one of "fine", "coarse".
#' @inherit dataset_cifar10 return
#' @family datasets
#' @export
dataset_cifar100 <- function(label_mode = c("fine", "coarse")) {
  label_mode <- check_string(label_mode[1], "dataset_cifar100", "label_mode", choices = c("fine", "coarse"))
  url <- "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
  cache <- keras_datasets_dir()
  bin <- file.path(cache, "cifar-100-binary")
  if (!dir.exists(file.path(cache, "cifar-100-python")) && dir.exists(bin)) {
    li <- if (label_mode == "coarse") 1 else 2
    train <- read_cifar_bin(file.path(bin, "train.bin"), 2, li)
    test <- read_cifar_bin(file.path(bin, "test.bin"), 2, li)
  } else {
    dir <- keras_cached_dir("cifar-100-python", url)
    if (is.null(dir)) cifar_missing("CIFAR-100", c("cifar-100-python", "cifar-100-binary"), url)
    key <- paste0(label_mode, "_labels")
    train <- read_cifar_pickle(file.path(dir, "train"), key)
    test <- read_cifar_pickle(file.path(dir, "test"), key)
  }
  list(train = cifar_join(list(train)), test = cifar_join(list(test)))
}

#' Boston housing price regression dataset
#'
#' Dataset taken from the StatLib library which is maintained at Carnegie
#' Mellon University, read from Keras's `boston_housing.npz` in the Keras
#' cache (downloaded when absent unless `options(kerasnative.offline = TRUE)`).
#' The samples are shuffled as Keras shuffles them (numpy's legacy generator
#' seeded with `seed`), so the split equals Keras's.
#'
#' @param path Path where to cache the dataset locally (relative to
#'   `~/.keras/datasets`, or absolute).
#' @param test_split fraction of the data to reserve as test set.
#' @param seed Random seed for shuffling the data before computing the test split.
#' @return Lists of training and test data: `train$x, train$y, test$x, test$y`;
#'   `x` is a matrix of 13 features per sample, `y` a vector of median values
#'   (in $1000s).
#' @family datasets
#' @export
dataset_boston_housing <- function(path = "boston_housing.npz", test_split = 0.2, seed = 113L) {
  fn <- "dataset_boston_housing"
  path <- check_string(path, fn, "path")
  if (!is.numeric(test_split) || length(test_split) != 1 || is.na(test_split) || test_split < 0 || test_split >= 1)
    arg_fail(fn, "test_split", "a number in [0, 1)", test_split)
  seed <- check_whole(seed, fn, "seed", min = 0, max = 2^32 - 1)
  file <- if (is_absolute_path(path)) path.expand(path) else file.path(keras_datasets_dir(), path)
  if (!file.exists(file) && !kn_download(paste0(kn_datasets_base_url(), "boston_housing.npz"), file))
    stop(sprintf("%s(): '%s' not found%s. Put Keras's boston_housing.npz (from %sboston_housing.npz) there.",
                 fn, file, if (downloads_disabled()) " and downloads are disabled (options(kerasnative.offline = TRUE))"
                 else " and the download failed", kn_datasets_base_url()), call. = FALSE)
  a <- read_npz(file, c("x", "y"))
  x <- a$x; y <- as.numeric(a$y)
  if (length(dim(x)) != 2 || nrow(x) != length(y))
    stop(sprintf("%s(): '%s' should hold x (n, features) and y (n); got x of dim (%s) and %d values of y", fn, file,
                 paste(dim(x) %||% length(x), collapse = ", "), length(y)), call. = FALSE)
  idx <- numpy_shuffle_index(nrow(x), seed)
  x <- x[idx, , drop = FALSE]; y <- y[idx]
  n_train <- floor(nrow(x) * (1 - test_split))
  tr <- seq_len(n_train)
  list(train = list(x = x[tr, , drop = FALSE], y = y[tr]),
       test = list(x = x[-tr, , drop = FALSE], y = y[-tr]))
}
