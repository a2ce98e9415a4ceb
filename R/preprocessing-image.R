# Image loading, conversion, resizing and saving (keras 2.2.5's
# keras.preprocessing.image: load_img, img_to_array, save_img and the R
# package's image_array_resize), plain R. PNG and JPEG files are decoded and
# encoded by the 'png' and 'jpeg' packages (Debian: r-cran-png, r-cran-jpeg).
#
# An image loaded by image_load() is an integer array (height, width,
# channels) of values 0-255 with class "kerasnative_image" (Keras returns a
# PIL image); image_to_array() turns it into a plain double array.

# The package that reads/writes `format` ("png" or "jpeg"), or a clear error.
image_codec <- function(format, what) {
  pkg <- if (format == "png") "png" else "jpeg"
  if (!requireNamespace(pkg, quietly = TRUE))
    stop(sprintf("%s(): %s images need the '%s' package (Debian: r-cran-%s), which is not installed",
                 what, toupper(format), pkg, pkg), call. = FALSE)
  pkg
}

# "png" or "jpeg" from a file's first bytes; an error for anything else.
image_file_format <- function(path, what) {
  con <- file(path, "rb")
  on.exit(close(con))
  magic <- readBin(con, "raw", 8L)
  if (length(magic) >= 8 && identical(magic, as.raw(c(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))))
    return("png")
  if (length(magic) >= 3 && identical(magic[1:3], as.raw(c(0xff, 0xd8, 0xff)))) return("jpeg")
  stop(sprintf("%s(): '%s' is neither a PNG nor a JPEG file (first bytes %s); only PNG and JPEG images are supported",
               what, path, paste(format(magic), collapse = " ")), call. = FALSE)
}

# PIL's "L" conversion of RGB values 0-255: (R*19595 + G*38470 + B*7471 + 2^15) >> 16.
pil_luminance <- function(rgb) {  # rgb: (H, W, 3) integers
  (rgb[, , 1] * 19595 + rgb[, , 2] * 38470 + rgb[, , 3] * 7471 + 32768) %/% 65536
}

# Resampling filters of PIL's Image.resize (support, weight function).
pil_filters <- list(
  box = list(support = 0.5, f = function(x) as.numeric(x > -0.5 & x <= 0.5)),
  bilinear = list(support = 1, f = function(x) pmax(1 - abs(x), 0)),
  hamming = list(support = 1, f = function(x) {
    x <- abs(x)
    ifelse(x == 0, 1, ifelse(x >= 1, 0, sin(pi * x) / (pi * x) * (0.54 + 0.46 * cos(pi * x))))
  }),
  bicubic = list(support = 2, f = function(x) {
    a <- -0.5; x <- abs(x)
    ifelse(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
           ifelse(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0))
  }),
  lanczos = list(support = 3, f = function(x) {
    s <- function(v) ifelse(v == 0, 1, sin(pi * v) / (pi * v))
    ifelse(abs(x) < 3, s(x) * s(x / 3), 0)
  })
)

# (out_size, in_size) weight matrix resampling one axis as PIL's resize does:
# output pixel o samples around centre (o + 0.5) * in/out; nearest takes the
# pixel floor((o + 0.5) * in/out), the other filters are widened by the scale
# when shrinking and their weights normalised to sum 1.
pil_resample_matrix <- function(in_size, out_size, interpolation) {
  scale <- in_size / out_size
  m <- matrix(0, out_size, in_size)
  if (interpolation == "nearest") {
    src <- pmin(floor((seq_len(out_size) - 0.5) * scale), in_size - 1)
    m[cbind(seq_len(out_size), src + 1)] <- 1
    return(m)
  }
  flt <- pil_filters[[interpolation]]
  fscale <- max(scale, 1)
  support <- flt$support * fscale
  for (o in seq_len(out_size) - 1) {
    center <- (o + 0.5) * scale
    xmin <- max(trunc(center - support + 0.5), 0)
    xmax <- min(trunc(center + support + 0.5), in_size)
    if (xmax <= xmin) next
    x <- xmin:(xmax - 1)
    w <- flt$f((x - center + 0.5) / fscale)
    if (sum(w) != 0) w <- w / sum(w)
    m[o + 1, x + 1] <- w
  }
  m
}

# Resizes an integer image (H, W, C) of 0-255 values to (height, width) as
# PIL does for 8-bit images: horizontal pass, then vertical pass, each rounded
# and clipped to 0-255.
pil_resize <- function(img, height, width, interpolation) {
  d <- dim(img)
  mw <- pil_resample_matrix(d[2], width, interpolation)   # (width, W)
  mh <- pil_resample_matrix(d[1], height, interpolation)  # (height, H)
  clip8 <- function(v) pmin(pmax(floor(v + 0.5), 0), 255)
  out <- array(0L, c(height, width, d[3]))  # (height, width, C)
  for (ch in seq_len(d[3])) {
    a <- matrix(as.numeric(img[, , ch]), d[1], d[2])
    if (d[2] != width || interpolation == "nearest") a <- clip8(a %*% t(mw))  # (H, width)
    if (d[1] != height || interpolation == "nearest") a <- clip8(mh %*% a)    # (height, width)
    out[, , ch] <- as.integer(a)
  }
  out
}

image_interpolations <- c("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")

#' Loads an image into PIL-like format
#'
#' Reads a PNG or JPEG file (through the 'png' and 'jpeg' packages), converts
#' it to RGB (or to 8-bit grayscale with `grayscale = TRUE`, with PIL's
#' luminance weights) and optionally resizes it with PIL's resampling
#' filters. Alpha channels are dropped, as PIL's conversion to RGB does.
#'
#' @param path Path to the image file.
#' @param grayscale Boolean, whether to load the image as grayscale.
#' @param target_size Either `NULL` (default to original size) or integer
#'   vector `c(img_height, img_width)`.
#' @param interpolation Interpolation method used to resample the image if the
#'   target size is different from that of the loaded image: `"nearest"`,
#'   `"bilinear"`, `"bicubic"`, `"lanczos"`, `"box"` or `"hamming"`.
#' @return An image: an integer array `(height, width, channels)` of values
#'   0-255 with class `kerasnative_image`; see [image_to_array()].
#' @family image preprocessing
#' @examples
#' if (requireNamespace("png", quietly = TRUE)) {
#'   f <- tempfile(fileext = ".png")
#'   image_array_save(array(runif(2 * 3 * 3), c(2, 3, 3)), f)
#'   dim(image_to_array(image_load(f, target_size = c(4, 6))))
#' }
#' @export
image_load <- function(path, grayscale = FALSE, target_size = NULL, interpolation = "nearest") {
  fn <- "image_load"
  if (!is.character(path) || length(path) != 1 || is.na(path))
    stop("image_load(): `path` must be a single file path", call. = FALSE)
  path <- path.expand(path)
  if (!file.exists(path) || dir.exists(path))
    stop(sprintf("image_load(): file '%s' does not exist", path), call. = FALSE)
  if (!is.logical(grayscale) || length(grayscale) != 1 || is.na(grayscale))
    stop("image_load(): `grayscale` must be TRUE or FALSE", call. = FALSE)
  interpolation <- check_string(interpolation, fn, "interpolation", choices = image_interpolations)
  if (!is.null(target_size)) target_size <- check_whole(target_size, fn, "target_size", min = 1, len = 2)
  image_read(path, if (grayscale) "grayscale" else "rgb", target_size, interpolation, fn)
}

# Reads an image file as PIL's load_img does: converted to `color_mode`
# ("grayscale", "rgb" or "rgba"), then resized to target_size (or NULL).
image_read <- function(path, color_mode, target_size, interpolation, fn) {
  format <- image_file_format(path, fn)
  pkg <- image_codec(format, fn)
  raw <- tryCatch(
    if (pkg == "png") png::readPNG(path) else jpeg::readJPEG(path),
    error = function(e) stop(sprintf("%s(): cannot decode %s file '%s': %s",
                                     fn, toupper(format), path, conditionMessage(e)), call. = FALSE))
  if (length(dim(raw)) == 2) dim(raw) <- c(dim(raw), 1L)
  img <- array(as.integer(round(raw * 255)), dim(raw))  # (H, W, C) 0-255
  nc <- dim(img)[3]
  hw <- dim(img)[1:2]
  if (color_mode == "grayscale") {
    img <- if (nc >= 3) array(as.integer(pil_luminance(img)), c(hw, 1L)) else img[, , 1, drop = FALSE]
  } else {
    rgb <- if (nc >= 3) img[, , 1:3, drop = FALSE] else img[, , c(1, 1, 1), drop = FALSE]
    if (color_mode == "rgba") {
      alpha <- if (nc %in% c(2, 4)) img[, , nc] else array(255L, hw)
      img <- array(c(rgb, alpha), c(hw, 4L))
    } else {
      img <- rgb
    }
  }
  if (!is.null(target_size) && any(dim(img)[1:2] != target_size))
    img <- pil_resize(img, target_size[1], target_size[2], interpolation)
  structure(img, class = "kerasnative_image")
}

#' @export
print.kerasnative_image <- function(x, ...) {
  d <- dim(x)
  cat(sprintf("<image %d x %d, %s>\n", d[1], d[2], c("L", "LA", "RGB", "RGBA")[d[3]]))
  invisible(x)
}

image_data_format_arg <- function(data_format, fn) {
  if (is.null(data_format)) return(k_image_data_format())
  check_string(data_format[1], fn, "data_format", choices = c("channels_last", "channels_first"))
}

#' 3D array representation of images
#'
#' Converts an image loaded by [image_load()] (or a 3D array
#' `(height, width, channels)`) to a double array.
#'
#' @param img Image.
#' @param data_format Image data format (`"channels_last"` gives
#'   `(height, width, channels)`, `"channels_first"` gives
#'   `(channels, height, width)`).
#' @return A double array.
#' @family image preprocessing
#' @export
image_to_array <- function(img, data_format = c("channels_last", "channels_first")) {
  data_format <- image_data_format_arg(data_format, "image_to_array")
  d <- dim(img)
  if (!is.numeric(img) || length(d) != 3)
    stop("image_to_array(): `img` must be an image from image_load() or a 3D array (height, width, channels), got ",
         if (is.null(d)) class(img)[1] else sprintf("an array of dim (%s)", paste(d, collapse = ", ")), call. = FALSE)
  x <- array(as.double(img), d)  # (H, W, C)
  if (data_format == "channels_first") x <- aperm(x, c(3, 1, 2))  # (C, H, W)
  x
}

# (out_size, in_size) matrix of scipy.ndimage.zoom(order = 1) along one axis:
# output o reads input coordinate o * (in - 1) / (out - 1), linearly.
zoom_linear_matrix <- function(in_size, out_size) {
  m <- matrix(0, out_size, in_size)
  step <- if (out_size > 1) (in_size - 1) / (out_size - 1) else 1
  for (o in seq_len(out_size) - 1) {
    pos <- o * step
    lo <- min(floor(pos), in_size - 1)
    fr <- pos - lo
    m[o + 1, lo + 1] <- 1 - fr
    if (fr > 0) m[o + 1, lo + 2] <- fr
  }
  m
}

#' Resize a 3D array representation of an image
#'
#' Resizes with linear interpolation, as keras's `image_array_resize()`
#' (scipy's `ndimage.zoom(order = 1)`: the corner pixels are kept and the
#' others interpolated between them). A 4D array whose first dimension is 1
#' is accepted and returned 4D.
#'
#' @param img 3D array (or 4D array of one image).
#' @param height,width Size of the output.
#' @inheritParams image_to_array
#' @return The resized double array.
#' @family image preprocessing
#' @export
image_array_resize <- function(img, height, width, data_format = c("channels_last", "channels_first")) {
  fn <- "image_array_resize"
  data_format <- image_data_format_arg(data_format, fn)
  height <- check_whole(height, fn, "height", min = 1, len = 1)
  width <- check_whole(width, fn, "width", min = 1, len = 1)
  d <- dim(img)
  four <- length(d) == 4 && d[1] == 1
  if (!is.numeric(img) || !(length(d) == 3 || four))
    stop("image_array_resize(): `img` must be a 3D array (or a 4D array holding one image), got ",
         if (is.null(d)) class(img)[1] else sprintf("dim (%s)", paste(d, collapse = ", ")), call. = FALSE)
  x <- array(as.double(img), if (four) d[-1] else d)
  if (data_format == "channels_first") x <- aperm(x, c(2, 3, 1))  # (H, W, C)
  dx <- dim(x)
  mh <- zoom_linear_matrix(dx[1], height)  # (height, H)
  mw <- zoom_linear_matrix(dx[2], width)   # (width, W)
  out <- array(0, c(height, width, dx[3]))  # (height, width, C)
  for (ch in seq_len(dx[3])) out[, , ch] <- mh %*% matrix(x[, , ch], dx[1], dx[2]) %*% t(mw)
  if (data_format == "channels_first") out <- aperm(out, c(3, 1, 2))
  if (four) dim(out) <- c(1L, dim(out))
  out
}

# Keras's array_to_img(): a (H, W, C) array to 0-255 integers. With scale,
# the values are shifted up when negative, divided by their maximum and
# multiplied by 255; then truncated to integers as numpy's uint8 cast does.
array_to_uint8 <- function(x, scale, fn) {
  if (scale) {
    x <- x + max(-min(x), 0)
    mx <- max(x)
    if (mx != 0) x <- x / mx
    x <- x * 255
  } else if (any(x < 0 | x >= 256)) {
    stop(sprintf("%s(): with `scale = FALSE` the values must lie in [0, 255]; got [%g, %g]",
                 fn, min(x), max(x)), call. = FALSE)
  }
  array(as.integer(floor(x)), dim(x))
}

# Writes a (H, W, C) array of 0-255 integers (C = 1, 3 or 4) to `path`.
write_image_file <- function(img, path, format, fn) {
  pkg <- image_codec(format, fn)
  v <- array(img / 255, dim(img))
  if (dim(v)[3] == 1) v <- matrix(v, dim(v)[1], dim(v)[2])
  if (format == "jpeg" && length(dim(v)) == 3 && dim(v)[3] == 4) {
    warning(fn, "(): the JPEG format does not support alpha; the alpha channel is dropped", call. = FALSE)
    v <- v[, , 1:3]
  }
  tmp <- paste0(path, ".part")
  ok <- FALSE
  on.exit(if (!ok) unlink(tmp))
  tryCatch(if (pkg == "png") png::writePNG(v, tmp) else jpeg::writeJPEG(v, tmp, quality = 0.75),
           error = function(e) stop(sprintf("%s(): cannot write '%s': %s", fn, path, conditionMessage(e)), call. = FALSE))
  ok <- file.rename(tmp, path)
  if (!ok) stop(sprintf("%s(): cannot write '%s'", fn, path), call. = FALSE)
  invisible(path)
}

#' Save an image stored as a 3D array to a file
#'
#' Writes a PNG or JPEG file as keras's `save_img()`: with `scale = TRUE` the
#' values are shifted to be non-negative and scaled so that the maximum is
#' 255; then they are truncated to 8-bit integers.
#'
#' @param img 3D array `(height, width, channels)` (or channels first, see
#'   `data_format`) with 1, 3 or 4 channels.
#' @param path Path of the file to write.
#' @param data_format Image data format (`NULL` is `k_image_data_format()`).
#' @param file_format `"png"`, `"jpeg"` or `"jpg"`; `NULL` takes the format
#'   from the file extension.
#' @param scale Whether to rescale image values to be within 0-255.
#' @return `path`, invisibly.
#' @family image preprocessing
#' @export
image_array_save <- function(img, path, data_format = NULL, file_format = NULL, scale = TRUE) {
  fn <- "image_array_save"
  data_format <- image_data_format_arg(data_format, fn)
  if (!is.character(path) || length(path) != 1 || is.na(path))
    stop("image_array_save(): `path` must be a single file path", call. = FALSE)
  if (!is.logical(scale) || length(scale) != 1 || is.na(scale))
    stop("image_array_save(): `scale` must be TRUE or FALSE", call. = FALSE)
  d <- dim(img)
  if (!is.numeric(img) || length(d) != 3 || anyNA(img))
    stop("image_array_save(): `img` must be a 3D numeric array without NA, got ",
         if (is.null(d)) class(img)[1] else sprintf("dim (%s)", paste(d, collapse = ", ")), call. = FALSE)
  x <- array(as.double(img), d)
  if (data_format == "channels_first") x <- aperm(x, c(2, 3, 1))  # (H, W, C)
  if (!dim(x)[3] %in% c(1, 3, 4))
    stop(sprintf("image_array_save(): unsupported channel number %d (1, 3 or 4 are supported)", dim(x)[3]), call. = FALSE)
  if (is.null(file_format)) {
    file_format <- tolower(tools::file_ext(path))
    if (!nzchar(file_format))
      stop(sprintf("image_array_save(): cannot tell the format of '%s' (no extension); give `file_format`", path),
           call. = FALSE)
  }
  file_format <- check_string(tolower(file_format), fn, "file_format", choices = c("png", "jpeg", "jpg"))
  if (file_format == "jpg") file_format <- "jpeg"
  write_image_file(array_to_uint8(x, scale, fn), path.expand(path), file_format, fn)
}
