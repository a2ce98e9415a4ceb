# Image loading, saving, resizing: checked against values worked out by hand
# (PIL's and scipy's formulas written out in the comments).

skip_if_no_png <- function() skip_if_not_installed("png")

test_that("image_array_save(scale = FALSE) then image_load() gives back the exact pixels", {
  skip_if_no_png()
  img <- array(c(0, 1, 2, 100, 200, 255, 7, 8, 9, 10, 11, 12, 50, 60, 70, 80, 90, 254), c(2, 3, 3))
  f <- tempfile(fileext = ".png")
  image_array_save(img, f, scale = FALSE)
  expect_equal(png::readPNG(f) * 255, img)           # independent decoder
  expect_equal(image_to_array(image_load(f)), img)
  expect_equal(dim(image_to_array(image_load(f), data_format = "channels_first")), c(3, 2, 3))
  expect_equal(image_to_array(image_load(f), "channels_first")[2, 1, 3], img[1, 3, 2])
})

test_that("image_array_save(scale = TRUE) shifts, scales to 255 and truncates as Keras", {
  skip_if_no_png()
  # x + max(-min, 0) = (0, 1, 1.5, 2); / 2 * 255 = 0, 127.5, 191.25, 255 -> 0, 127, 191, 255
  x <- array(c(-1, 0, 0.5, 1), c(2, 2, 1))
  f <- tempfile(fileext = ".png")
  image_array_save(x, f)
  expect_equal(as.vector(png::readPNG(f) * 255), c(0, 127, 191, 255))
  # grayscale file loads as RGB by default (the value replicated) or as 1 channel
  expect_equal(dim(image_to_array(image_load(f))), c(2, 2, 3))
  expect_equal(as.vector(image_to_array(image_load(f))[, , 2]), c(0, 127, 191, 255))
  expect_equal(as.vector(image_to_array(image_load(f, grayscale = TRUE))), c(0, 127, 191, 255))
})

test_that("grayscale loading uses PIL's luminance (R*19595 + G*38470 + B*7471 + 32768) >> 16", {
  skip_if_no_png()
  img <- array(0, c(1, 4, 3))
  img[1, 1, ] <- c(255, 0, 0)    # 4996725 + 32768 = 5029493 -> 76
  img[1, 2, ] <- c(10, 200, 30)  # 195950 + 7694000 + 224130 + 32768 = 8146848 -> 124
  img[1, 3, ] <- c(0, 0, 255)    # 1905105 + 32768 -> 29
  img[1, 4, ] <- c(255, 255, 255)
  f <- tempfile(fileext = ".png")
  image_array_save(img, f, scale = FALSE)
  expect_equal(as.vector(image_to_array(image_load(f, grayscale = TRUE))), c(76, 124, 29, 255))
})

test_that("image_load(target_size) resizes as PIL: nearest, bilinear (shrinking and enlarging)", {
  skip_if_no_png()
  f <- tempfile(fileext = ".png")
  m <- matrix(c(0, 40, 80, 120, 10, 50, 90, 130, 20, 60, 100, 140, 30, 70, 110, 150), 4)
  image_array_save(array(m, c(4, 4, 1)), f, scale = FALSE)
  # nearest: output o reads floor((o + 0.5) * 2) = 1, 3 (0-based)
  near <- image_to_array(image_load(f, grayscale = TRUE, target_size = c(2, 2)))
  expect_equal(near[, , 1], m[c(2, 4), c(2, 4)])
  # bilinear 4 -> 2: support 2; weights (3, 3, 1)/7 and (1, 3, 3)/7
  row <- array(c(0, 10, 20, 30), c(1, 4, 1))
  image_array_save(row, f, scale = FALSE)
  bl <- image_to_array(image_load(f, grayscale = TRUE, target_size = c(1, 2), interpolation = "bilinear"))
  expect_equal(as.vector(bl), c(round(50 / 7), round(160 / 7)))  # 7, 23
  # bilinear 2 -> 4 at half-pixel centres: 0, 25, 75, 100
  image_array_save(array(c(0, 100), c(1, 2, 1)), f, scale = FALSE)
  up <- image_to_array(image_load(f, grayscale = TRUE, target_size = c(1, 4), interpolation = "bilinear"))
  expect_equal(as.vector(up), c(0, 25, 75, 100))
  expect_error(image_load(f, target_size = c(2, 2), interpolation = "cubic"), "interpolation")
})

test_that("JPEG files load and save through the jpeg package", {
  skip_if_not_installed("jpeg")
  f <- tempfile(fileext = ".jpg")
  img <- array(128, c(8, 8, 3))
  img[, , 1] <- 200
  image_array_save(img, f, scale = FALSE)
  back <- image_to_array(image_load(f))
  expect_equal(dim(back), c(8, 8, 3))
  expect_lt(max(abs(back - img)), 4)   # lossy, but a flat image survives nearly intact
})

test_that("image_array_resize is scipy's zoom(order = 1): corners kept, linear in between", {
  x <- array(c(0, 20, 10, 30), c(2, 2, 1))  # rows (0, 10), (20, 30)
  r <- image_array_resize(x, 3, 3)
  expect_equal(r[, , 1], matrix(c(0, 10, 20, 5, 15, 25, 10, 20, 30), 3))
  x4 <- array(x, c(1, 2, 2, 1))
  expect_equal(dim(image_array_resize(x4, 3, 5)), c(1, 3, 5, 1))
  cf <- image_array_resize(aperm(x, c(3, 1, 2)), 3, 3, data_format = "channels_first")
  expect_equal(cf[1, , ], r[, , 1])
})

test_that("image I/O rejects bad input with clear errors", {
  skip_if_no_png()
  expect_error(image_load(tempfile()), "does not exist")
  f <- tempfile(fileext = ".png")
  writeLines("not an image", f)
  expect_error(image_load(f), "neither a PNG nor a JPEG")
  expect_error(image_array_save(array(0, c(2, 2, 2)), tempfile(fileext = ".png")), "channel number 2")
  expect_error(image_array_save(array(300, c(2, 2, 1)), tempfile(fileext = ".png"), scale = FALSE), "\\[0, 255\\]")
  expect_error(image_array_save(array(1, c(2, 2, 1)), tempfile(fileext = ".gif")), "file_format")
  expect_error(image_to_array(1:3), "3D array")
})
