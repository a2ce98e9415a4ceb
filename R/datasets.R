# Dataset loaders: MNIST and Fashion-MNIST, read natively (no Python).
#
# Supported on-disk formats:
#   * NumPy .npz archives (a zip of .npy files), as distributed by Keras
#     ("mnist.npz": x_train.npy, y_train.npy, x_test.npy, y_test.npy);
#   * IDX files (the original MNIST / Fashion-MNIST format), gzipped or plain.
# The file formats are read in C++ (src/formats/idx.cpp, npy.cpp); every
# dataset is checked (28 x 28 images, pixels 0-255, labels 0-9, counts).
#
# Options (all optional):
#   kerasnative.offline           TRUE disables every download attempt.
#   kerasnative.download_timeout  seconds allowed for one download (default 60).
#   kerasnative.datasets_url      base URL of the downloads (default below; any
#                                 URL download.file() accepts, e.g. file://).
#   kerasnative.fashion_mnist_system_dir  system copy of Fashion-MNIST
#                                 (default /usr/share/datasets/fashion-mnist).

kn_default_datasets_url <- "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

kn_datasets_base_url <- function() {
  url <- getOption("kerasnative.datasets_url", kn_default_datasets_url)
  if (!grepl("/$", url)) url <- paste0(url, "/")
  url
}

kn_idx_names <- c(
  train_x = "train-images-idx3-ubyte",
  train_y = "train-labels-idx1-ubyte",
  test_x  = "t10k-images-idx3-ubyte",
  test_y  = "t10k-labels-idx1-ubyte"
)

# ---------------------------------------------------------------------------
# Cache directory, paths, downloads
# ---------------------------------------------------------------------------

# The Keras dataset cache: file.path(Sys.getenv("KERAS_HOME", "~/.keras"), "datasets").
keras_datasets_dir <- function() {
  home <- Sys.getenv("KERAS_HOME", "")
  if (!nzchar(home)) home <- "~/.keras"
  file.path(path.expand(home), "datasets")
}

is_absolute_path <- function(path) {
  grepl("^(/|~|[A-Za-z]:[/\\\\]|\\\\\\\\)", path)
}

# Directory holding the bundled real-MNIST sample (5000 train / 1000 test digits).
mnist_sample_path <- function() {
  p <- system.file("extdata", "mnist-sample", package = "kerasnative")
  if (nzchar(p)) return(p)
  # Development fallback: package sourced from a source tree, not installed.
  for (cand in file.path(c(".", "..", file.path("..", "..")), "inst", "extdata", "mnist-sample")) {
    if (dir.exists(cand)) return(normalizePath(cand))
  }
  stop("the bundled MNIST sample (inst/extdata/mnist-sample) cannot be found; ",
       "is the kerasnative package installed?", call. = FALSE)
}

downloads_disabled <- function() isTRUE(getOption("kerasnative.offline", FALSE))

# Try to download `url` to `dest`. Returns TRUE on success, FALSE on any failure
# (offline, DNS, HTTP error, timeout); never raises an error. The file is first
# written to `dest`.part and only renamed once complete.
kn_download <- function(url, dest) {
  if (downloads_disabled()) return(FALSE)
  dir.create(dirname(dest), recursive = TRUE, showWarnings = FALSE)
  if (!dir.exists(dirname(dest))) return(FALSE)
  part <- paste0(dest, ".part")
  old <- options(timeout = getOption("kerasnative.download_timeout", 60))
  on.exit(options(old), add = TRUE)
  ok <- tryCatch({
    message("Downloading ", url)
    utils::download.file(url, part, mode = "wb", quiet = TRUE) == 0L
  }, error = function(e) FALSE, warning = function(w) FALSE)
  ok <- isTRUE(ok) && file.exists(part) && file.size(part) > 0
  if (ok) ok <- file.rename(part, dest)
  if (!ok) unlink(part)
  ok
}

# Look for the four IDX files (each either `name.gz` or `name`) in `dir`.
# Returns a named character vector of paths, or NULL when none is present.
# A partial set is an error naming the missing files.
find_idx_set <- function(dir, names = kn_idx_names) {
  found <- vapply(names, function(nm) {
    cands <- file.path(dir, c(paste0(nm, ".gz"), nm))
    hit <- cands[file.exists(cands) & !dir.exists(cands)]
    if (length(hit)) hit[[1]] else NA_character_
  }, character(1))
  if (all(is.na(found))) return(NULL)
  if (anyNA(found)) {
    stop(sprintf("incomplete IDX dataset in '%s': found %s but missing %s (each as NAME or NAME.gz)",
                 dir, paste(basename(found[!is.na(found)]), collapse = ", "),
                 paste(names[is.na(found)], collapse = ", ")), call. = FALSE)
  }
  found
}

# ---------------------------------------------------------------------------
# IDX / NPY / NPZ readers (C++: src/formats/idx.cpp, npy.cpp)
# ---------------------------------------------------------------------------

# Errors from the C++ readers name the file and byte offset themselves.
kn_read_native <- function(expr) {
  tryCatch(expr, error = function(e) stop(conditionMessage(e), call. = FALSE))
}

# Read a whole IDX file (gzipped or plain). Returns, for a 1-D file, a plain
# vector; otherwise an array whose R indices equal the IDX (C-order) indices,
# e.g. images x[i, r, c] = image i, row r, column c. Integer types give R
# integers, float/double give doubles.
read_idx <- function(file) kn_read_native(cpp_read_idx(path.expand(file)))

# Read a NumPy .npy file. Supports format versions 1-3, little/big endian,
# C and Fortran order, dtypes b1, i1, u1, i2, u2, i4, u4, i8, u8, f4, f8.
# Integers of up to 4 bytes (except u4) give R integers; u4, i8, u8 give
# doubles (i8/u8 exact up to 2^53). 1-D arrays are returned as plain vectors.
read_npy <- function(file, name = file) kn_read_native(cpp_read_npy(path.expand(file), name))

# Read the named members of a .npz archive (zip of .npy files, stored or
# deflated). Returns a named list of arrays.
read_npz <- function(file, members) kn_read_native(cpp_read_npz(path.expand(file), members))

# ---------------------------------------------------------------------------
# Assembling the datasets
# ---------------------------------------------------------------------------

# Check and assemble list(train = list(x, y), test = list(x, y)): images must
# be n x 28 x 28 with integer pixel values 0-255, labels integers 0-9, one per
# image. `what` names the source for error messages.
make_image_dataset <- function(x_train, y_train, x_test, y_test, what) {
  fail <- function(...) stop(sprintf("%s: %s", what, sprintf(...)), call. = FALSE)
  check <- function(x, y, split) {
    dx <- if (is.null(dim(x))) length(x) else dim(x)
    if (length(dx) != 3L) {
      fail("%s images should be a 3-D array (n x 28 x 28), got dimensions %s", split,
           paste(dx, collapse = " x "))
    }
    if (dx[2] != 28L || dx[3] != 28L) {
      fail("%s images should be 28 x 28 pixels, got %d x %d (array %s)", split, dx[2], dx[3],
           paste(dx, collapse = " x "))
    }
    if (!is.null(dim(y)) && length(dim(y)) != 1L) {
      fail("%s labels should be 1-D, got dimensions %s", split, paste(dim(y), collapse = " x "))
    }
    if (dx[1] != length(y)) fail("%d %s images but %d labels", dx[1], split, length(y))
    if (!is.numeric(x) || (length(x) && (anyNA(x) || any(x != round(x)) || min(x) < 0 || max(x) > 255))) {
      bad <- if (is.numeric(x)) which(is.na(x) | x != round(x) | x < 0 | x > 255)[1] else 1L
      fail("%s pixel values should be integers 0 to 255, found %s", split,
           if (is.numeric(x)) format(x[bad]) else typeof(x))
    }
    storage.mode(x) <- "integer"
    y <- as.vector(y)
    bad <- if (is.numeric(y)) which(is.na(y) | y != round(y) | y < 0 | y > 9) else 1L
    if (length(bad)) {
      fail("%s labels should be integers 0 to 9, found %s (label %d)", split,
           if (is.numeric(y)) format(y[bad[1]]) else typeof(y), bad[1])
    }
    storage.mode(y) <- "integer"
    list(x = x, y = y)
  }
  list(train = check(x_train, y_train, "training"), test = check(x_test, y_test, "test"))
}

load_idx_dataset <- function(files, what) {
  make_image_dataset(read_idx(files[["train_x"]]), read_idx(files[["train_y"]]),
                     read_idx(files[["test_x"]]), read_idx(files[["test_y"]]), what)
}

load_mnist_npz <- function(file) {
  a <- read_npz(file, c("x_train", "y_train", "x_test", "y_test"))
  make_image_dataset(a$x_train, a$y_train, a$x_test, a$y_test, sprintf("'%s'", file))
}

#' MNIST database of handwritten digits
#'
#' Loads the MNIST dataset: 60,000 28 x 28 greyscale training images of the
#' ten digits and 10,000 test images, as in the Keras R interface.
#'
#' The data are looked for in the Keras dataset cache directory,
#' `file.path(Sys.getenv("KERAS_HOME", "~/.keras"), "datasets")`, in this order:
#' \enumerate{
#'   \item the NumPy archive `path` (default `mnist.npz`, as distributed by Keras;
#'     an absolute `path` is used as is);
#'   \item the four original IDX files `train-images-idx3-ubyte`,
#'     `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
#'     `t10k-labels-idx1-ubyte`, each gzipped (`.gz`) or not;
#'   \item a download of `mnist.npz` from
#'     <https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz>
#'     into the cache directory (skipped when `options(kerasnative.offline = TRUE)`;
#'     the time allowed is `getOption("kerasnative.download_timeout", 60)` seconds);
#'   \item otherwise, with a warning, a sample of real MNIST bundled with the
#'     package: the first 5,000 training and first 1,000 test digits. To use the
#'     full set offline, put `mnist.npz` or the IDX files in the cache directory.
#' }
#' Everything is read natively (no Python). A file that is present but
#' invalid (bad magic number, truncated, inconsistent sizes) is an error naming
#' the file and byte offset, and so is a dataset that is not MNIST-shaped
#' (images other than 28 x 28, pixels outside 0-255, labels outside 0-9, or
#' image and label counts that differ).
#'
#' @param path Name of the `.npz` file, relative to the cache directory
#'   (or an absolute path).
#' @return A list `list(train = list(x, y), test = list(x, y))`. `x` is an
#'   integer array of dimension n x 28 x 28 with values 0 to 255, where
#'   `x[i, r, c]` is the pixel at row `r`, column `c` of image `i`; `y` is an
#'   integer vector of the n digit labels (0 to 9).
#' @seealso [dataset_fashion_mnist()]
#' @examples
#' # Offline example: an empty cache directory and downloads disabled, so the
#' # bundled 5,000/1,000-digit sample is used (with a warning).
#' old_home <- Sys.getenv("KERAS_HOME", NA)
#' old_opt <- options(kerasnative.offline = TRUE)
#' Sys.setenv(KERAS_HOME = tempfile("keras_home"))
#' mnist <- suppressWarnings(dataset_mnist())
#' dim(mnist$train$x)
#' table(mnist$train$y)
#' # the first training digit, drawn as an image
#' image(t(mnist$train$x[1, 28:1, ]), col = grey.colors(256, 1, 0))
#' options(old_opt)
#' if (is.na(old_home)) Sys.unsetenv("KERAS_HOME") else Sys.setenv(KERAS_HOME = old_home)
#' @export
dataset_mnist <- function(path = "mnist.npz") {
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    stop("`path` must be a single non-empty file name", call. = FALSE)
  }
  cache <- keras_datasets_dir()
  npz <- if (is_absolute_path(path)) path.expand(path) else file.path(cache, path)
  if (file.exists(npz)) return(load_mnist_npz(npz))

  idx <- find_idx_set(cache)
  if (!is.null(idx)) return(load_idx_dataset(idx, sprintf("MNIST IDX files in '%s'", cache)))

  if (kn_download(paste0(kn_datasets_base_url(), "mnist.npz"), npz)) return(load_mnist_npz(npz))

  warning(sprintf(paste0(
    "MNIST not found in '%s' and could not be downloaded; using the sample bundled with ",
    "kerasnative (first 5000 training and 1000 test digits). For the full dataset put ",
    "'mnist.npz' (from %smnist.npz) or the four IDX files (train-images-idx3-ubyte, ",
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz) ",
    "in that directory (set KERAS_HOME to change it)."), cache, kn_datasets_base_url()),
    call. = FALSE)
  sample_dir <- mnist_sample_path()
  load_idx_dataset(find_idx_set(sample_dir), "bundled MNIST sample")
}

#' Fashion-MNIST database of fashion articles
#'
#' Loads Fashion-MNIST: 60,000 28 x 28 greyscale training images of ten
#' categories of clothing and 10,000 test images, as in the Keras R interface.
#' Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
#' 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
#'
#' The four IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
#' `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each gzipped or not) are
#' looked for in this order:
#' \enumerate{
#'   \item `fashion-mnist/` in the Keras dataset cache directory
#'     `file.path(Sys.getenv("KERAS_HOME", "~/.keras"), "datasets")`;
#'   \item `/usr/share/datasets/fashion-mnist`, where Debian's
#'     `dataset-fashion-mnist` package installs them;
#'   \item a download of the `.gz` files from
#'     <https://storage.googleapis.com/tensorflow/tf-keras-datasets/> into the
#'     cache (skipped when `options(kerasnative.offline = TRUE)`).
#' }
#' If none succeeds, an error explains where to put the files.
#'
#' @return A list `list(train = list(x, y), test = list(x, y))`, with `x` an
#'   integer array n x 28 x 28 (values 0 to 255, `x[i, r, c]` = row `r`,
#'   column `c` of image `i`) and `y` an integer vector of labels 0 to 9.
#' @seealso [dataset_mnist()]
#' @examples
#' # Works offline when the files are cached or the Debian package is installed.
#' old_opt <- options(kerasnative.offline = TRUE)
#' fashion <- tryCatch(dataset_fashion_mnist(), error = function(e) NULL)
#' if (!is.null(fashion)) print(dim(fashion$train$x))
#' options(old_opt)
#' @export
dataset_fashion_mnist <- function() {
  cache <- file.path(keras_datasets_dir(), "fashion-mnist")
  idx <- find_idx_set(cache)
  if (!is.null(idx)) return(load_idx_dataset(idx, sprintf("Fashion-MNIST IDX files in '%s'", cache)))

  system_dir <- getOption("kerasnative.fashion_mnist_system_dir", "/usr/share/datasets/fashion-mnist")
  idx <- if (dir.exists(system_dir)) find_idx_set(system_dir) else NULL
  if (!is.null(idx)) {
    return(load_idx_dataset(idx, sprintf("Fashion-MNIST IDX files in '%s'", system_dir)))
  }

  if (!downloads_disabled()) {
    files <- file.path(cache, paste0(kn_idx_names, ".gz"))
    ok <- TRUE
    for (i in seq_along(files)) {
      if (!kn_download(paste0(kn_datasets_base_url(), basename(files[[i]])), files[[i]])) {
        ok <- FALSE
        break
      }
    }
    if (ok) {
      names(files) <- names(kn_idx_names)
      return(load_idx_dataset(files, sprintf("Fashion-MNIST IDX files in '%s'", cache)))
    }
    unlink(files)  # do not leave a partial set behind
  }

  stop(sprintf(paste0(
    "Fashion-MNIST not found: looked in '%s' and '%s'%s. Put the IDX files ",
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and ",
    "t10k-labels-idx1-ubyte (optionally .gz, from %s) in '%s', or install the Debian ",
    "package dataset-fashion-mnist."), cache, system_dir,
    if (downloads_disabled()) " (downloads disabled by options(kerasnative.offline = TRUE))"
    else " and the download failed", kn_datasets_base_url(), cache), call. = FALSE)
}
