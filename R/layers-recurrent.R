# Recurrent layers. The recurrence runs in C++ over the whole sequence.

# Arguments every recurrent layer checks the same way.
rnn_common_config <- function(fn, units, activation, use_bias, return_sequences, return_state,
                              go_backwards, stateful, unroll, kernel_initializer,
                              recurrent_initializer, bias_initializer, dropout,
                              recurrent_dropout, penalties) {
  pen <- do.call(penalty_args, c(list(fn), penalties))
  if (!is.numeric(units) || length(units) != 1 || is.na(units) || units < 1 || units != round(units))
    stop(fn, "(): `units` must be a positive integer", call. = FALSE)
  if (!isFALSE(stateful))
    stop(fn, "(): stateful = TRUE is not supported yet", call. = FALSE)
  if (!identical(as.numeric(dropout), 0))
    stop(fn, "(): dropout > 0 is not supported yet", call. = FALSE)
  if (!identical(as.numeric(recurrent_dropout), 0))
    stop(fn, "(): recurrent_dropout > 0 is not supported yet", call. = FALSE)
  for (a in list(list("use_bias", use_bias), list("return_sequences", return_sequences),
                 list("return_state", return_state),
                 list("go_backwards", go_backwards), list("unroll", unroll)))
    if (!is.logical(a[[2]]) || length(a[[2]]) != 1 || is.na(a[[2]]))
      stop(fn, "(): `", a[[1]], "` must be TRUE or FALSE", call. = FALSE)
  c(list(units = as.integer(units), activation = activation %||% "linear", use_bias = use_bias,
       return_sequences = return_sequences, return_state = return_state, go_backwards = go_backwards,
       stateful = FALSE, unroll = unroll, kernel_initializer = kernel_initializer,
       recurrent_initializer = recurrent_initializer, bias_initializer = bias_initializer,
       dropout = 0, recurrent_dropout = 0), pen)
}

#' Fully-connected RNN where the output is to be fed back to input
#'
#' `h[t] = activation(x[t] %*% kernel + h[t-1] %*% recurrent_kernel + bias)`
#' with `h[0] = 0`, for inputs of shape `(batch, timesteps, features)`.
#' Weights: `kernel (features, units)`, `recurrent_kernel (units, units)`,
#' `bias (units)`, as Keras.
#'
#' @inheritParams layer_dense
#' @param units Positive integer, dimensionality of the output space.
#' @param activation Activation function to use (default `"tanh"`; `NULL`:
#'   linear).
#' @param return_sequences Whether to return the last output (`(batch,
#'   units)`) or the full sequence (`(batch, timesteps, units)`).
#' @param return_state If `TRUE`, applying the layer to a tensor returns a
#'   list: the output, then the final states (`h`, and `c` for LSTM), each
#'   `(batch, units)`. Use it in functional models (not in a Sequential one).
#'   The layer object also accepts `initial_state` when called on a tensor:
#'   `layer(x, initial_state = list(h0))` (LSTM: `list(h0, c0)`), tensors of
#'   shape `(batch, units)`; gradients flow into them.
#' @param stateful Not supported yet (must be `FALSE`).
#' @param go_backwards If `TRUE`, process the input sequence backwards (and
#'   return the reversed sequence, as Keras).
#' @param unroll Accepted; the result is the same either way.
#' @param recurrent_initializer Initializer for `recurrent_kernel` (default
#'   `"orthogonal"`).
#' @param recurrent_regularizer,recurrent_constraint Regularizer / constraint
#'   of `recurrent_kernel` (the penalty is part of the loss; the constraint is
#'   applied after every update).
#' @param dropout,recurrent_dropout Not supported yet (must be 0).
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_simple_rnn(units = 8, input_shape = c(10, 3))
#' @export
layer_simple_rnn <- function(object, units, activation = "tanh", use_bias = TRUE,
                             return_sequences = FALSE, return_state = FALSE,
                             go_backwards = FALSE, stateful = FALSE, unroll = FALSE,
                             kernel_initializer = "glorot_uniform",
                             recurrent_initializer = "orthogonal", bias_initializer = "zeros",
                             kernel_regularizer = NULL, recurrent_regularizer = NULL,
                             bias_regularizer = NULL, activity_regularizer = NULL,
                             kernel_constraint = NULL, recurrent_constraint = NULL,
                             bias_constraint = NULL, dropout = 0, recurrent_dropout = 0,
                             input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                             dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  if (missing(units)) stop("layer_simple_rnn(): `units` is required", call. = FALSE)
  cfg <- rnn_common_config("layer_simple_rnn", units, activation, use_bias, return_sequences,
    return_state, go_backwards, stateful, unroll, kernel_initializer, recurrent_initializer,
    bias_initializer, dropout, recurrent_dropout,
    list(kernel_regularizer = kernel_regularizer, recurrent_regularizer = recurrent_regularizer,
         bias_regularizer = bias_regularizer, activity_regularizer = activity_regularizer,
         kernel_constraint = kernel_constraint, recurrent_constraint = recurrent_constraint,
         bias_constraint = bias_constraint))
  layer <- create_layer("SimpleRNN", if (missing(object)) NULL else object,
                        c(list(name = name), cfg), input_shape, batch_input_shape, batch_size,
                        weights)
  set_trainable_arg(layer, trainable)
}

#' Long Short-Term Memory unit (Hochreiter 1997)
#'
#' Keras 2.2's LSTM: gates `i, f, c, o` in that order along the columns of
#' `kernel (features, 4 * units)`, `recurrent_kernel (units, 4 * units)` and
#' `bias (4 * units)`; `i = ra(z_i)`, `f = ra(z_f)`, `o = ra(z_o)`,
#' `c[t] = f * c[t-1] + i * activation(z_c)`, `h[t] = o * activation(c[t])`
#' with `ra` the recurrent activation and `z = x[t] %*% kernel + h[t-1] %*%
#' recurrent_kernel + bias`.
#'
#' @inheritParams layer_simple_rnn
#' @param recurrent_activation Activation for the gates (Keras 2.2's default
#'   `"hard_sigmoid"`).
#' @param unit_forget_bias If `TRUE`, add 1 to the forget-gate bias at
#'   initialization (Keras's default).
#' @param implementation 1 or 2 (accepted; both give the same result).
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_embedding(input_dim = 100, output_dim = 8, input_length = 10) %>%
#'   layer_lstm(units = 16)
#' @export
layer_lstm <- function(object, units, activation = "tanh", recurrent_activation = "hard_sigmoid",
                       use_bias = TRUE, return_sequences = FALSE, return_state = FALSE,
                       go_backwards = FALSE, stateful = FALSE, unroll = FALSE,
                       kernel_initializer = "glorot_uniform",
                       recurrent_initializer = "orthogonal", bias_initializer = "zeros",
                       unit_forget_bias = TRUE, kernel_regularizer = NULL,
                       recurrent_regularizer = NULL, bias_regularizer = NULL,
                       activity_regularizer = NULL, kernel_constraint = NULL,
                       recurrent_constraint = NULL, bias_constraint = NULL, dropout = 0,
                       recurrent_dropout = 0, implementation = 1L, input_shape = NULL,
                       batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                       trainable = NULL, weights = NULL) {
  if (missing(units)) stop("layer_lstm(): `units` is required", call. = FALSE)
  cfg <- rnn_common_config("layer_lstm", units, activation, use_bias, return_sequences,
    return_state, go_backwards, stateful, unroll, kernel_initializer, recurrent_initializer,
    bias_initializer, dropout, recurrent_dropout,
    list(kernel_regularizer = kernel_regularizer, recurrent_regularizer = recurrent_regularizer,
         bias_regularizer = bias_regularizer, activity_regularizer = activity_regularizer,
         kernel_constraint = kernel_constraint, recurrent_constraint = recurrent_constraint,
         bias_constraint = bias_constraint))
  if (!is.logical(unit_forget_bias) || length(unit_forget_bias) != 1 || is.na(unit_forget_bias))
    stop("layer_lstm(): `unit_forget_bias` must be TRUE or FALSE", call. = FALSE)
  if (!implementation %in% c(1, 2))
    stop("layer_lstm(): `implementation` must be 1 or 2", call. = FALSE)
  cfg <- c(cfg, list(recurrent_activation = recurrent_activation %||% "linear",
                     unit_forget_bias = unit_forget_bias,
                     implementation = as.integer(implementation)))
  layer <- create_layer("LSTM", if (missing(object)) NULL else object, c(list(name = name), cfg),
                        input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(layer, trainable)
}

#' Gated Recurrent Unit (Cho et al. 2014)
#'
#' Keras 2.2's GRU with `reset_after = FALSE`: blocks `z, r, h` along the
#' columns of `kernel (features, 3 * units)`, `recurrent_kernel (units, 3 *
#' units)` and `bias (3 * units)`; `z = ra(z_z)`, `r = ra(z_r)`,
#' `hh = activation(x[t] %*% W_h + (r * h[t-1]) %*% U_h + b_h)`,
#' `h[t] = z * h[t-1] + (1 - z) * hh`.
#'
#' @inheritParams layer_lstm
#' @param reset_after Must be `FALSE` (Keras 2.2's default); `TRUE` is not
#'   supported yet.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_gru(units = 8, input_shape = c(10, 3))
#' @export
layer_gru <- function(object, units, activation = "tanh", recurrent_activation = "hard_sigmoid",
                      use_bias = TRUE, return_sequences = FALSE, return_state = FALSE,
                      go_backwards = FALSE, stateful = FALSE, unroll = FALSE, reset_after = FALSE,
                      kernel_initializer = "glorot_uniform",
                      recurrent_initializer = "orthogonal", bias_initializer = "zeros",
                      kernel_regularizer = NULL, recurrent_regularizer = NULL,
                      bias_regularizer = NULL, activity_regularizer = NULL,
                      kernel_constraint = NULL, recurrent_constraint = NULL,
                      bias_constraint = NULL, dropout = 0, recurrent_dropout = 0,
                      implementation = 1L, input_shape = NULL, batch_input_shape = NULL,
                      batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                      weights = NULL) {
  if (missing(units)) stop("layer_gru(): `units` is required", call. = FALSE)
  cfg <- rnn_common_config("layer_gru", units, activation, use_bias, return_sequences,
    return_state, go_backwards, stateful, unroll, kernel_initializer, recurrent_initializer,
    bias_initializer, dropout, recurrent_dropout,
    list(kernel_regularizer = kernel_regularizer, recurrent_regularizer = recurrent_regularizer,
         bias_regularizer = bias_regularizer, activity_regularizer = activity_regularizer,
         kernel_constraint = kernel_constraint, recurrent_constraint = recurrent_constraint,
         bias_constraint = bias_constraint))
  if (!isFALSE(reset_after))
    stop("layer_gru(): reset_after = TRUE is not supported yet", call. = FALSE)
  if (!implementation %in% c(1, 2))
    stop("layer_gru(): `implementation` must be 1 or 2", call. = FALSE)
  cfg <- c(cfg, list(recurrent_activation = recurrent_activation %||% "linear",
                     implementation = as.integer(implementation), reset_after = FALSE))
  layer <- create_layer("GRU", if (missing(object)) NULL else object, c(list(name = name), cfg),
                        input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(layer, trainable)
}
