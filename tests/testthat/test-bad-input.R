# Bad input, tabled: every exported function fed wrong types, wrong shapes,
# NA/NaN/Inf, empty and zero-length data, truncated and corrupted files and
# absurd declared sizes. Each case must end in an R error whose message
# matches `error` (naming the argument, or the file and where in it); never a
# crash, a hang, or an allocation sized by the file's claim.
#
# Columns: fn (the exported function), what (the bad input), expr (the call),
# error (regexp the message must match), owner (the helper whose fix makes the
# case pass, when it is outside argument checking / TFRecord), risky (run in a
# child R process because it could crash R before that fix).

# ------------------------------------------------------------------ fixtures

bad_fixtures <- function(dir) {
  dir.create(dir, showWarnings = FALSE, recursive = TRUE)
  fx <- new.env()
  fx$dir <- dir
  fx$x <- matrix(seq(0.1, 2, by = 0.1), 5, 4)             # 5 samples, 4 features
  fx$y <- diag(3)[c(1, 2, 3, 1, 2), ]                        # one-hot, 3 classes
  fx$m <- keras_model_sequential() %>% layer_dense(units = 3, activation = "softmax", input_shape = 4)
  fx$m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
  fx$unc <- function() keras_model_sequential() %>% layer_dense(units = 3, input_shape = 4)  # not compiled
  fx$inp <- layer_input(shape = 4)
  fx$inp2 <- layer_input(shape = 5)
  fx$ds <- tensor_slices_dataset(1:10)

  path <- function(name) file.path(dir, name)
  fx$missing <- path("does-not-exist.h5")
  fx$nodir <- file.path(dir, "no", "such", "dir", "out.bin")
  fx$empty <- path("empty.bin")
  file.create(fx$empty)

  # TFRecord: three records of tf.train.Example
  fx$tfr <- path("good.tfrecord")
  write_tfrecord(list(a = c(1L, 2L, 3L), b = c(0.5, 1.5, 2.5)), fx$tfr)
  good <- readBin(fx$tfr, "raw", file.size(fx$tfr))
  rec <- length(good) / 3
  fx$tfr_rec <- rec
  fx$tfr_trunc <- path("trunc.tfrecord")             # cut inside record 2's data
  writeBin(good[seq_len(2 * rec + 14)], fx$tfr_trunc)
  fx$tfr_crc <- path("crc.tfrecord")                 # a data byte of record 1 flipped
  bad <- good
  bad[rec + 13] <- xor(bad[rec + 13], as.raw(0x40))
  writeBin(bad, fx$tfr_crc)
  fx$tfr_huge <- path("huge.tfrecord")               # length field 2^62, valid header CRC
  writeBin(c(tfrecord_header(2^62), as.raw(1:20)), fx$tfr_huge)
  fx$tfr_huge2 <- path("huge2.tfrecord")             # same after one good record
  writeBin(c(good[seq_len(rec)], tfrecord_header(2^62), as.raw(1:20)), fx$tfr_huge2)
  fx$tfr_garbage <- path("garbage.tfrecord")         # valid framing, payload not an Example
  payload <- as.raw(c(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3))
  writeBin(c(tfrecord_header(length(payload)), payload, tfrecord_crc(payload)), fx$tfr_garbage)
  fx$text <- path("text.txt")
  writeLines(c("just", "some text, not a TFRecord or HDF5 file"), fx$text)

  # HDF5: a whole model and a weights file
  fx$h5 <- path("model.h5")
  save_model_hdf5(fx$m, fx$h5)
  fx$h5w <- path("weights.h5")
  save_model_weights_hdf5(fx$m, fx$h5w)
  h5 <- readBin(fx$h5, "raw", file.size(fx$h5))
  fx$h5_trunc <- path("trunc.h5")
  writeBin(h5[seq_len(length(h5) %/% 3)], fx$h5_trunc)
  fx$h5_zero_tail <- path("zero-tail.h5")            # second half zeroed
  z <- h5
  z[(length(z) %/% 2):length(z)] <- as.raw(0)
  writeBin(z, fx$h5_zero_tail)
  # a weights file whose kernel claims 10^6 x 10^6 = 10^12 elements
  big <- keras_model_sequential() %>% layer_dense(units = 11, input_shape = 13)
  fx$h5_huge <- path("huge-claim.h5")
  save_model_weights_hdf5(big, fx$h5_huge)
  fx$h5_huge_patched <- patch_h5_dims(fx$h5_huge, c(13, 11), c(1e6, 1e6))

  # IDX (MNIST cache layouts) in KERAS_HOME-style directories
  fx$idx_home <- function(images, labels, test_images = images, test_labels = labels) {
    home <- tempfile("keras_home_", tmpdir = dir)
    d <- file.path(home, "datasets")
    dir.create(d, recursive = TRUE)
    writeBin(images, file.path(d, "train-images-idx3-ubyte"))
    writeBin(labels, file.path(d, "train-labels-idx1-ubyte"))
    writeBin(test_images, file.path(d, "t10k-images-idx3-ubyte"))
    writeBin(test_labels, file.path(d, "t10k-labels-idx1-ubyte"))
    home
  }
  fx
}

be32 <- function(v) unlist(lapply(v, function(x) {
  as.raw(c(x %/% 2^24, (x %/% 2^16) %% 256, (x %/% 2^8) %% 256, x %% 256))
}))
idx_images <- function(n, rows, cols, data = raw(n * rows * cols)) c(as.raw(c(0, 0, 8, 3)), be32(c(n, rows, cols)), data)
idx_labels <- function(labels, n = length(labels)) c(as.raw(c(0, 0, 8, 1)), be32(n), as.raw(labels %% 256))

# CRC-32C (Castagnoli), bit by bit, and TFRecord's masking: written here
# independently of the package's C++ (checked against a written file below).
crc32c_r <- function(bytes) {
  poly <- as.integer(0x82F63B78 - 2^32)
  crc <- -1L
  for (b in as.integer(bytes)) {
    crc <- bitwXor(crc, b)
    for (k in 1:8) crc <- if (bitwAnd(crc, 1L)) bitwXor(bitwShiftR(crc, 1L), poly) else bitwShiftR(crc, 1L)
  }
  crc <- bitwNot(crc)
  if (crc < 0) crc + 2^32 else crc
}
masked_crc <- function(bytes) {
  crc <- crc32c_r(bytes)
  rot <- (crc %% 2^15) * 2^17 + crc %/% 2^15
  (rot + 0xa282ead8) %% 2^32
}
le_bytes <- function(v, n) as.raw(floor(v / 256^(0:(n - 1))) %% 256)
tfrecord_header <- function(len) {
  l <- le_bytes(len, 8)
  c(l, le_bytes(masked_crc(l), 4))
}
tfrecord_crc <- function(payload) le_bytes(masked_crc(payload), 4)

# Replace the uint64 little-endian dimension pair `from` by `to` in an HDF5
# file's dataspace message (the kernel's shape); returns the new file.
patch_h5_dims <- function(file, from, to) {
  b <- readBin(file, "raw", file.size(file))
  pat <- c(le_bytes(from[1], 8), le_bytes(from[2], 8))
  hits <- which(vapply(seq_len(length(b) - 15), function(i) identical(b[i:(i + 15)], pat), logical(1)))
  stopifnot(length(hits) >= 1)
  for (i in hits) b[i:(i + 15)] <- c(le_bytes(to[1], 8), le_bytes(to[2], 8))
  out <- sub("\\.h5$", "-patched.h5", file)
  writeBin(b, out)
  out
}

# ------------------------------------------------------------------ the table

case <- function(fn, what, expr, error, owner = NA_character_, risky = FALSE) {
  # `error` may use the fixtures (e.g. a record's byte offset): evaluated with them
  list(fn = fn, what = what, expr = substitute(expr), error = substitute(error), owner = owner, risky = risky)
}

bad_cases <- list(
  # ---- to_categorical, array_reshape, kn_threads
  case("to_categorical", "character", to_categorical("a"), "`y` must be a numeric"),
  case("to_categorical", "NA", to_categorical(c(1, NA)), "`y` contains NA"),
  case("to_categorical", "NaN", to_categorical(c(1, NaN)), "`y` contains NA"),
  case("to_categorical", "Inf", to_categorical(c(1, Inf)), "`y`.*(finite|Inf)"),
  case("to_categorical", "negative class", to_categorical(c(-1, 2)), "`y` values must be in \\[0"),
  case("to_categorical", "fractional class", to_categorical(c(0.5, 2)), "`y`.*whole numbers"),
  case("to_categorical", "empty y", to_categorical(numeric(0)), "`y` is empty"),
  case("to_categorical", "num_classes NA", to_categorical(0:2, num_classes = NA), "`num_classes`"),
  case("to_categorical", "num_classes 0", to_categorical(0:2, num_classes = 0), "`num_classes`"),
  case("to_categorical", "num_classes string", to_categorical(0:2, num_classes = "3"), "`num_classes`"),
  case("to_categorical", "num_classes 2^40", to_categorical(0:2, num_classes = 2^40), "`num_classes`"),
  case("array_reshape", "dim with NA", array_reshape(1:6, c(NA, 2)), "`dim`"),
  case("array_reshape", "dim string", array_reshape(1:6, "a"), "`dim`"),
  case("array_reshape", "dim negative", array_reshape(1:6, c(-2, -3)), "`dim`"),
  case("array_reshape", "wrong size", array_reshape(1:6, c(4, 2)), "cannot reshape an array of 6 elements"),
  case("array_reshape", "bad order", array_reshape(1:6, c(2, 3), order = "X"), "`order`"),
  case("array_reshape", "x a function", array_reshape(sum, 1), "`x`"),
  case("kn_threads", "string", kn_threads("a"), "`n` must be"),
  case("kn_threads", "negative", kn_threads(-1), "`n` must be"),
  case("kn_threads", "NA", kn_threads(NA_real_), "`n` must be"),
  case("kn_threads", "two values", kn_threads(c(1, 2)), "`n` must be"),
  case("kn_threads", "2^40", kn_threads(2^40), "`n` must be"),
  case("kn_threads", "Inf", kn_threads(Inf), "`n` must be"),

  # ---- layers
  case("layer_dense", "units negative", layer_dense(units = -1, input_shape = 4), "`units`"),
  case("layer_dense", "units 0", layer_dense(units = 0, input_shape = 4), "`units`"),
  case("layer_dense", "units NA", layer_dense(units = NA, input_shape = 4), "`units`"),
  case("layer_dense", "units string", layer_dense(units = "a", input_shape = 4), "`units`"),
  case("layer_dense", "units fractional", layer_dense(units = 1.5, input_shape = 4), "`units`"),
  case("layer_dense", "units two values", layer_dense(units = c(2, 3), input_shape = 4), "`units`"),
  case("layer_dense", "units 2^62", layer_dense(units = 2^62, input_shape = 4), "`units`"),
  case("layer_dense", "units Inf", layer_dense(units = Inf, input_shape = 4), "`units`"),
  case("layer_dense", "unknown activation", layer_dense(units = 2, activation = "nope", input_shape = 4), "activation.*nope"),
  case("layer_dense", "activation a number", layer_dense(units = 2, activation = 3, input_shape = 4), "activation"),
  case("layer_dense", "input_shape negative", layer_dense(units = 2, input_shape = -4), "input_shape"),
  case("layer_dense", "input_shape string", layer_dense(units = 2, input_shape = "a"), "input_shape"),
  case("layer_dense", "input_shape 0", layer_dense(units = 2, input_shape = 0), "input_shape"),
  case("layer_dense", "input_shape 2^40", layer_dense(units = 2, input_shape = 2^40), "input_shape"),
  case("layer_dense", "use_bias NA", layer_dense(units = 2, use_bias = NA, input_shape = 4), "`use_bias`"),
  case("layer_dense", "unknown initializer", layer_dense(units = 2, kernel_initializer = "nope", input_shape = 4), "initializer.*nope"),
  case("layer_dense", "object a string", layer_dense("model", units = 2), "object"),
  case("layer_dense", "name a number", layer_dense(units = 2, name = 3, input_shape = 4), "`name`"),
  case("layer_dense", "input 10^6 x units 10^6 (10^12 weights)", keras_model_sequential() %>% layer_dense(units = 1e6, input_shape = 1e6),
       "dense.*(too many|too large|parameters|weights|exceed|more than 2\\^36)", owner = "H2", risky = TRUE),
  case("layer_dropout", "rate 1.5", layer_dropout(rate = 1.5, input_shape = 4), "`rate`"),
  case("layer_dropout", "rate negative", layer_dropout(rate = -0.1, input_shape = 4), "`rate`"),
  case("layer_dropout", "rate NA", layer_dropout(rate = NA, input_shape = 4), "`rate`"),
  case("layer_dropout", "rate string", layer_dropout(rate = "a", input_shape = 4), "`rate`"),
  case("layer_activation", "unknown", layer_activation(activation = "nope", input_shape = 4), "activation.*nope"),
  case("layer_activation", "NULL", layer_activation(activation = NULL, input_shape = 4), "activation"),
  case("layer_activation_leaky_relu", "alpha NA", layer_activation_leaky_relu(alpha = NA, input_shape = 4), "`alpha`"),
  case("layer_activation_leaky_relu", "alpha string", layer_activation_leaky_relu(alpha = "a", input_shape = 4), "`alpha`"),
  case("layer_flatten", "bad data_format", layer_flatten(data_format = "nchw", input_shape = c(2, 2)), "data_format"),
  case("layer_reshape", "target_shape negative", layer_reshape(target_shape = c(-2, 3), input_shape = 6), "target_shape"),
  case("layer_reshape", "target_shape NA", layer_reshape(target_shape = NA, input_shape = 6), "target_shape"),
  case("layer_reshape", "target_shape string", layer_reshape(target_shape = "a", input_shape = 6), "target_shape"),
  case("layer_reshape", "size mismatch", keras_model_sequential() %>% layer_reshape(target_shape = c(4, 2), input_shape = 6), "(6|target_shape).*(8|4, 2)|(8|4, 2).*6"),
  case("layer_conv_2d", "filters 0", layer_conv_2d(filters = 0, kernel_size = 3, input_shape = c(8, 8, 1)), "`filters`"),
  case("layer_conv_2d", "filters NA", layer_conv_2d(filters = NA, kernel_size = 3, input_shape = c(8, 8, 1)), "`filters`"),
  case("layer_conv_2d", "kernel_size 0", layer_conv_2d(filters = 2, kernel_size = 0, input_shape = c(8, 8, 1)), "`kernel_size`"),
  case("layer_conv_2d", "kernel_size 3 values", layer_conv_2d(filters = 2, kernel_size = c(3, 3, 3), input_shape = c(8, 8, 1)), "`kernel_size`"),
  case("layer_conv_2d", "kernel_size string", layer_conv_2d(filters = 2, kernel_size = "3", input_shape = c(8, 8, 1)), "`kernel_size`"),
  case("layer_conv_2d", "strides 0", layer_conv_2d(filters = 2, kernel_size = 3, strides = 0, input_shape = c(8, 8, 1)), "`strides`"),
  case("layer_conv_2d", "strides NA", layer_conv_2d(filters = 2, kernel_size = 3, strides = NA, input_shape = c(8, 8, 1)), "`strides`"),
  case("layer_conv_2d", "padding bad", layer_conv_2d(filters = 2, kernel_size = 3, padding = "full", input_shape = c(8, 8, 1)), "padding"),
  case("layer_conv_2d", "input rank 2", layer_conv_2d(filters = 2, kernel_size = 3, input_shape = c(8, 8)), "(rank|dimensions|ndim|shape)"),
  case("layer_conv_2d", "kernel larger than input", keras_model_sequential() %>% layer_conv_2d(filters = 2, kernel_size = 5, input_shape = c(3, 3, 1)), "(kernel|negative|output|size|small)"),
  case("layer_conv_2d", "dilation_rate 0", layer_conv_2d(filters = 2, kernel_size = 3, dilation_rate = 0, input_shape = c(8, 8, 1)), "dilation"),
  case("layer_conv_1d", "filters negative", layer_conv_1d(filters = -3, kernel_size = 3, input_shape = c(8, 1)), "`filters`"),
  case("layer_conv_1d", "kernel_size NA", layer_conv_1d(filters = 3, kernel_size = NA, input_shape = c(8, 1)), "`kernel_size`"),
  case("layer_max_pooling_2d", "pool_size 0", layer_max_pooling_2d(pool_size = 0), "`pool_size`"),
  case("layer_max_pooling_2d", "pool_size 3 values", layer_max_pooling_2d(pool_size = c(2, 2, 2)), "`pool_size`"),
  case("layer_max_pooling_2d", "strides negative", layer_max_pooling_2d(strides = -1), "`strides`"),
  case("layer_max_pooling_2d", "padding bad", layer_max_pooling_2d(padding = "x"), "padding"),
  case("layer_max_pooling_1d", "pool_size NA", layer_max_pooling_1d(pool_size = NA), "`pool_size`"),
  case("layer_average_pooling_2d", "pool_size string", layer_average_pooling_2d(pool_size = "a", input_shape = c(8, 8, 1)), "`pool_size`"),
  case("layer_global_max_pooling_2d", "input rank 1", keras_model_sequential() %>% layer_global_max_pooling_2d(input_shape = 4), "(rank|dimensions|ndim|shape)"),
  case("layer_global_average_pooling_2d", "input rank 1", keras_model_sequential() %>% layer_global_average_pooling_2d(input_shape = 4), "(rank|dimensions|ndim|shape)"),
  case("layer_zero_padding_2d", "padding negative", layer_zero_padding_2d(padding = -1, input_shape = c(4, 4, 1)), "`padding`"),
  case("layer_zero_padding_2d", "padding 3 values", layer_zero_padding_2d(padding = c(1, 2, 3), input_shape = c(4, 4, 1)), "`padding`"),
  case("layer_batch_normalization", "momentum NA", layer_batch_normalization(momentum = NA, input_shape = 4), "`momentum`"),
  case("layer_batch_normalization", "epsilon negative", layer_batch_normalization(epsilon = -1, input_shape = 4), "`epsilon`"),
  case("layer_batch_normalization", "axis out of range", keras_model_sequential() %>% layer_batch_normalization(axis = 5, input_shape = 4), "axis"),
  case("layer_input", "shape negative", layer_input(shape = -1), "`shape`"),
  case("layer_input", "shape string", layer_input(shape = "a"), "`shape`"),
  case("layer_input", "dtype complex", layer_input(shape = 2, dtype = "complex64"), "dtype"),
  case("layer_input", "batch_shape negative", layer_input(batch_shape = c(NA, -3)), "shape`.*-3"),
  case("layer_add", "empty list", layer_add(list()), "inputs"),
  case("layer_add", "one input", layer_add(list(inp)), "(at least 2|2 or more|two)"),
  case("layer_add", "not tensors", layer_add(list("a", "b")), "inputs"),
  case("layer_add", "different shapes", layer_add(list(inp, inp2)), "shape"),
  case("layer_subtract", "three inputs", layer_subtract(list(inp, inp, inp)), "(exactly 2|two|expects 2)"),
  case("layer_multiply", "different shapes", layer_multiply(list(inp, inp2)), "shape"),
  case("layer_average", "number input", layer_average(3), "inputs"),
  case("layer_maximum", "different shapes", layer_maximum(list(inp, inp2)), "shape"),
  case("layer_minimum", "one input", layer_minimum(list(inp)), "(at least 2|2 or more|two)"),
  case("layer_concatenate", "axis out of range", layer_concatenate(list(inp, inp2), axis = 5), "axis"),
  case("layer_concatenate", "axis NA", layer_concatenate(list(inp, inp2), axis = NA), "axis"),

  # ---- model creation
  case("keras_model_sequential", "layers a string", keras_model_sequential(layers = "a"), "layers"),
  case("keras_model", "inputs a string", keras_model(inputs = "a", outputs = inp), "inputs"),
  case("keras_model", "outputs missing", keras_model(inputs = inp), "outputs"),
  case("keras_model", "unconnected output", keras_model(inputs = inp, outputs = layer_dense(inp2, 2)), "(connected|reach|graph|input)"),
  case("get_layer", "unknown name", get_layer(m, name = "nope"), "nope"),
  case("get_layer", "index 99", get_layer(m, index = 99), "index"),
  case("get_layer", "index negative", get_layer(m, index = -1), "index"),
  case("get_layer", "index NA", get_layer(m, index = NA), "index"),
  case("get_layer", "neither", get_layer(m), "(name|index)"),
  case("get_layer", "not a model", get_layer("m", name = "x"), "object"),
  case("pop_layer", "empty model", pop_layer(keras_model_sequential()), "(no layers|empty)"),
  case("pop_layer", "not a model", pop_layer(1), "object"),
  case("count_params", "not a model", count_params("a"), "object"),
  case("get_weights", "not a model", get_weights(NULL), "object"),
  case("set_weights", "too few arrays", set_weights(m, list()), "(2|number|arrays|weights)"),
  case("set_weights", "wrong shape", set_weights(m, list(matrix(0, 3, 4), rep(0, 3))), "(shape|dim).*(4, 3|4 x 3|\\(4,3\\))"),
  case("set_weights", "not a list", set_weights(m, "a"), "weights"),
  case("set_weights", "NA weight", set_weights(m, list(matrix(NA_real_, 4, 3), rep(0, 3))), "(NA|finite)"),
  case("set_weights", "Inf weight", set_weights(m, list(matrix(Inf, 4, 3), rep(0, 3))), "(Inf|finite)"),
  case("freeze_weights", "unknown from", freeze_weights(m, from = "nope"), "nope"),
  case("freeze_weights", "from 99", freeze_weights(m, from = 99), "from"),
  case("unfreeze_weights", "not a model", unfreeze_weights("a"), "object"),

  # ---- compile and optimizers
  case("compile", "unknown optimizer", compile(unc(), optimizer = "nope", loss = "mse"), "optimizer.*nope"),
  case("compile", "optimizer a number", compile(unc(), optimizer = 3, loss = "mse"), "optimizer"),
  case("compile", "unknown loss", compile(unc(), optimizer = "sgd", loss = "nope"), "loss.*nope"),
  case("compile", "loss a number", compile(unc(), optimizer = "sgd", loss = 3), "loss"),
  case("compile", "unknown metric", compile(unc(), optimizer = "sgd", loss = "mse", metrics = "nope"), "metric.*nope"),
  case("compile", "loss_weights too many", compile(unc(), optimizer = "sgd", loss = "mse", loss_weights = c(1, 2)), "loss_weights"),
  case("compile", "loss_weights NA", compile(unc(), optimizer = "sgd", loss = "mse", loss_weights = NA), "loss_weights"),
  case("compile", "not a model", compile("u", optimizer = "sgd", loss = "mse"), "model"),
  case("optimizer_sgd", "lr negative", optimizer_sgd(lr = -1), "`lr`"),
  case("optimizer_sgd", "lr NA", optimizer_sgd(lr = NA), "`lr`"),
  case("optimizer_sgd", "lr string", optimizer_sgd(lr = "a"), "`lr`"),
  case("optimizer_sgd", "momentum negative", optimizer_sgd(momentum = -1), "`momentum`"),
  case("optimizer_sgd", "clipnorm negative", optimizer_sgd(clipnorm = -1), "clipnorm"),
  case("optimizer_adam", "beta_1 1.5", optimizer_adam(beta_1 = 1.5), "`beta_1`"),
  case("optimizer_adam", "lr Inf", optimizer_adam(lr = Inf), "`lr`"),
  case("optimizer_adam", "epsilon NaN", optimizer_adam(epsilon = NaN), "`epsilon`"),
  case("optimizer_rmsprop", "rho NA", optimizer_rmsprop(rho = NA), "`rho`"),
  case("optimizer_adagrad", "lr two values", optimizer_adagrad(lr = c(0.1, 0.2)), "`lr`"),

  # ---- fit / evaluate / predict / *_on_batch
  case("fit", "epochs negative", fit(m, x, y, epochs = -1, verbose = 0), "`epochs`"),
  case("fit", "epochs NA", fit(m, x, y, epochs = NA, verbose = 0), "`epochs`"),
  case("fit", "epochs string", fit(m, x, y, epochs = "a", verbose = 0), "`epochs`"),
  case("fit", "batch_size 0", fit(m, x, y, batch_size = 0, verbose = 0), "`batch_size`"),
  case("fit", "batch_size NA", fit(m, x, y, batch_size = NA, verbose = 0), "`batch_size`"),
  case("fit", "batch_size fractional", fit(m, x, y, batch_size = 1.5, verbose = 0), "`batch_size`"),
  case("fit", "batch_size 2^40", fit(m, x, y, batch_size = 2^40, verbose = 0), "`batch_size`"),
  case("fit", "x wrong width", fit(m, x[, 1:3], y, verbose = 0), "(expected|shape).*4"),
  case("fit", "y wrong width", fit(m, x, y[, 1:2], verbose = 0), "(target|shape|y).*3"),
  case("fit", "y fewer rows", fit(m, x, y[1:4, ], verbose = 0), "same number of samples"),
  case("fit", "x character", fit(m, matrix("a", 5, 4), y, verbose = 0), "`x` must be numeric"),
  case("fit", "x NA", fit(m, replace(x, 3, NA), y, verbose = 0), "`x`.*(NA|NaN|finite)"),
  case("fit", "x NaN", fit(m, replace(x, 3, NaN), y, verbose = 0), "`x`.*(NA|NaN|finite)"),
  case("fit", "x Inf", fit(m, replace(x, 3, Inf), y, verbose = 0), "`x`.*(Inf|finite)"),
  case("fit", "y NA", fit(m, x, replace(y, 2, NA), verbose = 0), "`y`.*(NA|NaN|finite)"),
  case("fit", "x empty", fit(m, x[0, ], y[0, ], verbose = 0), "(no samples|empty)"),
  case("fit", "x NULL", fit(m, NULL, y, verbose = 0), "`x`"),
  case("fit", "validation_split 1.5", fit(m, x, y, validation_split = 1.5, verbose = 0), "validation_split"),
  case("fit", "validation_split NA", fit(m, x, y, validation_split = NA, verbose = 0), "validation_split"),
  case("fit", "validation_data without y", fit(m, x, y, validation_data = list(x), verbose = 0), "validation_data"),
  case("fit", "validation_data wrong width", fit(m, x, y, validation_data = list(x[, 1:2], y), verbose = 0), "validation_data"),
  case("fit", "sample_weight wrong length", fit(m, x, y, sample_weight = c(1, 2), verbose = 0), "sample_weight"),
  case("fit", "sample_weight NA", fit(m, x, y, sample_weight = c(1, NA, 1, 1, 1), verbose = 0), "sample_weight"),
  case("fit", "sample_weight negative", fit(m, x, y, sample_weight = c(1, -1, 1, 1, 1), verbose = 0), "sample_weight"),
  case("fit", "class_weight bad name", fit(m, x, y, class_weight = list(a = 1), verbose = 0), "class_weight"),
  case("fit", "initial_epoch negative", fit(m, x, y, initial_epoch = -1, verbose = 0), "initial_epoch"),
  case("fit", "callbacks a string", fit(m, x, y, callbacks = "a", verbose = 0), "callbacks"),
  case("fit", "verbose string", fit(m, x, y, verbose = "a"), "verbose"),
  case("fit", "not compiled", fit(unc(), x, y, verbose = 0), "compile"),
  case("fit", "not a model", fit("m", x, y), "model"),
  case("evaluate", "batch_size 0", evaluate(m, x, y, batch_size = 0, verbose = 0), "`batch_size`"),
  case("evaluate", "x wrong width", evaluate(m, x[, 1:2], y, verbose = 0), "(expected|shape).*4"),
  case("evaluate", "y NaN", evaluate(m, x, replace(y, 1, NaN), verbose = 0), "`y`.*(NA|NaN|finite)"),
  case("evaluate", "x empty", evaluate(m, x[0, ], y[0, ], verbose = 0), "(no samples|empty)"),
  case("evaluate", "not compiled", evaluate(unc(), x, y, verbose = 0), "compile"),
  case("predict", "x wrong width", predict(m, x[, 1:3]), "(expected|shape).*4"),
  case("predict", "x 3-D", predict(m, array(0, c(5, 4, 1))), "(expected|shape|rank)"),
  case("predict", "x NA", predict(m, replace(x, 1, NA)), "`x`.*(NA|NaN|finite)"),
  case("predict", "x Inf", predict(m, replace(x, 1, -Inf)), "`x`.*(Inf|finite)"),
  case("predict", "x empty", predict(m, x[0, ]), "(no samples|empty)"),
  case("predict", "x NULL", predict(m, NULL), "`x`"),
  case("predict", "x a list of strings", predict(m, list("a")), "`x` must be numeric"),
  case("predict", "batch_size negative", predict(m, x, batch_size = -1), "`batch_size`"),
  case("predict", "batch_size string", predict(m, x, batch_size = "a"), "`batch_size`"),
  case("predict", "steps negative", predict(m, x, steps = -1), "steps"),
  case("predict_classes", "x wrong width", predict_classes(m, x[, 1]), "(expected|shape)"),
  case("predict_classes", "batch_size 0", predict_classes(m, x, batch_size = 0), "`batch_size`"),
  case("predict_proba", "x NaN", predict_proba(m, replace(x, 2, NaN)), "`x`.*(NA|NaN|finite)"),
  case("train_on_batch", "y wrong width", train_on_batch(m, x, y[, 1]), "(target|shape|y)"),
  case("train_on_batch", "x NA", train_on_batch(m, replace(x, 1, NA), y), "`x`.*(NA|NaN|finite)"),
  case("train_on_batch", "x empty", train_on_batch(m, x[0, ], y[0, ]), "(no samples|empty)"),
  case("train_on_batch", "not compiled", train_on_batch(unc(), x, y), "compile"),
  case("test_on_batch", "x wrong width", test_on_batch(m, x[, 1:3], y), "(expected|shape).*4"),
  case("test_on_batch", "y Inf", test_on_batch(m, x, replace(y, 1, Inf)), "`y`.*(Inf|finite)"),
  case("callback_lambda", "on_epoch_end a string", callback_lambda(on_epoch_end = "f"), "on_epoch_end"),
  case("callback_lambda", "on_batch_end a number", callback_lambda(on_batch_end = 1), "on_batch_end"),

  # ---- persistence: arguments
  case("save_model_hdf5", "not a model", save_model_hdf5("m", file.path(dir, "x.h5")), "`object` must be a model"),
  case("save_model_hdf5", "filepath NA", save_model_hdf5(m, NA), "`filepath`"),
  case("save_model_hdf5", "filepath a number", save_model_hdf5(m, 3), "`filepath`"),
  case("save_model_hdf5", "directory missing", save_model_hdf5(m, nodir), "no/such/dir"),
  case("save_model_hdf5", "overwrite = FALSE", save_model_hdf5(m, h5, overwrite = FALSE), "already exists"),
  case("save_model_weights_hdf5", "filepath empty", save_model_weights_hdf5(m, ""), "`filepath`"),
  case("save_model_weights_hdf5", "directory missing", save_model_weights_hdf5(m, nodir), "no/such/dir"),
  case("load_model_hdf5", "missing file", load_model_hdf5(missing), "does-not-exist\\.h5.*does not exist"),
  case("load_model_hdf5", "filepath NA", load_model_hdf5(NA), "`filepath`"),
  case("load_model_hdf5", "zero-length file", load_model_hdf5(empty), "empty\\.bin"),
  case("load_model_hdf5", "text file", load_model_hdf5(text), "text\\.txt.*(not an HDF5|HDF5)"),
  case("load_model_hdf5", "TFRecord file", load_model_hdf5(tfr), "good\\.tfrecord.*(not an HDF5|HDF5)"),
  case("load_model_hdf5", "truncated .h5", load_model_hdf5(h5_trunc), "trunc\\.h5"),
  case("load_model_hdf5", "second half zeroed", load_model_hdf5(h5_zero_tail), "zero-tail\\.h5", owner = "H2", risky = TRUE),
  case("load_model_hdf5", "weights-only file", load_model_hdf5(h5w), "weights only.*load_model_weights_hdf5"),
  case("load_model_weights_hdf5", "missing file", load_model_weights_hdf5(m, missing), "does-not-exist\\.h5"),
  case("load_model_weights_hdf5", "other architecture", load_model_weights_hdf5(m, h5_huge), "layer 'dense_[0-9]+'.*shape \\(4, 3\\).*\\(13, 11\\)"),
  case("load_model_weights_hdf5", "kernel claims 10^12 elements", load_model_weights_hdf5(keras_model_sequential() %>% layer_dense(units = 11, input_shape = 13), h5_huge_patched),
       "huge-claim-patched\\.h5.*(1000000|10\\^12|elements|shape)", owner = "H2", risky = TRUE),
  case("load_model_weights_hdf5", "truncated", load_model_weights_hdf5(m, h5_trunc), "trunc\\.h5"),
  case("load_model_weights_hdf5", "not a model", load_model_weights_hdf5("m", h5w), "`object` must be a model"),
  case("model_to_json", "not a model", model_to_json(1), "object"),
  case("model_from_json", "not JSON", model_from_json("not json"), "(JSON|json)"),
  case("model_from_json", "truncated JSON", model_from_json(substr(model_to_json(m), 1, 60)), "(JSON|json)"),
  case("model_from_json", "a number", model_from_json(3), "json"),
  case("model_from_json", "unknown class", model_from_json('{"class_name": "Nope", "config": {}}'), "Nope"),
  case("model_from_json", "units -1", model_from_json(sub('"units": ?3', '"units": -1', model_to_json(m))), "units"),
  case("model_from_json", "units 2^62", model_from_json(sub('"units": ?3', '"units": 4611686018427387904', model_to_json(m))),
       "units", owner = "H2", risky = TRUE),
  case("model_from_json", "units 1e300", model_from_json(sub('"units": ?3', '"units": 1e300', model_to_json(m))), "units", owner = "H2", risky = TRUE),
  case("get_config", "not a model", get_config(1), "(object|model)"),
  case("from_config", "not a config", from_config("a"), "config"),
  case("from_config", "empty list", from_config(list()), "config"),
  case("serialize_model", "not a model", serialize_model("m"), "model"),
  case("unserialize_model", "zero-length raw", unserialize_model(raw(0)), "(empty|HDF5|model)"),
  case("unserialize_model", "garbage raw", unserialize_model(as.raw(1:100)), "(HDF5|model)"),
  case("unserialize_model", "a string", unserialize_model("a"), "model"),

  # ---- datasets: construction
  case("tensor_slices_dataset", "empty list", tensor_slices_dataset(list()), "tensors"),
  case("tensor_slices_dataset", "NULL", tensor_slices_dataset(NULL), "tensors"),
  case("tensor_slices_dataset", "a function", tensor_slices_dataset(sum), "tensors"),
  case("tensor_slices_dataset", "different lengths", tensor_slices_dataset(list(1:3, 1:4)), "same first dimension"),
  case("tensor_slices_dataset", "NA values", tensor_slices_dataset(c(1, NA)), "(NA|missing)"),
  case("dataset_map", "map_func a string", dataset_map(ds, "f"), "`map_func`"),
  case("dataset_map", "num_parallel_calls string", dataset_map(ds, function(x) x, num_parallel_calls = "a"), "num_parallel_calls"),
  case("dataset_map", "num_parallel_calls -5", dataset_map(ds, function(x) x, num_parallel_calls = -5), "num_parallel_calls"),
  case("dataset_map", "not a dataset", dataset_map(1:3, function(x) x), "dataset"),
  case("dataset_shuffle", "buffer_size 0", dataset_shuffle(ds, 0), "buffer_size"),
  case("dataset_shuffle", "buffer_size NA", dataset_shuffle(ds, NA), "buffer_size"),
  case("dataset_shuffle", "buffer_size string", dataset_shuffle(ds, "a"), "buffer_size"),
  case("dataset_shuffle", "buffer_size 2^62", dataset_shuffle(ds, 2^62), "buffer_size"),
  case("dataset_shuffle", "seed string", dataset_shuffle(ds, 4, seed = "a"), "seed"),
  case("dataset_repeat", "count string", dataset_repeat(ds, "a"), "count"),
  case("dataset_repeat", "count -5", dataset_repeat(ds, -5), "count"),
  case("dataset_batch", "batch_size 0", dataset_batch(ds, 0), "batch_size"),
  case("dataset_batch", "batch_size NA", dataset_batch(ds, NA), "batch_size"),
  case("dataset_batch", "batch_size 1.5", dataset_batch(ds, 1.5), "batch_size"),
  case("dataset_batch", "drop_remainder NA", dataset_batch(ds, 2, drop_remainder = NA), "drop_remainder"),
  case("dataset_prefetch", "buffer_size -2", dataset_prefetch(ds, -2), "buffer_size"),
  case("dataset_take", "count string", dataset_take(ds, "a"), "count"),
  case("dataset_skip", "count NA", dataset_skip(ds, NA), "count"),
  case("dataset_shard", "num_shards 0", dataset_shard(ds, 0, 0), "num_shards"),
  case("dataset_shard", "index = num_shards", dataset_shard(ds, 2, 2), "index"),
  case("dataset_shard", "index negative", dataset_shard(ds, 2, -1), "index"),
  case("dataset_interleave", "map_func a string", dataset_interleave(ds, "f", 2), "map_func"),
  case("dataset_interleave", "cycle_length 0", dataset_interleave(tensor_slices_dataset(c(tfr, tfr)), function(f) tfrecord_dataset(f), cycle_length = 0), "cycle_length"),
  case("as_iterator", "not a dataset", as_iterator("a"), "dataset"),
  case("make_iterator_one_shot", "not a dataset", make_iterator_one_shot(1), "dataset"),
  case("iter_next", "not an iterator", iter_next("a"), "iterator"),
  case("iterate", "not a dataset", iterate(1:3), "(dataset|iterator)"),
  case("iterate", "f a string", iterate(ds, f = "a"), "`f`"),
  case("output_shapes", "not a dataset", output_shapes("a"), "dataset"),
  case("output_types", "not a dataset", output_types(1), "dataset"),
  case("shape", "string dims", shape("a"), "shape"),
  case("shape", "negative dim", shape(-3), "shape"),

  # ---- TFRecord reading and writing
  case("tfrecord_dataset", "a number", tfrecord_dataset(3), "`filenames`"),
  case("tfrecord_dataset", "empty vector", tfrecord_dataset(character(0)), "`filenames`"),
  case("tfrecord_dataset", "NA", tfrecord_dataset(NA_character_), "`filenames`"),
  case("tfrecord_dataset", "missing file", tfrecord_dataset(missing), "file not found.*does-not-exist"),
  case("tfrecord_dataset", "bad compression", tfrecord_dataset(tfr, compression_type = "bzip2"), "compression_type"),
  case("tfrecord_dataset", "num_parallel_reads string", tfrecord_dataset(tfr, num_parallel_reads = "a"), "num_parallel_reads"),
  case("tfrecord_dataset", "truncated record", iterate(tfrecord_dataset(tfr_trunc)), sprintf("trunc\\.tfrecord.*record 2 at byte offset %d.*truncated", 2 * tfr_rec)),
  case("tfrecord_dataset", "data CRC mismatch", iterate(tfrecord_dataset(tfr_crc)), sprintf("crc\\.tfrecord.*record 1 at byte offset %d.*data CRC mismatch", tfr_rec)),
  case("tfrecord_dataset", "length field 2^62", iterate(tfrecord_dataset(tfr_huge)), "huge\\.tfrecord.*record 0 at byte offset 0.*implausible record length 4611686018427387904"),
  case("tfrecord_dataset", "length 2^62 after a good record", iterate(tfrecord_dataset(tfr_huge2)), sprintf("huge2\\.tfrecord.*record 1 at byte offset %d.*implausible record length", tfr_rec)),
  case("tfrecord_dataset", "text file", iterate(tfrecord_dataset(text)), "text\\.txt.*record 0 at byte offset 0.*not a TFRecord file"),
  case("tfrecord_dataset", "GZIP requested on a plain file", iterate(tfrecord_dataset(tfr, "GZIP")), "good\\.tfrecord.*GZIP.*gzip magic"),
  case("tfrecord_dataset", "payload not an Example", iterate(tfrecord_dataset(tfr_garbage) %>% dataset_map(function(r) tf$io$parse_single_example(r, list(a = tf$io$FixedLenFeature(shape(), tf$int64))))),
       "garbage\\.tfrecord.*record 0 at byte offset 0"),
  case("tfrecord_dataset", "feature missing from the records", iterate(tfrecord_dataset(tfr) %>% dataset_map(function(r) tf$io$parse_single_example(r, list(zz = tf$io$FixedLenFeature(shape(), tf$int64))))),
       "good\\.tfrecord.*record 0 at byte offset 0.*'zz'"),
  case("read_tfrecord_examples", "path a number", read_tfrecord_examples(3), "`path`"),
  case("read_tfrecord_examples", "path NA", read_tfrecord_examples(NA_character_), "`path`"),
  case("read_tfrecord_examples", "missing file", read_tfrecord_examples(missing), "file not found.*does-not-exist"),
  case("read_tfrecord_examples", "max negative", read_tfrecord_examples(tfr, max = -5), "`max`"),
  case("read_tfrecord_examples", "max string", read_tfrecord_examples(tfr, max = "a"), "`max`"),
  case("read_tfrecord_examples", "max NA", read_tfrecord_examples(tfr, max = NA), "`max`"),
  case("read_tfrecord_examples", "truncated record", read_tfrecord_examples(tfr_trunc), sprintf("trunc\\.tfrecord.*record 2 at byte offset %d", 2 * tfr_rec)),
  case("read_tfrecord_examples", "data CRC mismatch", read_tfrecord_examples(tfr_crc), "crc\\.tfrecord.*record 1.*CRC"),
  case("read_tfrecord_examples", "length field 2^62", read_tfrecord_examples(tfr_huge), "huge\\.tfrecord.*record 0 at byte offset 0.*implausible record length"),
  case("read_tfrecord_examples", "payload not an Example", read_tfrecord_examples(tfr_garbage), "garbage\\.tfrecord.*record 0 at byte offset 0"),
  case("read_tfrecord_examples", "ZLIB requested on a plain file", read_tfrecord_examples(tfr, "ZLIB"), "good\\.tfrecord.*ZLIB"),
  case("write_tfrecord", "data a string", write_tfrecord("a", file.path(dir, "w.tfrecord")), "`data`"),
  case("write_tfrecord", "unnamed list", write_tfrecord(list(1:3), file.path(dir, "w.tfrecord")), "`data`"),
  case("write_tfrecord", "empty list", write_tfrecord(list(), file.path(dir, "w.tfrecord")), "`data`"),
  case("write_tfrecord", "different lengths", write_tfrecord(list(a = 1:3, b = 1:4), file.path(dir, "w.tfrecord")), "feature 'b' has 4 records"),
  case("write_tfrecord", "NA integer", write_tfrecord(list(a = c(1L, NA)), file.path(dir, "w.tfrecord")), "feature 'a' contains NA"),
  case("write_tfrecord", "NA double", write_tfrecord(list(a = c(1, NA)), file.path(dir, "w.tfrecord")), "feature 'a' contains NA"),
  case("write_tfrecord", "NA string", write_tfrecord(list(a = c("x", NA)), file.path(dir, "w.tfrecord")), "feature 'a' contains NA"),
  case("write_tfrecord", "a function feature", write_tfrecord(list(a = sum), file.path(dir, "w.tfrecord")), "feature 'a'"),
  case("write_tfrecord", "path NA", write_tfrecord(list(a = 1:3), NA_character_), "`path`"),
  case("write_tfrecord", "path a number", write_tfrecord(list(a = 1:3), 3), "`path`"),
  case("write_tfrecord", "directory missing", write_tfrecord(list(a = 1:3), nodir), "no/such/dir"),
  case("write_tfrecord", "path is a directory", write_tfrecord(list(a = 1:3), dir), "(directory|cannot)"),
  case("write_tfrecord", "bad compression", write_tfrecord(list(a = 1:3), file.path(dir, "w.tfrecord"), "lz4"), "compression_type"),
  case("write_tfrecord", "as_bytes unknown", write_tfrecord(list(a = 1:3), file.path(dir, "w.tfrecord"), as_bytes = "b"), "`as_bytes`.*b"),
  case("write_tfrecord", "as_bytes value 300", write_tfrecord(list(a = c(1, 300)), file.path(dir, "w.tfrecord"), as_bytes = "a"), "feature 'a'.*0\\.\\.255"),
  case("tfrecord_writer", "path NA", tfrecord_writer(NA_character_), "`path`"),
  case("tfrecord_writer", "directory missing", tfrecord_writer(nodir), "no/such/dir"),
  case("tfrecord_writer", "bad compression", tfrecord_writer(file.path(dir, "w2.tfrecord"), "x"), "compression_type"),
  case("tfrecord_writer", "write a string", { w <- tfrecord_writer(file.path(dir, "w3.tfrecord")); on.exit(w$abort()); w$write("a") }, "`example`"),
  case("tfrecord_writer", "write after close", { w <- tfrecord_writer(file.path(dir, "w4.tfrecord")); w$close(); w$write(list(a = 1)) }, "closed"),

  # ---- dataset_mnist / dataset_fashion_mnist: arguments and corrupt caches
  case("dataset_mnist", "path a number", dataset_mnist(3), "`path`"),
  case("dataset_mnist", "path NA", dataset_mnist(NA_character_), "`path`"),
  case("dataset_mnist", "path empty", dataset_mnist(""), "`path`"),
  case("dataset_mnist", "npz is a text file", dataset_mnist(text), "text\\.txt"),
  case("dataset_mnist", "npz zero-length", dataset_mnist(empty), "empty\\.bin"),
  case("dataset_mnist", "IDX header claims 10^9 images", with_home(idx_home(idx_images(1e9, 28, 28, raw(100)), idx_labels(0:9, 1e9)), dataset_mnist()),
       "train-(images|labels)-idx[13]-ubyte.*(declares|too many|truncated|1000000000)"),
  case("dataset_mnist", "IDX header claims 10^9 1x1 images", with_home(idx_home(idx_images(1e9, 1, 1, raw(100)), idx_labels(0:9, 1e9)), dataset_mnist()),
       "train-(images|labels)-idx[13]-ubyte.*(declares|too many|truncated|1000000000)"),
  case("dataset_mnist", "IDX truncated images", with_home(idx_home(idx_images(3, 28, 28, raw(100)), idx_labels(0:2)), dataset_mnist()),
       "train-images-idx3-ubyte.*truncated"),
  case("dataset_mnist", "IDX bad magic", with_home(idx_home(as.raw(c(1, 2, 3, 4, 5, 6, 7, 8)), idx_labels(0:2)), dataset_mnist()),
       "train-images-idx3-ubyte.*magic"),
  case("dataset_mnist", "IDX zero-length", with_home(idx_home(raw(0), idx_labels(0:2)), dataset_mnist()),
       "train-images-idx3-ubyte.*(truncated|empty)"),
  case("dataset_mnist", "IDX images 2x2", with_home(idx_home(idx_images(3, 2, 2), idx_labels(0:2)), dataset_mnist()),
       "(train-images-idx3-ubyte|training images).*28", owner = "H3"),
  case("dataset_mnist", "IDX label 200", with_home(idx_home(idx_images(3, 28, 28), idx_labels(c(0, 200, 1))), dataset_mnist()),
       "(train-labels-idx1-ubyte|training labels).*200", owner = "H3"),
  case("dataset_mnist", "IDX image/label counts differ", with_home(idx_home(idx_images(3, 28, 28), idx_labels(0:3)), dataset_mnist()),
       "(3|4).*(labels|images)"),
  case("dataset_fashion_mnist", "IDX label 200", with_home(fashion_home(idx_home(idx_images(3, 28, 28), idx_labels(c(0, 200, 1)))), dataset_fashion_mnist()),
       "(train-labels-idx1-ubyte|training labels).*200", owner = "H3"),
  case("dataset_fashion_mnist", "IDX header claims 10^9 images", with_home(fashion_home(idx_home(idx_images(1e9, 28, 28, raw(100)), idx_labels(0:9, 1e9))), dataset_fashion_mnist()),
       "train-(images|labels)-idx[13]-ubyte.*(declares|too many|truncated|1000000000)"),

  # ---- prediction at a batch size people use (conv im2col buffer): H1
  # the valid call first (it overflows a buffer before H1's fix), then NaN input at that batch size
  case("predict", "conv net at batch_size 1000, then x with NaN", {
         cm <- conv_model()
         p <- predict(cm, array(0.5, c(1000, 28, 28, 1)), batch_size = 1000)
         if (!identical(dim(p), c(1000L, 10L)) || !all(is.finite(p))) stop("bad prediction")
         predict(cm, array(c(NaN, rep(0.5, 783999)), c(1000, 28, 28, 1)), batch_size = 1000)
       }, "predict\\(\\): `x` contains NaN \\(element 1\\)", owner = "H1", risky = TRUE),
  case("predict", "conv net, batch_size 1000, x of the wrong width", predict(conv_model(), array(0, c(1000, 28, 27, 1)), batch_size = 1000),
       "expected arrays of shape \\(None, 28, 28, 1\\) but got \\(None, 28, 27, 1\\)", risky = TRUE)
)

# KERAS_HOME pointing at `home` (offline) while `expr` runs.
with_home <- function(home, expr) {
  old <- Sys.getenv("KERAS_HOME", NA)
  oo <- options(kerasnative.offline = TRUE, kerasnative.fashion_mnist_system_dir = file.path(home, "none"))
  on.exit({
    options(oo)
    if (is.na(old)) Sys.unsetenv("KERAS_HOME") else Sys.setenv(KERAS_HOME = old)
  })
  Sys.setenv(KERAS_HOME = home)
  suppressWarnings(expr)
}
# Move an MNIST-style cache into datasets/fashion-mnist.
fashion_home <- function(home) {
  d <- file.path(home, "datasets")
  f <- file.path(d, "fashion-mnist")
  dir.create(f)
  for (x in list.files(d, pattern = "ubyte")) file.rename(file.path(d, x), file.path(f, x))
  home
}
# The seed-002 CNN (the issue's crash in predict() at batch_size 1000).
conv_model <- function() {
  keras_model_sequential() %>%
    layer_conv_2d(32, c(5, 5), padding = "same", activation = "relu", input_shape = c(28, 28, 1)) %>%
    layer_max_pooling_2d(2) %>%
    layer_conv_2d(64, c(5, 5), padding = "same", activation = "relu") %>%
    layer_max_pooling_2d(2) %>%
    layer_flatten() %>%
    layer_dense(1024, activation = "relu") %>%
    layer_dropout(0.4) %>%
    layer_dense(10, activation = "softmax")
}

# ------------------------------------------------------------------ running

# Evaluate one case; returns list(status = "error" | "no error" | "crash", message).
run_bad_case <- function(cs, fx) {
  env <- new.env(parent = environment(run_bad_case))
  for (nm in ls(fx)) assign(nm, get(nm, fx), envir = env)
  res <- tryCatch({
    setTimeLimit(elapsed = 60, transient = TRUE)
    on.exit(setTimeLimit(elapsed = Inf))
    eval(cs$expr, env)
    list(status = "no error", message = "")
  }, error = function(e) list(status = "error", message = conditionMessage(e)))
  res$pattern <- eval(cs$error, env)
  res
}

# The same in a child R process (for cases that could crash R).
run_bad_case_child <- function(cs, fx, script_dir) {
  script <- tempfile("bad_case_", tmpdir = script_dir, fileext = ".R")
  out <- paste0(script, ".out")
  this_file <- normalizePath(if (file.exists("test-bad-input.R")) "test-bad-input.R"
                             else testthat::test_path("test-bad-input.R"))
  writeLines(c(
    "suppressMessages({library(testthat); library(kerasnative)})",
    "env <- new.env()",
    sprintf("sys.source('%s', envir = env, toplevel.env = env, keep.source = FALSE)", this_file),
    sprintf("fx <- env$bad_fixtures('%s')", tempfile("fx_", tmpdir = script_dir)),
    sprintf("cs <- env$bad_cases[[%d]]", cs$index),
    "res <- env$run_bad_case(cs, fx)",
    sprintf("saveRDS(res, '%s')", out)), script)
  # a child killed by a signal makes system2() warn; the status is reported below instead
  status <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), script, stdout = FALSE, stderr = FALSE,
                    env = c(paste0("R_LIBS=", paste(.libPaths(), collapse = ":")), "KN_BAD_INPUT_CHILD=1"),
                    timeout = 120))
  if (file.exists(out)) return(readRDS(out))
  list(status = "crash", message = sprintf("child R exited with status %s without a result", status),
       pattern = "")
}

for (i in seq_along(bad_cases)) bad_cases[[i]]$index <- i

if (!nzchar(Sys.getenv("KN_BAD_INPUT_CHILD"))) {
  test_that("the CRC-32C used to forge TFRecord headers matches a written file", {
    f <- tempfile(fileext = ".tfrecord")
    on.exit(unlink(f))
    write_tfrecord(list(a = 7L), f)
    b <- readBin(f, "raw", file.size(f))
    expect_identical(b[1:12], tfrecord_header(length(b) - 16))
    expect_identical(tail(b, 4), tfrecord_crc(b[13:(length(b) - 4)]))
  })

  dir <- tempfile("kn_bad_input_")
  dir.create(dir)
  fx <- bad_fixtures(dir)
  test_that(sprintf("bad-input table: %d cases over %d exported functions", length(bad_cases),
                    length(unique(vapply(bad_cases, `[[`, "", "fn")))), {
    expect_gte(length(bad_cases), 250)
  })
  for (cs in bad_cases) {
    label <- sprintf("bad input [%d] %s: %s%s", cs$index, cs$fn, cs$what,
                     if (!is.na(cs$owner)) paste0(" (fixed by ", cs$owner, ")") else "")
    test_that(label, {
      res <- if (cs$risky) run_bad_case_child(cs, fx, dir) else run_bad_case(cs, fx)
      expect_identical(res$status, "error", info = res$message)
      if (res$status == "error")
        expect_match(res$message, res$pattern, perl = TRUE, info = paste("got:", res$message))
    })
  }
  unlink(dir, recursive = TRUE)
}
