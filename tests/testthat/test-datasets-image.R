# CIFAR-10/100 and Boston housing readers, on small files in the real formats
# written by the test (the CIFAR pickles by Python's own pickle module, with
# stand-in numpy globals that reduce exactly as numpy arrays do).

skip_if_no_python <- function() {
  if (!nzchar(Sys.which("python3"))) skip("python3 not available")
}

# Python source defining stand-in numpy modules whose objects pickle as numpy
# arrays pickle: _reconstruct(ndarray, (0,), b'b') then BUILD with
# (1, shape, dtype, False, raw bytes); dtype('u1', False, True) with state
# (3, '|', None, None, None, -1, -1, 0).
py_fake_numpy <- '
import sys, types, pickle
np = types.ModuleType("numpy"); core = types.ModuleType("numpy.core"); ma = types.ModuleType("numpy.core.multiarray")
sys.modules.update({"numpy": np, "numpy.core": core, "numpy.core.multiarray": ma})
class ndarray:
    def __init__(self, shape, data, code="u1", order="|"):
        self.shape, self.data, self.code, self.order = shape, data, code, order
    def __reduce__(self):
        return (_reconstruct, (ndarray, (0,), b"b"), (1, self.shape, dtype(self.code, self.order), False, self.data))
class dtype:
    def __init__(self, code, order="|"):
        self.code, self.order = code, order
    def __reduce__(self):
        return (dtype, (self.code, False, True), (3, self.order, None, None, None, -1, -1, 0))
def _reconstruct(*a): pass
ndarray.__module__ = dtype.__module__ = "numpy"; _reconstruct.__module__ = "numpy.core.multiarray"
np.ndarray = ndarray; np.dtype = dtype; ma._reconstruct = _reconstruct; ma.ndarray = ndarray
def pix(i, k, off): return (i * 7 + k * 3 + off) % 256
def batch(n, off, keys, proto):
    d = {b"batch_label": b"x", b"data": ndarray((n, 3072), bytes(pix(i, k, off) for i in range(n) for k in range(3072)))}
    for j, key in enumerate(keys): d[key] = [(i + off + 37 * j) % 100 for i in range(n)]
    return pickle.dumps(d, protocol=proto)
'

# Pixel (image i, row r, column c, channel ch), all 0-based, of the Python
# batches: data[i, ch * 1024 + r * 32 + c] = pix(i, k, off).
pix <- function(i, r, c, ch, off) (i * 7 + (ch * 1024 + r * 32 + c) * 3 + off) %% 256

run_python <- function(code) {
  f <- tempfile(fileext = ".py")
  writeLines(code, f)
  out <- system2("python3", f, stdout = TRUE, stderr = TRUE)
  if (!is.null(attr(out, "status"))) stop(paste(out, collapse = "\n"))
}

with_keras_home <- function(code) {
  home <- tempfile("keras_home")
  dir.create(file.path(home, "datasets"), recursive = TRUE)
  withr::local_envvar(KERAS_HOME = home)
  withr::local_options(kerasnative.offline = TRUE)
  code(file.path(home, "datasets"))
}

test_that("dataset_cifar10 reads Keras's cached Python batches (protocol 2 and 4 pickles)", {
  skip_if_no_python()
  with_keras_home(function(ds) {
    d <- file.path(ds, "cifar-10-batches-py")
    dir.create(d)
    run_python(paste0(py_fake_numpy, sprintf('
import os
d = "%s"
for b in range(1, 6):
    open(os.path.join(d, "data_batch_%%d" %% b), "wb").write(batch(2, b, [b"labels"], 2 if b %% 2 else 4))
open(os.path.join(d, "test_batch"), "wb").write(batch(3, 0, [b"labels"], 2))
', d)))
    cifar <- dataset_cifar10()
    expect_equal(dim(cifar$train$x), c(10, 32, 32, 3))
    expect_equal(dim(cifar$test$x), c(3, 32, 32, 3))
    expect_equal(dim(cifar$train$y), c(10, 1))
    # training image 2*(b-1) + i comes from batch b, image i
    for (b in c(1, 4, 5)) for (i in 0:1) for (rc in list(c(0, 0, 0), c(5, 17, 2), c(31, 31, 1))) {
      expect_equal(cifar$train$x[2 * (b - 1) + i + 1, rc[1] + 1, rc[2] + 1, rc[3] + 1], pix(i, rc[1], rc[2], rc[3], b))
    }
    expect_equal(as.vector(cifar$train$y), c(1, 2, 2, 3, 3, 4, 4, 5, 5, 6))
    expect_equal(cifar$test$x[3, 10, 20, 3], pix(2, 9, 19, 2, 0))
    expect_equal(as.vector(cifar$test$y), 0:2)
  })
})

test_that("dataset_cifar100 picks the fine or coarse labels", {
  skip_if_no_python()
  with_keras_home(function(ds) {
    d <- file.path(ds, "cifar-100-python")
    dir.create(d)
    run_python(paste0(py_fake_numpy, sprintf('
import os
open(os.path.join("%s", "train"), "wb").write(batch(4, 1, [b"fine_labels", b"coarse_labels"], 2))
open(os.path.join("%s", "test"), "wb").write(batch(2, 3, [b"fine_labels", b"coarse_labels"], 2))
', d, d)))
    fine <- dataset_cifar100()
    coarse <- dataset_cifar100("coarse")
    expect_equal(as.vector(fine$train$y), (0:3 + 1) %% 100)
    expect_equal(as.vector(coarse$train$y), (0:3 + 1 + 37) %% 100)
    expect_equal(fine$train$x[4, 2, 3, 2], pix(3, 1, 2, 1, 1))
    expect_error(dataset_cifar100("medium"), "label_mode")
  })
})

test_that("the CIFAR binary version is read: label byte(s) then 3072 pixels per record", {
  with_keras_home(function(ds) {
    d <- file.path(ds, "cifar-10-batches-bin")
    dir.create(d)
    rec <- function(label, off) as.raw(c(label, (0:3071 * 3 + off) %% 256))
    for (b in 1:5) writeBin(c(rec(b, b), rec(9, b + 10)), file.path(d, sprintf("data_batch_%d.bin", b)))
    writeBin(rec(4, 99), file.path(d, "test_batch.bin"))
    cifar <- dataset_cifar10()
    expect_equal(as.vector(cifar$train$y), as.vector(rbind(1:5, 9)))
    # record of batch 3, image 2 (off 13): pixel (r=4, c=7, ch=2) is byte 2*1024 + 4*32 + 7
    expect_equal(cifar$train$x[6, 5, 8, 3], ((2 * 1024 + 4 * 32 + 7) * 3 + 13) %% 256)
    expect_equal(as.vector(cifar$test$y), 4)
    writeBin(as.raw(1:10), file.path(d, "test_batch.bin"))
    expect_error(dataset_cifar10(), "not a multiple of the 3073-byte record")
  })
})

test_that("CIFAR errors: missing data offline, corrupt or hostile pickles", {
  with_keras_home(function(ds) {
    expect_error(dataset_cifar10(), "CIFAR-10 not found.*downloads are disabled")
    d <- file.path(ds, "cifar-10-batches-py")
    dir.create(d)
    expect_error(dataset_cifar10(), "data_batch_1' is missing")
    # a pickle calling os.system: GLOBAL 'os\nsystem' -> refused, nothing run
    writeBin(c(as.raw(0x80), as.raw(2), charToRaw("cos\nsystem\n"), charToRaw("U"), as.raw(2),
               charToRaw("ls"), as.raw(0x85), charToRaw("R.")), file.path(d, "data_batch_1"))
    expect_error(dataset_cifar10(), "refusing to load global 'os.system'")
    writeBin(c(as.raw(0x80), as.raw(2), charToRaw("}"), charToRaw("T"), as.raw(c(255, 0, 0, 0))),
             file.path(d, "data_batch_1"))
    expect_error(dataset_cifar10(), "truncated")
  })
})

test_that("a Python 2 style pickle (BINSTRING bytes, BININT labels) is read", {
  # {'data': uint8 array (1, 3072), 'labels': [7]} as Python 2's cPickle writes it
  s <- function(x) c(charToRaw("U"), as.raw(nchar(x)), charToRaw(x))
  le4 <- function(v) writeBin(as.integer(v), raw(), size = 4, endian = "little")
  px <- as.raw((0:3071) %% 251)
  p <- c(as.raw(c(0x80, 2)), charToRaw("}("), s("data"),
         charToRaw("cnumpy.core.multiarray\n_reconstruct\n"), charToRaw("cnumpy\nndarray\n"),
         charToRaw("K"), as.raw(0), as.raw(0x85), s("b"), as.raw(0x87), charToRaw("R"),
         charToRaw("(K"), as.raw(1), charToRaw("K"), as.raw(1), charToRaw("M"), as.raw(c(0, 12)), as.raw(0x86),
         charToRaw("cnumpy\ndtype\n"), s("u1"), as.raw(c(0x89, 0x88, 0x87)), charToRaw("R"),
         charToRaw("(K"), as.raw(3), s("|"), charToRaw("NNNJ"), le4(-1), charToRaw("J"), le4(-1), charToRaw("K"),
         as.raw(0), charToRaw("tb"), as.raw(0x89), charToRaw("T"), le4(3072), px, charToRaw("tb"),
         s("labels"), charToRaw("]K"), as.raw(7), charToRaw("au."))
  f <- tempfile()
  writeBin(p, f)
  b <- kerasnative:::read_cifar_pickle(f, "labels")
  expect_equal(b$y, 7L)
  expect_equal(b$x[1, 3, 5, 2], (1024 + 2 * 32 + 4) %% 251)
})

test_that("numpy's legacy MT19937 and shuffle are reproduced exactly", {
  rng <- kerasnative:::numpy_rng(5489)
  expect_equal(rng$next_u32(), 3499211612)             # MT19937 reference output
  expect_equal(kerasnative:::numpy_rng(0)$uniform(), 0.5488135039273248)   # np.random.seed(0); rand()
  expect_equal(kerasnative:::numpy_rng(42)$uniform(), 0.3745401188473625)
  # np.random.seed(0); np.random.permutation(10)
  expect_equal(kerasnative:::numpy_shuffle_index(10, 0) - 1, c(2, 8, 4, 9, 1, 6, 7, 3, 0, 5))
})

test_that("dataset_boston_housing reads the npz and splits it as Keras", {
  skip_if_no_python()
  with_keras_home(function(ds) {
    # npz = zip of .npy files (format 1.0 header), written by Python's zipfile/struct
    run_python(sprintf('
import struct, zipfile
def npy(shape, vals):
    hdr = "{\'descr\': \'<f8\', \'fortran_order\': False, \'shape\': %%s, }" %% (repr(shape),)
    hdr = hdr + " " * (63 - (10 + len(hdr)) %% 64) + "\\n"
    return b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + struct.pack("<%%dd" %% len(vals), *vals)
with zipfile.ZipFile("%s", "w") as z:
    z.writestr("x.npy", npy((10, 13), [i * 100 + j for i in range(10) for j in range(13)]))
    z.writestr("y.npy", npy((10,), [i + 0.5 for i in range(10)]))
', file.path(ds, "boston_housing.npz")))
    b <- dataset_boston_housing(seed = 0L)
    perm <- c(2, 8, 4, 9, 1, 6, 7, 3, 0, 5)  # np.random.seed(0); shuffle(arange(10))
    expect_equal(b$train$y, perm[1:8] + 0.5)
    expect_equal(b$test$y, perm[9:10] + 0.5)
    expect_equal(b$train$x[3, ], perm[3] * 100 + 0:12)
    expect_equal(nrow(dataset_boston_housing(test_split = 0.5)$train$x), 5)
    expect_error(dataset_boston_housing("nope.npz"), "not found")
  })
})
