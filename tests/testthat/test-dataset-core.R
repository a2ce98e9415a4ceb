# Dataset verbs over in-memory data: expected values are written out by hand
# (or computed with base R on the same inputs).

el_values <- function(ds) unlist(iterate(ds))

test_that("tensor_slices_dataset slices along the first dimension", {
  m <- matrix(1:6, ncol = 2)            # rows (1,4) (2,5) (3,6)
  ds <- tensor_slices_dataset(list(x = m, y = c(0.5, 1.5, 2.5)))
  els <- iterate(ds)
  expect_length(els, 3)
  expect_equal(els[[2]]$x, c(2L, 5L))
  expect_equal(els[[3]]$y, 2.5)
  a <- array(1:24, c(2, 3, 4))
  el <- iter_next(as_iterator(tensor_slices_dataset(a)))
  expect_equal(el, a[1, , ])
  expect_error(tensor_slices_dataset(list(1:3, 1:4)), "same first dimension")
})

test_that("take, skip, shard, repeat and batch give the documented elements", {
  ds <- tensor_slices_dataset(1:10)
  expect_equal(el_values(ds %>% dataset_take(3)), 1:3)
  expect_equal(el_values(ds %>% dataset_skip(7)), 8:10)
  expect_equal(el_values(ds %>% dataset_shard(3, 1)), c(2L, 5L, 8L))
  expect_equal(el_values(tensor_slices_dataset(1:3) %>% dataset_repeat(2)), c(1:3, 1:3))
  b <- iterate(ds %>% dataset_batch(4))
  expect_equal(b, list(1:4, 5:8, 9:10))
  expect_length(iterate(ds %>% dataset_batch(4, drop_remainder = TRUE)), 2)
  expect_equal(el_values(tensor_slices_dataset(1:3) %>% dataset_repeat() %>% dataset_take(7)), c(1:3, 1:3, 1L))
  expect_equal(el_values(ds %>% dataset_prefetch(3)), 1:10)
})

test_that("batched matrices keep the batch dimension first", {
  x <- matrix(as.double(1:12), ncol = 3)   # 4 rows
  b <- iter_next(as_iterator(tensor_slices_dataset(x) %>% dataset_batch(3)))
  expect_equal(b, x[1:3, ])
})

test_that("dataset_map traces arithmetic, cast, reshape and one_hot", {
  ds <- tensor_slices_dataset(list(a = c(1, 2, 3), k = c(0L, 2L, 1L))) %>%
    dataset_map(function(el) list(y = (el$a * 2 + 1) / 4, z = 10 - el$a,
                                  oh = tf$one_hot(el$k, 3L), c = tf$cast(el$a, tf$int32) * 3L))
  els <- iterate(ds)
  expect_equal(sapply(els, `[[`, "y"), (c(1, 2, 3) * 2 + 1) / 4)
  expect_equal(sapply(els, `[[`, "z"), 10 - c(1, 2, 3))
  expect_equal(els[[2]]$oh, c(0, 0, 1))
  expect_equal(sapply(els, `[[`, "c"), c(3L, 6L, 9L))
  r <- iter_next(as_iterator(tensor_slices_dataset(matrix(as.double(1:12), 2)) %>%
                               dataset_map(function(x) tf$reshape(x, shape(2, 3)))))
  expect_equal(r, matrix(c(1, 3, 5, 7, 9, 11), 2, 3, byrow = TRUE))
  # unnamed list elements are passed as separate arguments
  s <- iterate(tensor_slices_dataset(list(1:3, 4:6)) %>% dataset_map(function(a, b) a + b))
  expect_equal(unlist(s), c(5L, 7L, 9L))
})

test_that("print shows the element structure", {
  ds <- tensor_slices_dataset(list(image = array(0, c(5, 28, 28, 1)), label = matrix(0, 5, 10))) %>%
    dataset_batch(2)
  expect_equal(format(ds),
               "<BatchDataset shapes: (image: (None, 28, 28, 1), label: (None, 10)), types: (image: tf.float32, label: tf.float32)>")
  expect_output(print(tensor_slices_dataset(1:3)), "<TensorSliceDataset shapes: (), types: tf.int32>", fixed = TRUE)
  expect_equal(output_shapes(ds)$label, c(NA, 10L))
})

test_that("shuffle is a permutation, reproducible under set.seed, independent of threads", {
  ds <- tensor_slices_dataset(1:100) %>% dataset_map(function(x) x * 1L, num_parallel_calls = 2) %>%
    dataset_shuffle(20)
  set.seed(3); a <- el_values(ds)
  set.seed(3); b <- el_values(ds)
  set.seed(4); c <- el_values(ds)
  expect_equal(sort(a), 1:100)
  expect_identical(a, b)
  expect_false(identical(a, c))
  ds1 <- tensor_slices_dataset(1:100) %>% dataset_map(function(x) x * 1L) %>% dataset_shuffle(20)
  set.seed(3); expect_identical(el_values(ds1), a)
  # a buffer of 20 can move an element at most 19 places forward
  expect_true(all(a[1:5] <= 25))
  # each repetition is reshuffled
  r <- el_values(tensor_slices_dataset(1:50) %>% dataset_shuffle(50) %>% dataset_repeat(2))
  expect_equal(sort(r[1:50]), 1:50)
  expect_false(identical(r[1:50], r[51:100]))
})

test_that("parallel map keeps the input order", {
  x <- as.double(1:5000)
  got <- el_values(tensor_slices_dataset(x) %>% dataset_map(function(v) v * 3, num_parallel_calls = 4) %>%
                     dataset_batch(100) %>% dataset_prefetch(2))
  expect_equal(got, x * 3)
})

test_that("iterators report the end and iterate applies f", {
  it <- as_iterator(tensor_slices_dataset(1:2))
  expect_equal(iter_next(it), 1L)
  expect_equal(iterate(it, function(x) x * 10L), list(20L))
  expect_null(iter_next(it))
  expect_equal(iter_next(it, completed = "done"), "done")
  it2 <- make_iterator_one_shot(tensor_slices_dataset(letters[1:3]))
  expect_equal(iter_next(it2), "a")
})

test_that("bad arguments give clear errors", {
  ds <- tensor_slices_dataset(1:3)
  expect_error(dataset_batch(ds, 0), "batch_size")
  expect_error(dataset_shard(ds, 2, 2), "index")
  expect_error(dataset_map(ds, function(x) 1), "must return dataset tensors")
  expect_error(dataset_map(ds, function(x) tf$one_hot(tf$cast(x, tf$float32), 3L)), "integers")
  expect_error(tf$nonexistent, "not available")
  expect_error(dataset_map(ds, function(x) tf$reshape(x, shape(2))), "cannot reshape")
})

test_that("the parallel map follows kn_threads(): same elements at 1 and 2 threads", {
  old <- kn_threads()
  on.exit(kn_threads(old))
  path <- tempfile(fileext = ".tfrecord")
  on.exit(unlink(path), add = TRUE)
  x <- matrix(as.double(1:(600 * 3)), ncol = 3)   # record i holds row i
  write_tfrecord(list(x = x, k = 0:599), path)
  ds <- tfrecord_dataset(path) %>%
    dataset_map(function(r) {
      f <- tf$io$parse_single_example(r, list(x = tf$io$FixedLenFeature(shape(3), tf$float32),
                                              k = tf$io$FixedLenFeature(shape(), tf$int64)))
      list(f$x * 2 + 1, f$k)
    }, num_parallel_calls = tf$data$AUTOTUNE) %>%
    dataset_shuffle(100, seed = 5) %>%
    dataset_batch(64)
  run <- function(n) {
    kn_threads(n)
    b <- iterate(ds)
    list(x = do.call(rbind, lapply(b, `[[`, 1)), k = unlist(lapply(b, `[[`, 2)))
  }
  one <- run(1)
  two <- run(2)
  expect_identical(one, two)
  # the values themselves, computed in base R for the order the pipeline chose
  expect_equal(sort(one$k), 0:599)
  expect_equal(one$x, x[one$k + 1, ] * 2 + 1)
})
