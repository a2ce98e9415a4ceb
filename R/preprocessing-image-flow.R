# Iterators over images: flow_images_from_data(), flow_images_from_directory()
# and flow_images_from_dataframe() (Keras's NumpyArrayIterator,
# DirectoryIterator, DataFrameIterator). An iterator is an R function: each
# call returns the next batch, so fit_generator(), evaluate_generator() and
# predict_generator() take it as it is. Its fields (`$n`, `$batch_size`,
# `$class_indices`, `$classes`, `$filenames`...) are read with `$`.
#
# Batches follow Keras's order: an epoch is ceiling(n / batch_size) batches
# over a permutation of the samples (drawn at the start of every epoch when
# `shuffle`), the last one possibly smaller. With `seed`, R's RNG is seeded
# with seed + (number of batches produced) before each batch (as Keras seeds
# numpy) and the caller's random stream is restored afterwards.

new_image_iterator <- function(n, batch_size, shuffle, seed, get_batch, fields, fn) {
  batch_size <- check_whole(batch_size, fn, "batch_size", min = 1)
  if (!is.logical(shuffle) || length(shuffle) != 1 || is.na(shuffle)) arg_fail(fn, "shuffle", "TRUE or FALSE", shuffle)
  if (!is.null(seed)) seed <- check_whole(seed, fn, "seed", min = -.Machine$integer.max)
  st <- list2env(fields, envir = new.env(parent = emptyenv()))
  st$n <- n; st$batch_size <- batch_size; st$shuffle <- shuffle; st$seed <- seed
  st$batch_index <- 0L; st$total_batches_seen <- 0L; st$index_array <- NULL
  f <- function() {
    if (st$n == 0) stop(fn, "(): there are no images to iterate over", call. = FALSE)
    if (!is.null(st$seed)) {
      old <- save_rng()
      on.exit(restore_rng(old))
      set.seed(st$seed + st$total_batches_seen)
    }
    if (st$batch_index == 0) st$index_array <- if (st$shuffle) sample.int(st$n) else seq_len(st$n)
    current <- (st$batch_index * st$batch_size) %% st$n
    st$batch_index <- if (st$n > current + st$batch_size) st$batch_index + 1L else 0L
    st$total_batches_seen <- st$total_batches_seen + 1L
    get_batch(st$index_array[(current + 1):min(current + st$batch_size, st$n)])
  }
  structure(f, class = c("kerasnative_image_iterator", "function"), state = st)
}

#' @export
`$.kerasnative_image_iterator` <- function(x, name) get0(name, envir = attr(x, "state"), inherits = FALSE)

#' @export
print.kerasnative_image_iterator <- function(x, ...) {
  st <- attr(x, "state")
  cat(sprintf("<image iterator: %d images, batches of %d%s>\n", st$n, st$batch_size,
              if (!is.null(st$class_indices)) sprintf(", %d classes", length(st$class_indices)) else ""))
  invisible(x)
}

#' Retrieve the next item from a generator
#'
#' @param generator A generator function, such as the iterators returned by
#'   [flow_images_from_data()] and [flow_images_from_directory()].
#' @param completed Value to return when the generator returns `NULL`.
#' @return The next item.
#' @family image preprocessing
#' @export
generator_next <- function(generator, completed = NULL) {
  check_function(generator, "generator_next", "generator")
  out <- generator()
  if (is.null(out)) completed else out
}

# Rows `idx` of x (first dimension).
take_rows <- function(x, idx) {
  d <- dim(x)
  if (is.null(d)) return(x[idx])
  if (length(d) == 2) return(x[idx, , drop = FALSE])
  m <- matrix(x, d[1])[idx, , drop = FALSE]
  array(m, c(length(idx), d[-1]))
}
n_rows <- function(x) if (is.null(dim(x))) length(x) else dim(x)[1]

# (first, last] 0-based bounds of `subset` of n items, as Keras splits them.
subset_bounds <- function(g, subset, n, fn) {
  if (is.null(subset)) return(c(0, n))
  subset <- check_string(subset, fn, "subset", choices = c("training", "validation"))
  cut <- floor(n * g$validation_split)
  if (subset == "validation") c(0, cut) else c(cut, n)
}

# Transforms the images of a batch (B, H, W, C), saves them if asked.
process_image_batch <- function(g, x, idx, save) {
  for (i in seq_len(dim(x)[1])) x[i, , , ] <- image_generator_process(g, image_slice(x, i))
  if (!is.null(save$dir)) {
    for (i in seq_len(dim(x)[1])) {
      name <- sprintf("%s_%d_%d.%s", save$prefix, idx[i] - 1L, sample.int(1e7, 1) - 1L, save$format)
      image_array_save(image_slice(x, i), file.path(save$dir, name), data_format = "channels_last")
    }
  }
  x
}

check_save_args <- function(save_to_dir, save_prefix, save_format, fn) {
  if (is.null(save_to_dir)) return(list())
  save_to_dir <- check_string(save_to_dir, fn, "save_to_dir")
  if (!dir.exists(save_to_dir)) stop(sprintf("%s(): `save_to_dir` '%s' is not a directory", fn, save_to_dir), call. = FALSE)
  if (!is.character(save_prefix) || length(save_prefix) != 1) arg_fail(fn, "save_prefix", "a string", save_prefix)
  list(dir = save_to_dir, prefix = save_prefix,
       format = check_string(save_format, fn, "save_format", choices = c("png", "jpeg", "jpg")))
}

#' Generates batches of augmented/normalized data from image data and labels
#'
#' @param x 4D array of images `(samples, height, width, channels)` (or
#'   channels first, as the generator's `data_format`).
#' @param y Labels (a vector or an array whose first dimension is the number of
#'   samples), or `NULL` to yield the images only.
#' @param generator An [image_data_generator()].
#' @param batch_size Integer (default: 32).
#' @param shuffle Whether to shuffle the data at the start of every epoch.
#' @param sample_weight Sample weights (a vector of one weight per sample).
#' @param seed `NULL` or an integer: random seed for shuffling and transformations.
#' @param save_to_dir `NULL` or a directory where to save the augmented
#'   pictures (useful to visualise what you are doing).
#' @param save_prefix Prefix of the file names of saved pictures.
#' @param save_format `"png"` or `"jpeg"`.
#' @param subset `NULL`, `"training"` or `"validation"`: the part of the data
#'   set by the generator's `validation_split`.
#' @return An iterator: a function returning `list(x, y)` (or
#'   `list(x, y, sample_weight)`, or `x` when `y` is `NULL`) at each call, for
#'   [fit_generator()], [evaluate_generator()] and [predict_generator()].
#' @family image preprocessing
#' @export
flow_images_from_data <- function(x, y = NULL, generator = image_data_generator(), batch_size = 32,
                                  shuffle = TRUE, sample_weight = NULL, seed = NULL, save_to_dir = NULL,
                                  save_prefix = "", save_format = "png", subset = NULL) {
  fn <- "flow_images_from_data"
  g <- check_image_generator(generator, fn)
  d <- dim(x)
  if (!is.numeric(x) || length(d) != 4)
    stop(fn, "(): `x` must be a 4D array of images, got ",
         if (is.null(d)) class(x)[1] else sprintf("an array of dim (%s)", paste(d, collapse = ", ")), call. = FALSE)
  if (!is.null(y) && n_rows(y) != d[1])
    stop(sprintf("%s(): `x` (images) and `y` (labels) should have the same length; found %d images and %d labels",
                 fn, d[1], n_rows(y)), call. = FALSE)
  if (!is.null(sample_weight) && length(sample_weight) != d[1])
    stop(sprintf("%s(): `x` (images) and `sample_weight` should have the same length; found %d images and %d weights",
                 fn, d[1], length(sample_weight)), call. = FALSE)
  ch <- if (g$data_format == "channels_last") d[4] else d[2]
  if (!ch %in% c(1, 3, 4))
    warning(sprintf("%s(): expected 1, 3 or 4 channels (%s), got %d", fn, g$data_format, ch), call. = FALSE)
  b <- subset_bounds(g, subset, d[1], fn)
  if (!is.null(subset) && !is.null(y)) {
    cut <- floor(d[1] * g$validation_split)
    ycl <- function(r) unique(sort(as.numeric(take_rows(y, r))))
    if (!identical(ycl(seq_len(cut)), ycl(seq_len(d[1] - cut) + cut)))
      stop(fn, "(): training and validation subsets have different classes after the split; ",
           "if your arrays are sorted by label, shuffle them first", call. = FALSE)
  }
  rows <- seq_len(b[2] - b[1]) + b[1]
  x <- to_channels_last(array(as.double(x), d)[rows, , , , drop = FALSE], g$data_format)  # (N, H, W, C)
  if (!is.null(y)) y <- take_rows(y, rows)
  if (!is.null(sample_weight)) sample_weight <- as.numeric(sample_weight)[rows]
  save <- check_save_args(save_to_dir, save_prefix, save_format, fn)
  get_batch <- function(idx) {
    bx <- from_channels_last(process_image_batch(g, x[idx, , , , drop = FALSE], idx, save), g$data_format)
    if (is.null(y)) return(bx)
    out <- list(bx, take_rows(y, idx))
    if (!is.null(sample_weight)) out[[3]] <- sample_weight[idx]
    out
  }
  new_image_iterator(length(rows), batch_size, shuffle, seed, get_batch,
                     list(x = x, y = y, image_data_generator = g), fn)
}

image_extensions <- c("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

# Image files under `dir` (relative paths), sorted, walking subdirectories
# (symbolic links to directories only with follow_links).
list_image_files <- function(dir, follow_links, fn) {
  walk <- function(rel) {
    here <- if (nzchar(rel)) file.path(dir, rel) else dir
    entries <- sort(list.files(here, all.files = FALSE, no.. = TRUE), method = "radix")
    paths <- file.path(here, entries)
    is_dir <- dir.exists(paths)
    if (!follow_links) is_dir <- is_dir & !nzchar(Sys.readlink(paths))
    rels <- if (nzchar(rel)) file.path(rel, entries) else entries
    files <- rels[!is_dir & tolower(tools::file_ext(entries)) %in% image_extensions]
    c(files, unlist(lapply(rels[is_dir], walk)))
  }
  files <- walk("")
  bad <- files[!tolower(tools::file_ext(files)) %in% c("png", "jpg", "jpeg")]
  if (length(bad))
    stop(sprintf("%s(): only PNG and JPEG images can be read; found '%s'", fn, file.path(dir, bad[1])), call. = FALSE)
  files
}

check_class_mode <- function(class_mode, fn, choices) {
  if (is.null(class_mode)) return("none")
  check_string(class_mode, fn, "class_mode", choices = choices)
}

# Labels of a batch for the class modes of Keras.
batch_labels <- function(class_mode, classes, num_classes, idx, bx) {
  switch(class_mode,
    categorical = {
      y <- matrix(0, length(idx), num_classes)
      y[cbind(seq_along(idx), classes[idx] + 1L)] <- 1
      y
    },
    binary = as.numeric(classes[idx]),
    sparse = as.numeric(classes[idx]),
    input = bx)
}

# Iterator over image files with known classes (0-based, NA for none).
image_file_iterator <- function(paths, classes, class_indices, g, target_size, color_mode, class_mode,
                                batch_size, shuffle, seed, save, interpolation, fields, fn, other_y = NULL) {
  target_size <- check_whole(target_size, fn, "target_size", min = 1, len = 2)
  color_mode <- check_string(color_mode, fn, "color_mode", choices = c("grayscale", "rgb", "rgba"))
  interpolation <- check_string(interpolation, fn, "interpolation", choices = image_interpolations)
  nch <- c(grayscale = 1L, rgb = 3L, rgba = 4L)[[color_mode]]
  get_batch <- function(idx) {
    bx <- array(0, c(length(idx), target_size, nch))  # (B, H, W, C)
    for (i in seq_along(idx))
      bx[i, , , ] <- image_read(paths[idx[i]], color_mode, target_size, interpolation, fn)
    bx <- from_channels_last(process_image_batch(g, bx, idx, save), g$data_format)
    if (class_mode == "none") return(bx)
    y <- if (class_mode == "other") take_rows(other_y, idx)
         else batch_labels(class_mode, classes, length(class_indices), idx, bx)
    list(bx, y)
  }
  shape <- if (g$data_format == "channels_last") c(target_size, nch) else c(nch, target_size)
  fields <- c(fields, list(classes = classes, class_indices = class_indices, num_classes = length(class_indices),
                           samples = length(paths), image_shape = shape, target_size = target_size,
                           color_mode = color_mode, class_mode = if (class_mode != "none") class_mode,
                           image_data_generator = g))
  new_image_iterator(length(paths), batch_size, shuffle, seed, get_batch, fields, fn)
}

#' Generates batches of data from images in a directory
#'
#' Each subdirectory of `directory` is a class; its PNG and JPEG images
#' (searched recursively) are the samples of that class. Images are loaded as
#' [image_load()] loads them, then transformed by the generator.
#'
#' @inheritParams flow_images_from_data
#' @param directory Path to the target directory, with one subdirectory per class.
#' @param target_size Integer vector `c(height, width)`: all images are resized to it.
#' @param color_mode One of "grayscale", "rgb", "rgba".
#' @param classes Optional character vector of class subdirectories (default:
#'   all subdirectories, sorted); their order gives the class indices.
#' @param class_mode One of "categorical" (one-hot labels), "binary" (0/1
#'   labels), "sparse" (integer labels), "input" (the images themselves) or
#'   `NULL` (no labels: batches are the images only).
#' @param follow_links Whether to follow symbolic links to directories.
#' @param interpolation Interpolation used to resize images, as in [image_load()].
#' @inherit flow_images_from_data return
#' @family image preprocessing
#' @export
flow_images_from_directory <- function(directory, generator = image_data_generator(), target_size = c(256, 256),
                                       color_mode = "rgb", classes = NULL, class_mode = "categorical",
                                       batch_size = 32, shuffle = TRUE, seed = NULL, save_to_dir = NULL,
                                       save_prefix = "", save_format = "png", follow_links = FALSE,
                                       subset = NULL, interpolation = "nearest") {
  fn <- "flow_images_from_directory"
  g <- check_image_generator(generator, fn)
  directory <- check_string(directory, fn, "directory")
  if (!dir.exists(directory)) stop(sprintf("%s(): directory '%s' does not exist", fn, directory), call. = FALSE)
  class_mode <- check_class_mode(class_mode, fn, c("categorical", "binary", "sparse", "input"))
  if (is.null(classes)) {
    subs <- list.files(directory, no.. = TRUE)
    classes <- sort(subs[dir.exists(file.path(directory, subs))], method = "radix")
  } else if (!is.character(classes) || anyNA(classes) || anyDuplicated(classes)) {
    arg_fail(fn, "classes", "NULL or a character vector of distinct subdirectory names", classes)
  }
  paths <- character(); labels <- integer(); rel <- character()
  for (k in seq_along(classes)) {
    cdir <- file.path(directory, classes[k])
    if (!dir.exists(cdir)) stop(sprintf("%s(): class directory '%s' does not exist", fn, cdir), call. = FALSE)
    files <- list_image_files(cdir, isTRUE(follow_links), fn)
    b <- subset_bounds(g, subset, length(files), fn)
    files <- files[seq_len(b[2] - b[1]) + b[1]]
    rel <- c(rel, file.path(classes[k], files))
    paths <- c(paths, file.path(cdir, files))
    labels <- c(labels, rep(k - 1L, length(files)))
  }
  message(sprintf("Found %d images belonging to %d classes.", length(paths), length(classes)))
  image_file_iterator(paths, labels, stats::setNames(as.list(seq_along(classes) - 1L), classes), g,
                      target_size, color_mode, class_mode, batch_size, shuffle, seed,
                      check_save_args(save_to_dir, save_prefix, save_format, fn), interpolation,
                      list(directory = directory, filenames = rel), fn)
}

#' Takes the dataframe and the path to a directory and generates batches of
#' augmented/normalized data
#'
#' @inheritParams flow_images_from_directory
#' @param dataframe A data frame with the image file names in column `x_col`
#'   and, for class modes other than "input" and `NULL`, the labels in `y_col`.
#' @param directory Directory the file names are relative to (`NULL`: the
#'   file names are paths).
#' @param x_col,y_col Names of the columns holding the file names and the labels.
#' @param classes Optional character vector of classes (default: the sorted
#'   distinct values of `y_col`).
#' @param class_mode One of "categorical", "binary", "sparse", "input",
#'   "other" (the `y_col` values as they are, numeric) or `NULL`.
#' @param drop_duplicates Whether to drop duplicate file names.
#' @inherit flow_images_from_data return
#' @family image preprocessing
#' @export
flow_images_from_dataframe <- function(dataframe, directory = NULL, x_col = "filename", y_col = "class",
                                       generator = image_data_generator(), target_size = c(256, 256),
                                       color_mode = "rgb", classes = NULL, class_mode = "categorical",
                                       batch_size = 32, shuffle = TRUE, seed = NULL, save_to_dir = NULL,
                                       save_prefix = "", save_format = "png", subset = NULL,
                                       interpolation = "nearest", drop_duplicates = TRUE) {
  fn <- "flow_images_from_dataframe"
  g <- check_image_generator(generator, fn)
  if (!is.data.frame(dataframe)) arg_fail(fn, "dataframe", "a data frame", dataframe)
  class_mode <- check_class_mode(class_mode, fn, c("categorical", "binary", "sparse", "input", "other"))
  x_col <- check_string(x_col, fn, "x_col")
  if (!x_col %in% names(dataframe)) stop(sprintf("%s(): `dataframe` has no column '%s' (x_col)", fn, x_col), call. = FALSE)
  need_y <- class_mode %in% c("categorical", "binary", "sparse", "other")
  if (need_y) {
    y_col <- check_string(y_col, fn, "y_col")
    if (!y_col %in% names(dataframe)) stop(sprintf("%s(): `dataframe` has no column '%s' (y_col)", fn, y_col), call. = FALSE)
  }
  if (isTRUE(drop_duplicates)) dataframe <- dataframe[!duplicated(dataframe[[x_col]]), , drop = FALSE]
  files <- as.character(dataframe[[x_col]])
  paths <- if (is.null(directory)) files else file.path(check_string(directory, fn, "directory"), files)
  ok <- file.exists(paths) & tolower(tools::file_ext(paths)) %in% c("png", "jpg", "jpeg")
  if (any(!ok))
    warning(sprintf("%s(): %d file name(s) are not existing PNG/JPEG files and are skipped (first: '%s')",
                    fn, sum(!ok), paths[!ok][1]), call. = FALSE)
  dataframe <- dataframe[ok, , drop = FALSE]; files <- files[ok]; paths <- paths[ok]
  labels <- rep(NA_integer_, length(paths)); class_indices <- list(); other_y <- NULL
  if (class_mode %in% c("categorical", "binary", "sparse")) {
    yv <- as.character(dataframe[[y_col]])
    if (is.null(classes)) classes <- sort(unique(yv), method = "radix")
    keep <- yv %in% classes
    dataframe <- dataframe[keep, , drop = FALSE]; files <- files[keep]; paths <- paths[keep]
    labels <- match(yv[keep], classes) - 1L
    if (class_mode == "binary" && length(classes) != 2)
      stop(sprintf("%s(): class_mode \"binary\" needs 2 classes, found %d", fn, length(classes)), call. = FALSE)
    class_indices <- stats::setNames(as.list(seq_along(classes) - 1L), classes)
  } else if (class_mode == "other") {
    other_y <- dataframe[[y_col]]
    if (!is.numeric(other_y)) stop(sprintf("%s(): class_mode \"other\" needs a numeric `%s` column", fn, y_col), call. = FALSE)
  }
  b <- subset_bounds(g, subset, length(paths), fn)
  rows <- seq_len(b[2] - b[1]) + b[1]
  message(sprintf("Found %d images belonging to %d classes.", length(rows), length(class_indices)))
  image_file_iterator(paths[rows], labels[rows], class_indices, g, target_size, color_mode, class_mode,
                      batch_size, shuffle, seed, check_save_args(save_to_dir, save_prefix, save_format, fn),
                      interpolation, list(directory = directory, filenames = files[rows]), fn,
                      other_y = if (!is.null(other_y)) other_y[rows])
}
