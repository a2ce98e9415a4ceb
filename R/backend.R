# Keras backend functions (keras 2.2.5 R names and arguments). On symbolic
# tensors they record ops of the engine's op table; on R arrays, k_constant()
# and k_variable() they run at once through the same C++ kernels. Axes are
# 1-based as in keras R (-1 is the last axis).

k_axis <- function(axis, fn = "k_*") {
  if (is.null(axis)) return(NULL)
  axis <- as.integer(axis)
  if (anyNA(axis) || any(axis == 0L))
    stop(fn, "(): `axis` is 1-based (use -1 for the last axis), got ", paste(axis, collapse = ", "), call. = FALSE)
  ifelse(axis > 0L, axis - 1L, axis)
}

unary <- function(op, fn) function(x) record_op(op, list(x), fn = fn)
binary <- function(op, fn) function(x, y) record_op(op, list(x, y), fn = fn)
reduction <- function(op, fn) {
  function(x, axis = NULL, keepdims = FALSE)
    record_op(op, list(x), list(axis = if (is.null(axis)) NULL else I(k_axis(axis, fn)), keepdims = isTRUE(keepdims)),
              fn = fn)
}

#' Keras backend functions
#'
#' Element-wise math, reductions, shape manipulation and activations on
#' tensors (keras 2.2.5 R names and arguments; axes are 1-based, `-1` is the
#' last axis). On symbolic tensors (in [layer_lambda()], custom losses and
#' metrics, functional models) they record operations; on R arrays,
#' [k_constant()] or [k_variable()] they compute at once (see [k_eval()]).
#' Indices (`k_argmax()`, `k_gather()`, `k_one_hot()`) are 0-based as in
#' keras 2.2.5.
#' @param x,y Tensors (or R arrays / numbers).
#' @param axis Axis (1-based; `NULL` = all axes for reductions).
#' @param keepdims Keep reduced axes with length 1.
#' @return A tensor.
#' @examples
#' k_eval(k_mean(k_constant(matrix(c(1, 2, 3, 4, 5, 6), 2)), axis = 2))
#' @name backend
NULL

#' @rdname backend
#' @export
k_abs <- unary("abs", "k_abs")
#' @rdname backend
#' @export
k_square <- unary("square", "k_square")
#' @rdname backend
#' @export
k_sqrt <- unary("sqrt", "k_sqrt")
#' @rdname backend
#' @export
k_exp <- unary("exp", "k_exp")
#' @rdname backend
#' @export
k_log <- unary("log", "k_log")
#' @rdname backend
#' @export
k_sign <- unary("sign", "k_sign")
#' @rdname backend
#' @export
k_round <- unary("round", "k_round")
#' @rdname backend
#' @export
k_sigmoid <- unary("sigmoid", "k_sigmoid")
#' @rdname backend
#' @export
k_hard_sigmoid <- unary("hard_sigmoid", "k_hard_sigmoid")
#' @rdname backend
#' @export
k_tanh <- unary("tanh", "k_tanh")
#' @rdname backend
#' @export
k_softplus <- unary("softplus", "k_softplus")
#' @rdname backend
#' @export
k_softsign <- unary("softsign", "k_softsign")
#' @rdname backend
#' @param variables A tensor, or a list of tensors (for `k_stop_gradient`).
#' @export
k_stop_gradient <- function(variables) {
  if (is.list(variables) && !is_tensor(variables)) return(lapply(variables, k_stop_gradient))
  record_op("stop_gradient", list(variables), fn = "k_stop_gradient")
}
#' @rdname backend
#' @param name Ignored (TensorFlow op name).
#' @export
k_identity <- function(x, name = NULL) record_op("identity", list(x), fn = "k_identity")

#' @rdname backend
#' @param alpha Slope below zero (`k_relu`) or ELU scale.
#' @param max_value Upper bound (`NULL` = none).
#' @export
k_relu <- function(x, alpha = 0, max_value = NULL)
  record_op("relu", list(x), list(alpha = as.numeric(alpha), max = max_value), fn = "k_relu")
#' @rdname backend
#' @export
k_elu <- function(x, alpha = 1) record_op("elu", list(x), list(alpha = as.numeric(alpha)), fn = "k_elu")
#' @rdname backend
#' @param min_value Lower bound.
#' @export
k_clip <- function(x, min_value, max_value)
  record_op("clip", list(x), list(min = as.numeric(min_value), max = as.numeric(max_value)), fn = "k_clip")
#' @rdname backend
#' @param a Exponent.
#' @export
k_pow <- function(x, a) {
  if (is_tensor(a)) return(record_op("pow", list(x, a), fn = "k_pow"))
  record_op("pow_scalar", list(x), list(exponent = as.numeric(a)), fn = "k_pow")
}

#' @rdname backend
#' @export
k_maximum <- binary("maximum", "k_maximum")
#' @rdname backend
#' @export
k_minimum <- binary("minimum", "k_minimum")
#' @rdname backend
#' @export
k_equal <- binary("equal", "k_equal")
#' @rdname backend
#' @export
k_not_equal <- binary("not_equal", "k_not_equal")
#' @rdname backend
#' @export
k_greater <- binary("greater", "k_greater")
#' @rdname backend
#' @export
k_greater_equal <- binary("greater_equal", "k_greater_equal")
#' @rdname backend
#' @export
k_less <- binary("less", "k_less")
#' @rdname backend
#' @export
k_less_equal <- binary("less_equal", "k_less_equal")

#' @rdname backend
#' @export
k_sum <- reduction("sum", "k_sum")
#' @rdname backend
#' @export
k_mean <- reduction("mean", "k_mean")
#' @rdname backend
#' @export
k_max <- reduction("max", "k_max")
#' @rdname backend
#' @export
k_min <- reduction("min", "k_min")
#' @rdname backend
#' @export
k_prod <- reduction("prod", "k_prod")
#' @rdname backend
#' @export
k_any <- function(x, axis = NULL, keepdims = FALSE)
  reduction("any", "k_any")(k_cast(x, "bool"), axis, keepdims)
#' @rdname backend
#' @export
k_all <- function(x, axis = NULL, keepdims = FALSE)
  reduction("all", "k_all")(k_cast(x, "bool"), axis, keepdims)
#' @rdname backend
#' @export
k_var <- function(x, axis = NULL, keepdims = FALSE) {
  m <- k_mean(x, axis, keepdims = TRUE)
  k_mean(k_square(x - m), axis, keepdims)
}
#' @rdname backend
#' @export
k_std <- function(x, axis = NULL, keepdims = FALSE) k_sqrt(k_var(x, axis, keepdims))
#' @rdname backend
#' @export
k_logsumexp <- function(x, axis = NULL, keepdims = FALSE) {
  m <- k_stop_gradient(k_max(x, axis, keepdims = TRUE))
  r <- k_log(k_sum(k_exp(x - m), axis, keepdims = TRUE)) + m
  if (isTRUE(keepdims)) r else k_squeeze_axes(r, axis, length(dim(x)))
}
k_squeeze_axes <- function(x, axis, rank) {
  ax <- if (is.null(axis)) seq_len(rank) - 1L else k_axis(axis)
  ax <- ifelse(ax < 0, ax + rank, ax)
  record_op("squeeze", list(x), list(axis = I(ax)), fn = "k_squeeze")
}
#' @rdname backend
#' @export
k_cumsum <- function(x, axis = 1) record_op("cumsum", list(x), list(axis = k_axis(axis, "k_cumsum")), fn = "k_cumsum")
#' @rdname backend
#' @export
k_argmax <- function(x, axis = -1) record_op("argmax", list(x), list(axis = k_axis(axis, "k_argmax")), fn = "k_argmax")
#' @rdname backend
#' @export
k_argmin <- function(x, axis = -1) record_op("argmin", list(x), list(axis = k_axis(axis, "k_argmin")), fn = "k_argmin")
#' @rdname backend
#' @export
k_softmax <- function(x, axis = -1) record_op("softmax", list(x), list(axis = k_axis(axis, "k_softmax")), fn = "k_softmax")
#' @rdname backend
#' @export
k_l2_normalize <- function(x, axis = NULL) {
  s <- k_sum(k_square(x), axis, keepdims = TRUE)
  x / k_sqrt(k_maximum(s, 1e-12))
}

#' @rdname backend
#' @param dtype `"float32"`, `"int32"`, `"int64"`, `"bool"`.
#' @export
k_cast <- function(x, dtype) record_op("cast", list(x), list(dtype = as_dtype_name(dtype)), fn = "k_cast")
#' @rdname backend
#' @export
k_cast_to_floatx <- function(x) k_cast(x, "float32")

#' @rdname backend
#' @param shape Target shape (`-1` or `NA` for one unknown dimension).
#' @export
k_reshape <- function(x, shape) {
  s <- vapply(as.list(shape), function(d) if (is.null(d) || is.na(d)) -1L else as.integer(d), integer(1))
  record_op("reshape", list(x), list(shape = I(s)), fn = "k_reshape")
}
#' @rdname backend
#' @export
k_flatten <- function(x) k_reshape(x, -1L)
#' @rdname backend
#' @export
k_batch_flatten <- function(x) {
  s <- dim(x)
  if (anyNA(s[-1])) stop("k_batch_flatten(): the per-sample shape must be known", call. = FALSE)
  k_reshape(x, c(-1L, prod(s[-1])))
}
#' @rdname backend
#' @export
k_expand_dims <- function(x, axis = -1) {
  ax <- if (axis == -1) -1L else k_axis(axis, "k_expand_dims")
  record_op("expand_dims", list(x), list(axis = ax), fn = "k_expand_dims")
}
#' @rdname backend
#' @export
k_squeeze <- function(x, axis) record_op("squeeze", list(x), list(axis = I(k_axis(axis, "k_squeeze"))), fn = "k_squeeze")
#' @rdname backend
#' @param pattern Permutation of the axes (1-based).
#' @export
k_permute_dimensions <- function(x, pattern)
  record_op("transpose", list(x), list(perm = I(as.integer(pattern) - 1L)), fn = "k_permute_dimensions")
#' @rdname backend
#' @export
k_transpose <- function(x) record_op("transpose", list(x), fn = "k_transpose")
#' @rdname backend
#' @param tensors List of tensors.
#' @export
k_concatenate <- function(tensors, axis = -1)
  record_op("concatenate", tensors, list(axis = k_axis(axis, "k_concatenate")), fn = "k_concatenate")
#' @rdname backend
#' @export
k_stack <- function(x, axis = 1) {
  ax <- k_axis(axis, "k_stack")
  k_concatenate(lapply(x, function(t) record_op("expand_dims", list(t), list(axis = ax), fn = "k_stack")),
                axis = if (ax < 0) ax else ax + 1L)
}
#' @rdname backend
#' @param n Repetitions per axis (`k_tile`).
#' @export
k_tile <- function(x, n) record_op("tile", list(x), list(multiples = I(as.integer(n))), fn = "k_tile")
#' @rdname backend
#' @param reference,indices Tensor and 0-based integer indices into its first axis.
#' @export
k_gather <- function(reference, indices) {
  if (!is_tensor(indices)) indices <- k_constant(indices, dtype = "int32")
  record_op("gather", list(reference, indices), fn = "k_gather")
}
#' @rdname backend
#' @param num_classes Depth of the one-hot axis.
#' @export
k_one_hot <- function(indices, num_classes)
  record_op("one_hot", list(indices), list(depth = as.integer(num_classes)), fn = "k_one_hot")

#' @rdname backend
#' @export
k_dot <- function(x, y) {
  ry <- length(dim(y))
  if (ry > 2) stop("k_dot(): only a matrix as second argument is supported", call. = FALSE)
  record_op("matmul", list(x, y), fn = "k_dot")
}
#' @rdname backend
#' @param axes Axes of `x` and `y` to reduce (`k_batch_dot`).
#' @export
k_batch_dot <- function(x, y, axes = NULL) {
  rx <- length(dim(x)); ry <- length(dim(y))
  if (rx == 2 && ry == 2) return(k_sum(x * y, axis = 2, keepdims = TRUE))
  if (rx == 3 && ry == 3) {
    ax <- if (is.null(axes)) c(3L, 2L) else rep_len(as.integer(axes), 2)
    if (ax[1] == 2L && ax[2] == 2L) return(record_op("matmul", list(x, y), list(transpose_a = TRUE), fn = "k_batch_dot"))
    if (ax[1] == 3L && ax[2] == 3L) return(record_op("matmul", list(x, y), list(transpose_b = TRUE), fn = "k_batch_dot"))
    if (ax[1] == 3L && ax[2] == 2L) return(record_op("matmul", list(x, y), fn = "k_batch_dot"))
  }
  stop("k_batch_dot(): supported are two matrices (batch, n) or two rank-3 tensors", call. = FALSE)
}
#' @rdname backend
#' @param condition,then_expression,else_expression Bool tensor and the values to pick.
#' @export
k_switch <- function(condition, then_expression, else_expression) {
  if (is.function(then_expression)) then_expression <- then_expression()
  if (is.function(else_expression)) else_expression <- else_expression()
  record_op("where", list(condition, then_expression, else_expression), fn = "k_switch")
}

#' @rdname backend
#' @param target,output Targets and predictions.
#' @param from_logits Whether `output` holds logits.
#' @export
k_categorical_crossentropy <- function(target, output, from_logits = FALSE, axis = -1) {
  if (isTRUE(from_logits)) return(-k_sum(target * record_op("log_softmax", list(output), list(axis = k_axis(axis))), axis))
  output <- output / k_sum(output, axis, keepdims = TRUE)
  -k_sum(target * k_log(k_clip(output, k_epsilon(), 1 - k_epsilon())), axis)
}
#' @rdname backend
#' @export
k_sparse_categorical_crossentropy <- function(target, output, from_logits = FALSE, axis = -1) {
  n <- dim(output)[length(dim(output))]
  t <- k_cast(target, "int32")
  if (length(dim(t)) == length(dim(output))) t <- k_squeeze(t, -1)
  k_categorical_crossentropy(k_one_hot(t, n), output, from_logits, axis)
}
#' @rdname backend
#' @export
k_binary_crossentropy <- function(target, output, from_logits = FALSE) {
  if (!isTRUE(from_logits)) {
    output <- k_clip(output, k_epsilon(), 1 - k_epsilon())
    output <- k_log(output / (1 - output))
  }
  # sigmoid cross-entropy with logits: max(z, 0) - z * t + log(1 + exp(-|z|))
  k_relu(output) - output * target + record_op("log1p", list(k_exp(-k_abs(output))))
}

#' @rdname backend
#' @export
k_sin <- unary("sin", "k_sin")
#' @rdname backend
#' @export
k_cos <- unary("cos", "k_cos")
#' @rdname backend
#' @export
k_reverse <- function(x, axes)
  record_op("reverse", list(x), list(axis = I(k_axis(axes, "k_reverse"))), fn = "k_reverse")
#' @rdname backend
#' @param bias Bias tensor (added along the last axis).
#' @param data_format Only `NULL` / `"channels_last"`.
#' @export
k_bias_add <- function(x, bias, data_format = NULL) {
  if (!is.null(data_format) && data_format != "channels_last")
    stop("k_bias_add(): only data_format = 'channels_last' is supported", call. = FALSE)
  x + bias
}
#' @rdname backend
#' @export
k_repeat <- function(x, n) {
  if (length(dim(x)) != 2) stop("k_repeat(): `x` must be 2-D (samples, dim)", call. = FALSE)
  e <- record_op("expand_dims", list(x), list(axis = 1L), fn = "k_repeat")
  record_op("tile", list(e), list(multiples = I(c(1L, as.integer(n), 1L))), fn = "k_repeat")
}
#' @rdname backend
#' @param rep Number of repetitions of each element.
#' @export
k_repeat_elements <- function(x, rep, axis) {
  s <- dim(x)
  r <- length(s)
  ax <- k_axis(axis, "k_repeat_elements")
  if (ax < 0) ax <- ax + r
  e <- record_op("expand_dims", list(x), list(axis = ax + 1L), fn = "k_repeat_elements")
  mult <- rep(1L, r + 1)
  mult[ax + 2] <- as.integer(rep)
  t <- record_op("tile", list(e), list(multiples = I(mult)), fn = "k_repeat_elements")
  target <- s
  target[ax + 1] <- s[ax + 1] * as.integer(rep)
  target[is.na(target)] <- -1L
  k_reshape(t, target)
}
#' @rdname backend
#' @param start,stop,step Sequence bounds (0-based start, `stop` excluded).
#' @export
k_arange <- function(start, stop = NULL, step = 1, dtype = "int32") {
  if (is.null(stop)) { stop <- start; start <- 0 }
  v <- seq(start, stop - sign(step) * 1e-9, by = step)
  k_constant(v, dtype = dtype, shape = length(v))
}
#' @rdname backend
#' @param predictions,targets Scores (batch, classes) and 0-based target classes (batch).
#' @param k Number of top elements.
#' @export
k_in_top_k <- function(predictions, targets, k) {
  if (!is_tensor(targets)) targets <- k_constant(targets, dtype = "int32")
  record_op("in_top_k", list(predictions, targets), list(k = as.integer(k)), fn = "k_in_top_k")
}
