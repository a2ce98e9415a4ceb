# Backend values and plumbing: constants, variables, evaluation, shapes,
# configuration, random tensors; and the keras 2.2.5 k_* functions that are
# not built yet (they stop with an error naming them).

#' Backend tensors holding values
#'
#' `k_constant()` and `k_variable()` make tensors from R values; backend
#' functions on them compute at once. `k_eval()` / `k_get_value()` return the
#' value as an R array; `k_set_value()` updates a variable in place.
#' @param value R array, vector or number.
#' @param dtype `"float32"`, `"int32"`, `"int64"` or `"bool"`; `NULL` (default)
#'   means [k_floatx()] (float32), whatever the type of `value` (as Keras).
#' @param shape Optional shape (`value` is repeated/reshaped to it, R order).
#' @param name,constraint Ignored.
#' @param x A tensor.
#' @return A tensor (`k_eval()`, `k_get_value()`: an R array or number).
#' @examples
#' v <- k_variable(matrix(1:4, 2))
#' k_eval(v * 2)
#' k_set_value(v, diag(2))
#' k_get_value(v)
#' @name backend_values
NULL

#' @rdname backend_values
#' @export
k_constant <- function(value, dtype = NULL, shape = NULL, name = NULL) {
  if (is_tensor(value)) value <- k_eval(value)
  if (!is.null(shape)) {
    shape <- as.integer(unlist(shape))
    dt <- as_dtype_name(dtype %||% "float32")
    return(new_eager(as_storage(rep_len(as.numeric(value), prod(shape)), dt, shape), shape, dt))
  }
  # as Keras: dtype = NULL means floatx() (float32), also for integer and logical R values
  eager_from_r(value, dtype = as_dtype_name(dtype %||% k_floatx()), what = "value")
}

#' @rdname backend_values
#' @export
k_variable <- function(value, dtype = NULL, name = NULL, constraint = NULL) {
  t <- k_constant(value, dtype %||% "float32")
  t$variable <- TRUE
  t$name <- name
  t
}

check_eager <- function(x, fn) {
  if (!is_tensor(x)) return(eager_from_r(x))
  if (tensor_kind(x) != "eager")
    stop(fn, "(): the tensor is symbolic (it depends on a model input or a traced loss); ",
         "evaluate it through a model (predict()) or k_function()", call. = FALSE)
  x
}

#' @rdname backend_values
#' @export
k_eval <- function(x) eager_value(check_eager(x, "k_eval"))

# The generics are in optimizers.R (model$optimizer$lr has its own methods).
#' @rdname backend_values
#' @export
k_get_value.default <- function(x) eager_value(check_eager(x, "k_get_value"))

#' @rdname backend_values
#' @param ops A list of tensors or variables.
#' @export
k_batch_get_value <- function(ops) lapply(ops, k_get_value)

#' @rdname backend_values
#' @export
k_set_value.default <- function(x, value) {
  if (!is_tensor(x) || !isTRUE(.subset2(x, "variable")))
    stop("k_set_value(): `x` must be a variable (from k_variable()) or model$optimizer$lr, not ",
         if (is_tensor(x)) "a constant tensor" else class(x)[1], call. = FALSE)
  x <- check_eager(x, "k_set_value")
  v <- eager_from_r(value, dtype = x$env$dtype)
  if (!identical(as.integer(v$env$shape), as.integer(x$env$shape)))
    stop(sprintf("k_set_value(): the value has shape %s but the variable has shape %s",
                 shape_text(v$env$shape), shape_text(x$env$shape)), call. = FALSE)
  x$env$value <- v$env$value
  invisible(NULL)
}

#' @rdname backend_values
#' @param tuples List of `list(variable, value)` pairs.
#' @export
k_batch_set_value <- function(tuples) {
  for (t in tuples) k_set_value(t[[1]], t[[2]])
  invisible(NULL)
}

#' @rdname backend_values
#' @export
k_zeros <- function(shape, dtype = NULL, name = NULL) k_constant(0, dtype, shape)
#' @rdname backend_values
#' @export
k_ones <- function(shape, dtype = NULL, name = NULL) k_constant(1, dtype, shape)
#' @rdname backend_values
#' @export
k_zeros_like <- function(x, dtype = NULL, name = NULL) x * 0
#' @rdname backend_values
#' @export
k_ones_like <- function(x, dtype = NULL, name = NULL) x * 0 + 1
#' @rdname backend_values
#' @param size Number of rows/columns.
#' @export
k_eye <- function(size, dtype = NULL, name = NULL) k_constant(diag(as.integer(size)), dtype)

#' @rdname backend_values
#' @param mean,stddev,minval,maxval Distribution parameters.
#' @param seed Integer seed (`NULL`: drawn from R's generator).
#' @export
k_random_uniform <- function(shape, minval = 0, maxval = 1, dtype = NULL, seed = NULL)
  random_op("random_uniform", shape, list(minval = minval, maxval = maxval), seed, "k_random_uniform")
#' @rdname backend_values
#' @export
k_random_normal <- function(shape, mean = 0, stddev = 1, dtype = NULL, seed = NULL)
  random_op("random_normal", shape, list(mean = mean, stddev = stddev), seed, "k_random_normal")

random_op <- function(op, shape, params, seed, fn) {
  shape <- as.integer(unlist(shape))
  if (anyNA(shape)) stop(fn, "(): the shape must be fully known", call. = FALSE)
  seed <- if (is.null(seed)) sample.int(.Machine$integer.max, 1) else as.integer(seed)
  t <- record_op(op, list(), c(list(shape = I(shape)), lapply(params, as.numeric), list(seed = seed)), fn = fn)
  t
}

#' Backend information
#'
#' Shapes, dtypes and configuration of the backend (float32 only; no
#' session: everything runs in the native engine).
#' @param x A tensor.
#' @param e,floatx,data_format Values to set (only the defaults are supported).
#' @return See each function.
#' @examples
#' k_int_shape(k_constant(matrix(0, 2, 3)))
#' k_epsilon()
#' @name backend_info
NULL

#' @rdname backend_info
#' @export
k_int_shape <- function(x) {
  s <- tensor_full_shape(as_tensor_arg(x))
  lapply(s, function(d) if (is.na(d)) NULL else d)
}
#' @rdname backend_info
#' @export
k_shape <- function(x) {
  x <- check_eager(x, "k_shape")
  k_constant(x$env$shape, dtype = "int32", shape = length(x$env$shape))
}
#' @rdname backend_info
#' @export
k_ndim <- function(x) length(tensor_full_shape(as_tensor_arg(x)))
#' @rdname backend_info
#' @export
k_dtype <- function(x) { x <- as_tensor_arg(x); if (tensor_kind(x) == "eager") x$env$dtype else tensor_dtype(x) }
#' @rdname backend_info
#' @export
k_count_params <- function(x) prod(tensor_full_shape(check_eager(x, "k_count_params")))
#' @rdname backend_info
#' @export
k_is_tensor <- function(x) is_tensor(x)
#' @rdname backend_info
#' @export
k_is_keras_tensor <- function(x) is_tensor(x) && tensor_kind(x) != "eager"
#' @rdname backend_info
#' @export
k_epsilon <- function() .kn$epsilon %||% 1e-7
#' @rdname backend_info
#' @export
k_set_epsilon <- function(e) { .kn$epsilon <- as.numeric(e); invisible(NULL) }
#' @rdname backend_info
#' @export
k_floatx <- function() "float32"
#' @rdname backend_info
#' @export
k_set_floatx <- function(floatx) {
  if (!identical(floatx, "float32")) stop("k_set_floatx(): only 'float32' is supported", call. = FALSE)
  invisible(NULL)
}
#' @rdname backend_info
#' @export
k_image_data_format <- function() "channels_last"
#' @rdname backend_info
#' @export
k_set_image_data_format <- function(data_format) {
  if (!identical(data_format, "channels_last")) stop("k_set_image_data_format(): only 'channels_last' is supported", call. = FALSE)
  invisible(NULL)
}
#' @rdname backend_info
#' @export
k_learning_phase <- function() .kn$learning_phase %||% 0L
#' @rdname backend_info
#' @param value 0 (test) or 1 (train): the phase [k_in_train_phase()] uses
#'   when its `training` is `NULL` (fit() and predict() set their own).
#' @export
k_set_learning_phase <- function(value) {
  if (!identical(as.numeric(value), 0) && !identical(as.numeric(value), 1))
    stop("k_set_learning_phase(): `value` must be 0 or 1", call. = FALSE)
  .kn$learning_phase <- as.integer(value)
  invisible(NULL)
}

#' Instantiates a Keras function
#'
#' @param inputs List of input tensors ([layer_input()], [k_placeholder()]).
#' @param outputs List of output tensors computed from them, possibly
#'   gradient tensors from [k_gradients()].
#' @param updates,... Not supported (must be `NULL`).
#' @return A function taking a list of arrays (one per input) and returning
#'   a list of arrays (one per output).
#' @examples
#' x <- layer_input(shape = 3)
#' f <- k_function(list(x), list(k_sum(x, axis = 2)))
#' f(list(matrix(1:6, 2)))
#' @export
k_function <- function(inputs, outputs, updates = NULL, ...) {
  if (!is.null(updates)) stop("k_function(): `updates` is not supported", call. = FALSE)
  if (is_tensor(outputs)) outputs <- list(outputs)
  if (is_tensor(inputs)) inputs <- list(inputs)
  is_grad <- vapply(outputs, function(o) is_tensor(o) && identical(o$kind, "grad"), logical(1))
  # model outputs: the plain outputs, then for each gradient its loss and its variable
  grads <- outputs[is_grad]
  model_outputs <- c(outputs[!is_grad], do.call(c, lapply(grads, function(g) list(g$loss, g$wrt))))
  model <- keras_model(inputs, model_outputs)
  n_plain <- sum(!is_grad)
  function(values) {
    if (!is.list(values)) values <- list(values)
    res <- vector("list", length(outputs))
    if (n_plain > 0) {
      n <- dim(values[[1]])[1] %||% length(values[[1]])
      out <- predict(model, if (length(values) == 1) values[[1]] else values, batch_size = n, verbose = 0)
      if (length(model_outputs) == 1) out <- list(out)
      res[!is_grad] <- out[seq_len(n_plain)]
    }
    if (length(grads)) {
      x <- lapply(values, function(v) { if (is.null(dim(v))) v <- as.matrix(v); storage.mode(v) <- "double"; v })
      res[is_grad] <- lapply(seq_along(grads), function(k)
        kn_try(cpp_model_gradients(model_ptr(model), x, n_plain + 2L * (k - 1L), n_plain + 2L * k - 1L),
               "k_function() (gradient)")[[1]])
    }
    res
  }
}

#' Gradients of a loss with respect to variables
#'
#' Reverse-mode differentiation through the backward kernels of the op table.
#' On values ([k_variable()], [k_constant()] or R arrays) it runs at once over
#' the operations that computed `loss` from `variables`. On model tensors
#' (`loss` computed from [layer_input()] tensors, `variables` being inputs or
#' intermediate tensors of that computation) it returns symbolic gradient
#' tensors, which are outputs of [k_function()]: each call runs the model
#' forward and the graph's backward pass. As in Keras, the gradient is that
#' of the sum of `loss`; a variable the loss does not depend on gets zeros.
#' Gradients with respect to layer weights are computed by `fit()`.
#' @param loss A tensor computed from `variables`.
#' @param variables A tensor or a list of tensors.
#' @return A list of tensors (one per variable, same shape); on values `NULL`
#'   for a variable the loss does not depend on.
#' @examples
#' w <- k_variable(c(1, 2, 3))
#' k_eval(k_gradients(k_sum(k_square(w) * 3), w)[[1]])  # 6 * w
#' x <- layer_input(shape = 2)
#' g <- k_gradients(k_sum(k_square(x)), x)[[1]]
#' k_function(list(x), list(g))(list(matrix(1:4, 2)))[[1]]  # 2 * x
#' @export
k_gradients <- function(loss, variables) {
  if (is_tensor(variables)) variables <- list(variables)
  if (!is_tensor(loss) || !all(vapply(variables, is_tensor, logical(1))))
    stop("k_gradients(): `loss` and `variables` must be tensors", call. = FALSE)
  if (tensor_kind(loss) != "eager") return(symbolic_gradients(loss, variables))
  if (!all(vapply(variables, tensor_kind, "") == "eager"))
    stop("k_gradients(): `loss` is a value but a variable is symbolic (a model tensor)", call. = FALSE)
  ids <- new.env(parent = emptyenv())
  entries <- list()
  visit <- function(t) {
    key <- as.character(t$id)
    if (exists(key, envir = ids, inherits = FALSE)) return(get(key, envir = ids))
    tp <- t$tape
    e <- list(op = tp$op %||% "", attrs = tp$attrs %||% "{}",
              inputs = if (is.null(tp)) integer(0) else vapply(tp$inputs, visit, integer(1)),
              value = t$env$value, shape = t$env$shape, dtype = t$env$dtype,
              cvalue = tp$value, cvalue_shape = tp$value_shape)  # list() keeps NULL entries
    entries[[length(entries) + 1]] <<- e
    id <- length(entries) - 1L
    assign(key, id, envir = ids)
    id
  }
  loss_id <- visit(loss)
  wrt <- vapply(variables, function(v) {
    key <- as.character(v$id)
    if (exists(key, envir = ids, inherits = FALSE)) get(key, envir = ids) else -1L
  }, integer(1))
  res <- vector("list", length(variables))
  on_tape <- wrt >= 0
  if (any(on_tape)) {
    g <- kn_try(cpp_op_gradients(entries, loss_id, wrt[on_tape]), "k_gradients()")
    res[on_tape] <- lapply(g, function(r) if (is.null(r)) NULL else {
      v <- if (length(r$shape) >= 2) array(as.numeric(r$value), dim = r$shape) else as.numeric(r$value)
      new_eager(v, r$shape, "float32")
    })
  }
  res
}

# Gradient tensors of a symbolic loss: placeholders (kind "grad") that
# k_function() evaluates with the model graph's backward pass.
symbolic_gradients <- function(loss, variables) {
  if (!is.null(.subset2(loss, "trace")))
    stop("k_gradients(): dataset tensors (inside dataset_map()) have no gradients", call. = FALSE)
  if (tensor_dtype(loss) != "float32") stop("k_gradients(): the loss must be float32", call. = FALSE)
  lapply(variables, function(v) {
    kind <- tensor_kind(v)
    if (!kind %in% c("input", "layer", "op"))
      stop("k_gradients(): `loss` is symbolic (a model tensor), so `variables` must be tensors of the model ",
           "(its inputs or tensors computed from them), not ", if (kind == "eager") "a value or k_variable()" else paste0("a '", kind, "' tensor"),
           "; gradients with respect to layer weights are computed by fit()", call. = FALSE)
    if (tensor_dtype(v) != "float32") stop("k_gradients(): a variable is not float32", call. = FALSE)
    structure(list(kind = "grad", loss = loss, wrt = v, shape = v$shape, dtype = "float32",
                   batched = tensor_batched(v), id = new_tensor_id()), class = tensor_class)
  })
}

#' Random masks and zero padding
#'
#' Compositions of ops of the op table (so they run at once on values and are
#' recorded on symbolic tensors, with gradients): `k_random_binomial()` draws
#' 0/1 values (1 with probability `p`); `k_dropout()` zeroes entries of `x`
#' with probability `level` and scales the others by `1 / (1 - level)` (the
#' noise shape must be fully known: in models use [layer_dropout()]);
#' `k_temporal_padding()` pads axis 2 of a 3D tensor with zeros,
#' `k_spatial_2d_padding()` the two spatial axes of a 4D tensor.
#' @param shape Shape of the random tensor.
#' @param p Probability of a 1.
#' @param dtype Dtype of the result (default float32).
#' @param seed Integer seed (`NULL` = from R's generator).
#' @param x A tensor.
#' @param level Fraction of entries dropped, in `[0, 1)`.
#' @param noise_shape Shape of the keep/drop mask (broadcast against `x`); `NULL` = the shape of `x`.
#' @param padding `c(before, after)` for `k_temporal_padding()`; `list(c(top, bottom), c(left, right))`
#'   for `k_spatial_2d_padding()`.
#' @param data_format `"channels_last"` (default) or `"channels_first"`.
#' @return A tensor.
#' @examples
#' k_eval(k_temporal_padding(k_constant(array(1, c(1, 2, 1))), c(1, 1)))
#' @name backend_random_padding
NULL

#' @rdname backend_random_padding
#' @export
k_random_binomial <- function(shape, p = 0, dtype = NULL, seed = NULL) {
  if (!is.numeric(p) || length(p) != 1 || is.na(p) || p < 0 || p > 1)
    stop("k_random_binomial(): `p` must be a probability in [0, 1]", call. = FALSE)
  k_cast(k_random_uniform(shape, seed = seed) < p, dtype %||% "float32")
}

#' @rdname backend_random_padding
#' @export
k_dropout <- function(x, level, noise_shape = NULL, seed = NULL) {
  x <- as_tensor_arg(x)
  if (!is.numeric(level) || length(level) != 1 || is.na(level) || level < 0 || level >= 1)
    stop("k_dropout(): `level` must be a number in [0, 1)", call. = FALSE)
  shape <- if (is.null(noise_shape)) tensor_full_shape(x) else as.integer(unlist(noise_shape))
  if (anyNA(shape))
    stop("k_dropout(): the noise shape ", shape_text(shape), " must be fully known (give `noise_shape`, ",
         "or use layer_dropout() in models)", call. = FALSE)
  keep <- k_cast(k_random_uniform(shape, seed = seed) >= level, "float32")
  x * keep / (1 - level)
}

# `n` zeros along 0-based `axis` of x's shape (other axes as x).
zero_slab <- function(x, axis, n, fn) {
  rank <- length(tensor_full_shape(x))
  s <- record_op("slice", list(x), list(axis = I(axis), begin = I(0L), end = I(1L), step = I(1L),
                                        shrink = I(integer(0))), fn = fn)
  z <- record_op("where", list(FALSE, s, eager_from_r(0, dtype = k_dtype(x))), fn = fn)  # 0 even where x is Inf/NaN
  mult <- rep(1L, rank)
  mult[axis + 1L] <- as.integer(n)
  record_op("tile", list(z), list(multiples = I(mult)), fn = fn)
}
pad_axis <- function(x, axis, before, after, fn) {
  before <- check_whole(before, fn, "padding", min = 0)
  after <- check_whole(after, fn, "padding", min = 0)
  parts <- c(if (before > 0) list(zero_slab(x, axis, before, fn)), list(x),
             if (after > 0) list(zero_slab(x, axis, after, fn)))
  if (length(parts) == 1) return(x)
  record_op("concatenate", parts, list(axis = axis), fn = fn)
}

#' @rdname backend_random_padding
#' @export
k_temporal_padding <- function(x, padding = c(1, 1)) {
  x <- as_tensor_arg(x)
  if (length(tensor_full_shape(x)) != 3) stop("k_temporal_padding(): `x` must be a 3D tensor", call. = FALSE)
  if (length(padding) != 2) stop("k_temporal_padding(): `padding` must be c(before, after)", call. = FALSE)
  pad_axis(x, 1L, padding[[1]], padding[[2]], "k_temporal_padding")
}

#' @rdname backend_random_padding
#' @export
k_spatial_2d_padding <- function(x, padding = list(list(1, 1), list(1, 1)), data_format = NULL) {
  x <- as_tensor_arg(x)
  fn <- "k_spatial_2d_padding"
  if (length(tensor_full_shape(x)) != 4) stop(fn, "(): `x` must be a 4D tensor", call. = FALSE)
  df <- data_format %||% "channels_last"
  if (!df %in% c("channels_last", "channels_first"))
    stop(fn, "(): `data_format` must be \"channels_last\" or \"channels_first\"", call. = FALSE)
  if (length(padding) != 2 || any(lengths(padding) != 2))
    stop(fn, "(): `padding` must be list(c(top, bottom), c(left, right))", call. = FALSE)
  ax <- if (df == "channels_last") 1L else 2L
  x <- pad_axis(x, ax, padding[[1]][[1]], padding[[1]][[2]], fn)
  pad_axis(x, ax + 1L, padding[[2]][[1]], padding[[2]][[2]], fn)
}

# keras 2.2.5 backend functions that are not built: each stops naming itself.
not_built <- function(fn) {
  force(fn)
  function(...) stop(fn, "() is not available in kerasnative yet", call. = FALSE)
}

#' Backend functions not built yet
#'
#' These keras 2.2.5 backend functions exist so code using them fails with a
#' clear error naming the function.
#' @param ... Ignored.
#' @return Never returns (an error).
#' @name backend_not_built
#' @keywords internal
NULL

#' @rdname backend_not_built
#' @export
k_ctc_batch_cost <- not_built("k_ctc_batch_cost")
#' @rdname backend_not_built
#' @export
k_ctc_decode <- not_built("k_ctc_decode")
#' @rdname backend_not_built
#' @export
k_ctc_label_dense_to_sparse <- not_built("k_ctc_label_dense_to_sparse")
#' @rdname backend_not_built
#' @export
k_local_conv1d <- not_built("k_local_conv1d")
#' @rdname backend_not_built
#' @export
k_local_conv2d <- not_built("k_local_conv2d")
