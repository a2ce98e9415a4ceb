# image_data_generator(): Keras's ImageDataGenerator (keras 2.2.5, that is
# keras_preprocessing 1.1.0) in plain R. Random transformations draw from R's
# RNG (set.seed() makes them reproducible). Images are handled channels last
# internally, (H, W, C); channels-first data is transposed in and out.
#
# The affine transformation follows keras: the matrix rotation %*% shift %*%
# shear %*% zoom, centred at (h / 2 + 0.5, w / 2 + 0.5) in 0-based (row, col)
# pixel coordinates (Keras's centre), maps each output pixel to the input
# coordinate it reads, which is interpolated linearly (scipy's
# affine_transform(order = 1)). Points outside the image follow `fill_mode`:
# "constant" (cval outside [0, n - 1]), "nearest" (clamped), "reflect"
# (d c b a | a b c d | d c b a) or "wrap" (a b c d | a b c d).

#' Generate batches of image data with real-time data augmentation
#'
#' The data will be looped over (in batches) by [flow_images_from_data()] or
#' [flow_images_from_directory()]. Random transformations draw from R's random
#' number generator: `set.seed()` makes them reproducible.
#'
#' @param featurewise_center Set input mean to 0 over the dataset, feature-wise
#'   (per channel; needs [fit_image_data_generator()]).
#' @param samplewise_center Set each sample mean to 0.
#' @param featurewise_std_normalization Divide inputs by std of the dataset,
#'   feature-wise (needs [fit_image_data_generator()]).
#' @param samplewise_std_normalization Divide each input by its std.
#' @param zca_whitening Apply ZCA whitening (needs [fit_image_data_generator()]).
#' @param zca_epsilon Epsilon for ZCA whitening.
#' @param rotation_range Degrees (0 to 180) of the range of random rotations.
#' @param width_shift_range,height_shift_range Range of random horizontal /
#'   vertical shifts: a number below 1 is a fraction of the width / height, 1 or
#'   more a number of pixels (uniform in `[-range, range]`); a vector of several
#'   values gives shifts drawn from those values with a random sign.
#' @param brightness_range `NULL` or two numbers: the range of a random
#'   brightness factor (the image is first scaled to 0-255, as Keras does).
#' @param shear_range Shear intensity (shear angle in degrees, counter-clockwise).
#' @param zoom_range Range for random zoom: a number `z` gives
#'   `[1 - z, 1 + z]`, or give `c(lower, upper)`.
#' @param channel_shift_range Range for random channel shifts (added to every
#'   channel, clipped to the image's range).
#' @param fill_mode Points outside the boundaries of the input are filled
#'   according to the given mode, one of "constant", "nearest", "reflect" or
#'   "wrap".
#' @param cval Value used for points outside the boundaries when
#'   `fill_mode = "constant"`.
#' @param horizontal_flip,vertical_flip Randomly flip inputs horizontally /
#'   vertically (each with probability 0.5).
#' @param rescale Rescaling factor (`NULL` or 0: none), multiplied with the data
#'   after all other transformations except `preprocessing_function`.
#' @param preprocessing_function Function run on each input (a 3D array) after
#'   the random transformations and before the other standardisations; it must
#'   return an array of the same shape.
#' @param data_format `"channels_last"` or `"channels_first"` (`NULL`:
#'   `k_image_data_format()`).
#' @param validation_split Fraction of images reserved for validation (strictly
#'   between 0 and 1), used through the `subset` argument of the flows.
#' @return An image data generator (an environment, updated in place by
#'   [fit_image_data_generator()]).
#' @family image preprocessing
#' @export
image_data_generator <- function(featurewise_center = FALSE, samplewise_center = FALSE,
                                 featurewise_std_normalization = FALSE, samplewise_std_normalization = FALSE,
                                 zca_whitening = FALSE, zca_epsilon = 1e-6, rotation_range = 0,
                                 width_shift_range = 0, height_shift_range = 0, brightness_range = NULL,
                                 shear_range = 0, zoom_range = 0, channel_shift_range = 0,
                                 fill_mode = "nearest", cval = 0, horizontal_flip = FALSE,
                                 vertical_flip = FALSE, rescale = NULL, preprocessing_function = NULL,
                                 data_format = NULL, validation_split = 0) {
  fn <- "image_data_generator"
  flag <- function(x, arg) {
    if (!is.logical(x) || length(x) != 1 || is.na(x)) arg_fail(fn, arg, "TRUE or FALSE", x)
    x
  }
  num <- function(x, arg, len = 1, min = -Inf) {
    if (!is.numeric(x) || !length(x) %in% len || anyNA(x) || any(!is.finite(x)) || any(x < min))
      arg_fail(fn, arg, sprintf("%s >= %s", if (identical(len, 1)) "a finite number" else "finite numbers", min), x)
    as.numeric(x)
  }
  g <- new.env(parent = emptyenv())
  g$featurewise_center <- flag(featurewise_center, "featurewise_center")
  g$samplewise_center <- flag(samplewise_center, "samplewise_center")
  g$featurewise_std_normalization <- flag(featurewise_std_normalization, "featurewise_std_normalization")
  g$samplewise_std_normalization <- flag(samplewise_std_normalization, "samplewise_std_normalization")
  g$zca_whitening <- flag(zca_whitening, "zca_whitening")
  g$zca_epsilon <- num(zca_epsilon, "zca_epsilon", min = 0)
  g$rotation_range <- num(rotation_range, "rotation_range", min = 0)
  g$width_shift_range <- num(width_shift_range, "width_shift_range", len = seq_len(1e6))
  g$height_shift_range <- num(height_shift_range, "height_shift_range", len = seq_len(1e6))
  if (!is.null(brightness_range)) {
    brightness_range <- num(brightness_range, "brightness_range", len = 2, min = 0)
    if (brightness_range[1] > brightness_range[2])
      stop("image_data_generator(): `brightness_range` must be c(lower, upper) with lower <= upper", call. = FALSE)
  }
  g$brightness_range <- brightness_range
  g$shear_range <- num(shear_range, "shear_range", min = 0)
  zoom_range <- num(zoom_range, "zoom_range", len = 1:2, min = 0)
  g$zoom_range <- if (length(zoom_range) == 1) c(1 - zoom_range, 1 + zoom_range) else zoom_range
  if (g$zoom_range[1] < 0 || g$zoom_range[1] > g$zoom_range[2])
    stop("image_data_generator(): `zoom_range` must be a number in [0, 1] or c(lower, upper) with 0 <= lower <= upper, got ",
         paste(zoom_range, collapse = ", "), call. = FALSE)
  g$channel_shift_range <- num(channel_shift_range, "channel_shift_range", min = 0)
  g$fill_mode <- check_string(fill_mode, fn, "fill_mode", choices = c("constant", "nearest", "reflect", "wrap"))
  g$cval <- num(cval, "cval")
  g$horizontal_flip <- flag(horizontal_flip, "horizontal_flip")
  g$vertical_flip <- flag(vertical_flip, "vertical_flip")
  if (!is.null(rescale)) rescale <- num(rescale, "rescale")
  g$rescale <- if (!is.null(rescale) && rescale != 0) rescale
  g$preprocessing_function <- check_function(preprocessing_function, fn, "preprocessing_function", null_ok = TRUE)
  g$data_format <- image_data_format_arg(data_format, fn)
  validation_split <- num(validation_split, "validation_split", min = 0)
  if (validation_split >= 1)
    stop("image_data_generator(): `validation_split` must be strictly between 0 and 1, got ", validation_split, call. = FALSE)
  g$validation_split <- validation_split
  g$mean <- NULL; g$std <- NULL; g$principal_components <- NULL
  if (g$zca_whitening && !g$featurewise_center) {
    warning("image_data_generator(): `zca_whitening` sets `featurewise_center = TRUE`", call. = FALSE)
    g$featurewise_center <- TRUE
  }
  if (g$featurewise_std_normalization && !g$featurewise_center) {
    warning("image_data_generator(): `featurewise_std_normalization` sets `featurewise_center = TRUE`", call. = FALSE)
    g$featurewise_center <- TRUE
  }
  if (g$samplewise_std_normalization && !g$samplewise_center) {
    warning("image_data_generator(): `samplewise_std_normalization` sets `samplewise_center = TRUE`", call. = FALSE)
    g$samplewise_center <- TRUE
  }
  class(g) <- "kerasnative_image_data_generator"
  g
}

#' @export
print.kerasnative_image_data_generator <- function(x, ...) {
  cat("<image_data_generator>", if (!is.null(x$mean)) "(fitted)", "\n")
  invisible(x)
}

check_image_generator <- function(g, fn) {
  if (!inherits(g, "kerasnative_image_data_generator"))
    stop(fn, "(): `generator` must be an image_data_generator(), not ", class(g)[1], call. = FALSE)
  g
}

# ---------------------------------------------------------------- transforms

# Random transformation parameters for an image of `h` x `w` pixels, drawn
# from R's RNG in Keras's order.
image_random_params <- function(g, h, w) {
  u <- function(r) stats::runif(1, -r, r)
  shift <- function(r, size) {
    if (length(r) == 1 && r == 0) return(0)
    s <- if (length(r) > 1) r[sample.int(length(r), 1)] * c(-1, 1)[sample.int(2, 1)] else u(r)
    if (max(r) < 1) s * size else s
  }
  p <- list()
  p$theta <- if (g$rotation_range) u(g$rotation_range) else 0
  p$tx <- shift(g$height_shift_range, h)
  p$ty <- shift(g$width_shift_range, w)
  p$shear <- if (g$shear_range) u(g$shear_range) else 0
  z <- if (all(g$zoom_range == 1)) c(1, 1) else stats::runif(2, g$zoom_range[1], g$zoom_range[2])
  p$zx <- z[1]; p$zy <- z[2]
  p$flip_horizontal <- stats::runif(1) < 0.5 && g$horizontal_flip
  p$flip_vertical <- stats::runif(1) < 0.5 && g$vertical_flip
  p$channel_shift_intensity <- if (g$channel_shift_range != 0) u(g$channel_shift_range)
  p$brightness <- if (!is.null(g$brightness_range)) stats::runif(1, g$brightness_range[1], g$brightness_range[2])
  p
}

# The 3 x 3 homogeneous matrix mapping output (row, col) to input (row, col),
# centred as Keras centres it; NULL for the identity.
image_affine_matrix <- function(p, h, w) {
  m <- NULL
  mul <- function(a, b) if (is.null(a)) b else a %*% b
  if (p$theta != 0) {
    t <- p$theta * pi / 180
    m <- mul(m, matrix(c(cos(t), sin(t), 0, -sin(t), cos(t), 0, 0, 0, 1), 3))
  }
  if (p$tx != 0 || p$ty != 0) m <- mul(m, matrix(c(1, 0, 0, 0, 1, 0, p$tx, p$ty, 1), 3))
  if (p$shear != 0) {
    s <- p$shear * pi / 180
    m <- mul(m, matrix(c(1, 0, 0, -sin(s), cos(s), 0, 0, 0, 1), 3))
  }
  if (p$zx != 1 || p$zy != 1) m <- mul(m, matrix(c(p$zx, 0, 0, 0, p$zy, 0, 0, 0, 1), 3))
  if (is.null(m)) return(NULL)
  o <- c(h / 2 + 0.5, w / 2 + 0.5)
  shift_to <- matrix(c(1, 0, 0, 0, 1, 0, o[1], o[2], 1), 3)
  shift_back <- matrix(c(1, 0, 0, 0, 1, 0, -o[1], -o[2], 1), 3)
  shift_to %*% m %*% shift_back
}

# Maps integer pixel indices (0-based, possibly outside [0, n - 1]) inside by
# the fill mode ("constant" maps them anywhere: those pixels are masked).
boundary_index <- function(i, n, mode) {
  switch(mode,
    nearest = pmin(pmax(i, 0), n - 1),
    constant = pmin(pmax(i, 0), n - 1),
    wrap = i %% n,
    reflect = {
      j <- i %% (2 * n)
      ifelse(j < n, j, 2 * n - 1 - j)
    })
}

# Applies the affine matrix `m` to x (H, W, C) with linear interpolation.
image_affine_apply <- function(x, m, fill_mode, cval) {
  d <- dim(x)
  h <- d[1]; w <- d[2]
  grid <- rbind(rep(seq_len(h) - 1, times = w), rep(seq_len(w) - 1, each = h), 1)  # (3, H*W) output coords
  src <- m %*% grid  # (3, H*W) input coords
  snap <- function(v) { r <- round(v); ifelse(abs(v - r) < 1e-9, r, v) }
  r <- snap(src[1, ]); cc <- snap(src[2, ])
  r0 <- floor(r); c0 <- floor(cc); fr <- r - r0; fc <- cc - c0
  idx <- function(ri, ci) boundary_index(ri, h, fill_mode) + h * boundary_index(ci, w, fill_mode) + 1
  i00 <- idx(r0, c0); i10 <- idx(r0 + 1, c0); i01 <- idx(r0, c0 + 1); i11 <- idx(r0 + 1, c0 + 1)
  w00 <- (1 - fr) * (1 - fc); w10 <- fr * (1 - fc); w01 <- (1 - fr) * fc; w11 <- fr * fc
  outside <- if (fill_mode == "constant") r < 0 | r > h - 1 | cc < 0 | cc > w - 1 else logical(length(r))
  out <- array(0, d)
  for (ch in seq_len(d[3])) {
    v <- x[, , ch]
    val <- v[i00] * w00 + v[i10] * w10 + v[i01] * w01 + v[i11] * w11
    val[outside] <- cval
    out[, , ch] <- val
  }
  out
}

# Applies transformation parameters `p` to one image x (H, W, C).
image_apply_params <- function(g, x, p) {
  m <- image_affine_matrix(p, dim(x)[1], dim(x)[2])
  if (!is.null(m)) x <- image_affine_apply(x, m, g$fill_mode, g$cval)
  if (!is.null(p$channel_shift_intensity)) {
    lo <- min(x); hi <- max(x)
    x[] <- pmin(pmax(x + p$channel_shift_intensity, lo), hi)
  }
  if (isTRUE(p$flip_horizontal)) x <- x[, dim(x)[2]:1, , drop = FALSE]
  if (isTRUE(p$flip_vertical)) x <- x[dim(x)[1]:1, , , drop = FALSE]
  if (!is.null(p$brightness)) {
    # Keras goes through a PIL image: scaled to 0-255, enhanced, truncated.
    x <- array_to_uint8(x, TRUE, "image_data_generator")
    x <- array(floor(pmin(pmax(x * p$brightness, 0), 255)), dim(x))
  }
  x
}

# Normalisation of one image x (H, W, C), in Keras's order.
image_standardize <- function(g, x) {
  if (!is.null(g$preprocessing_function)) {
    y <- g$preprocessing_function(x)
    if (!is.numeric(y) || !identical(as.integer(dim(y)), as.integer(dim(x))))
      stop(sprintf("image_data_generator(): `preprocessing_function` must return an array of dim (%s), got %s",
                   paste(dim(x), collapse = ", "), describe_value(y)), call. = FALSE)
    x <- y
  }
  if (!is.null(g$rescale)) x <- x * g$rescale
  if (g$samplewise_center) x <- x - mean(x)
  if (g$samplewise_std_normalization) x <- x / (sqrt(mean((x - mean(x))^2)) + 1e-6)
  not_fit <- function(what) warning(sprintf(
    "image_data_generator(): `%s` is set but the generator has not been fit on any training data: call fit_image_data_generator() first", what),
    call. = FALSE)
  if (g$featurewise_center) {
    if (is.null(g$mean)) not_fit("featurewise_center")
    else x <- sweep(x, 3, g$mean)
  }
  if (g$featurewise_std_normalization) {
    if (is.null(g$std)) not_fit("featurewise_std_normalization")
    else x <- sweep(x, 3, g$std + 1e-6, "/")
  }
  if (g$zca_whitening) {
    if (is.null(g$principal_components)) not_fit("zca_whitening")
    else {
      flat <- as.numeric(aperm(x, 3:1))  # C order: (H, W, C) row-major
      white <- as.numeric(flat %*% g$principal_components)
      x <- aperm(array(white, rev(dim(x))), 3:1)
    }
  }
  x
}

# One image (channels last) through random transformation and normalisation.
image_generator_process <- function(g, x) {
  p <- image_random_params(g, dim(x)[1], dim(x)[2])
  image_standardize(g, image_apply_params(g, x, p))
}

# Image i of x (N, H, W, C) as a (H, W, C) array.
image_slice <- function(x, i) array(x[i, , , ], dim(x)[-1])

# (N, ...) data to channels last (N, H, W, C) and back.
to_channels_last <- function(x, data_format) if (data_format == "channels_first") aperm(x, c(1, 3, 4, 2)) else x
from_channels_last <- function(x, data_format) if (data_format == "channels_first") aperm(x, c(1, 4, 2, 3)) else x

#' Fit image data generator internal statistics to some sample data
#'
#' Computes the per-channel mean and standard deviation
#' (`featurewise_center`, `featurewise_std_normalization`) and the ZCA
#' whitening matrix (`zca_whitening`) from sample data. The generator is
#' updated in place.
#'
#' @param object An [image_data_generator()].
#' @param x 4D array of sample data `(samples, height, width, channels)` (or
#'   channels first).
#' @param augment Whether to fit on randomly augmented samples.
#' @param rounds If `augment`, how many augmentation passes to do over the data.
#' @param seed `NULL` or an integer: the random seed of the augmentations.
#' @return The generator, invisibly.
#' @family image preprocessing
#' @export
fit_image_data_generator <- function(object, x, augment = FALSE, rounds = 1, seed = NULL) {
  fn <- "fit_image_data_generator"
  g <- check_image_generator(object, fn)
  d <- dim(x)
  if (!is.numeric(x) || length(d) != 4 || anyNA(x))
    stop("fit_image_data_generator(): `x` must be a 4D numeric array without NA, got ",
         if (is.null(d)) class(x)[1] else sprintf("dim (%s)", paste(d, collapse = ", ")), call. = FALSE)
  rounds <- check_whole(rounds, fn, "rounds", min = 1)
  x <- to_channels_last(array(as.double(x), d), g$data_format)  # (N, H, W, C)
  d <- dim(x)
  if (!d[4] %in% c(1, 3, 4))
    warning(sprintf("fit_image_data_generator(): expected 1, 3 or 4 channels, got %d", d[4]), call. = FALSE)
  if (isTRUE(augment)) {
    if (!is.null(seed)) { old <- save_rng(); on.exit(restore_rng(old)); set.seed(seed) }
    ax <- array(0, c(d[1] * rounds, d[2:4]))
    for (r in seq_len(rounds)) for (i in seq_len(d[1])) {
      p <- image_random_params(g, d[2], d[3])
      ax[(r - 1) * d[1] + i, , , ] <- image_apply_params(g, image_slice(x, i), p)
    }
    x <- ax
    d <- dim(x)
  }
  g$mean <- NULL; g$std <- NULL; g$principal_components <- NULL
  if (g$featurewise_center) {
    g$mean <- apply(x, 4, mean)
    x <- sweep(x, 4, g$mean)
  }
  if (g$featurewise_std_normalization) {
    g$std <- apply(x, 4, function(v) sqrt(mean((v - mean(v))^2)))
    x <- sweep(x, 4, g$std + 1e-6, "/")
  }
  if (g$zca_whitening) {
    flat <- matrix(aperm(x, c(4, 3, 2, 1)), nrow = d[1], byrow = TRUE)  # (N, H*W*C), C order
    sigma <- crossprod(flat) / d[1]
    s <- svd(sigma)
    g$principal_components <- (s$u %*% diag(1 / sqrt(s$d + g$zca_epsilon), length(s$d))) %*% t(s$u)
  }
  invisible(object)
}

# The state of R's RNG, saved and restored around seeded draws so that a
# `seed` argument does not disturb the caller's random stream.
save_rng <- function() if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv())
restore_rng <- function(old) {
  if (is.null(old)) rm(".Random.seed", envir = globalenv()) else assign(".Random.seed", old, envir = globalenv())
}
