# Keras 2.2.5 initializers: objects holding Keras's serialized form
# {class_name, config}; layers pass them to the engine, which draws the values
# (a `seed` gives the same values on every use).

new_keras_object <- function(module, class_name, config) {
  structure(list(class_name = class_name, config = config),
            class = c(paste0("keras.", module, ".", class_name), "kerasnative_keras_object"))
}

#' @export
print.kerasnative_keras_object <- function(x, ...) {
  cat(sprintf("<%s>\n", class(x)[1]))
  invisible(x)
}

#' @export
`$.kerasnative_keras_object` <- function(x, name) {
  if (name %in% c("class_name", "config")) return(.subset2(x, name))
  if (name == "get_config") return(function() .subset2(x, "config"))
  .subset2(x, "config")[[name]]
}

# The serialized form sent in a layer config (NULL entries become JSON null).
keras_object_json <- function(x) {
  cfg <- lapply(.subset2(x, "config"), function(v) if (is.null(v)) NA else v)
  if (!length(cfg)) cfg <- setNames(list(), character(0))  # JSON {} rather than []
  list(class_name = .subset2(x, "class_name"), config = cfg)
}

init_seed <- function(seed, fn) {
  if (is.null(seed)) return(NULL)
  as.integer(check_whole(seed, fn, "seed", min = 0))
}
initializer <- function(class_name, config) new_keras_object("initializers", class_name, config)

#' Initializers
#'
#' Initial values of a layer's weights, for arguments such as
#' `kernel_initializer`. `initializer_variance_scaling()` draws with standard
#' deviation `sqrt(scale / n)` (`normal`: a normal truncated at two standard
#' deviations, rescaled as Keras 2.2 does; `uniform`: within
#' `[-sqrt(3 scale / n), sqrt(3 scale / n)]`), `n` being the number of input
#' units (`fan_in`), output units (`fan_out`) or their mean (`fan_avg`). The
#' Glorot, He and LeCun initializers are variance scaling with Keras's
#' settings. With a `seed`, the same values are drawn on every use.
#' @param value Constant value.
#' @param mean,stddev Mean and standard deviation of the normal distribution.
#' @param minval,maxval Bounds of the uniform distribution.
#' @param scale Scaling factor (positive float).
#' @param mode One of `"fan_in"`, `"fan_out"`, `"fan_avg"`.
#' @param distribution `"normal"` or `"uniform"`.
#' @param gain Multiplicative factor.
#' @param seed Integer used to seed the random generator (`NULL`: the model's generator).
#' @return An initializer object.
#' @examples
#' layer_dense(units = 4, kernel_initializer = initializer_he_normal(seed = 1))
#' @name initializer_zeros
NULL

#' @rdname initializer_zeros
#' @export
initializer_zeros <- function() initializer("Zeros", list())
#' @rdname initializer_zeros
#' @export
initializer_ones <- function() initializer("Ones", list())
#' @rdname initializer_zeros
#' @export
initializer_constant <- function(value = 0) {
  initializer("Constant", list(value = check_number(value, "initializer_constant", "value")))
}
#' @rdname initializer_zeros
#' @export
initializer_random_normal <- function(mean = 0, stddev = 0.05, seed = NULL) {
  fn <- "initializer_random_normal"
  initializer("RandomNormal", list(mean = check_number(mean, fn, "mean"),
                                   stddev = check_number(stddev, fn, "stddev", 0),
                                   seed = init_seed(seed, fn)))
}
#' @rdname initializer_zeros
#' @export
initializer_random_uniform <- function(minval = -0.05, maxval = 0.05, seed = NULL) {
  fn <- "initializer_random_uniform"
  check_number(minval, fn, "minval")
  check_number(maxval, fn, "maxval")
  if (maxval < minval) stop(fn, "(): `maxval` must be >= `minval`", call. = FALSE)
  initializer("RandomUniform", list(minval = minval, maxval = maxval, seed = init_seed(seed, fn)))
}
#' @rdname initializer_zeros
#' @export
initializer_truncated_normal <- function(mean = 0, stddev = 0.05, seed = NULL) {
  fn <- "initializer_truncated_normal"
  initializer("TruncatedNormal", list(mean = check_number(mean, fn, "mean"),
                                      stddev = check_number(stddev, fn, "stddev", 0),
                                      seed = init_seed(seed, fn)))
}
#' @rdname initializer_zeros
#' @export
initializer_variance_scaling <- function(scale = 1, mode = c("fan_in", "fan_out", "fan_avg"),
                                         distribution = c("normal", "uniform"), seed = NULL) {
  fn <- "initializer_variance_scaling"
  check_number(scale, fn, "scale", 0, min_open = TRUE)
  mode <- match.arg(mode)
  distribution <- match.arg(distribution)
  initializer("VarianceScaling", list(scale = scale, mode = mode, distribution = distribution,
                                      seed = init_seed(seed, fn)))
}
#' @rdname initializer_zeros
#' @export
initializer_orthogonal <- function(gain = 1, seed = NULL) {
  fn <- "initializer_orthogonal"
  initializer("Orthogonal", list(gain = check_number(gain, fn, "gain"), seed = init_seed(seed, fn)))
}
#' @rdname initializer_zeros
#' @export
initializer_identity <- function(gain = 1) {
  initializer("Identity", list(gain = check_number(gain, "initializer_identity", "gain")))
}
vs_init <- function(fn, scale, mode, distribution, seed) {
  initializer("VarianceScaling", list(scale = scale, mode = mode, distribution = distribution,
                                      seed = init_seed(seed, fn)))
}
#' @rdname initializer_zeros
#' @export
initializer_glorot_normal <- function(seed = NULL) vs_init("initializer_glorot_normal", 1, "fan_avg", "normal", seed)
#' @rdname initializer_zeros
#' @export
initializer_glorot_uniform <- function(seed = NULL) vs_init("initializer_glorot_uniform", 1, "fan_avg", "uniform", seed)
#' @rdname initializer_zeros
#' @export
initializer_he_normal <- function(seed = NULL) vs_init("initializer_he_normal", 2, "fan_in", "normal", seed)
#' @rdname initializer_zeros
#' @export
initializer_he_uniform <- function(seed = NULL) vs_init("initializer_he_uniform", 2, "fan_in", "uniform", seed)
#' @rdname initializer_zeros
#' @export
initializer_lecun_normal <- function(seed = NULL) vs_init("initializer_lecun_normal", 1, "fan_in", "normal", seed)
#' @rdname initializer_zeros
#' @export
initializer_lecun_uniform <- function(seed = NULL) vs_init("initializer_lecun_uniform", 1, "fan_in", "uniform", seed)
