# One tensor class (`kerasnative_tensor`) for everything the backend works on:
#   input  - from layer_input()
#   layer  - the output of a layer applied to tensors
#   op     - an op of the engine's op table recorded on symbolic tensors
#   node   - a node already in a model's graph (sequential lambdas, traced losses)
#   eager  - a value (R arrays, k_constant(), k_variable()): ops run at once
#   data   - a component of a dataset element inside dataset_map() (unbatched);
#            ops on it (and op tensors derived from it, which carry its `trace`)
#            form the map graph the pipeline runs per element
# Symbolic tensors carry `shape` (per-sample when `batched`, else the full
# shape; NA = unknown) and `dtype`. Shapes and dtypes of op outputs come from
# the C++ op table (cpp_op_infer), so the rules exist once.

tensor_kind <- function(t) t$kind %||% (if (is.null(t$layer)) "input" else "layer")
tensor_dtype <- function(t) t$dtype %||% "float32"
tensor_batched <- function(t) if (is.null(t$batched)) TRUE else isTRUE(t$batched)
# Full shape, batch included (NA = unknown).
tensor_full_shape <- function(t) {
  if (tensor_kind(t) == "eager") return(t$env$shape)
  if (tensor_batched(t)) c(NA_integer_, t$shape) else t$shape
}

new_tensor_id <- function() {
  .kn$tensor_id <- (.kn$tensor_id %||% 0) + 1
  .kn$tensor_id
}

tensor_class <- c("kerasnative_tensor", "tensorflow.tensor")

# ---------------------------------------------------------------- eager values

# An eager tensor holds an R value (array with dim = shape, or a scalar) in an
# environment, so k_set_value() can update variables in place.
new_eager <- function(value, shape, dtype, variable = FALSE, name = NULL) {
  env <- new.env(parent = emptyenv())
  env$value <- value
  env$shape <- as.integer(shape)
  env$dtype <- dtype
  structure(list(kind = "eager", env = env, variable = variable, name = name, id = new_tensor_id()),
            class = tensor_class)
}

# R value -> (value, shape, dtype) for an eager tensor.
eager_from_r <- function(x, dtype = NULL, what = "x") {
  if (is.list(x) && !is.data.frame(x)) x <- unlist(x)
  if (!is.numeric(x) && !is.logical(x))
    stop("`", what, "` must be numeric, logical or a tensor, not ", class(x)[1], call. = FALSE)
  if (anyNA(x)) stop("`", what, "` contains NA values", call. = FALSE)
  d <- dim(x)
  shape <- if (!is.null(d)) d else if (length(x) == 1) integer(0) else length(x)
  dt <- dtype %||% (if (is.logical(x)) "bool" else if (is.integer(x)) "int32" else "float32")
  new_eager(as_storage(x, dt, shape), shape, as_dtype_name(dt))
}

as_storage <- function(x, dtype, shape) {
  v <- as.numeric(x)
  if (dtype %in% c("int32", "int64", "uint8")) v <- trunc(v)
  if (dtype == "bool") v <- as.numeric(v != 0)
  if (length(shape) >= 2) array(v, dim = shape) else v
}

# The R value of an eager tensor (arrays keep their dim; bool -> logical, ints -> integer).
eager_value <- function(t) {
  v <- t$env$value
  switch(t$env$dtype,
    bool = { r <- v != 0; if (!is.null(dim(v))) dim(r) <- dim(v); r },
    int32 = , uint8 = { r <- as.integer(v); if (!is.null(dim(v))) dim(r) <- dim(v); r },
    v)
}

as_tensor_arg <- function(x, what = "x") {
  if (is_tensor(x)) return(x)
  eager_from_r(x, what = what)
}

# ---------------------------------------------------------------- recording

attrs_json <- function(attrs) {
  attrs <- attrs[!vapply(attrs, is.null, logical(1)) | names(attrs) == "axis"]
  if (!length(attrs)) return("{}")
  to_json(attrs)
}

# Record op `op` on `inputs` (tensors or R values). All-eager inputs run at once
# through the same C++ kernels; otherwise the result is a symbolic op tensor.
# `fn` names the R function in errors.
record_op <- function(op, inputs, attrs = list(), fn = op, value = NULL, value_shape = NULL) {
  inputs <- lapply(inputs, as_tensor_arg)
  kinds <- vapply(inputs, tensor_kind, "")
  if (any(kinds == "grad"))
    stop(fn, "(): a gradient tensor of model tensors (from k_gradients()) can only be an output of k_function()",
         call. = FALSE)
  js <- attrs_json(attrs)
  dtypes <- vapply(inputs, function(t) if (tensor_kind(t) == "eager") t$env$dtype else tensor_dtype(t), "")
  fail <- function(e) stop(fn, "(): ", sub("^[a-z_]+: ", "", conditionMessage(e)), call. = FALSE)
  if (all(kinds == "eager")) {
    res <- tryCatch(cpp_op_run(op, js, lapply(inputs, function(t) t$env$value),
                               lapply(inputs, function(t) t$env$shape), dtypes, value, value_shape, r_seed()),
                    error = fail)
    shape <- res$shape
    v <- res$value
    v <- if (length(shape) >= 2) array(as.numeric(v), dim = shape) else as.numeric(v)
    out <- new_eager(v, shape, res$dtype)
    # the tape k_gradients() walks back: the op and its (eager) inputs
    out$tape <- list(op = op, attrs = js, inputs = inputs, value = value, value_shape = value_shape)
    return(out)
  }
  inputs <- lapply(inputs, function(t) if (tensor_kind(t) == "eager") constant_op(t) else t)
  tr <- op_trace(inputs, fn)
  ty <- tryCatch(cpp_op_infer(op, js, lapply(inputs, tensor_full_shape), dtypes, value, value_shape), error = fail)
  batched <- any(vapply(inputs, tensor_batched, logical(1))) && length(ty$shape) > 0 && is.na(ty$shape[1])
  structure(list(kind = "op", op = op, attrs = js, inputs = inputs,
                 shape = if (batched) ty$shape[-1] else ty$shape, dtype = ty$dtype, batched = batched,
                 scope = .kn$op_scope %||% "op", value = value, value_shape = value_shape,
                 trace = tr, id = new_tensor_id()),
            class = tensor_class)
}

# The dataset trace of an op's inputs (NULL for model ops); counts the op.
op_trace <- function(inputs, fn) {
  trs <- Filter(Negate(is.null), lapply(inputs, function(t) .subset2(t, "trace")))
  if (!length(trs)) return(NULL)
  tr <- trs[[1]]
  if (!all(vapply(trs, identical, logical(1), tr)))
    stop(fn, "(): tensors of different dataset_map() functions cannot be combined", call. = FALSE)
  model <- vapply(inputs, function(t) is.null(.subset2(t, "trace")) && !identical(t$op, "constant"), logical(1))
  if (any(model)) stop(fn, "(): a dataset tensor cannot be combined with a model tensor", call. = FALSE)
  tr$n_ops <- tr$n_ops + 1L
  tr
}

# An op with several outputs (parse_example): a list of op tensors sharing one node.
record_multi_op <- function(op, inputs, attrs = list(), fn = op) {
  inputs <- lapply(inputs, as_tensor_arg)
  if (any(vapply(inputs, tensor_kind, "") == "eager"))
    stop(fn, "(): works on the tensors of a dataset element (inside dataset_map())", call. = FALSE)
  js <- attrs_json(attrs)
  fail <- function(e) stop(fn, "(): ", sub("^[a-z_]+: ", "", conditionMessage(e)), call. = FALSE)
  tys <- tryCatch(cpp_op_infer_all(op, js, lapply(inputs, tensor_full_shape), vapply(inputs, tensor_dtype, "")),
                  error = fail)
  tr <- op_trace(inputs, fn)
  node_id <- new_tensor_id()
  lapply(seq_along(tys), function(k)
    structure(list(kind = "op", op = op, attrs = js, inputs = inputs, shape = tys[[k]]$shape,
                   dtype = tys[[k]]$dtype, batched = FALSE, scope = .kn$op_scope %||% "op", trace = tr,
                   node_id = node_id, output = k - 1L, n_out = length(tys), id = new_tensor_id()),
              class = tensor_class))
}

# An eager value as a constant op of a symbolic graph.
constant_op <- function(t) {
  structure(list(kind = "op", op = "constant", attrs = to_json(list(dtype = t$env$dtype)), inputs = list(),
                 shape = t$env$shape, dtype = t$env$dtype, batched = FALSE, scope = .kn$op_scope %||% "op",
                 value = as.numeric(t$env$value), value_shape = t$env$shape, id = new_tensor_id()),
            class = tensor_class)
}

# Trace `expr` with op nodes named `scope` (a lambda layer's name, "loss", a metric).
with_op_scope <- function(scope, expr) {
  old <- .kn$op_scope
  .kn$op_scope <- scope
  on.exit(.kn$op_scope <- old)
  expr
}

# A tensor standing for node `id` of the model graph `ptr`.
node_tensor <- function(ptr, id) {
  ty <- cpp_model_node_type(ptr, id)
  structure(list(kind = "node", ptr = ptr, node = as.integer(id), shape = ty$shape, dtype = ty$dtype,
                 batched = ty$batched, id = new_tensor_id()),
            class = tensor_class)
}

# Add the ops behind `t` to model `ptr`, returning its node id. `ids` maps tensor
# ids to node ids; `visit` handles input/layer tensors (keras_model()).
add_tensor_ops <- function(ptr, t, ids, visit, loss = FALSE) {
  k <- as.character(t$id)
  if (exists(k, envir = ids, inherits = FALSE)) return(get(k, envir = ids))
  id <- switch(tensor_kind(t),
    node = {
      if (!identical(t$ptr, ptr)) stop("a tensor of another model cannot be used here", call. = FALSE)
      t$node
    },
    op = {
      if (!is.null(t$trace)) stop("a dataset tensor (inside dataset_map()) cannot be used in a model", call. = FALSE)
      in_ids <- vapply(t$inputs, function(s) add_tensor_ops(ptr, s, ids, visit, loss), numeric(1))
      kn_try(cpp_model_add_op(ptr, t$op, t$attrs, as.integer(in_ids), t$scope, t$value, t$value_shape, loss),
             paste0("op '", t$op, "' of ", t$scope))
    },
    eager = add_tensor_ops(ptr, constant_op(t), ids, visit, loss),
    data = stop("a dataset tensor (inside dataset_map()) cannot be used in a model", call. = FALSE),
    visit(t))
  assign(k, id, envir = ids)
  id
}

# ---------------------------------------------------------------- methods

#' @export
Ops.kerasnative_tensor <- function(e1, e2) {
  if (missing(e2)) {
    return(switch(.Generic, "-" = record_op("neg", list(e1), fn = "-"), "+" = e1,
                  "!" = record_op("logical_not", list(e1), fn = "!"),
                  stop("unary operator ", .Generic, " is not defined for tensors", call. = FALSE)))
  }
  if (.Generic == "^" && !is_tensor(e2) && is.numeric(e2) && length(e2) == 1)
    return(record_op("pow_scalar", list(e1), list(exponent = as.numeric(e2)), fn = "^"))
  e1 <- scalar_operand(e1, e2)
  e2 <- scalar_operand(e2, e1)
  op <- switch(.Generic, "+" = "add", "-" = "sub", "*" = "mul", "/" = "div", "^" = "pow",
               "==" = "equal", "!=" = "not_equal", "<" = "less", "<=" = "less_equal",
               ">" = "greater", ">=" = "greater_equal", "&" = "logical_and", "|" = "logical_or",
               stop("operator ", .Generic, " is not defined for tensors", call. = FALSE))
  record_op(op, list(e1, e2), fn = .Generic)
}

# Whole R numbers next to an integer tensor take its dtype (as Python ints in
# TensorFlow): `x * 2` of an int32 tensor stays int32.
scalar_operand <- function(v, other) {
  if (is_tensor(v) || !is.numeric(v) || !is_tensor(other)) return(v)
  dt <- if (tensor_kind(other) == "eager") other$env$dtype else tensor_dtype(other)
  if (dt %in% c("int32", "int64", "uint8") && !anyNA(v) && all(v == round(v)) && all(abs(v) < 2^24))
    return(eager_from_r(v, dtype = dt))
  v
}

#' @export
Math.kerasnative_tensor <- function(x, ...) {
  op <- switch(.Generic, abs = "abs", sqrt = "sqrt", exp = "exp", log = "log", log1p = "log1p",
               tanh = "tanh", sign = "sign", floor = "floor", ceiling = "ceil", round = "round",
               cumsum = return(k_cumsum(x, 1)),
               stop(.Generic, "() is not defined for tensors", call. = FALSE))
  if (.Generic == "log" && length(list(...))) stop("log() of a tensor takes no base", call. = FALSE)
  record_op(op, list(x), fn = .Generic)
}

#' Extract parts of a tensor
#'
#' `x[i, j, ...]` on a tensor, as in the tensorflow R package: indices are
#' 1-based, a missing index keeps the whole axis, a range `a:b` (or
#' `seq(a, b, by = s)`) slices, a single number drops the axis.
#' @param x A tensor.
#' @param ... One index per axis (missing = all).
#' @return A tensor.
#' @export
`[.kerasnative_tensor` <- function(x, ...) {
  idx <- eval(substitute(alist(...)))
  shape <- tensor_full_shape(x)
  if (length(idx) > length(shape))
    stop(sprintf("`[`: %d indices for a tensor of rank %d", length(idx), length(shape)), call. = FALSE)
  axes <- integer(0); begin <- integer(0); end <- integer(0); step <- integer(0); shrink <- integer(0)
  for (d in seq_along(idx)) {
    if (is.name(idx[[d]]) && !nzchar(as.character(idx[[d]]))) next  # x[, j]: whole axis
    v <- eval(idx[[d]], parent.frame())
    if (!is.numeric(v) || !length(v) || anyNA(v) || any(v != round(v)) || any(v < 1))
      stop("`[`: index ", d, " must be positive whole numbers (1-based)", call. = FALSE)
    s <- if (length(v) > 1) unique(diff(v)) else 1
    if (length(s) != 1 || s < 1) stop("`[`: index ", d, " must be an increasing regular sequence", call. = FALSE)
    if (!is.na(shape[d]) && max(v) > shape[d])
      stop(sprintf("`[`: index %d goes to %d but axis %d has size %d", d, max(v), d, shape[d]), call. = FALSE)
    axes <- c(axes, d - 1L); begin <- c(begin, v[1] - 1L); end <- c(end, max(v)); step <- c(step, s)
    if (length(v) == 1) shrink <- c(shrink, d - 1L)
  }
  if (!length(axes)) return(x)
  record_op("slice", list(x), list(axis = I(axes), begin = I(begin), end = I(end), step = I(step),
                                   shrink = I(shrink)), fn = "[")
}

print_op_tensor <- function(x) {
  if (tensor_kind(x) == "data") {
    cat(sprintf("Tensor(\"element/component_%d\", shape=%s, dtype=%s)\n", x$index + 1L, shape_text(x$shape), x$dtype))
    return(invisible(x))
  }
  if (tensor_kind(x) == "eager") {
    cat(sprintf("tf.Tensor(shape=%s, dtype=%s)\n", shape_text(x$env$shape), x$env$dtype))
    print(eager_value(x))
    return(invisible(x))
  }
  cat(sprintf("Tensor(\"%s/%s\", shape=%s, dtype=%s)\n", x$scope %||% "node", x$op %||% x$node,
              shape_text(tensor_full_shape(x)), tensor_dtype(x)))
  invisible(x)
}

#' @export
as.array.kerasnative_tensor <- function(x, ...) k_eval(x)
