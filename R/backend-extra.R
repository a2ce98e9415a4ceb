# More keras 2.2.5 backend functions: cumulative products, truncated normal
# draws, batch normalization, image resizing, the loops (k_rnn, k_map_fn,
# k_foldl, k_foldr, unrolled over a known axis), variable updates and
# placeholders. Each is an op of the op table or a composition of ops, so it
# runs at once on values and records ops (with gradients) on symbolic tensors.

#' More backend functions
#'
#' `k_cumprod()` is the cumulative product along an axis.
#' `k_truncated_normal()` draws normal values, redrawing those more than two
#' standard deviations from the mean. `k_batch_normalization()` computes
#' `(x - mean) / sqrt(var + epsilon) * gamma + beta`. `k_resize_images()`
#' repeats the rows and columns of a 4D image tensor (nearest neighbour).
#' @param x A tensor (or R array).
#' @param axis Axis (1-based; `-1` is the last axis).
#' @param shape Shape of the random tensor (fully known).
#' @param mean,stddev Mean and standard deviation of the normal before truncation.
#' @param dtype Only float32 (`NULL`).
#' @param seed Integer seed (`NULL`: drawn from R's generator).
#' @return A tensor.
#' @examples
#' k_eval(k_cumprod(k_constant(c(1, 2, 3, 4))))
#' k_eval(k_batch_normalization(k_constant(matrix(1:6, 2)), mean = 1, var = 4, beta = 0, gamma = 1))
#' @name backend_extra
NULL

#' @rdname backend_extra
#' @export
k_cumprod <- function(x, axis = 1)
  record_op("cumprod", list(x), list(axis = k_axis(axis, "k_cumprod")), fn = "k_cumprod")

#' @rdname backend_extra
#' @export
k_truncated_normal <- function(shape, mean = 0, stddev = 1, dtype = NULL, seed = NULL) {
  if (!is.null(dtype) && as_dtype_name(dtype) != "float32")
    stop("k_truncated_normal(): only dtype float32 is supported", call. = FALSE)
  random_op("truncated_normal", shape, list(mean = mean, stddev = stddev), seed, "k_truncated_normal")
}

#' @rdname backend_extra
#' @param var Variance (same shapes as `mean`).
#' @param beta,gamma Offset and scale (`NULL`: 0 and 1).
#' @param epsilon Added to the variance.
#' @export
k_batch_normalization <- function(x, mean, var, beta, gamma, axis = -1, epsilon = 0.001) {
  x <- as_tensor_arg(x)
  rank <- length(tensor_full_shape(x))
  ax <- k_axis(axis, "k_batch_normalization")
  if (ax < 0) ax <- ax + rank
  # 1-D statistics along a non-last axis broadcast as (1, .., n, .., 1)
  fit <- function(t, what) {
    if (is.null(t)) return(NULL)
    t <- as_tensor_arg(t, what)
    s <- tensor_full_shape(t)
    if (length(s) == 1 && ax != rank - 1L) {
      target <- rep(1L, rank)
      target[ax + 1L] <- if (is.na(s)) -1L else s
      t <- k_reshape(t, target)
    }
    t
  }
  out <- (x - fit(mean, "mean")) / k_sqrt(fit(var, "var") + epsilon)
  if (!missing(gamma) && !is.null(gamma)) out <- out * fit(gamma, "gamma")
  if (!missing(beta) && !is.null(beta)) out <- out + fit(beta, "beta")
  out
}

#' @rdname backend_extra
#' @param height_factor,width_factor Positive integer repetition factors.
#' @param data_format `"channels_last"` (or `NULL`) or `"channels_first"`.
#' @export
k_resize_images <- function(x, height_factor, width_factor, data_format) {
  fn <- "k_resize_images"
  x <- as_tensor_arg(x)
  if (length(tensor_full_shape(x)) != 4) stop(fn, "(): `x` must be a 4D tensor", call. = FALSE)
  df <- if (missing(data_format) || is.null(data_format)) "channels_last" else data_format
  if (!df %in% c("channels_last", "channels_first"))
    stop(fn, "(): `data_format` must be \"channels_last\" or \"channels_first\"", call. = FALSE)
  hf <- check_whole(height_factor, fn, "height_factor", min = 1)
  wf <- check_whole(width_factor, fn, "width_factor", min = 1)
  ax <- if (df == "channels_last") 2L else 3L
  k_repeat_elements(k_repeat_elements(x, hf, axis = ax), wf, axis = ax + 1L)
}

# ---------------------------------------------------------------- loops

# Slice `i` (1-based) of 0-based axis `axis` of `x`, the axis dropped.
take_slice <- function(x, axis, i, fn)
  record_op("slice", list(x), list(axis = I(axis), begin = I(i - 1L), end = I(i), step = I(1L),
                                   shrink = I(axis)), fn = fn)

# Length of 0-based axis `axis` of `x`, which the loops unroll; it must be known.
loop_length <- function(x, axis, fn, what) {
  s <- tensor_full_shape(x)
  if (length(s) <= axis) stop(fn, "(): `", what, "` needs at least ", axis + 1L, " dimension(s)", call. = FALSE)
  n <- s[axis + 1L]
  if (is.na(n))
    stop(fn, "(): axis ", axis + 1L, " of `", what, "` has an unknown size (", shape_text(s), "); ",
         fn, "() unrolls the R function over that axis, so its size must be known (for the batch ",
         "axis of a model tensor, write the function on the whole batch instead)", call. = FALSE)
  n
}

as_loop_tensor <- function(x, fn, what) {
  if (is.function(x) || is.null(x)) stop(fn, "(): `", what, "` must be a tensor or an array", call. = FALSE)
  as_tensor_arg(x, what)
}

#' Loops over tensors
#'
#' `k_map_fn()` applies `fn` to each slice of `elems` along its first axis
#' and stacks the results; `k_foldl()` / `k_foldr()` reduce those slices from
#' the left / right with `fn(accumulator, slice)`; `k_rnn()` iterates
#' `step_function(input_t, states)` over the time axis (axis 2) of `inputs`.
#' On values (R arrays, [k_constant()], [k_variable()]) they run at once;
#' on symbolic tensors the R function is traced once per step (the loop is
#' unrolled), so the length of the looped axis must be known. Gradients flow
#' through every step.
#' @param fn An R function of one tensor (`k_map_fn`) or of the accumulator
#'   and one slice (`k_foldl`, `k_foldr`).
#' @param elems A tensor or an array.
#' @param initializer First accumulator (`NULL`: the first slice, which is then
#'   not passed to `fn`).
#' @param name,dtype Ignored (TensorFlow names; the dtype comes from `fn`).
#' @return `k_map_fn()`: a tensor (first axis as `elems`); `k_foldl()`,
#'   `k_foldr()`: the last accumulator.
#' @examples
#' k_eval(k_map_fn(function(r) k_sum(r), matrix(1:6, 2)))
#' k_eval(k_foldl(function(a, r) a + r, matrix(1:6, 2)))
#' @name backend_loops
NULL

#' @rdname backend_loops
#' @export
k_map_fn <- function(fn, elems, name = NULL, dtype = NULL) {
  f <- "k_map_fn"
  elems <- as_loop_tensor(elems, f, "elems")
  n <- loop_length(elems, 0L, f, "elems")
  outs <- lapply(seq_len(n), function(i) as_tensor_arg(fn(take_slice(elems, 0L, i, f)), "the result of fn"))
  k_stack(outs, axis = 1)
}

fold <- function(fn, elems, initializer, order, f) {
  elems <- as_loop_tensor(elems, f, "elems")
  n <- loop_length(elems, 0L, f, "elems")
  idx <- order(seq_len(n))
  acc <- initializer
  if (is.null(acc)) {
    acc <- take_slice(elems, 0L, idx[1], f)
    idx <- idx[-1]
  }
  for (i in idx) acc <- fn(acc, take_slice(elems, 0L, i, f))
  as_tensor_arg(acc, "the result of fn")
}

#' @rdname backend_loops
#' @export
k_foldl <- function(fn, elems, initializer = NULL, name = NULL) fold(fn, elems, initializer, identity, "k_foldl")

#' @rdname backend_loops
#' @export
k_foldr <- function(fn, elems, initializer = NULL, name = NULL) fold(fn, elems, initializer, rev, "k_foldr")

#' @rdname backend_loops
#' @param step_function `function(input, states)` returning `list(output, new_states)`;
#'   `input` is (samples, ...), `states` a list of tensors (followed by `constants`).
#' @param inputs Tensor (samples, time, ...).
#' @param initial_states List of tensors (samples, ...).
#' @param go_backwards Iterate the time axis in reverse.
#' @param mask `NULL` or (samples, time) tensor: where 0, the step keeps the
#'   previous output and states.
#' @param constants List of tensors passed to every step after the states.
#' @param unroll,input_length Accepted for compatibility (the loop is always unrolled).
#' @return `k_rnn()`: `list(last_output, outputs, new_states)`, `outputs` being
#'   (samples, time, ...).
#' @export
k_rnn <- function(step_function, inputs, initial_states, go_backwards = FALSE, mask = NULL, constants = NULL,
                  unroll = FALSE, input_length = NULL) {
  f <- "k_rnn"
  if (!is.function(step_function)) stop(f, "(): `step_function` must be a function", call. = FALSE)
  inputs <- as_loop_tensor(inputs, f, "inputs")
  if (length(tensor_full_shape(inputs)) < 3)
    stop(f, "(): `inputs` must be at least 3D (samples, time, ...)", call. = FALSE)
  n <- loop_length(inputs, 1L, f, "inputs")
  if (is_tensor(initial_states)) initial_states <- list(initial_states)
  states <- lapply(initial_states, as_tensor_arg, what = "initial_states")
  if (is_tensor(constants)) constants <- list(constants)
  if (!is.null(mask)) mask <- k_cast(as_tensor_arg(mask, "mask"), "bool")
  steps <- if (isTRUE(go_backwards)) rev(seq_len(n)) else seq_len(n)
  outs <- vector("list", n)
  prev <- NULL
  for (k in seq_along(steps)) {
    t <- steps[k]
    res <- step_function(take_slice(inputs, 1L, t, f), c(states, constants))
    if (!is.list(res) || length(res) != 2)
      stop(f, "(): `step_function` must return list(output, new_states)", call. = FALSE)
    out <- as_tensor_arg(res[[1]], "the step output")
    new_states <- if (is_tensor(res[[2]])) list(res[[2]]) else res[[2]]
    if (length(new_states) != length(states))
      stop(f, "(): `step_function` returned ", length(new_states), " state(s) but there are ",
           length(states), " initial state(s)", call. = FALSE)
    if (!is.null(mask)) {
      m <- take_slice(mask, 1L, t, f)  # (samples)
      keep <- function(new, old) {
        r <- length(tensor_full_shape(new))
        cond <- m
        for (i in seq_len(r - 1L)) cond <- k_expand_dims(cond, -1)  # (samples, 1, ...)
        k_switch(cond, new, old)
      }
      out <- keep(out, if (is.null(prev)) k_zeros_like(out) else prev)
      new_states <- Map(keep, new_states, states)
    }
    states <- new_states
    outs[[k]] <- out
    prev <- out
  }
  list(prev, k_stack(outs, axis = 2), states)
}

# ---------------------------------------------------------------- variables

#' Update a variable
#'
#' `k_update(x, new_x)` sets the value of the variable `x`;
#' `k_update_add()` and `k_update_sub()` add or subtract a value. They run
#' at once (there is no session whose run would apply them later).
#' @param x A variable ([k_variable()]).
#' @param new_x,increment,decrement A value of `x`'s shape (tensor or array).
#' @return `x`, invisibly, holding its new value.
#' @examples
#' v <- k_variable(c(1, 2))
#' k_update_add(v, c(10, 10))
#' k_get_value(v)
#' @name backend_update
NULL

update_var <- function(x, value, fn) {
  if (!is_tensor(x) || !isTRUE(.subset2(x, "variable")))
    stop(fn, "(): `x` must be a variable (from k_variable())", call. = FALSE)
  if (is_tensor(value) && tensor_kind(value) != "eager")
    stop(fn, "(): the new value is symbolic (it depends on a model input); variables take values ",
         "(compute them at once from k_variable()/k_constant() or R arrays)", call. = FALSE)
  k_set_value(x, if (is_tensor(value)) k_eval(value) else value)
  invisible(x)
}

#' @rdname backend_update
#' @export
k_update <- function(x, new_x) update_var(x, new_x, "k_update")
#' @rdname backend_update
#' @export
k_update_add <- function(x, increment) update_var(x, as_tensor_arg(x) + increment, "k_update_add")
#' @rdname backend_update
#' @export
k_update_sub <- function(x, decrement) update_var(x, as_tensor_arg(x) - decrement, "k_update_sub")

#' Placeholder tensor
#'
#' A symbolic input tensor, as [layer_input()] with `batch_shape = shape`
#' (the first dimension is the batch; `NULL`/`NA` = unknown). Use it with
#' [k_function()] or [keras_model()].
#' @param shape Full shape, batch first (or give `ndim`).
#' @param ndim Rank, every dimension unknown (when `shape` is `NULL`).
#' @param dtype Only float32.
#' @param sparse Only `FALSE`.
#' @param name Optional name.
#' @return An input tensor.
#' @examples
#' x <- k_placeholder(shape = list(NULL, 3))
#' f <- k_function(list(x), list(k_sum(x, axis = 2)))
#' f(list(matrix(1:6, 2)))
#' @export
k_placeholder <- function(shape = NULL, ndim = NULL, dtype = NULL, sparse = FALSE, name = NULL) {
  if (isTRUE(sparse)) stop("k_placeholder(): sparse placeholders are not supported", call. = FALSE)
  if (is.null(shape)) {
    if (is.null(ndim)) stop("k_placeholder(): give `shape` or `ndim`", call. = FALSE)
    shape <- rep(list(NULL), check_whole(ndim, "k_placeholder", "ndim", min = 1))
  }
  shape <- as.list(shape)
  if (length(shape) < 2)
    stop("k_placeholder(): `shape` must have a batch dimension and at least one more", call. = FALSE)
  layer_input(batch_shape = shape, name = name, dtype = if (is.null(dtype)) "float32" else as_dtype_name(dtype))
}

# ---------------------------------------------------------------- small helpers

#' More backend utilities
#'
#' `k_get_uid()` counts calls per prefix (`k_reset_uids()` restarts);
#' `k_get_variable_shape()` is [k_int_shape()]; `k_is_placeholder()` tells
#' input tensors; there are no sparse tensors (`k_is_sparse()` is `FALSE`,
#' `k_to_dense()` returns its argument); `k_print_tensor()` prints a value
#' and returns it; `k_random_normal_variable()` / `k_random_uniform_variable()`
#' are variables holding random draws; `k_spatial_3d_padding()` and
#' `k_resize_volumes()` pad and repeat the three spatial axes of a 5D tensor;
#' `k_normalize_batch_in_training()` normalizes with the mean and variance
#' over `reduction_axes`; `k_moving_average_update()` sets
#' `x <- x * momentum + value * (1 - momentum)` on a variable;
#' `k_in_train_phase()` / `k_in_test_phase()` pick `x` or `alt` by the
#' learning phase ([k_set_learning_phase()]) or `training`.
#' @param prefix Counter name.
#' @param x,tensor A tensor.
#' @param message Text printed before the value.
#' @param shape,mean,scale,low,high,dtype,name,seed Variable shape and distribution.
#' @param padding Three `c(before, after)` pairs.
#' @param data_format `"channels_last"` (default) or `"channels_first"`.
#' @param depth_factor,height_factor,width_factor Repetitions per spatial axis.
#' @param gamma,beta Scale and offset.
#' @param reduction_axes Axes (1-based) of the statistics.
#' @param epsilon Added to the variance.
#' @param value,momentum New value and momentum.
#' @param alt Alternative (tensor or function returning one).
#' @param training `NULL` (the learning phase), `TRUE`/`FALSE` or 1/0.
#' @return See the description.
#' @examples
#' k_get_uid("dense")
#' k_eval(k_resize_volumes(array(1:8, c(1, 2, 2, 2, 1)), 2, 1, 1, "channels_last"))[1, , 1, 1, 1]
#' @name backend_utils
NULL

#' @rdname backend_utils
#' @export
k_get_uid <- function(prefix = "") {
  uids <- .kn$uids %||% list()
  uids[[prefix]] <- (uids[[prefix]] %||% 0L) + 1L
  .kn$uids <- uids
  uids[[prefix]]
}
#' @rdname backend_utils
#' @export
k_reset_uids <- function() { .kn$uids <- NULL; invisible(NULL) }
#' @rdname backend_utils
#' @export
k_get_variable_shape <- function(x) k_int_shape(x)
#' @rdname backend_utils
#' @export
k_is_placeholder <- function(x) is_tensor(x) && tensor_kind(x) == "input"
#' @rdname backend_utils
#' @export
k_is_sparse <- function(tensor) FALSE
#' @rdname backend_utils
#' @export
k_to_dense <- function(tensor) tensor
#' @rdname backend_utils
#' @export
k_print_tensor <- function(x, message = "") {
  x <- as_tensor_arg(x)
  if (tensor_kind(x) != "eager")
    stop("k_print_tensor(): the tensor is symbolic (a model tensor); printing while a model runs is not ",
         "supported: evaluate it with k_function() and print the result", call. = FALSE)
  if (nzchar(message)) cat(message, "\n", sep = "")
  print(eager_value(x))
  x
}
#' @rdname backend_utils
#' @export
k_random_normal_variable <- function(shape, mean, scale, dtype = NULL, name = NULL, seed = NULL)
  k_variable(k_eval(k_random_normal(shape, mean, scale, seed = seed)), name = name)
#' @rdname backend_utils
#' @export
k_random_uniform_variable <- function(shape, low, high, dtype = NULL, name = NULL, seed = NULL)
  k_variable(k_eval(k_random_uniform(shape, low, high, seed = seed)), name = name)

spatial_axis0 <- function(x, data_format, fn) {
  x <- as_tensor_arg(x)
  if (length(tensor_full_shape(x)) != 5) stop(fn, "(): `x` must be a 5D tensor", call. = FALSE)
  df <- data_format %||% "channels_last"
  if (!df %in% c("channels_last", "channels_first"))
    stop(fn, "(): `data_format` must be \"channels_last\" or \"channels_first\"", call. = FALSE)
  if (df == "channels_last") 1L else 2L  # 0-based first spatial axis
}
#' @rdname backend_utils
#' @export
k_spatial_3d_padding <- function(x, padding = list(list(1, 1), list(1, 1), list(1, 1)), data_format = NULL) {
  fn <- "k_spatial_3d_padding"
  ax <- spatial_axis0(x, data_format, fn)
  if (length(padding) != 3 || any(lengths(padding) != 2))
    stop(fn, "(): `padding` must be three c(before, after) pairs", call. = FALSE)
  x <- as_tensor_arg(x)
  for (k in 1:3) x <- pad_axis(x, ax + k - 1L, padding[[k]][[1]], padding[[k]][[2]], fn)
  x
}
#' @rdname backend_utils
#' @export
k_resize_volumes <- function(x, depth_factor, height_factor, width_factor, data_format) {
  fn <- "k_resize_volumes"
  ax <- spatial_axis0(x, if (missing(data_format)) NULL else data_format, fn)
  f <- c(check_whole(depth_factor, fn, "depth_factor", min = 1), check_whole(height_factor, fn, "height_factor", min = 1),
         check_whole(width_factor, fn, "width_factor", min = 1))
  x <- as_tensor_arg(x)
  for (k in 1:3) x <- k_repeat_elements(x, f[k], axis = ax + k)
  x
}
#' @rdname backend_utils
#' @export
k_normalize_batch_in_training <- function(x, gamma, beta, reduction_axes, epsilon = 0.001) {
  x <- as_tensor_arg(x)
  m <- k_mean(x, reduction_axes, keepdims = TRUE)
  v <- k_mean(k_square(x - m), reduction_axes, keepdims = TRUE)
  normed <- (x - m) / k_sqrt(v + epsilon)
  if (!is.null(gamma)) normed <- normed * gamma
  if (!is.null(beta)) normed <- normed + beta
  rank <- length(tensor_full_shape(x))
  list(normed, k_squeeze_axes(m, reduction_axes, rank), k_squeeze_axes(v, reduction_axes, rank))
}
#' @rdname backend_utils
#' @export
k_moving_average_update <- function(x, value, momentum)
  update_var(x, as_tensor_arg(x) * momentum + as_tensor_arg(value) * (1 - momentum), "k_moving_average_update")
#' @rdname backend_utils
#' @export
k_in_train_phase <- function(x, alt, training = NULL) {
  if (is.null(training)) {
    sym <- function(t) is_tensor(t) && tensor_kind(t) != "eager"
    if ((sym(x) || sym(alt)) && is.null(.kn$learning_phase))
      stop("k_in_train_phase(): on model tensors give `training` (TRUE or FALSE): the engine does not switch ",
           "traced ops by the training flag", call. = FALSE)
    training <- k_learning_phase()
  }
  pick <- if (isTRUE(as.logical(training))) x else alt
  if (is.function(pick)) pick() else pick
}
#' @rdname backend_utils
#' @export
k_in_test_phase <- function(x, alt, training = NULL) k_in_train_phase(alt, x, training)
