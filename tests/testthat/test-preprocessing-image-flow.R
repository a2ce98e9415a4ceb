# Image iterators: batch order and content (Keras's epoch/batch scheme),
# labels, subsets, directories, and their use by the *_generator functions.

test_that("flow_images_from_data yields Keras's batches in order without shuffle", {
  x <- array(as.numeric(1:5), c(5, 1, 1, 1))
  y <- c(10, 20, 30, 40, 50)
  it <- flow_images_from_data(x, y, batch_size = 2, shuffle = FALSE)
  expect_equal(it$n, 5)
  b <- list(it(), it(), it(), it())
  expect_equal(lapply(b, function(v) as.vector(v[[1]])), list(c(1, 2), c(3, 4), 5, c(1, 2)))
  expect_equal(lapply(b, `[[`, 2), list(c(10, 20), c(30, 40), 50, c(10, 20)))
  expect_equal(dim(b[[1]][[1]]), c(2, 1, 1, 1))
  itw <- flow_images_from_data(x, y, sample_weight = c(1, 2, 3, 4, 5), batch_size = 3, shuffle = FALSE)
  expect_equal(itw()[[3]], c(1, 2, 3))
  expect_equal(generator_next(itw)[[3]], c(4, 5))
})

test_that("shuffling draws one permutation per epoch, reproducibly with seed, pairs kept", {
  x <- array(as.numeric(1:7), c(7, 1, 1, 1))
  y <- to_categorical(0:6, 7)
  it <- flow_images_from_data(x, y, batch_size = 3, seed = 11)
  ep <- lapply(1:3, function(i) it())
  seen <- unlist(lapply(ep, function(b) as.vector(b[[1]])))
  expect_setequal(seen, 1:7)
  for (b in ep) expect_equal(max.col(b[[2]]), as.vector(b[[1]]))
  it2 <- flow_images_from_data(x, y, batch_size = 3, seed = 11)
  expect_identical(it2(), ep[[1]])
  # seeded iterators leave the caller's random stream alone
  set.seed(1); r1 <- runif(1)
  set.seed(1); it2(); r2 <- runif(1)
  expect_equal(r1, r2)
})

test_that("subset splits at floor(n * validation_split) and checks the classes", {
  g <- image_data_generator(validation_split = 0.4)
  x <- array(as.numeric(1:5), c(5, 1, 1, 1))
  v <- flow_images_from_data(x, c(0, 1, 0, 1, 0), generator = g, subset = "validation", shuffle = FALSE, batch_size = 10)
  t <- flow_images_from_data(x, c(0, 1, 0, 1, 0), generator = g, subset = "training", shuffle = FALSE, batch_size = 10)
  expect_equal(as.vector(v()[[1]]), c(1, 2))
  expect_equal(as.vector(t()[[1]]), c(3, 4, 5))
  expect_error(flow_images_from_data(x, c(0, 0, 1, 1, 1), generator = g, subset = "training"), "different classes")
  expect_error(flow_images_from_data(x, 1:3), "same length")
  expect_error(flow_images_from_data(matrix(1, 2, 2)), "4D")
})

test_that("rescale and augmentation are applied to every image of a batch", {
  x <- array(as.numeric(1:8), c(2, 2, 2, 1))
  g <- image_data_generator(rescale = 1 / 2, horizontal_flip = TRUE)
  set.seed(7)
  b <- flow_images_from_data(x, generator = g, batch_size = 2, shuffle = FALSE)()
  set.seed(7)
  flips <- vapply(1:2, function(i) { u <- runif(2); u[1] < 0.5 }, logical(1))  # per image: flip h, flip v draws
  for (i in 1:2) {
    want <- x[i, , , 1] / 2
    if (flips[i]) want <- want[, 2:1]
    expect_equal(b[i, , , 1], want)
  }
})

make_image_dir <- function() {
  root <- tempfile("imgs")
  cols <- list(cat = c(255, 0, 0), dog = c(0, 0, 255))
  for (cl in names(cols)) {
    dir.create(file.path(root, cl), recursive = TRUE)
    for (k in 1:3) {
      img <- array(rep(cols[[cl]], each = 6 * 4), c(6, 4, 3))
      img[1, 1, 2] <- k * 10  # tells the files apart
      image_array_save(img, file.path(root, cl, sprintf("%s%d.png", cl, k)), scale = FALSE)
    }
  }
  root
}

test_that("flow_images_from_directory: classes, labels, resizing, subsets", {
  skip_if_not_installed("png")
  root <- make_image_dir()
  expect_message(it <- flow_images_from_directory(root, target_size = c(3, 2), batch_size = 4, shuffle = FALSE),
                 "Found 6 images belonging to 2 classes")
  expect_equal(it$class_indices, list(cat = 0L, dog = 1L))
  expect_equal(it$classes, c(0L, 0L, 0L, 1L, 1L, 1L))
  expect_equal(it$filenames, c("cat/cat1.png", "cat/cat2.png", "cat/cat3.png", "dog/dog1.png", "dog/dog2.png", "dog/dog3.png"))
  b <- it()
  expect_equal(dim(b[[1]]), c(4, 3, 2, 3))
  expect_equal(b[[2]], rbind(c(1, 0), c(1, 0), c(1, 0), c(0, 1)))
  # red images are cats, blue images dogs; nearest 6x4 -> 3x2 reads rows 2,4,6 and cols 2,4 (1-based)
  expect_equal(b[[1]][1:3, 2, 2, 1], c(255, 255, 255))
  expect_equal(b[[1]][4, 2, 2, 3], 255)
  b2 <- it()
  expect_equal(dim(b2[[1]])[1], 2)
  sp <- flow_images_from_directory(root, target_size = c(3, 2), class_mode = "sparse", shuffle = FALSE,
                                   generator = image_data_generator(validation_split = 0.34), subset = "validation")
  expect_equal(sp$filenames, c("cat/cat1.png", "dog/dog1.png"))
  expect_equal(sp()[[2]], c(0, 1))
  none <- flow_images_from_directory(root, target_size = c(3, 2), class_mode = NULL, color_mode = "grayscale",
                                     shuffle = FALSE, batch_size = 2)
  x <- none()
  expect_equal(dim(x), c(2, 3, 2, 1))
  expect_equal(x[1, 2, 2, 1], 76)  # PIL luminance of pure red
  expect_error(flow_images_from_directory(file.path(root, "nope")), "does not exist")
  expect_error(flow_images_from_directory(root, class_mode = "multi"), "class_mode")
})

test_that("save_to_dir writes the augmented images", {
  skip_if_not_installed("png")
  out <- tempfile("aug"); dir.create(out)
  x <- array(runif(3 * 4 * 4 * 3), c(3, 4, 4, 3))
  it <- flow_images_from_data(x, generator = image_data_generator(rotation_range = 10), batch_size = 3,
                              save_to_dir = out, save_prefix = "aug", seed = 1)
  it()
  files <- list.files(out)
  expect_length(files, 3)
  expect_true(all(grepl("^aug_[0-2]_[0-9]+\\.png$", files)))
})

test_that("flow_images_from_dataframe reads the listed files with their labels", {
  skip_if_not_installed("png")
  root <- make_image_dir()
  df <- data.frame(filename = c("cat/cat1.png", "dog/dog2.png", "cat/cat3.png", "missing.png"),
                   class = c("cat", "dog", "cat", "dog"), stringsAsFactors = FALSE)
  expect_warning(it <- flow_images_from_dataframe(df, root, target_size = c(2, 2), class_mode = "binary",
                                                  shuffle = FALSE, batch_size = 8), "skipped")
  b <- it()
  expect_equal(b[[2]], c(0, 1, 0))
  expect_equal(b[[1]][, 1, 1, 3], c(0, 255, 0))  # blue channel: only the dog
})

test_that("image iterators drive fit_generator, evaluate_generator and predict_generator", {
  set.seed(2)
  x <- array(runif(20 * 4 * 4 * 1), c(20, 4, 4, 1))
  y <- to_categorical(as.integer(apply(x, 1, mean) > 0.5), 2)
  model <- keras_model_sequential() %>%
    layer_flatten(input_shape = c(4, 4, 1)) %>%
    layer_dense(2, activation = "softmax")
  model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
  it <- flow_images_from_data(x, y, generator = image_data_generator(horizontal_flip = TRUE), batch_size = 8, seed = 1)
  h <- fit_generator(model, it, steps_per_epoch = 3, epochs = 2, verbose = 0)
  expect_length(h$metrics$loss, 2)
  p <- predict_generator(model, flow_images_from_data(x, batch_size = 8, shuffle = FALSE), steps = 3)
  expect_equal(p, predict(model, x), tolerance = 1e-6)
  e <- evaluate_generator(model, flow_images_from_data(x, y, batch_size = 8, shuffle = FALSE), steps = 3)
  expect_equal(e$loss, evaluate(model, x, y, verbose = 0)$loss, tolerance = 1e-5)
})
