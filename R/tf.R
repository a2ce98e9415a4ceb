# The `tf` object: the subset of the TensorFlow API that dataset_map()
# functions use (parsing Examples, decoding, casting, reshaping, one-hot,
# arithmetic). Every tf$... call records an op of the engine's op table on
# the one tensor class (R/tensor.R): on model tensors it is a model op, on the
# tensors of a dataset element (inside dataset_map()) an op of the map graph
# that the C++ pipeline runs for every element on its worker threads. Shapes
# and dtypes come from the op table (cpp_op_infer); no rule is written here.
#
# Extending `tf`: make_tf() builds it in one place. Another file can attach a
# sub-namespace `tf$<name>` by defining a function `tf_module_<name>` that
# returns a tf_module(...) (files R/tf-*.R are collated before R/tf.R).

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

# ---------------------------------------------------------------- dataset tensors

trace_state <- new.env(parent = emptyenv())

# A fresh map trace whose inputs are the element's flat components: tensors of
# kind "data" (unbatched, full shape) of the one tensor class.
new_trace <- function(input_specs) {
  tr <- new.env(parent = emptyenv())
  tr$n_inputs <- length(input_specs)
  tr$n_ops <- 0L
  tr$inputs <- lapply(seq_along(input_specs), function(k)
    structure(list(kind = "data", trace = tr, index = k - 1L, dtype = input_specs[[k]]$dtype,
                   shape = as_shape(input_specs[[k]]$shape), batched = FALSE, id = new_tensor_id()),
              class = tensor_class))
  tr
}

# A tensor computed from a dataset element (inside dataset_map()).
is_sym <- function(x) is_tensor(x) && !is.null(.subset2(x, "trace"))

# The map graph of `tr` computing `outs` (tensors), as the JSON-ready list the
# C++ pipeline builds its executor from (src/data/map_graph.cpp).
map_graph_spec <- function(tr, outs, fn) {
  ids <- new.env(parent = emptyenv())
  nodes <- list()
  nxt <- tr$n_inputs
  visit <- function(t) {
    if (tensor_kind(t) == "eager") t <- constant_op(t)
    if (tensor_kind(t) == "data") {
      if (!identical(t$trace, tr)) stop(fn, "(): the function used a tensor of another dataset", call. = FALSE)
      return(t$index)
    }
    if (tensor_kind(t) != "op") stop(fn, "(): model tensors cannot be used in a dataset pipeline", call. = FALSE)
    key <- as.character(t$node_id %||% t$id)
    if (!exists(key, envir = ids, inherits = FALSE)) {
      in_ids <- vapply(t$inputs, visit, numeric(1))
      node <- list(op = t$op, inputs = I(as.integer(in_ids)), attrs = t$attrs)
      if (!is.null(t$value)) {
        node$value <- I(as.numeric(t$value))
        node$value_shape <- I(as.integer(t$value_shape))
      }
      nodes[[length(nodes) + 1]] <<- node
      assign(key, nxt, envir = ids)
      nxt <<- nxt + (t$n_out %||% 1L)
    }
    get(key, envir = ids) + (t$output %||% 0L)
  }
  out_ids <- vapply(outs, visit, numeric(1))
  types <- lapply(tr$inputs, function(t) {
    s <- t$shape
    s[is.na(s)] <- -1L
    list(dtype = t$dtype, shape = I(as.integer(s)))
  })
  list(inputs = types, nodes = nodes, outputs = I(as.integer(out_ids)))
}

check_tensor <- function(x, fn) {
  if (!is_tensor(x))
    stop("tf$", fn, "(): expected a tensor, got ", class(x)[1], call. = FALSE)
  x
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
  if (!is.list(features) || is.null(names(features)) || any(!nzchar(names(features))))
    stop("parse_single_example(): `features` must be a named list of tf$io$FixedLenFeature() / ",
         "tf$io$VarLenFeature()", call. = FALSE)
  specs <- lapply(names(features), function(key) {
    f <- features[[key]]
    if (!inherits(f, "kerasnative_feature"))
      stop("parse_single_example(): feature '", key, "' is not a FixedLenFeature/VarLenFeature", call. = FALSE)
    s <- list(key = key, dtype = f$dtype, shape = I(as.integer(f$shape)), varlen = f$kind == "varlen")
    if (!is.null(f$default_value))
      s$default <- if (f$dtype == "string") I(as.character(f$default_value)) else I(as.numeric(f$default_value))
    s
  })
  outs <- record_multi_op("parse_example", list(serialized), list(features = specs),
                          fn = "tf$io$parse_single_example")
  names(outs) <- names(features)
  outs
}

tf_decode_raw <- function(input_bytes, out_type, little_endian = TRUE, name = NULL, bytes = NULL) {
  if (missing(input_bytes) && !is.null(bytes)) input_bytes <- bytes
  check_tensor(input_bytes, "decode_raw")
  record_op("decode_raw", list(input_bytes), list(dtype = as_dtype_name(out_type, "out_type"),
                                                  little_endian = isTRUE(little_endian)),
            fn = "tf$io$decode_raw")
}

tf_cast <- function(x, dtype, name = NULL)
  record_op("cast", list(x), list(dtype = as_dtype_name(dtype)), fn = "tf$cast")

tf_reshape <- function(tensor, shape, name = NULL) {
  # model tensors (not dataset-map tensors, which carry a trace): keep a fixed batch dimension unknown
  if (is_tensor(tensor) && is.null(.subset2(tensor, "trace"))) return(tf_backend_reshape(tensor, shape))
  s <- vapply(as.list(unclass(shape)), function(d)
    if (is.null(d) || is.na(d) || d < 0) -1L else as.integer(d), integer(1))
  record_op("reshape", list(tensor), list(shape = I(s)), fn = "tf$reshape")
}

tf_one_hot <- function(indices, depth, on_value = 1, off_value = 0, axis = NULL, dtype = NULL, name = NULL) {
  if (!is.null(axis) && axis != -1) stop("tf$one_hot(): only axis = -1 is supported", call. = FALSE)
  record_op("one_hot", list(indices), list(depth = as.integer(depth), on_value = as.numeric(on_value),
                                           off_value = as.numeric(off_value),
                                           dtype = if (is.null(dtype)) "float32" else as_dtype_name(dtype)),
            fn = "tf$one_hot")
}

tf_identity <- function(input, name = NULL) record_op("identity", list(input), fn = "tf$identity")

# tf axes are 0-based.
tf_expand_dims <- function(input, axis, name = NULL)
  record_op("expand_dims", list(input), list(axis = as.integer(axis)), fn = "tf$expand_dims")

tf_squeeze <- function(input, axis = NULL, name = NULL)
  record_op("squeeze", list(input), list(axis = if (is.null(axis)) NULL else I(as.integer(axis))), fn = "tf$squeeze")

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
  extra <- ls(environment(make_tf), pattern = "^tf_module_.")
  extra <- stats::setNames(lapply(extra, function(f) get(f, envir = environment(make_tf))()),
                           sub("^tf_module_", "", extra))
  members <- list(
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
  members[names(extra)] <- extra
  do.call(tf_module, members)
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
#' The map function runs once on symbolic tensors (the same tensor class as
#' model tensors); the recorded operations, ops of the engine's op table, then
#' run natively for every element on the pipeline's threads. Besides the `tf`
#' functions, every `k_*` backend function, the arithmetic and comparison
#' operators and `[` slicing work on dataset tensors; shapes and dtypes are
#' inferred by the op table while tracing. Whole numbers next to an integer
#' tensor keep its dtype (`x * 2L`); division gives float32; there is no
#' float64. Parsing, `decode_raw()`, `cast()` and reshaping keep 64-bit
#' integers exactly; other operations compute in float32 and stop with an
#' error on integers beyond 2^24.
#'
#' Other files may add a sub-namespace `tf$<name>` by defining a function
#' `tf_module_<name>()` that returns a `tf_module(...)`.
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
