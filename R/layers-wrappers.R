# Layer wrappers: bidirectional() and time_distributed(). The wrapped layer is
# rebuilt from its config inside the wrapper (as Keras copies it), which owns
# its weights.

wrapped_layer_config <- function(layer, fn) {
  if (!inherits(layer, "kerasnative_layer"))
    stop(fn, "(): `layer` must be a layer object, e.g. layer_lstm(units = 8), not ", arg_text(layer),
         call. = FALSE)
  cfg <- get_config(layer)
  rules <- names(cfg)[grepl("_(regularizer|constraint)$", names(cfg)) & !vapply(cfg, is.null, logical(1))]
  if (length(rules))
    stop(fn, "(): the wrapped layer's ", paste0("`", rules, "`", collapse = ", "),
         " would not be applied inside the wrapper; remove it (wrapped layers take no regularizers or constraints here)",
         call. = FALSE)
  cls <- attr(cfg, "config_class")
  attr(cfg, "config_class") <- NULL
  list(class_name = cls, config = cfg)
}

# The wrapped layer's input shape (keras: `bidirectional(layer_lstm(..., input_shape = ))`)
# becomes the wrapper's, so that it can start a Sequential model.
lift_batch_input_shape <- function(inner) {
  bis <- inner$config$batch_input_shape
  if (is.null(bis)) return(NULL)
  lapply(bis, function(d) if (is.null(d)) NA else d)
}

#' Bidirectional wrapper for RNNs
#'
#' Runs a copy of `layer` forward and another backward (`go_backwards`
#' flipped) over the sequence, each with its own weights (forward's first, as
#' Keras), and merges their outputs (the backward sequence is put back in time
#' order). A masked input is passed to both.
#'
#' @param object Model or layer object.
#' @param layer A recurrent layer: `layer_simple_rnn()`, `layer_lstm()` or
#'   `layer_gru()` (its `input_shape`, if given, becomes the wrapper's).
#' @param merge_mode How the outputs are combined: `"concat"` (along the last
#'   axis), `"sum"`, `"mul"`, `"ave"`, or `NULL`: a list of the two outputs
#'   (functional models only).
#' @param weights Initial weights: forward then backward layer's.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_embedding(input_dim = 100, output_dim = 8, input_length = 10) %>%
#'   bidirectional(layer_lstm(units = 4))
#' @export
bidirectional <- function(object, layer, merge_mode = "concat", weights = NULL) {
  if (missing(layer)) stop("bidirectional(): `layer` is required", call. = FALSE)
  inner <- wrapped_layer_config(layer, "bidirectional")
  if (!inner$class_name %in% c("SimpleRNN", "LSTM", "GRU"))
    stop("bidirectional(): `layer` must be a recurrent layer (SimpleRNN, LSTM, GRU), got ", inner$class_name,
         call. = FALSE)
  if (!is.null(merge_mode)) check_string(merge_mode, "bidirectional", "merge_mode",
                                         choices = c("concat", "sum", "mul", "ave"))
  bis <- lift_batch_input_shape(inner)
  inner$config$batch_input_shape <- NULL
  obj <- if (missing(object)) NULL else object
  if (is.null(merge_mode) && is_model(obj))
    stop("bidirectional(): merge_mode = NULL gives two outputs, which a Sequential model cannot hold; ",
         "use the functional API", call. = FALSE)
  # merge_mode NULL is JSON null (NA serialises as null; NULL entries are dropped)
  config <- list(layer = inner, merge_mode = if (is.null(merge_mode)) NA else merge_mode)
  w <- create_layer("Bidirectional", NULL, config, batch_input_shape = bis, weights = weights)
  if (is.null(obj)) return(w)
  compose_layer(obj, w)
}

#' Apply a layer to every temporal slice of an input
#'
#' The input `(batch, time, ...)` is treated as `batch * time` samples of shape
#' `(...)`; the output is `(batch, time, ...)` with the layer's output shape.
#' The wrapped layer's weights are shared by all steps. A masked input keeps
#' its mask.
#'
#' @inheritParams layer_dense
#' @param layer A layer object, e.g. `layer_dense(units = 8)`.
#' @examples
#' model <- keras_model_sequential() %>%
#'   time_distributed(layer_dense(units = 8), input_shape = c(10, 16))
#' @export
time_distributed <- function(object, layer, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                             dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  if (missing(layer)) stop("time_distributed(): `layer` is required", call. = FALSE)
  inner <- wrapped_layer_config(layer, "time_distributed")
  inner$config$batch_input_shape <- NULL
  check_layer_common("time_distributed", name)
  w <- create_layer("TimeDistributed", if (missing(object)) NULL else object,
                    list(name = name, layer = inner), input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(w, trainable)
}
