# Reshaping layers for sequences: layer_repeat_vector(), layer_permute().

#' Repeats the input n times
#'
#' `(batch, features)` becomes `(batch, n, features)`.
#' @inheritParams layer_max_pooling_1d
#' @param n Integer, repetition factor.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3) %>%
#'   layer_repeat_vector(n = 5)
#' @export
layer_repeat_vector <- function(object, n, batch_size = NULL, name = NULL, trainable = NULL,
                                weights = NULL) {
  if (missing(n)) stop("layer_repeat_vector(): `n` is required", call. = FALSE)
  n <- check_whole(n, "layer_repeat_vector", "n")
  check_layer_common("layer_repeat_vector", name)
  layer <- create_layer("RepeatVector", if (missing(object)) NULL else object, list(name = name, n = n),
                        NULL, NULL, batch_size, weights)
  set_trainable_arg(layer, trainable)
}

#' Permute the dimensions of an input according to a given pattern
#'
#' @inheritParams layer_dense
#' @param dims Permutation of the per-sample axes, 1-based (`c(2, 1)`
#'   swaps the first and second axes of each sample; the batch axis stays).
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_permute(dims = c(2, 1), input_shape = c(10, 64))
#' @export
layer_permute <- function(object, dims, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                          dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  if (missing(dims)) stop("layer_permute(): `dims` is required", call. = FALSE)
  dims <- check_whole(dims, "layer_permute", "dims", len = seq_len(16))
  if (!setequal(dims, seq_along(dims)) || anyDuplicated(dims))
    stop("layer_permute(): `dims` must be a permutation of 1..", length(dims), ", got ",
         paste(dims, collapse = ", "), call. = FALSE)
  check_layer_common("layer_permute", name)
  layer <- create_layer("Permute", if (missing(object)) NULL else object,
                        list(name = name, dims = as.list(dims)), input_shape, batch_input_shape, batch_size,
                        weights)
  set_trainable_arg(layer, trainable)
}
