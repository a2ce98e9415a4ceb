# Dataset loaders: MNIST and Fashion-MNIST, read natively in R (no Python).
#
# Supported on-disk formats:
#   * NumPy .npz archives (a zip of .npy files), as distributed by Keras
#     ("mnist.npz": x_train.npy, y_train.npy, x_test.npy, y_test.npy);
#   * IDX files (the original MNIST / Fashion-MNIST format), gzipped or plain.
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
# IDX reader
# ---------------------------------------------------------------------------

# Read a whole IDX file (gzipped or plain). Returns, for a 1-D file, a plain
# vector; otherwise an array whose R indices equal the IDX (C-order) indices,
# e.g. images x[i, r, c] = image i, row r, column c.
read_idx <- function(file) {
  if (!file.exists(file)) stop(sprintf("IDX file '%s' does not exist", file), call. = FALSE)
  fail <- function(...) stop(sprintf("invalid IDX file '%s': %s", file, sprintf(...)), call. = FALSE)
  con <- gzfile(file, "rb")  # transparently reads uncompressed files too
  on.exit(close(con))
  rd <- function(...) {
    tryCatch(readBin(con, ...), error = function(e) fail("read error (%s)", conditionMessage(e)),
             warning = function(w) fail("read error (%s)", conditionMessage(w)))
  }

  magic <- rd("raw", 4L)
  if (length(magic) < 4L) fail("truncated header: %d of 4 magic bytes", length(magic))
  if (magic[1] != 0 || magic[2] != 0) {
    fail("bad magic number 0x%s (expected 0x0000TTDD: two zero bytes, type code, number of dimensions)",
         paste(format(as.hexmode(as.integer(magic)), width = 2), collapse = ""))
  }
  type <- as.integer(magic[3])
  ndim <- as.integer(magic[4])
  types <- list(
    "8"  = list(what = "raw", size = 1L, name = "unsigned byte"),
    "9"  = list(what = "integer", size = 1L, name = "signed byte"),
    "11" = list(what = "integer", size = 2L, name = "short"),
    "12" = list(what = "integer", size = 4L, name = "int"),
    "13" = list(what = "double", size = 4L, name = "float"),
    "14" = list(what = "double", size = 8L, name = "double")
  )
  tp <- types[[as.character(type)]]
  if (is.null(tp)) fail("unknown data type code 0x%02x in magic number (expected 08, 09, 0b, 0c, 0d or 0e)", type)
  if (ndim < 1L) fail("number of dimensions is 0")

  dims <- rd("integer", ndim, size = 4L, endian = "big")
  if (length(dims) < ndim) fail("truncated header: %d of %d dimension sizes present", length(dims), ndim)
  if (any(dims < 0L)) fail("negative dimension size in header (%s)", paste(dims, collapse = " x "))
  n <- prod(as.numeric(dims))
  if (n > .Machine$integer.max) fail("header declares %.0f elements, too many", n)

  # Read in chunks so that a corrupt header cannot force one giant allocation.
  chunk <- 2^24
  parts <- list()
  got <- 0
  while (got < n) {
    want <- min(chunk, n - got)
    v <- if (tp$what == "raw") rd("raw", want)
         else rd(tp$what, want, size = tp$size, signed = TRUE, endian = "big")
    got <- got + length(v)
    parts[[length(parts) + 1L]] <- v
    if (length(v) < want) break
  }
  if (got < n) {
    fail("truncated data: header declares %s = %.0f %s values but only %.0f are present",
         paste(dims, collapse = " x "), n, tp$name, got)
  }
  if (length(rd("raw", 1L)) > 0L) {
    fail("unexpected trailing bytes after the %.0f values declared by the header (%s)",
         n, paste(dims, collapse = " x "))
  }
  v <- if (length(parts) == 1L) parts[[1L]] else do.call(c, parts)
  if (tp$what == "raw") v <- as.integer(v)
  c_order_array(v, dims)
}

# Turn data stored in C (row-major) order into an R array indexed like the
# original: result[i1, i2, ..., ik] = element (i1, ..., ik) of the C array.
c_order_array <- function(v, dims) {
  k <- length(dims)
  if (k <= 1L) return(as.vector(v))
  aperm(array(v, dim = rev(dims)), k:1)
}

# ---------------------------------------------------------------------------
# NPY / NPZ reader
# ---------------------------------------------------------------------------

# Read a NumPy .npy file. Supports format versions 1-3, little/big endian,
# C and Fortran order, dtypes b1, i1, u1, i2, u2, i4, u4, i8, u8, f4, f8.
# Integers of up to 4 bytes (except u4) give R integers; u4, i8, u8 give
# doubles (i8/u8 exact up to 2^53). 1-D arrays are returned as plain vectors.
read_npy <- function(file, name = file) {
  fail <- function(...) stop(sprintf("invalid .npy file '%s': %s", name, sprintf(...)), call. = FALSE)
  con <- file(file, "rb")
  on.exit(close(con))
  magic <- readBin(con, "raw", 6L)
  if (length(magic) < 6L || !identical(magic, c(as.raw(0x93), charToRaw("NUMPY")))) {
    fail("bad magic string (expected \\x93NUMPY)")
  }
  ver <- as.integer(readBin(con, "raw", 2L))
  if (length(ver) < 2L) fail("truncated header (no version bytes)")
  hlen <- if (ver[1] == 1L) {
    readBin(con, "integer", 1L, size = 2L, signed = FALSE, endian = "little")
  } else if (ver[1] %in% 2:3) {
    readBin(con, "integer", 1L, size = 4L, endian = "little")
  } else {
    fail("unsupported format version %d.%d", ver[1], ver[2])
  }
  if (length(hlen) < 1L || hlen < 0L) fail("truncated header (no header length)")
  hraw <- readBin(con, "raw", hlen)
  if (length(hraw) < hlen) fail("truncated header: %d of %d header bytes present", length(hraw), hlen)
  header <- rawToChar(hraw[hraw != as.raw(0)])

  field <- function(key, pattern) {
    m <- regmatches(header, regexec(sprintf("['\"]%s['\"]\\s*:\\s*%s", key, pattern), header))[[1]]
    if (length(m) < 2L) fail("header has no valid '%s' entry: %s", key, trimws(header))
    m[[2]]
  }
  descr <- field("descr", "['\"]([^'\"]*)['\"]")
  fortran <- field("fortran_order", "(True|False)") == "True"
  shape_txt <- field("shape", "\\(([^)]*)\\)")
  shape_parts <- trimws(strsplit(shape_txt, ",", fixed = TRUE)[[1]])
  shape_parts <- sub("[lL]$", "", shape_parts[nzchar(shape_parts)])
  shape <- suppressWarnings(as.numeric(shape_parts))
  if (anyNA(shape) || any(shape < 0)) fail("bad shape (%s)", shape_txt)

  dm <- regmatches(descr, regexec("^([<>|=]?)([biuf])([0-9]+)$", descr))[[1]]
  if (length(dm) < 4L) fail("unsupported dtype '%s' (supported: b1, i1/2/4/8, u1/2/4/8, f4/8)", descr)
  endian <- if (dm[2] == ">") "big" else if (dm[2] %in% c("<", "|")) "little" else .Platform$endian
  kind <- dm[3]
  size <- as.integer(dm[4])
  ok_sizes <- switch(kind, b = 1L, i = c(1L, 2L, 4L, 8L), u = c(1L, 2L, 4L, 8L), f = c(4L, 8L))
  if (!size %in% ok_sizes) fail("unsupported dtype '%s'", descr)

  n <- prod(shape)  # prod(numeric(0)) == 1 for a scalar
  if (n > .Machine$integer.max) fail("shape (%s) has too many elements", shape_txt)
  short <- function(got) {
    fail("truncated data: shape (%s) of dtype '%s' needs %.0f values but only %.0f are present",
         shape_txt, descr, n, got)
  }
  v <- if (kind == "b" || (kind == "u" && size == 1L)) {
    r <- readBin(con, "raw", n)
    if (length(r) < n) short(length(r))
    if (kind == "b") r != as.raw(0) else as.integer(r)
  } else if (kind == "f") {
    readBin(con, "double", n, size = size, endian = endian)
  } else if (size <= 2L) {
    readBin(con, "integer", n, size = size, signed = (kind == "i"), endian = endian)
  } else if (size == 4L) {
    x <- readBin(con, "integer", n, size = 4L, endian = endian)
    if (kind == "u") { x <- as.numeric(x); x[x < 0] <- x[x < 0] + 2^32 }
    x
  } else {
    # 8-byte integers: read as pairs of 32-bit words and combine as doubles.
    w <- readBin(con, "integer", 2 * n, size = 4L, endian = endian)
    if (length(w) < 2 * n) short(length(w) %/% 2)
    w <- as.numeric(w)
    idx <- seq_len(n) * 2
    lo <- if (endian == "little") w[idx - 1] else w[idx]
    hi <- if (endian == "little") w[idx] else w[idx - 1]
    lo[lo < 0] <- lo[lo < 0] + 2^32
    if (kind == "u") hi[hi < 0] <- hi[hi < 0] + 2^32
    hi * 2^32 + lo
  }
  if (length(v) < n) short(length(v))
  if (length(readBin(con, "raw", 1L)) > 0L) {
    fail("unexpected trailing bytes after the %.0f values declared by shape (%s)", n, shape_txt)
  }
  if (length(shape) <= 1L) return(as.vector(v))
  if (fortran) array(v, dim = shape) else c_order_array(v, shape)
}

# Read the named members of a .npz archive. Returns a named list of arrays.
read_npz <- function(file, members) {
  if (!file.exists(file)) stop(sprintf(".npz file '%s' does not exist", file), call. = FALSE)
  listing <- tryCatch(utils::unzip(file, list = TRUE), error = function(e) NULL,
                      warning = function(w) NULL)
  if (is.null(listing)) {
    stop(sprintf("invalid .npz file '%s': not a readable zip archive", file), call. = FALSE)
  }
  wanted <- paste0(members, ".npy")
  missing <- setdiff(wanted, listing$Name)
  if (length(missing)) {
    stop(sprintf("invalid .npz file '%s': missing member(s) %s (archive holds: %s)", file,
                 paste(missing, collapse = ", "),
                 if (nrow(listing)) paste(listing$Name, collapse = ", ") else "nothing"),
         call. = FALSE)
  }
  exdir <- tempfile("kn_npz_")
  dir.create(exdir)
  on.exit(unlink(exdir, recursive = TRUE), add = TRUE)
  tryCatch(utils::unzip(file, files = wanted, exdir = exdir, junkpaths = TRUE),
                    error = function(e) character(0), warning = function(w) character(0))
  out <- lapply(seq_along(wanted), function(i) {
    p <- file.path(exdir, wanted[[i]])
    if (!file.exists(p)) {
      stop(sprintf("invalid .npz file '%s': could not extract member %s", file, wanted[[i]]),
           call. = FALSE)
    }
    read_npy(p, name = paste0(file, ":", wanted[[i]]))
  })
  names(out) <- members
  out
}

# ---------------------------------------------------------------------------
# Assembling the datasets
# ---------------------------------------------------------------------------

# Check and assemble list(train = list(x, y), test = list(x, y)).
# `what` names the source for error messages.
make_image_dataset <- function(x_train, y_train, x_test, y_test, what) {
  check <- function(x, y, split) {
    if (length(dim(x)) != 3L) {
      stop(sprintf("%s: %s images should be a 3-D array (n x rows x cols), got dimensions %s",
                   what, split, paste(if (is.null(dim(x))) length(x) else dim(x), collapse = " x ")),
           call. = FALSE)
    }
    if (!is.null(dim(y)) && length(dim(y)) != 1L) {
      stop(sprintf("%s: %s labels should be 1-D, got dimensions %s", what, split,
                   paste(dim(y), collapse = " x ")), call. = FALSE)
    }
    if (dim(x)[1] != length(y)) {
      stop(sprintf("%s: %d %s images but %d labels", what, dim(x)[1], split, length(y)),
           call. = FALSE)
    }
    if (is.double(x) && all(x == round(x))) storage.mode(x) <- "integer"
    y <- as.vector(y)
    if (is.double(y) && all(y == round(y))) y <- as.integer(y)
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
#' Everything is read natively in R (no Python). A file that is present but
#' invalid (bad magic number, truncated, inconsistent sizes) is an error.
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
