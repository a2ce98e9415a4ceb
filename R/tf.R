# The `tf` object: the subset of the TensorFlow API that dataset_map()
# functions use (parsing Examples, decoding, casting, reshaping, one-hot,
# arithmetic). Inside dataset_map() the R function runs once on symbolic
# tensors; each tf$... call records an op in a graph that the C++ pipeline
# then runs for every element on its worker threads.

# ---------------------------------------------------------------- dtypes

new_dtype <- function(name) structure(list(name = name), class = "kerasnative_dtype")

#' @export
print.kerasnative_dtype <- function(x, ...) {
  cat("<dtype: '", x$name, "'>\n", sep = "")
  invisible(x)
}

#' @export
format.kerasnative_dtype <- function(x, ...) paste0("tf.", x$name)

as_dtype_name <- function(d, what = "dtype") {
  if (inherits(d, "kerasnative_dtype")) return(d$name)
  if (is.character(d) && length(d) == 1) {
    d <- sub("^tf[.$]", "", d)
    if (d == "float") d <- "float32"
    if (d %in% c("float32", "int32", "int64", "uint8", "string", "bool")) return(d)
  }
  stop("`", what, "` must be one of tf$float32, tf$int32, tf$int64, tf$uint8, tf$bool, tf$string",
       call. = FALSE)
}

# ---------------------------------------------------------------- shapes

#' Tensor shape
#'
#' Builds a shape for [tf] functions such as `tf$io$FixedLenFeature()` and
#' `tf$reshape()`, as the tensorflow package's `shape()`: `shape()` is a
#' scalar, `shape(28, 28, 1)` a 28 x 28 x 1 array; `NULL` or `NA` (or -1 in
#' reshape) is an unknown dimension.
#'
#' @param ... Dimensions (integers, `NULL` or `NA`).
#' @return An integer vector of class `kerasnative_shape` (`NA` = unknown).
#' @examples
#' shape()
#' shape(28, 28, 1)
#' shape(NULL, 10)
#' @export
shape <- function(...) {
  dims <- list(...)
  if (length(dims) == 1 && length(dims[[1]]) > 1) dims <- as.list(dims[[1]])
  v <- vapply(dims, function(d) {
    if (is.null(d) || (length(d) == 1 && is.na(d))) return(NA_integer_)
    check_whole(d, "shape", "...", min = 0)
  }, integer(1))
  structure(v, class = "kerasnative_shape")
}

#' @export
print.kerasnative_shape <- function(x, ...) {
  cat("TensorShape(", shape_text(unclass(x)), ")\n", sep = "")
  invisible(x)
}

# Python-style shape text: "()" "(None,)" "(None, 28, 28)"
shape_text <- function(s) {
  s <- unclass(s)
  if (length(s) == 0) return("()")
  d <- ifelse(is.na(s), "None", as.character(s))
  if (length(d) == 1) paste0("(", d, ",)") else paste0("(", paste(d, collapse = ", "), ")")
}

as_shape <- function(s) {
  if (is.null(s)) return(integer(0))
  if (is.list(s)) return(unclass(do.call(shape, s)))
  s <- as.integer(unclass(s))
  s[!is.na(s) & s < 0] <- NA_integer_
  s
}

# ---------------------------------------------------------------- tracing

trace_state <- new.env(parent = emptyenv())

# A fresh graph whose inputs are the element's flat components.
new_trace <- function(input_specs) {
  tr <- new.env(parent = emptyenv())
  tr$n_inputs <- length(input_specs)
  tr$next_id <- length(input_specs)
  tr$nodes <- list()
  tr$inputs <- lapply(seq_along(input_specs), function(k)
    sym_tensor(tr, k - 1L, input_specs[[k]]$dtype, input_specs[[k]]$shape))
  tr
}

sym_tensor <- function(trace, id, dtype, shape) {
  structure(list(id = as.integer(id), dtype = dtype, shape = as_shape(shape), trace = trace),
            class = "kerasnative_data_tensor")
}

is_sym <- function(x) inherits(x, "kerasnative_data_tensor")

# Model tensors, backend values and R arrays go to the backend (ops of the
# engine's op table, 0-based tf axes); dataset tensors stay in the map graph.
is_backend_arg <- function(x) is_tensor(x) || (!is_sym(x) && (is.numeric(x) || is.logical(x)))

# Append a node; returns symbolic tensors for its outputs.
add_node <- function(trace, op, inputs, attrs = list(), outs) {
  ids <- vapply(inputs, function(t) {
    if (!identical(t$trace, trace)) stop("tensors from different map functions cannot be combined", call. = FALSE)
    t$id
  }, integer(1))
  node <- list(op = op, inputs = I(ids), n_out = length(outs))
  if (length(attrs)) node$attrs <- attrs
  trace$nodes[[length(trace$nodes) + 1]] <- node
  first <- trace$next_id
  trace$next_id <- trace$next_id + length(outs)
  res <- lapply(seq_along(outs), function(k) sym_tensor(trace, first + k - 1L, outs[[k]]$dtype, outs[[k]]$shape))
  names(res) <- names(outs)
  res
}

check_tensor <- function(x, fn) {
  if (!is_sym(x))
    stop("tf$", fn, "(): expected a tensor of the dataset element (inside dataset_map()), got ",
         class(x)[1], call. = FALSE)
  x
}

#' @export
print.kerasnative_data_tensor <- function(x, ...) {
  cat(sprintf("<tf.Tensor (symbolic) shape=%s dtype=%s>\n", shape_text(x$shape), x$dtype))
  invisible(x)
}

#' @export
Ops.kerasnative_data_tensor <- function(e1, e2) {
  fn <- switch(.Generic, "+" = "add", "-" = "sub", "*" = "mul", "/" = "div",
               stop("operator ", .Generic, " is not supported on dataset tensors (supported: + - * /)",
                    call. = FALSE))
  if (missing(e2)) {  # unary
    if (.Generic == "-") return(tf_binary(e1, -1, "mul"))
    return(e1)
  }
  if (is_sym(e1) && is_sym(e2)) return(tf_binary2(e1, e2, fn))
  if (is_sym(e1)) return(tf_binary(e1, e2, fn))
  tf_binary(e2, e1, fn, scalar_first = TRUE)
}

tf_binary <- function(x, s, fn, scalar_first = FALSE) {
  if (is_sym(s)) return(tf_binary2(x, s, fn))
  if (!is.numeric(s) || length(s) != 1 || is.na(s))
    stop("arithmetic on dataset tensors needs a single number or another tensor", call. = FALSE)
  if (x$dtype == "string") stop("arithmetic is not defined for string tensors", call. = FALSE)
  s_int <- is.integer(s) || (s == round(s) && abs(s) < 2^31)
  out_dt <- if (fn == "div" || x$dtype == "float32" || !s_int) "float32" else x$dtype
  attrs <- list(fn = fn, scalar = as.numeric(s), scalar_pos = if (scalar_first) 0L else 1L,
                scalar_int = s_int)
  add_node(x$trace, "binary", list(x), attrs, list(list(dtype = out_dt, shape = x$shape)))[[1]]
}

tf_binary2 <- function(a, b, fn) {
  if (a$dtype == "string" || b$dtype == "string")
    stop("arithmetic is not defined for string tensors", call. = FALSE)
  known <- function(s) !anyNA(s)
  shp <- if (length(a$shape) == 0 || (known(a$shape) && prod(a$shape) == 1)) b$shape else a$shape
  if (known(a$shape) && known(b$shape) && prod(a$shape) != 1 && prod(b$shape) != 1 &&
      !identical(as.integer(a$shape), as.integer(b$shape)))
    stop("tensors of shapes ", shape_text(a$shape), " and ", shape_text(b$shape),
         " cannot be combined (same shape or a single value needed)", call. = FALSE)
  out_dt <- if (fn == "div" || "float32" %in% c(a$dtype, b$dtype)) "float32" else a$dtype
  add_node(a$trace, "binary", list(a, b), list(fn = fn), list(list(dtype = out_dt, shape = shp)))[[1]]
}

# ---------------------------------------------------------------- tf functions

feature_spec <- function(kind, shape, dtype, default_value = NULL) {
  structure(list(kind = kind, shape = as_shape(shape), dtype = as_dtype_name(dtype),
                 default_value = default_value), class = "kerasnative_feature")
}

tf_FixedLenFeature <- function(shape, dtype, default_value = NULL) {
  f <- feature_spec("fixed", shape, dtype, default_value)
  if (anyNA(f$shape)) stop("FixedLenFeature(): the shape must be fully known", call. = FALSE)
  if (!f$dtype %in% c("float32", "int64", "string"))
    stop("FixedLenFeature(): dtype must be tf$float32, tf$int64 or tf$string", call. = FALSE)
  if (!is.null(default_value)) {
    n <- prod(f$shape)
    if (!length(default_value) %in% c(1, n))
      stop(sprintf("FixedLenFeature(): default_value has %d values but shape %s needs %d",
                   length(default_value), shape_text(f$shape), n), call. = FALSE)
  }
  f
}

tf_VarLenFeature <- function(dtype) {
  f <- feature_spec("varlen", NULL, dtype)
  if (!f$dtype %in% c("float32", "int64", "string"))
    stop("VarLenFeature(): dtype must be tf$float32, tf$int64 or tf$string", call. = FALSE)
  f
}

tf_parse_single_example <- function(serialized, features, name = NULL, example_names = NULL) {
  check_tensor(serialized, "parse_single_example")
  if (serialized$dtype != "string" || length(serialized$shape) != 0)
    stop("parse_single_example(): `serialized` must be a scalar string tensor (a record of ",
         "tfrecord_dataset()), got ", serialized$dtype, " ", shape_text(serialized$shape),
         if (length(serialized$shape)) " (parse before dataset_batch())", call. = FALSE)
  if (!is.list(features) || is.null(names(features)) || any(!nzchar(names(features))))
    stop("parse_single_example(): `features` must be a named list of tf$io$FixedLenFeature() / ",
         "tf$io$VarLenFeature()", call. = FALSE)
  specs <- list()
  outs <- list()
  for (key in names(features)) {
    f <- features[[key]]
    if (!inherits(f, "kerasnative_feature"))
      stop("parse_single_example(): feature '", key, "' is not a FixedLenFeature/VarLenFeature", call. = FALSE)
    s <- list(key = key, dtype = f$dtype, shape = I(as.integer(f$shape)), varlen = f$kind == "varlen")
    if (!is.null(f$default_value)) {
      s$default <- if (f$dtype == "string") I(as.character(f$default_value)) else I(as.numeric(f$default_value))
    }
    specs[[length(specs) + 1]] <- s
    outs[[key]] <- list(dtype = f$dtype, shape = if (f$kind == "varlen") NA_integer_ else f$shape)
  }
  add_node(serialized$trace, "parse_example", list(serialized), list(features = specs), outs)
}

tf_decode_raw <- function(input_bytes, out_type, little_endian = TRUE, name = NULL, bytes = NULL) {
  if (missing(input_bytes) && !is.null(bytes)) input_bytes <- bytes
  check_tensor(input_bytes, "decode_raw")
  if (input_bytes$dtype != "string") stop("decode_raw(): input must be a string tensor", call. = FALSE)
  dt <- as_dtype_name(out_type, "out_type")
  if (dt == "string") stop("decode_raw(): out_type cannot be tf$string", call. = FALSE)
  add_node(input_bytes$trace, "decode_raw", list(input_bytes),
           list(dtype = dt, little_endian = isTRUE(little_endian)),
           list(list(dtype = dt, shape = c(input_bytes$shape, NA_integer_))))[[1]]
}

tf_cast <- function(x, dtype, name = NULL) {
  if (is_backend_arg(x)) return(k_cast(x, as_dtype_name(dtype)))
  check_tensor(x, "cast")
  dt <- as_dtype_name(dtype)
  if (x$dtype == "string" || dt %in% c("string", "bool"))
    stop("cast(): cannot cast ", x$dtype, " to ", dt, " in a dataset pipeline", call. = FALSE)
  if (dt == x$dtype) return(x)
  add_node(x$trace, "cast", list(x), list(dtype = dt), list(list(dtype = dt, shape = x$shape)))[[1]]
}

tf_reshape <- function(tensor, shape, name = NULL) {
  if (is_backend_arg(tensor)) return(tf_backend_reshape(tensor, shape))
  check_tensor(tensor, "reshape")
  s <- as_shape(shape)
  s[is.na(s)] <- -1L
  if (sum(s == -1L) > 1) stop("reshape(): only one dimension can be unknown (-1)", call. = FALSE)
  out <- s
  if (any(s == -1L)) {
    out[s == -1L] <- if (!anyNA(tensor$shape)) as.integer(prod(tensor$shape) / prod(s[s != -1L])) else NA_integer_
  } else if (!anyNA(tensor$shape) && prod(tensor$shape) != prod(s)) {
    stop(sprintf("reshape(): cannot reshape a tensor of %d values (shape %s) into shape %s",
                 as.integer(prod(tensor$shape)), shape_text(tensor$shape), shape_text(s)), call. = FALSE)
  }
  add_node(tensor$trace, "reshape", list(tensor), list(shape = I(s)),
           list(list(dtype = tensor$dtype, shape = out)))[[1]]
}

tf_one_hot <- function(indices, depth, on_value = 1, off_value = 0, axis = NULL, dtype = NULL, name = NULL) {
  if (is_backend_arg(indices)) {
    if (!is.null(axis) && axis != -1) stop("one_hot(): only axis = -1 is supported", call. = FALSE)
    return(record_op("one_hot", list(indices), list(depth = as.integer(depth), on_value = as.numeric(on_value),
                                                    off_value = as.numeric(off_value),
                                                    dtype = if (is.null(dtype)) "float32" else as_dtype_name(dtype)),
                     fn = "tf$one_hot"))
  }
  check_tensor(indices, "one_hot")
  if (!indices$dtype %in% c("int32", "int64", "uint8"))
    stop("one_hot(): indices must be integers (use tf$cast(x, tf$int32)), got ", indices$dtype, call. = FALSE)
  if (!is.null(axis) && axis != -1) stop("one_hot(): only axis = -1 is supported", call. = FALSE)
  if (!is.null(dtype) && as_dtype_name(dtype) != "float32")
    stop("one_hot(): only dtype tf$float32 is supported", call. = FALSE)
  depth <- as.integer(depth)
  add_node(indices$trace, "one_hot", list(indices),
           list(depth = depth, on_value = as.numeric(on_value), off_value = as.numeric(off_value)),
           list(list(dtype = "float32", shape = c(indices$shape, depth))))[[1]]
}

tf_identity <- function(input, name = NULL) {
  check_tensor(input, "identity")
  input
}

tf_expand_dims <- function(input, axis, name = NULL) {
  if (is_backend_arg(input)) return(record_op("expand_dims", list(input), list(axis = as.integer(axis)), fn = "tf$expand_dims"))
  check_tensor(input, "expand_dims")
  s <- input$shape
  axis <- as.integer(axis)
  if (axis < 0) axis <- length(s) + 1L + axis
  new <- append(s, 1L, after = axis)
  tf_reshape(input, new)
}

tf_squeeze <- function(input, axis = NULL, name = NULL) {
  if (is_backend_arg(input))
    return(record_op("squeeze", list(input), list(axis = if (is.null(axis)) NULL else I(as.integer(axis))), fn = "tf$squeeze"))
  check_tensor(input, "squeeze")
  s <- input$shape
  drop <- if (is.null(axis)) which(!is.na(s) & s == 1L) else {
    a <- as.integer(axis); a[a < 0] <- length(s) + a[a < 0]; a + 1L
  }
  if (any(is.na(s[drop]) | s[drop] != 1L)) stop("squeeze(): can only remove dimensions of size 1", call. = FALSE)
  tf_reshape(input, if (length(drop)) s[-drop] else s)
}

tf_module <- function(...) structure(list(...), class = "kerasnative_tf_module")

#' @export
`$.kerasnative_tf_module` <- function(x, name) {
  v <- .subset2(x, name)
  if (is.null(v)) {
    stop("tf$", name, " is not available in kerasnative (no TensorFlow); available: ",
         paste(sort(names(x)), collapse = ", "), call. = FALSE)
  }
  v
}

#' @export
print.kerasnative_tf_module <- function(x, ...) {
  cat("<kerasnative tf module:", paste(sort(names(x)), collapse = ", "), ">\n")
  invisible(x)
}

#' @export
names.kerasnative_tf_module <- function(x) names(unclass(x))


make_tf <- function() {
  io <- tf_module(parse_single_example = tf_parse_single_example, FixedLenFeature = tf_FixedLenFeature,
                  VarLenFeature = tf_VarLenFeature, decode_raw = tf_decode_raw)
  sparse <- tf_module(to_dense = function(sp_input, default_value = NULL, ...) tf_identity(sp_input))
  data <- tf_module(AUTOTUNE = -1L, experimental = tf_module(AUTOTUNE = -1L))
  math <- tf_module(add = function(x, y, name = NULL) x + y, subtract = function(x, y, name = NULL) x - y,
                    multiply = function(x, y, name = NULL) x * y, divide = function(x, y, name = NULL) x / y)
  tf_module(
    float32 = new_dtype("float32"), int32 = new_dtype("int32"), int64 = new_dtype("int64"),
    uint8 = new_dtype("uint8"), string = new_dtype("string"), bool = new_dtype("bool"),
    io = io, sparse = sparse, data = data, math = math,
    train = tf_train_module(),
    contrib = tf_contrib_module(),
    layers = tf_layers_module(), nn = tf_nn_module(), losses = tf_losses_module(),
    metrics = tf_module(accuracy = tf_metrics_accuracy), estimator = tf_estimator_module(), argmax = tf_argmax,
    parse_single_example = tf_parse_single_example, FixedLenFeature = tf_FixedLenFeature,
    VarLenFeature = tf_VarLenFeature, decode_raw = tf_decode_raw,
    cast = tf_cast, reshape = tf_reshape, one_hot = tf_one_hot, identity = tf_identity,
    expand_dims = tf_expand_dims, squeeze = tf_squeeze,
    sparse_tensor_to_dense = function(sp_input, default_value = NULL, ...) tf_identity(sp_input),
    add = math$add, subtract = math$subtract, multiply = math$multiply, divide = math$divide
  )
}

#' TensorFlow-style functions for dataset pipelines
#'
#' `tf` mimics the part of the TensorFlow API used inside
#' [dataset_map()] functions, so that tfdatasets code runs unchanged:
#' `tf$io$parse_single_example()` (also `tf$parse_single_example()`),
#' `tf$io$FixedLenFeature(shape, dtype, default_value = NULL)`,
#' `tf$io$VarLenFeature(dtype)` (parsed to a dense 1-D tensor holding the
#' values; such tensors cannot be batched unless every record has the same
#' number of values), `tf$io$decode_raw(bytes, out_type, little_endian = TRUE)`
#' (also `tf$decode_raw()`), `tf$cast()`, `tf$reshape()`,
#' `tf$one_hot(indices, depth, on_value, off_value)`, `tf$expand_dims()`,
#' `tf$squeeze()`, `tf$identity()`, `tf$sparse$to_dense()` (identity),
#' arithmetic `+ - * /` between tensors and numbers, and the dtypes
#' `tf$float32`, `tf$int32`, `tf$int64`, `tf$uint8`, `tf$string`.
#' `tf$data$AUTOTUNE` (= -1) asks for one worker per engine thread ([kn_threads()]).
#'
#' The map function runs once on symbolic tensors; the recorded operations
#' then run natively for every element. Integer division and arithmetic with
#' a non-integer number give float32; there is no float64.
#'
#' @format An object of class `kerasnative_tf_module`.
#' @examples
#' tf$float32
#' parse <- function(record) {
#'   f <- tf$io$parse_single_example(record, list(
#'     x = tf$io$FixedLenFeature(shape(2), tf$float32),
#'     y = tf$io$FixedLenFeature(shape(), tf$int64)))
#'   list(f$x * 2, tf$one_hot(tf$cast(f$y, tf$int32), 3L))
#' }
#' path <- tempfile(fileext = ".tfrecord")
#' write_tfrecord(list(x = matrix(c(1, 2, 3, 4), 2), y = c(0L, 2L)), path)
#' ds <- tfrecord_dataset(path) %>% dataset_map(parse)
#' ds
#' iter_next(as_iterator(ds))
#' @export
tf <- make_tf()
