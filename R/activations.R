# Keras 2.2.5 activation functions. Each works on tensors (through the k_*
# ops) and can be given to a layer as `activation = activation_relu`: the
# layer then uses the activation of that name (with its default arguments).

as_activation_fn <- function(name, f) {
  attr(f, "py_function_name") <- name
  class(f) <- c("kerasnative_activation", "function")
  f
}

#' @export
print.kerasnative_activation <- function(x, ...) {
  cat(sprintf("<function %s>\n", attr(x, "py_function_name")))
  invisible(x)
}

# The activation names layers accept (the engine's list).
activation_names <- c("linear", "relu", "sigmoid", "softmax", "tanh", "elu", "selu", "softplus",
                      "softsign", "hard_sigmoid", "exponential")

# A layer's `activation` argument (NULL, a name or an activation_*() function) -> name.
activation_arg <- function(activation, fn) {
  if (is.null(activation)) return(NULL)
  if (is.function(activation)) {
    nm <- attr(activation, "py_function_name", exact = TRUE)
    if (is.null(nm) || !nm %in% activation_names)
      stop(fn, "(): `activation` must be an activation name or one of the activation_*() functions ",
           "(a layer cannot run an arbitrary R function as its activation; apply it to the layer's ",
           "output tensor, or use layer_lambda())", call. = FALSE)
    return(nm)
  }
  check_string(activation, fn, "activation")
  if (!activation %in% activation_names)
    arg_fail(fn, "activation", paste0("one of ", paste(sprintf('"%s"', activation_names), collapse = ", ")),
             activation)
  activation
}

#' Activation functions
#'
#' Applied to a tensor (or array), they return a tensor. Given to a layer as
#' `activation = activation_relu` (no call), the layer uses that activation
#' with its default arguments.
#' @param x Tensor or array.
#' @param alpha Slope of the negative part (`activation_relu`); scale of the
#'   negative part (`activation_elu`).
#' @param max_value Saturation threshold (`NULL`: none).
#' @param threshold Threshold value for thresholded activation.
#' @param axis Integer, axis along which the softmax normalization is applied.
#' @return A tensor.
#' @examples
#' k_eval(activation_relu(c(-1, 0.5, 2), max_value = 1))
#' layer_dense(units = 3, activation = activation_tanh)
#' @name activation_relu
NULL

#' @rdname activation_relu
#' @export
activation_relu <- as_activation_fn("relu", function(x, alpha = 0, max_value = NULL, threshold = 0) {
  check_number(alpha, "activation_relu", "alpha")
  check_number(max_value, "activation_relu", "max_value", null_ok = TRUE)
  check_number(threshold, "activation_relu", "threshold")
  x <- as_tensor_arg(x)
  if (threshold == 0) return(k_relu(x, alpha, max_value))
  # Keras 2.2.5 K.relu with a threshold: x where x > threshold, else 0 (or alpha * (x - threshold))
  y <- x * k_cast(k_greater(x, threshold), "float32")
  if (!is.null(max_value)) y <- k_clip(y, 0, max_value)
  if (alpha != 0) y <- y - alpha * k_relu(threshold - x)
  y
})
#' @rdname activation_relu
#' @export
activation_elu <- as_activation_fn("elu", function(x, alpha = 1) {
  check_number(alpha, "activation_elu", "alpha")
  k_elu(as_tensor_arg(x), alpha)
})
#' @rdname activation_relu
#' @export
activation_selu <- as_activation_fn("selu", function(x)
  1.0507009873554805 * k_elu(as_tensor_arg(x), 1.6732632423543772))
#' @rdname activation_relu
#' @export
activation_hard_sigmoid <- as_activation_fn("hard_sigmoid", function(x) k_hard_sigmoid(as_tensor_arg(x)))
#' @rdname activation_relu
#' @export
activation_linear <- as_activation_fn("linear", function(x) as_tensor_arg(x))
#' @rdname activation_relu
#' @export
activation_sigmoid <- as_activation_fn("sigmoid", function(x) k_sigmoid(as_tensor_arg(x)))
#' @rdname activation_relu
#' @export
activation_softmax <- as_activation_fn("softmax", function(x, axis = -1) {
  x <- as_tensor_arg(x)
  if (length(k_int_shape(x)) < 2)
    stop("activation_softmax(): cannot apply softmax to a tensor that is 1D", call. = FALSE)
  k_softmax(x, axis)
})
#' @rdname activation_relu
#' @export
activation_softplus <- as_activation_fn("softplus", function(x) k_softplus(as_tensor_arg(x)))
#' @rdname activation_relu
#' @export
activation_softsign <- as_activation_fn("softsign", function(x) k_softsign(as_tensor_arg(x)))
#' @rdname activation_relu
#' @export
activation_tanh <- as_activation_fn("tanh", function(x) k_tanh(as_tensor_arg(x)))
#' @rdname activation_relu
#' @export
activation_exponential <- as_activation_fn("exponential", function(x) k_exp(as_tensor_arg(x)))
