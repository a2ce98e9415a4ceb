# image_data_generator(): each transformation on tiny images against pixel
# values worked out by hand from Keras's formulas; normalisation statistics
# against plain R; random draws reproducible with set.seed().

apply_p <- function(g, x, ...) {
  p <- utils::modifyList(list(theta = 0, tx = 0, ty = 0, shear = 0, zx = 1, zy = 1, flip_horizontal = FALSE,
                              flip_vertical = FALSE, channel_shift_intensity = NULL, brightness = NULL), list(...))
  kerasnative:::image_apply_params(g, x, p)
}
img4 <- array(1:16, c(4, 4, 1))  # img4[r, c] = r + 4 (c - 1)

test_that("flips reverse columns / rows", {
  g <- image_data_generator()
  expect_equal(apply_p(g, img4, flip_horizontal = TRUE)[, , 1], img4[, 4:1, 1])
  expect_equal(apply_p(g, img4, flip_vertical = TRUE)[, , 1], img4[4:1, , 1])
})

test_that("integer shifts read pixel (r + tx, c + ty), filled by fill_mode", {
  # tx = 1 (rows), ty = -2 (cols): out[r, c] = in[r + 1, c - 2]
  g <- image_data_generator(fill_mode = "constant", cval = -1)
  out <- apply_p(g, img4, tx = 1, ty = -2)[, , 1]
  want <- matrix(-1, 4, 4)
  for (r in 1:3) for (c in 3:4) want[r, c] <- img4[r + 1, c - 2, 1]
  expect_equal(out, want)
  gn <- image_data_generator(fill_mode = "nearest")
  want_n <- outer(1:4, 1:4, function(r, c) img4[cbind(pmin(r + 1, 4), pmax(c - 2, 1), 1)])
  expect_equal(apply_p(gn, img4, tx = 1, ty = -2)[, , 1], want_n)
  # reflect (d c b a | a b c d): column -1 -> 0, -2 -> 1; wrap: column -1 -> 3, -2 -> 2 (0-based)
  gr <- image_data_generator(fill_mode = "reflect")
  expect_equal(apply_p(gr, img4, ty = -2)[, , 1], img4[, c(2, 1, 1, 2), 1])
  gw <- image_data_generator(fill_mode = "wrap")
  expect_equal(apply_p(gw, img4, ty = -2)[, , 1], img4[, c(3, 4, 1, 2), 1])
})

test_that("a fractional shift interpolates linearly", {
  g <- image_data_generator(fill_mode = "nearest")
  out <- apply_p(g, img4, ty = 0.25)[, , 1]
  # out[r, c] = 0.75 in[r, c] + 0.25 in[r, c + 1] (last column clamped)
  want <- 0.75 * img4[, , 1] + 0.25 * img4[, c(2, 3, 4, 4), 1]
  expect_equal(out, want)
})

test_that("rotation by 90 degrees about Keras's centre (h/2 + 0.5, w/2 + 0.5)", {
  # centre (2.5, 2.5); input = R (o - 2.5) + 2.5 with R = [[0, -1], [1, 0]]:
  # in_row = 5 - col, in_col = row (0-based), clamped by fill_mode "nearest"
  g <- image_data_generator(fill_mode = "nearest")
  out <- apply_p(g, img4, theta = 90)[, , 1]
  want <- outer(0:3, 0:3, function(r, c) img4[cbind(pmin(5 - c, 3) + 1, r + 1, 1)])
  expect_equal(out, want, tolerance = 1e-9)
})

test_that("zoom scales coordinates about the centre; shear as Keras's matrix", {
  g <- image_data_generator(fill_mode = "nearest")
  # zx = zy = 0.5: in = 0.5 (o - 2.5) + 2.5 = 1.25 + 0.5 o: rows 1.25, 1.75, 2.25, 2.75
  out <- apply_p(g, img4, zx = 0.5, zy = 0.5)[, , 1]
  f <- function(v) img4[cbind(floor(v) + 1, 1, 1)] * (1 - (v - floor(v))) + img4[cbind(floor(v) + 2, 1, 1)] * (v - floor(v))
  rows <- 1.25 + 0.5 * 0:3
  # the image is linear in r and c: value = 1 + r + 4 c (0-based), so bilinear is exact
  want <- outer(rows, rows, function(r, c) 1 + r + 4 * c)
  expect_equal(out, want)
  expect_equal(f(rows), 1 + rows)
  # shear 30 degrees: in_row = (r - 2.5) - sin(30)(c - 2.5) + 2.5, in_col = cos(30)(c - 2.5) + 2.5
  out_s <- apply_p(g, img4, shear = 30)[, , 1]
  rr <- outer(0:3, 0:3, function(r, c) r - 0.5 * (c - 2.5))
  cc <- outer(0:3, 0:3, function(r, c) cos(pi / 6) * (c - 2.5) + 2.5)
  want_s <- 1 + pmin(pmax(rr, 0), 3) + 4 * pmin(pmax(cc, 0), 3)
  expect_equal(out_s, want_s, tolerance = 1e-9)
})

test_that("channel shift adds and clips to the image range; brightness goes through 0-255", {
  g <- image_data_generator()
  x <- array(c(0, 5, 10, 2), c(2, 2, 1))
  expect_equal(as.vector(apply_p(g, x, channel_shift_intensity = 3)), c(3, 8, 10, 5))
  # brightness 0.5: scaled x/10*255 = 0, 127.5, 255, 51 -> 0, 127, 255, 51 -> * 0.5, floor
  expect_equal(as.vector(apply_p(g, x, brightness = 0.5)), c(0, 63, 127, 25))
})

test_that("random parameters follow R's RNG in Keras's order and ranges", {
  g <- image_data_generator(rotation_range = 30, width_shift_range = 0.25, height_shift_range = 2,
                            shear_range = 10, zoom_range = 0.2, horizontal_flip = TRUE, channel_shift_range = 5)
  set.seed(42)
  p <- kerasnative:::image_random_params(g, 8, 4)
  set.seed(42)
  u <- runif(9)
  expect_equal(p$theta, -30 + 60 * u[1])
  expect_equal(p$tx, -2 + 4 * u[2])                 # >= 1: pixels
  expect_equal(p$ty, (-0.25 + 0.5 * u[3]) * 4)      # < 1: fraction of the width
  expect_equal(p$shear, -10 + 20 * u[4])
  expect_equal(c(p$zx, p$zy), 0.8 + 0.4 * u[5:6])
  expect_equal(p$flip_horizontal, u[7] < 0.5)
  expect_false(p$flip_vertical)
  expect_equal(p$channel_shift_intensity, -5 + 10 * u[9])
  set.seed(1); a <- kerasnative:::image_generator_process(g, array(runif(48), c(4, 4, 3)))
  set.seed(1); b <- kerasnative:::image_generator_process(g, array(runif(48), c(4, 4, 3)))
  expect_identical(a, b)
})

test_that("standardisation: preprocessing_function, rescale, samplewise and featurewise", {
  x <- array(c(1, 2, 3, 4, 10, 20, 30, 40), c(2, 2, 2))
  g <- image_data_generator(rescale = 0.5, preprocessing_function = function(v) v + 1)
  expect_equal(kerasnative:::image_standardize(g, x), (x + 1) * 0.5)
  gs <- image_data_generator(samplewise_center = TRUE, samplewise_std_normalization = TRUE)
  m <- mean(x); s <- sqrt(mean((x - m)^2))
  expect_equal(kerasnative:::image_standardize(gs, x), (x - m) / (s + 1e-6))
  # featurewise: per-channel mean and (population) std over samples, rows, columns
  set.seed(3)
  data <- array(runif(5 * 3 * 2 * 3, 0, 10), c(5, 3, 2, 3))
  gf <- image_data_generator(featurewise_center = TRUE, featurewise_std_normalization = TRUE)
  msgs <- character()
  withCallingHandlers(kerasnative:::image_standardize(gf, data[1, , , ]),
                      warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
  expect_length(msgs, 2)  # featurewise_center and featurewise_std_normalization, not fit
  expect_match(msgs, "fit_image_data_generator")
  fit_image_data_generator(gf, data)
  for (ch in 1:3) {
    v <- data[, , , ch]
    expect_equal(gf$mean[ch], sum(v) / length(v))
    expect_equal(gf$std[ch], sqrt(sum((v - mean(v))^2) / length(v)))
  }
  z <- kerasnative:::image_standardize(gf, data[2, , , ])
  expect_equal(z[, , 2], (data[2, , , 2] - gf$mean[2]) / (gf$std[2] + 1e-6))
  bad <- image_data_generator(preprocessing_function = function(v) v[, , 1])
  expect_error(kerasnative:::image_standardize(bad, x), "preprocessing_function")
})

test_that("ZCA whitening makes the fitted data's covariance the identity", {
  set.seed(5)
  n <- 400
  a <- rnorm(n); b <- 0.8 * a + 0.3 * rnorm(n)
  data <- array(cbind(a, b), c(n, 1, 2, 1))  # (N, 1, 2, 1): 2 correlated pixels
  g <- image_data_generator(zca_whitening = TRUE, zca_epsilon = 1e-9, featurewise_center = TRUE)
  fit_image_data_generator(g, data)
  w <- t(vapply(seq_len(n), function(i) as.vector(kerasnative:::image_standardize(g, array(data[i, , , ], c(1, 2, 1)))), numeric(2)))
  expect_equal(crossprod(w) / n, diag(2), tolerance = 1e-6)
})

test_that("fit_image_data_generator(augment) is reproducible with its seed and validates x", {
  g <- image_data_generator(featurewise_center = TRUE, rotation_range = 20)
  x <- array(runif(4 * 5 * 5), c(4, 5, 5, 1))
  fit_image_data_generator(g, x, augment = TRUE, rounds = 2, seed = 9)
  m1 <- g$mean
  fit_image_data_generator(g, x, augment = TRUE, rounds = 2, seed = 9)
  expect_identical(g$mean, m1)
  fit_image_data_generator(g, x)
  expect_false(isTRUE(all.equal(g$mean, m1)))
  expect_equal(g$mean, mean(x))
  expect_error(fit_image_data_generator(g, matrix(1, 2, 2)), "4D")
  expect_error(image_data_generator(fill_mode = "mirror"), "fill_mode")
  expect_error(image_data_generator(validation_split = 1), "validation_split")
})

test_that("channels_first data is transformed like its channels_last transpose", {
  x <- array(runif(2 * 4 * 4 * 3), c(2, 4, 4, 3))
  g1 <- image_data_generator(rotation_range = 40, horizontal_flip = TRUE)
  g2 <- image_data_generator(rotation_range = 40, horizontal_flip = TRUE, data_format = "channels_first")
  it1 <- flow_images_from_data(x, generator = g1, batch_size = 2, shuffle = FALSE, seed = 3)
  it2 <- flow_images_from_data(aperm(x, c(1, 4, 2, 3)), generator = g2, batch_size = 2, shuffle = FALSE, seed = 3)
  expect_equal(aperm(it2(), c(1, 3, 4, 2)), it1())
})
