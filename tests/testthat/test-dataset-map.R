# dataset_map() on the one op table: the map function sees the same tensor
# class as models, any k_* function or operator records an op of the table,
# shapes and dtypes come from the table. Expected values: base R on the same
# inputs, or written out by hand.

test_that("map tensors are the one tensor class, typed by the op table", {
  seen <- NULL
  ds <- tensor_slices_dataset(list(a = matrix(as.double(1:6), 3), k = c(1L, 0L, 2L))) %>%
    dataset_map(function(el) {
      seen <<- el
      list(s = k_sum(el$a), b = el$a > 2, q = el$k * 2L, d = el$k / 2L, o = tf$one_hot(el$k, 4L, dtype = tf$int32))
    })
  expect_s3_class(seen$a, "kerasnative_tensor")
  expect_equal(output_types(ds), list(s = "float32", b = "bool", q = "int32", d = "float32", o = "int32"))
  expect_equal(output_shapes(ds), list(s = integer(0), b = 2L, q = integer(0), d = integer(0), o = 4L))
  els <- iterate(ds)
  a <- matrix(as.double(1:6), 3)
  expect_equal(sapply(els, `[[`, "s"), rowSums(a))
  expect_equal(els[[2]]$b, a[2, ] > 2)
  expect_identical(sapply(els, `[[`, "q"), c(2L, 0L, 4L))
  expect_equal(sapply(els, `[[`, "d"), c(0.5, 0, 1))
  expect_identical(els[[3]]$o, c(0L, 0L, 1L, 0L))
})

test_that("k_* functions, comparisons and slicing run per element", {
  x <- matrix(c(-1.5, 0.5, 2, 3, -4, 0.25), 2, byrow = TRUE)  # elements: rows
  ds <- tensor_slices_dataset(x) %>%
    dataset_map(function(r) list(e = k_exp(r), c = k_clip(r, -1, 1), m = k_max(r), sl = r[2:3],
                                 w = k_switch(r > 0, r, k_zeros_like(r)), sq = tf$squeeze(tf$expand_dims(r, 0L))))
  els <- iterate(ds)
  for (i in 1:2) {
    expect_equal(els[[i]]$e, exp(x[i, ]), tolerance = 1e-6)
    expect_equal(els[[i]]$c, pmin(1, pmax(-1, x[i, ])))
    expect_equal(els[[i]]$m, max(x[i, ]))
    expect_equal(els[[i]]$sl, x[i, 2:3])
    expect_equal(els[[i]]$w, ifelse(x[i, ] > 0, x[i, ], 0))
    expect_equal(els[[i]]$sq, x[i, ])
  }
})

test_that("64-bit integers stay exact through parse, cast and reshape; float kernels refuse them", {
  path <- tempfile(fileext = ".tfrecord")
  on.exit(unlink(path))
  big <- c(16777217L, -16777219L, .Machine$integer.max)  # odd numbers beyond 2^24
  write_tfrecord(list(k = matrix(big, 1)), path)
  parse <- function(r) tf$io$parse_single_example(r, list(k = tf$io$FixedLenFeature(shape(3), tf$int64)))$k
  got <- iter_next(as_iterator(tfrecord_dataset(path) %>%
                                 dataset_map(function(r) tf$reshape(tf$cast(parse(r), tf$int32), shape(3, 1)))))
  expect_identical(as.vector(got), big)
  expect_error(iterate(tfrecord_dataset(path) %>% dataset_map(function(r) parse(r) + 1L)),
               "beyond 2\\^24")
})

write_one_record <- function() {
  path <- tempfile(fileext = ".tfrecord")
  write_tfrecord(list(a = 1L), path)
  path
}

test_that("map graphs reject model tensors and tensors of another map", {
  inp <- layer_input(shape = 2)
  ds <- tensor_slices_dataset(matrix(1, 2, 2))
  expect_error(dataset_map(ds, function(x) x + inp), "cannot be combined with a model tensor")
  other <- NULL
  invisible(dataset_map(ds, function(x) { other <<- x; x }))
  expect_error(dataset_map(ds, function(x) x + other), "different dataset_map")
  expect_error(dataset_map(tfrecord_dataset(write_one_record()), function(r) r * 2), "string tensors")
  expect_error(tf$io$decode_raw(k_constant(1), tf$uint8), "string tensor")
})
