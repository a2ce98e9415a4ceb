# Datasets: S3 objects describing a pipeline (spec = nested list; structure =
# the element's nested list of component specs). The native pipeline is built
# from the spec when a dataset is iterated or passed to fit()/evaluate()/predict().

# ---------------------------------------------------------------- objects

tspec <- function(dtype, shape) structure(list(dtype = dtype, shape = as.integer(shape)), class = "kn_tspec")
is_tspec <- function(x) inherits(x, "kn_tspec")

new_dataset <- function(spec, structure, class_name) {
  structure(list(spec = spec, structure = structure, class_name = class_name),
            class = c("kerasnative_dataset", paste0("kerasnative_", tolower(class_name))))
}

check_dataset <- function(x, fn) {
  if (!is_dataset(x)) stop(fn, "(): `dataset` must be a dataset (e.g. from tfrecord_dataset()), got ",
                           class(x)[1], call. = FALSE)
  x
}

derive_dataset <- function(dataset, op, params, class_name, structure = dataset$structure) {
  spec <- c(list(op = op, input = dataset$spec), params)
  new_dataset(spec, structure, class_name)
}

# Flat list of leaf specs (depth first) and the same structure with leaves
# replaced by `f(leaf, index)`.
flatten_structure <- function(s) {
  if (is_tspec(s)) return(list(s))
  do.call(c, lapply(s, flatten_structure))
}
map_structure <- function(s, f) {
  k <- 0L
  walk <- function(x) {
    if (is_tspec(x) || is_sym(x)) { k <<- k + 1L; return(f(x, k)) }
    out <- lapply(x, walk)
    names(out) <- names(x)
    out
  }
  walk(s)
}

count_int <- function(x, what, allow_null = FALSE, min = 0) {
  if (allow_null && is.null(x)) return(-1L)
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || x < min || !is.finite(x) || x != round(x) ||
      x > .Machine$integer.max)
    stop("`", what, "` must be a whole number >= ", min, " (at most ", .Machine$integer.max, "), got ",
         arg_text(x), call. = FALSE)
  if (x == -1) return(-1L)
  as.integer(x)
}

# ---------------------------------------------------------------- printing

dataset_shapes_text <- function(s, what = c("shape", "type")) {
  what <- match.arg(what)
  leaf <- function(x) if (what == "shape") shape_text(x$shape) else paste0("tf.", x$dtype)
  walk <- function(x) {
    if (is_tspec(x)) return(leaf(x))
    parts <- vapply(x, walk, character(1))
    nm <- names(x)
    if (!is.null(nm)) parts <- ifelse(nzchar(nm), paste0(nm, ": ", parts), parts)
    paste0("(", paste(parts, collapse = ", "), ")")
  }
  walk(s)
}

#' @export
format.kerasnative_dataset <- function(x, ...) {
  sprintf("<%s shapes: %s, types: %s>", x$class_name, dataset_shapes_text(x$structure, "shape"),
          dataset_shapes_text(x$structure, "type"))
}

#' @export
print.kerasnative_dataset <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

#' Element structure of a dataset
#'
#' @param dataset A dataset.
#' @return `output_shapes()`: the element structure with each component
#'   replaced by its shape (integer vector, `NA` = unknown, e.g. the batch
#'   dimension); `output_types()`: the same with dtype names.
#' @examples
#' ds <- tensor_slices_dataset(list(x = matrix(1:6, 3), y = 1:3)) %>% dataset_batch(2)
#' output_shapes(ds)
#' output_types(ds)
#' @export
output_shapes <- function(dataset) {
  map_structure(check_dataset(dataset, "output_shapes")$structure, function(l, k) l$shape)
}

#' @rdname output_shapes
#' @export
output_types <- function(dataset) {
  map_structure(check_dataset(dataset, "output_types")$structure, function(l, k) l$dtype)
}

# ---------------------------------------------------------------- sources

# R array -> list(dtype, shape, values) with values flat row-major
r_component <- function(x, what) {
  if (is.factor(x)) x <- as.character(x)
  d <- dim(x)
  if (is.null(d)) d <- length(x)
  dtype <- if (is.double(x)) "float32" else if (is.integer(x) || is.logical(x)) "int32"
           else if (is.character(x)) "string" else if (is.raw(x)) "uint8"
           else stop("`", what, "` must be numeric, integer, logical, character or raw, not ",
                     class(x)[1], call. = FALSE)
  if (anyNA(x)) stop("`", what, "` contains NA values", call. = FALSE)
  vals <- if (length(d) > 1) as.vector(aperm(x, rev(seq_along(d)))) else as.vector(x)
  if (is.logical(vals)) vals <- as.integer(vals)
  list(dtype = dtype, shape = as.numeric(d), values = vals)
}

#' Create a dataset from in-memory arrays
#'
#' Each element is one slice along the first dimension of every array (a
#' vector gives scalars, a matrix its rows, ...). Doubles become `float32`,
#' integers and logicals `int32`, character `string`, raw `uint8`.
#'
#' @param tensors An array or vector, or a (nested, possibly named) list of
#'   them, all with the same first dimension.
#' @return A dataset.
#' @examples
#' ds <- tensor_slices_dataset(list(x = matrix(1:6, ncol = 2), y = c(0, 1, 1)))
#' ds
#' iterate(ds)[[1]]
#' @export
tensor_slices_dataset <- function(tensors) {
  comps <- list()
  walk <- function(x, what) {
    if (is.data.frame(x)) x <- as.list(x)
    if (is.list(x)) {
      out <- lapply(seq_along(x), function(k) walk(x[[k]], paste0(what, "[[", k, "]]")))
      names(out) <- names(x)
      return(out)
    }
    c <- r_component(x, what)
    comps[[length(comps) + 1]] <<- c
    tspec(c$dtype, c$shape[-1])
  }
  structure <- walk(tensors, "tensors")
  if (!length(comps)) stop("tensor_slices_dataset(): `tensors` is empty", call. = FALSE)
  n <- vapply(comps, function(c) c$shape[1], numeric(1))
  if (any(n != n[1]))
    stop("tensor_slices_dataset(): all arrays must have the same first dimension, got ",
         paste(n, collapse = ", "), call. = FALSE)
  new_dataset(list(op = "tensor_slices", data = structure(comps, class = "kn_slices")), structure,
              "TensorSliceDataset")
}

# ---------------------------------------------------------------- transformations

#' Transform, shuffle, repeat, batch and prefetch datasets
#'
#' The tfdatasets verbs. `dataset_map()` calls `map_func` once, with symbolic
#' tensors standing for the element's components (a single tensor, or the
#' element's list; an unnamed list is passed as separate arguments when
#' `map_func` takes that many), and records the [tf] operations it applies;
#' the recorded graph then runs natively for every element, on
#' `num_parallel_calls` worker threads (input order is kept).
#' `dataset_shuffle()` keeps a buffer of `buffer_size` elements and draws
#' from it; it is reshuffled on every pass, reproducibly under [set.seed()]
#' (or fixed by `seed`). `dataset_repeat()` with `count = NULL` repeats
#' forever (use `steps_per_epoch` in [fit()]). `dataset_prefetch()` prepares
#' up to `buffer_size` elements on a background thread while the model trains.
#'
#' @param dataset A dataset.
#' @param map_func A function of the element (see Details).
#' @param num_parallel_calls Number of threads for the map (`NULL` = on the
#'   consumer thread; `tf$data$AUTOTUNE` = [kn_threads()]). The map shares
#'   the engine's thread budget: it never runs more than [kn_threads()]
#'   workers (read when iteration starts), and with one thread it runs on the
#'   consumer thread.
#' @param buffer_size Number of elements to buffer.
#' @param seed Optional integer seed for the shuffle (then the same order on
#'   every pass).
#' @param count Number of elements (take/skip) or repetitions (`NULL` or -1 = all / forever).
#' @param batch_size Number of consecutive elements per batch.
#' @param drop_remainder Drop the last batch if it is smaller than `batch_size`.
#' @param num_shards,index Keep the elements whose position modulo
#'   `num_shards` equals `index` (0-based).
#' @param cycle_length,block_length `dataset_interleave()`: open `cycle_length`
#'   inner datasets at once and take `block_length` elements from each in turn.
#' @return A dataset.
#' @examples
#' ds <- tensor_slices_dataset(1:10) %>%
#'   dataset_map(function(x) x * 2L) %>%
#'   dataset_shuffle(buffer_size = 4, seed = 1) %>%
#'   dataset_batch(3)
#' ds
#' iterate(ds)
#' tensor_slices_dataset(1:10) %>% dataset_skip(2) %>% dataset_take(3) %>% iterate() %>% unlist()
#' tensor_slices_dataset(1:10) %>% dataset_shard(3, 0) %>% iterate() %>% unlist()
#' tensor_slices_dataset(1:3) %>% dataset_repeat(2) %>% dataset_prefetch(2) %>% iterate() %>% unlist()
#' @name dataset_transformations
NULL

#' @rdname dataset_transformations
#' @export
dataset_map <- function(dataset, map_func, num_parallel_calls = NULL) {
  check_dataset(dataset, "dataset_map")
  if (!is.function(map_func)) stop("dataset_map(): `map_func` must be a function", call. = FALSE)
  tr <- new_trace(flatten_structure(dataset$structure))
  arg <- map_structure(dataset$structure, function(l, k) tr$inputs[[k]])
  res <- call_traced(map_func, arg, dataset$structure)
  out <- trace_outputs(res, tr, "dataset_map")
  graph <- map_graph_spec(tr, out$tensors, "dataset_map")
  npc <- if (is.null(num_parallel_calls)) 0L else count_int(num_parallel_calls, "num_parallel_calls", min = -1)
  derive_dataset(dataset, "map", list(graph = graph, num_parallel_calls = npc),
                 if (npc != 0) "ParallelMapDataset" else "MapDataset", out$structure)
}

call_traced <- function(f, arg, structure) {
  n_formals <- length(formals(f))
  has_dots <- "..." %in% names(formals(f))
  if (!is_tspec(structure) && is.null(names(structure)) && length(arg) > 1 &&
      (n_formals >= length(arg) || has_dots)) {
    do.call(f, unname(arg))
  } else {
    f(arg)
  }
}

# Structure of tensors returned by a map function -> output ids + element structure
trace_outputs <- function(res, tr, fn) {
  tensors <- list()
  walk <- function(x) {
    if (is_sym(x)) {
      if (!identical(x$trace, tr)) stop(fn, "(): the function returned a tensor of another dataset", call. = FALSE)
      tensors[[length(tensors) + 1]] <<- x
      return(tspec(tensor_dtype(x), x$shape))
    }
    if (is.list(x) && !is_tensor(x) && length(x)) {
      out <- lapply(x, walk)
      names(out) <- names(x)
      return(out)
    }
    stop(fn, "(): the function must return dataset tensors (results of tf$... operations on its ",
         "argument) or a list of them, got ", class(x)[1], call. = FALSE)
  }
  s <- walk(res)
  list(tensors = tensors, structure = s)
}

#' @rdname dataset_transformations
#' @export
dataset_shuffle <- function(dataset, buffer_size, seed = NULL) {
  check_dataset(dataset, "dataset_shuffle")
  params <- list(buffer_size = count_int(buffer_size, "buffer_size", min = 1))
  if (!is.null(seed)) params$seed <- as.numeric(check_whole(seed, "dataset_shuffle", "seed", min = 0, max = 2^53))
  derive_dataset(dataset, "shuffle", params, "ShuffleDataset")
}

#' @rdname dataset_transformations
#' @export
dataset_repeat <- function(dataset, count = NULL) {
  check_dataset(dataset, "dataset_repeat")
  derive_dataset(dataset, "repeat", list(count = count_int(count, "count", TRUE, min = -1)), "RepeatDataset")
}

#' @rdname dataset_transformations
#' @export
dataset_batch <- function(dataset, batch_size, drop_remainder = FALSE) {
  check_dataset(dataset, "dataset_batch")
  bs <- count_int(batch_size, "batch_size", min = 1)
  check_flag(drop_remainder, "dataset_batch", "drop_remainder")
  s <- map_structure(dataset$structure, function(l, k)
    tspec(l$dtype, c(if (isTRUE(drop_remainder)) bs else NA_integer_, l$shape)))
  derive_dataset(dataset, "batch", list(batch_size = bs, drop_remainder = isTRUE(drop_remainder)),
                 "BatchDataset", s)
}

#' @rdname dataset_transformations
#' @export
dataset_prefetch <- function(dataset, buffer_size = 1) {
  check_dataset(dataset, "dataset_prefetch")
  derive_dataset(dataset, "prefetch", list(buffer_size = count_int(buffer_size, "buffer_size", min = -1)),
                 "PrefetchDataset")
}

#' @rdname dataset_transformations
#' @export
dataset_take <- function(dataset, count) {
  check_dataset(dataset, "dataset_take")
  derive_dataset(dataset, "take", list(count = count_int(count, "count", min = -1)), "TakeDataset")
}

#' @rdname dataset_transformations
#' @export
dataset_skip <- function(dataset, count) {
  check_dataset(dataset, "dataset_skip")
  derive_dataset(dataset, "skip", list(count = count_int(count, "count", min = -1)), "SkipDataset")
}

#' @rdname dataset_transformations
#' @export
dataset_shard <- function(dataset, num_shards, index) {
  check_dataset(dataset, "dataset_shard")
  ns <- count_int(num_shards, "num_shards", min = 1)
  ix <- count_int(index, "index", min = 0)
  if (ix >= ns) stop("dataset_shard(): `index` must be smaller than `num_shards`", call. = FALSE)
  derive_dataset(dataset, "shard", list(num_shards = ns, index = ix), "ShardDataset")
}

#' @rdname dataset_transformations
#' @export
dataset_interleave <- function(dataset, map_func, cycle_length, block_length = 1) {
  check_dataset(dataset, "dataset_interleave")
  check_function(map_func, "dataset_interleave", "map_func")
  tr <- new_trace(flatten_structure(dataset$structure))
  arg <- map_structure(dataset$structure, function(l, k) tr$inputs[[k]])
  old <- trace_state$interleave
  trace_state$interleave <- tr
  on.exit(trace_state$interleave <- old)
  inner <- call_traced(map_func, arg, dataset$structure)
  if (!is_dataset(inner))
    stop("dataset_interleave(): `map_func` must return a dataset, e.g. function(file) tfrecord_dataset(file)",
         call. = FALSE)
  if (tr$n_ops > 0)
    stop("dataset_interleave(): `map_func` may only pass its argument to tfrecord_dataset()", call. = FALSE)
  derive_dataset(dataset, "interleave",
                 list(inner = inner$spec, cycle_length = count_int(cycle_length, "cycle_length", min = 1),
                      block_length = count_int(block_length, "block_length", min = 1)),
                 "InterleaveDataset", inner$structure)
}

# ---------------------------------------------------------------- instantiation

# Native dataset handle for a spec: tensor_slices data are pulled out of the
# spec into a separate list (referenced by index), the rest goes as JSON.
dataset_handle <- function(dataset) {
  slices <- list()
  walk <- function(s) {
    if (is.list(s) && inherits(s$data, "kn_slices")) {
      slices[[length(slices) + 1]] <<- unclass(s$data)
      s$data <- length(slices) - 1L
    }
    for (k in c("input", "inner")) if (!is.null(s[[k]])) s[[k]] <- walk(s[[k]])
    s
  }
  spec <- walk(dataset$spec)
  json <- jsonlite::toJSON(spec, auto_unbox = TRUE, digits = NA, null = "null")
  cpp_dataset_new(as.character(json), slices)
}

dataset_has_op <- function(spec, op) {
  while (!is.null(spec)) {
    if (identical(spec$op, op)) return(TRUE)
    spec <- spec$input
  }
  FALSE
}

# Does the pipeline repeat forever (so a pass never ends)?
dataset_infinite <- function(dataset) {
  s <- dataset$spec
  while (!is.null(s)) {
    if (identical(s$op, "take") && s$count >= 0) return(FALSE)
    if (identical(s$op, "repeat") && s$count < 0) return(TRUE)
    s <- s$input
  }
  FALSE
}

# ---------------------------------------------------------------- iteration

#' Iterate over the elements of a dataset
#'
#' `as_iterator()` (alias `make_iterator_one_shot()`) starts the native
#' pipeline; `iter_next()` returns the next element as R arrays (the
#' element's structure, each component an array with the batch dimension
#' first; int64 as double, string as character, or as a list of raw vectors
#' when the bytes contain NUL), or `completed` at the end.
#' `iterate()` applies `f` to every remaining element and returns the
#' results as a list. Shuffles are seeded from R's random number generator
#' when the iterator is created. Errors in the data (corrupt records,
#' missing features, ...) are raised as R errors naming file, record and
#' byte offset.
#'
#' @param x,dataset A dataset.
#' @param it An iterator (or, for `iterate()`, a dataset).
#' @param completed Value returned when the iterator is exhausted.
#' @param f A function of one element; `NULL` = identity.
#' @param simplify Unused (kept for tfdatasets compatibility).
#' @return `as_iterator()`: an iterator; `iter_next()`: an element or
#'   `completed`; `iterate()`: a list.
#' @examples
#' it <- as_iterator(tensor_slices_dataset(list(a = 1:3, b = c("x", "y", "z"))))
#' iter_next(it)
#' iterate(it, function(el) el$b)
#' iter_next(it)
#' @export
as_iterator <- function(x) {
  check_dataset(x, "as_iterator")
  h <- dataset_handle(x)
  structure(list(ptr = cpp_dataset_iterator(h, r_seed()), structure = x$structure),
            class = "kerasnative_iterator")
}

#' @rdname as_iterator
#' @export
make_iterator_one_shot <- function(dataset) as_iterator(dataset)

#' @rdname as_iterator
#' @export
iter_next <- function(it, completed = NULL) {
  if (!inherits(it, "kerasnative_iterator")) stop("iter_next(): `it` must come from as_iterator()", call. = FALSE)
  comps <- tryCatch(cpp_iterator_next(it$ptr), error = function(e) stop(conditionMessage(e), call. = FALSE))
  if (is.null(comps)) return(completed)
  map_structure(it$structure, function(l, k) component_to_r(comps[[k]]))
}

#' @rdname as_iterator
#' @export
iterate <- function(it, f = NULL, simplify = TRUE) {
  check_function(f, "iterate", "f", null_ok = TRUE)
  if (is_dataset(it)) it <- as_iterator(it)
  out <- list()
  done <- new.env()
  repeat {
    el <- iter_next(it, completed = done)
    if (identical(el, done)) break
    out[[length(out) + 1]] <- if (is.null(f)) el else f(el)
  }
  out
}

#' @export
print.kerasnative_iterator <- function(x, ...) {
  cat("<iterator over elements with shapes: ", dataset_shapes_text(x$structure, "shape"), ">\n", sep = "")
  invisible(x)
}

component_to_r <- function(c) {
  v <- c$values
  s <- c$shape
  if (length(s) <= 1) return(v)
  a <- array(v, dim = rev(s))
  aperm(a, rev(seq_along(s)))
}

# ---------------------------------------------------------------- fit / evaluate / predict

# Flat component indices (0-based) of x, y and sample weights in an element.
dataset_roles <- function(dataset, fn, need_y = TRUE, n_inputs = 1L) {
  s <- dataset$structure
  idx <- map_structure(s, function(l, k) k - 1L)
  batched <- all(vapply(flatten_structure(s), function(l) length(l$shape) >= 1, logical(1))) &&
    dataset_has_op(dataset$spec, "batch")
  if (!batched)
    stop(fn, "(): the dataset's elements are not batched; add dataset_batch() (elements are ",
         dataset_shapes_text(s), ")", call. = FALSE)
  if (!is_tspec(s) && length(s) %in% c(2, 3)) {  # list(x, y[, w]), named or not
    x <- unlist(idx[[1]])
    if (need_y) return(list(x = x, y = unlist(idx[[2]]), w = if (length(s) == 3) unlist(idx[[3]]) else -1L))
    if (length(x) == n_inputs) return(list(x = x, y = integer(0), w = -1L))
  }
  if (!need_y) {
    all_idx <- unlist(idx)
    if (length(all_idx) == n_inputs) return(list(x = all_idx, y = integer(0), w = -1L))
  }
  stop(fn, "(): dataset elements must be list(x, y) or list(x, y, sample_weight); got ",
       dataset_shapes_text(s), call. = FALSE)
}

model_n_inputs <- function(object) length(cpp_model_nodes(model_ptr(object))$model_inputs)

fit_plan_dataset <- function(object, dataset, steps_per_epoch, validation_data, validation_steps) {
  ptr <- model_ptr(object)
  roles <- dataset_roles(dataset, "fit")
  steps <- if (!is.null(steps_per_epoch)) count_int(steps_per_epoch, "steps_per_epoch", min = 1)
  if (is.null(steps) && dataset_infinite(dataset))
    stop("fit(): the dataset repeats forever; give `steps_per_epoch`", call. = FALSE)
  handle <- dataset_handle(dataset)
  it <- NULL
  known <- steps
  val <- NULL
  if (!is.null(validation_data)) {
    if (is_dataset(validation_data)) {
      vroles <- dataset_roles(validation_data, "fit")
      vsteps <- if (!is.null(validation_steps)) count_int(validation_steps, "validation_steps", min = 1) else -1
      if (vsteps < 0 && dataset_infinite(validation_data))
        stop("fit(): the validation dataset repeats forever; give `validation_steps`", call. = FALSE)
      vhandle <- dataset_handle(validation_data)
      val <- function(hook = NULL) {
        vit <- cpp_dataset_iterator(vhandle, r_seed())
        on.exit(cpp_iterator_close(vit))
        cpp_dataset_evaluate(ptr, vit, vroles$x, vroles$y, vroles$w, vsteps, 0L, FALSE, hook)
      }
    } else {
      vx <- validation_data[[1]]; vy <- validation_data[[2]]
      vw <- if (length(validation_data) > 2) validation_data[[3]] else NULL
      vdata <- model_data(object, vx, vy, vw, "validation_data")
      val <- function(hook = NULL) cpp_model_evaluate(ptr, vdata, 32L, 0L, FALSE, hook)
    }
  }
  list(
    batch_size = NULL, samples = NULL, steps = steps, validation_samples = NULL,
    run_epoch = function(seed, verbose, dynamic, hook = NULL) {
      if (is.null(steps) || is.null(it)) {
        if (!is.null(it)) cpp_iterator_close(it)
        it <<- cpp_dataset_iterator(handle, seed)
      }
      res <- tryCatch(
        cpp_dataset_fit_epoch(ptr, it, roles$x, roles$y, roles$w, if (is.null(steps)) -1 else steps,
                              known %||% 0, seed, verbose, dynamic, hook),
        error = function(e) stop(conditionMessage(e), call. = FALSE))
      if (is.null(steps)) {
        if (res$batches == 0) stop("fit(): the dataset produced no batches", call. = FALSE)
        known <<- res$batches
      } else if (res$exhausted) {
        warning(sprintf(paste0("Your input ran out of data after %d of %d steps; interrupting training. ",
                               "Make sure the dataset can generate at least steps_per_epoch * epochs ",
                               "batches (use dataset_repeat())."), as.integer(res$batches), steps),
                call. = FALSE)
        res$stopped <- TRUE
      }
      res
    },
    validate = val
  )
}

evaluate_dataset <- function(object, dataset, steps, verbose, hook = NULL) {
  roles <- dataset_roles(dataset, "evaluate")
  st <- if (!is.null(steps)) count_int(steps, "steps", min = 1) else -1
  if (st < 0 && dataset_infinite(dataset))
    stop("evaluate(): the dataset repeats forever; give `steps`", call. = FALSE)
  it <- cpp_dataset_iterator(dataset_handle(dataset), r_seed())
  on.exit(cpp_iterator_close(it))
  tryCatch(cpp_dataset_evaluate(model_ptr(object), it, roles$x, roles$y, roles$w, st,
                                as.integer(verbose), dynamic_display(), hook),
           error = function(e) stop(conditionMessage(e), call. = FALSE))
}

predict_dataset <- function(object, dataset, steps, verbose, hook = NULL) {
  roles <- dataset_roles(dataset, "predict", need_y = FALSE, n_inputs = model_n_inputs(object))
  st <- if (!is.null(steps)) count_int(steps, "steps", min = 1) else -1
  if (st < 0 && dataset_infinite(dataset))
    stop("predict(): the dataset repeats forever; give `steps`", call. = FALSE)
  it <- cpp_dataset_iterator(dataset_handle(dataset), r_seed())
  on.exit(cpp_iterator_close(it))
  out <- tryCatch(cpp_dataset_predict(model_ptr(object), it, roles$x, st, as.integer(verbose), dynamic_display(), hook),
                  error = function(e) stop(conditionMessage(e), call. = FALSE))
  if (length(out) == 1) out[[1]] else out
}
