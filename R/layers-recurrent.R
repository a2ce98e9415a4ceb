# Recurrent layers. The recurrence runs in C++ over the whole sequence.

# Arguments every recurrent layer checks the same way, read from the calling
# layer_*() function's frame `env`: returns the common part of the config.
rnn_common_config <- function(fn, env) {
  a <- mget(c("units", "activation", "use_bias", "return_sequences", "return_state", "go_backwards",
              "stateful", "unroll", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "activity_regularizer", "kernel_constraint", "recurrent_constraint",
              "bias_constraint", "dropout", "recurrent_dropout"), envir = env)
  pen <- do.call(penalty_args, c(list(fn), a[c("kernel_regularizer", "recurrent_regularizer",
                                              "bias_regularizer", "activity_regularizer",
                                              "kernel_constraint", "recurrent_constraint",
                                              "bias_constraint")]))
  units <- check_whole(a$units, fn, "units", min = 1)
  for (flag in c("use_bias", "return_sequences", "return_state", "go_backwards", "stateful", "unroll"))
    check_flag(a[[flag]], fn, flag)
  for (rate in c("dropout", "recurrent_dropout"))
    check_number(a[[rate]], fn, rate, 0, 1, max_open = TRUE)
  c(list(units = as.integer(units), activation = a$activation %||% "linear", use_bias = a$use_bias,
       return_sequences = a$return_sequences, return_state = a$return_state,
       go_backwards = a$go_backwards, stateful = a$stateful, unroll = a$unroll,
       kernel_initializer = a$kernel_initializer, recurrent_initializer = a$recurrent_initializer,
       bias_initializer = a$bias_initializer, dropout = as.numeric(a$dropout),
       recurrent_dropout = as.numeric(a$recurrent_dropout)), pen)
}

# The gated layers' `implementation` (1 or 2).
rnn_implementation <- function(fn, implementation) {
  if (!is.numeric(implementation) || length(implementation) != 1 || !implementation %in% c(1, 2))
    stop(fn, "(): `implementation` must be 1 or 2", call. = FALSE)
  as.integer(implementation)
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
#' @param stateful If `TRUE`, the final states of each batch are the initial
#'   states of the next batch (sample `i` continues sample `i` of the previous
#'   batch) until [reset_states()]. Needs a fixed batch size: give the first
#'   layer `batch_input_shape` (or `batch_size`), and fit with `shuffle =
#'   FALSE`. No gradient flows across batches.
#' @param go_backwards If `TRUE`, process the input sequence backwards (and
#'   return the reversed sequence, as Keras).
#' @param unroll Accepted; the result is the same either way.
#' @param recurrent_initializer Initializer for `recurrent_kernel` (default
#'   `"orthogonal"`).
#' @param recurrent_regularizer,recurrent_constraint Regularizer / constraint
#'   of `recurrent_kernel` (the penalty is part of the loss; the constraint is
#'   applied after every update).
#' @param dropout Fraction in `[0, 1)` of the input units to drop, for the
#'   linear transformation of the inputs (training only).
#' @param recurrent_dropout Fraction in `[0, 1)` of the units to drop for the
#'   linear transformation of the recurrent state (training only). As Keras
#'   2.2, both masks are drawn once per batch and reused at every time step;
#'   with `implementation = 1` each gate has its own masks. The draws follow
#'   R's `set.seed()`.
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
  cfg <- rnn_common_config("layer_simple_rnn", environment())
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
#' @param implementation 1 or 2: the same result without dropout; with
#'   dropout, 1 draws one mask per gate and 2 one mask shared by all gates
#'   (Keras 2.2).
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
  cfg <- rnn_common_config("layer_lstm", environment())
  if (!is.logical(unit_forget_bias) || length(unit_forget_bias) != 1 || is.na(unit_forget_bias))
    stop("layer_lstm(): `unit_forget_bias` must be TRUE or FALSE", call. = FALSE)
  cfg <- c(cfg, list(recurrent_activation = recurrent_activation %||% "linear",
                     unit_forget_bias = unit_forget_bias,
                     implementation = rnn_implementation("layer_lstm", implementation)))
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
#' @param reset_after `FALSE` (Keras 2.2's default) or `TRUE`: the reset gate
#'   applies after the recurrent product, `hh = activation(x[t] %*% W_h + b_h
#'   + r * (h[t-1] %*% U_h + rb_h))`, with `bias` of shape `(2, 3 * units)`
#'   (input biases, then recurrent biases added to every block), as Keras and
#'   CuDNN.
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
  cfg <- rnn_common_config("layer_gru", environment())
  check_flag(reset_after, "layer_gru", "reset_after")
  cfg <- c(cfg, list(recurrent_activation = recurrent_activation %||% "linear",
                     implementation = rnn_implementation("layer_gru", implementation),
                     reset_after = reset_after))
  layer <- create_layer("GRU", if (missing(object)) NULL else object, c(list(name = name), cfg),
                        input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(layer, trainable)
}

#' Reset the states of stateful recurrent layers
#'
#' Recurrent layers created with `stateful = TRUE` carry their final states
#' from one batch to the next; `reset_states()` sets them back to zeros (for a
#' model: in every layer). Other layers are unaffected.
#'
#' @param object A model or a layer.
#' @return The object, invisibly.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_lstm(units = 4, stateful = TRUE, batch_input_shape = c(2, 5, 3))
#' reset_states(model)
#' @export
reset_states <- function(object) {
  if (is_model(object)) {
    for (l in model_layers(object))
      if (inherits(l, "kerasnative_layer")) cpp_layer_reset_states(layer_ptr(l))
  } else if (inherits(object, "kerasnative_layer")) {
    cpp_layer_reset_states(layer_ptr(object))
  } else {
    stop("reset_states(): `object` must be a model or a layer", call. = FALSE)
  }
  invisible(object)
}

# Arguments of the CuDNN layers (a subset of the recurrent ones).
cudnn_config <- function(fn, env) {
  a <- mget(c("units", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "activity_regularizer", "kernel_constraint", "recurrent_constraint",
              "bias_constraint", "return_sequences", "return_state", "stateful"), envir = env)
  pen <- do.call(penalty_args, c(list(fn), a[c("kernel_regularizer", "recurrent_regularizer",
                                              "bias_regularizer", "activity_regularizer",
                                              "kernel_constraint", "recurrent_constraint",
                                              "bias_constraint")]))
  units <- check_whole(a$units, fn, "units", min = 1)
  for (flag in c("return_sequences", "return_state", "stateful")) check_flag(a[[flag]], fn, flag)
  list(units = as.integer(units), kernel_initializer = a$kernel_initializer,
       recurrent_initializer = a$recurrent_initializer, bias_initializer = a$bias_initializer,
       return_sequences = a$return_sequences, return_state = a$return_state, stateful = a$stateful)
}

#' Fast LSTM implementation backed by CuDNN (run on the CPU)
#'
#' Keras's `CuDNNLSTM`, computed on the CPU with CuDNN's equations so that
#' models and weight files written on a GPU load and give the same results:
#' gates `i, f, c, o` with the logistic sigmoid, `tanh` activations, and two
#' biases, `bias (8 * units)` = input biases of `i, f, c, o` then recurrent
#' biases of `i, f, c, o` (they add up). `kernel (features, 4 * units)` and
#' `recurrent_kernel (units, 4 * units)` as [layer_lstm()]. No masking.
#'
#' @inheritParams layer_lstm
#' @param unit_forget_bias If `TRUE`, the recurrent forget-gate bias starts
#'   at 1 (Keras).
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_cudnn_lstm(units = 8, input_shape = c(10, 3))
#' @export
layer_cudnn_lstm <- function(object, units, kernel_initializer = "glorot_uniform",
                             recurrent_initializer = "orthogonal", bias_initializer = "zeros",
                             unit_forget_bias = TRUE, kernel_regularizer = NULL,
                             recurrent_regularizer = NULL, bias_regularizer = NULL,
                             activity_regularizer = NULL, kernel_constraint = NULL,
                             recurrent_constraint = NULL, bias_constraint = NULL,
                             return_sequences = FALSE, return_state = FALSE, stateful = FALSE,
                             input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                             dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  if (missing(units)) stop("layer_cudnn_lstm(): `units` is required", call. = FALSE)
  cfg <- cudnn_config("layer_cudnn_lstm", environment())
  cfg$unit_forget_bias <- check_flag(unit_forget_bias, "layer_cudnn_lstm", "unit_forget_bias")
  layer <- create_layer("CuDNNLSTM", if (missing(object)) NULL else object, c(list(name = name), cfg),
                        input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(layer, trainable)
}

#' Fast GRU implementation backed by CuDNN (run on the CPU)
#'
#' Keras's `CuDNNGRU`, computed on the CPU with CuDNN's equations: blocks
#' `z, r, h` of `kernel (features, 3 * units)` and `recurrent_kernel (units,
#' 3 * units)`, `bias (6 * units)` = input biases of `z, r, h` then recurrent
#' biases; the reset gate applies after the recurrent product:
#' `hh = tanh(x W_h + b_h + r * (h[t-1] U_h + br_h))`, with sigmoid gates
#' and `h[t] = z * h[t-1] + (1 - z) * hh`. No masking.
#'
#' @inheritParams layer_cudnn_lstm
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_cudnn_gru(units = 8, input_shape = c(10, 3))
#' @export
layer_cudnn_gru <- function(object, units, kernel_initializer = "glorot_uniform",
                            recurrent_initializer = "orthogonal", bias_initializer = "zeros",
                            kernel_regularizer = NULL, recurrent_regularizer = NULL,
                            bias_regularizer = NULL, activity_regularizer = NULL,
                            kernel_constraint = NULL, recurrent_constraint = NULL,
                            bias_constraint = NULL, return_sequences = FALSE, return_state = FALSE,
                            stateful = FALSE, input_shape = NULL, batch_input_shape = NULL,
                            batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL,
                            weights = NULL) {
  if (missing(units)) stop("layer_cudnn_gru(): `units` is required", call. = FALSE)
  cfg <- cudnn_config("layer_cudnn_gru", environment())
  layer <- create_layer("CuDNNGRU", if (missing(object)) NULL else object, c(list(name = name), cfg),
                        input_shape, batch_input_shape, batch_size, weights)
  set_trainable_arg(layer, trainable)
}
