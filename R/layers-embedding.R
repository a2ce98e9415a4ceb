#' Turns positive integers (indexes) into dense vectors of fixed size
#'
#' `c(4, 20)` becomes `rbind(W[5, ], W[21, ])` for the `(input_dim,
#' output_dim)` weight matrix `W` (indexes are 0-based, as in Keras). Can only
#' be used as the first layer of a model or after an input of indexes. Each
#' index must be a whole number in `[0, input_dim)`; anything else is an
#' error naming the layer and the index.
#'
#' @inheritParams layer_dense
#' @param input_dim Size of the vocabulary (maximum integer index + 1).
#' @param output_dim Dimension of the dense embedding.
#' @param embeddings_initializer Initializer for the embeddings matrix
#'   (`"uniform"`: uniform in `[-0.05, 0.05]`, as Keras).
#' @param embeddings_regularizer,activity_regularizer,embeddings_constraint
#'   Regularizer of the `embeddings` matrix and of the output, constraint of
#'   the `embeddings` (see [regularizer_l1()], [constraint_maxnorm()]).
#' @param mask_zero If `TRUE`, index 0 is padding: the output carries a mask
#'   (0 where the index is 0) that downstream layers use as Keras 2.2 does
#'   (recurrent layers skip masked steps, merge layers combine masks, a layer
#'   that does not support masking, e.g. `layer_flatten()`, is an error).
#'   Index 0 then cannot be a word (`input_dim` should be vocabulary + 1).
#' @param input_length Length of input sequences, when it is constant; sets
#'   the input shape of the first layer when `input_shape` is not given.
#' @param ... Standard layer arguments: `input_shape`, `batch_input_shape`,
#'   `batch_size`, `name`, `trainable`, `weights`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_embedding(input_dim = 1000, output_dim = 16, input_length = 10)
#' @export
layer_embedding <- function(object, input_dim, output_dim, embeddings_initializer = "uniform",
                            embeddings_regularizer = NULL, activity_regularizer = NULL,
                            embeddings_constraint = NULL, mask_zero = FALSE,
                            input_length = NULL, ...) {
  pen <- penalty_args("layer_embedding", embeddings_regularizer = embeddings_regularizer,
                      activity_regularizer = activity_regularizer, embeddings_constraint = embeddings_constraint)
  if (!is.logical(mask_zero) || length(mask_zero) != 1 || is.na(mask_zero))
    stop("layer_embedding(): `mask_zero` must be TRUE or FALSE", call. = FALSE)
  pos_int <- function(v) is.numeric(v) && length(v) == 1 && !is.na(v) && v >= 1 && v == round(v)
  if (missing(input_dim) || !pos_int(input_dim))
    stop("layer_embedding(): `input_dim` must be a positive integer", call. = FALSE)
  if (missing(output_dim) || !pos_int(output_dim))
    stop("layer_embedding(): `output_dim` must be a positive integer", call. = FALSE)
  if (!is.null(input_length) && !pos_int(input_length))
    stop("layer_embedding(): `input_length` must be NULL or a positive integer", call. = FALSE)
  std <- standard_layer_args(list(...), "layer_embedding")
  if (is.null(std$input_shape) && is.null(std$batch_input_shape) && !is.null(input_length))
    std$input_shape <- input_length
  layer <- create_layer("Embedding", if (missing(object)) NULL else object,
    c(list(name = std$name, input_dim = as.integer(input_dim), output_dim = as.integer(output_dim),
           embeddings_initializer = embeddings_initializer, mask_zero = mask_zero,
           input_length = if (is.null(input_length)) NULL else as.integer(input_length)), pen),
    std$input_shape, std$batch_input_shape, std$batch_size, std$weights)
  set_trainable_arg(layer, std$trainable)
}

# The standard layer arguments passed through `...` (keras's
# `input_shape`, `batch_input_shape`, `batch_size`, `dtype`, `name`,
# `trainable`, `weights`); anything else is an error naming it.
standard_layer_args <- function(args, fn) {
  known <- c("input_shape", "batch_input_shape", "batch_size", "dtype", "name", "trainable",
             "weights")
  nms <- names(args)
  if (length(args) && (is.null(nms) || any(!nzchar(nms))))
    stop(fn, "(): extra arguments must be named", call. = FALSE)
  bad <- setdiff(nms, known)
  if (length(bad))
    stop(fn, "(): unknown argument(s) ", paste0("`", bad, "`", collapse = ", "), call. = FALSE)
  if (!is.null(args$dtype) && !args$dtype %in% c("float32", "int32"))
    stop(fn, "(): only dtype \"float32\" or \"int32\" inputs are supported, got ", args$dtype,
         call. = FALSE)
  args
}

#' Masks a sequence by using a mask value to skip timesteps
#'
#' For each timestep of the input `(batch, timesteps, features)`, if all
#' features equal `mask_value`, the timestep is masked: its output is zero and
#' downstream layers that support masking skip it (recurrent layers keep their
#' state, as Keras 2.2). A layer that does not support masking raises an error
#' when it receives a masked input.
#'
#' @inheritParams layer_dense
#' @param mask_value The value that marks a timestep to skip.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_masking(mask_value = 0, input_shape = c(5, 2)) %>%
#'   layer_lstm(units = 4)
#' @export
layer_masking <- function(object, mask_value = 0, input_shape = NULL, batch_input_shape = NULL,
                          batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                          weights = NULL) {
  if (!is.numeric(mask_value) || length(mask_value) != 1 || is.na(mask_value))
    stop("layer_masking(): `mask_value` must be a single number", call. = FALSE)
  layer <- create_layer("Masking", if (missing(object)) NULL else object,
                        list(name = name, mask_value = as.numeric(mask_value)), input_shape,
                        batch_input_shape, batch_size, weights)
  set_trainable_arg(layer, trainable)
}
