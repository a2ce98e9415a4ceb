# Provenance script for the bundled MNIST sample in inst/extdata/mnist-sample/.
#
# Takes the first 5000 training and the first 1000 test digits of the original
# MNIST IDX files (Yann LeCun, Corinna Cortes, Christopher J.C. Burges; see
# inst/COPYRIGHTS) and writes them, unmodified, as gzipped IDX files so that
# the package's own IDX reader (R/datasets.R) reads them.
#
# Usage, from the package root:
#   Rscript tools/make-mnist-sample.R [SOURCE_DIR] [N_TRAIN] [N_TEST]
# SOURCE_DIR defaults to ../shared/testdata/mnist and must hold
# train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
# t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzipped or plain).

args <- commandArgs(trailingOnly = TRUE)
src_dir <- if (length(args) >= 1) args[[1]] else file.path("..", "shared", "testdata", "mnist")
n_train <- if (length(args) >= 2) as.integer(args[[2]]) else 5000L
n_test  <- if (length(args) >= 3) as.integer(args[[3]]) else 1000L
out_dir <- file.path("inst", "extdata", "mnist-sample")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

find_src <- function(name) {
  for (f in file.path(src_dir, c(paste0(name, ".gz"), name)))
    if (file.exists(f)) return(f)
  stop("cannot find ", name, "[.gz] in ", src_dir)
}

# Copy the header of an IDX file with its first dimension reduced to n, and the
# first n items of its payload (raw bytes, no decoding).
subset_idx <- function(name, n) {
  src <- find_src(name)
  con <- gzfile(src, "rb")  # gzfile also reads uncompressed files
  on.exit(close(con))
  magic <- readBin(con, "raw", 4L)
  stopifnot(length(magic) == 4L, magic[1] == 0, magic[2] == 0, magic[3] == as.raw(0x08))
  ndim <- as.integer(magic[4])
  dims <- readBin(con, "integer", ndim, size = 4L, endian = "big")
  stopifnot(length(dims) == ndim, dims[1] >= n)
  item_bytes <- if (ndim > 1L) prod(dims[-1]) else 1
  payload <- readBin(con, "raw", n * item_bytes)
  stopifnot(length(payload) == n * item_bytes)

  dest <- file.path(out_dir, paste0(name, ".gz"))
  out <- gzfile(dest, "wb", compression = 9L)
  writeBin(magic, out)
  writeBin(as.integer(c(n, dims[-1])), out, size = 4L, endian = "big")
  writeBin(payload, out)
  close(out)
  cat(sprintf("%s: %d of %d items, %d bytes\n", dest, n, dims[1], file.size(dest)))
}

subset_idx("train-images-idx3-ubyte", n_train)
subset_idx("train-labels-idx1-ubyte", n_train)
subset_idx("t10k-images-idx3-ubyte", n_test)
subset_idx("t10k-labels-idx1-ubyte", n_test)
