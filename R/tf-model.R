# Keras models wired to input tensors (TF1 style): layer_input(tensor = ),
# keras_model() over such inputs, compile(target_tensors = ) and fit() with
# no `x`, fed from the queue behind the tensors.

# layer_input(tensor = t): `t` (a queue output, or ops recorded on one) is the
# model's input; keras_model() traces back to the queue tensors.
input_from_tensor <- function(tensor, batch_shape, shape, name) {
  if (!is_tensor(tensor) || tensor_kind(tensor) %in% c("eager", "node"))
    stop("layer_input(): `tensor` must be a symbolic tensor (e.g. from tf$train$shuffle_batch()), not ",
         if (is_tensor(tensor)) "an eager value" else class(tensor)[1], call. = FALSE)
  if (!tensor_batched(tensor) || anyNA(tensor$shape))
    stop("layer_input(): `tensor` needs a batch dimension and a known per-sample shape, got ",
         shape_text(tensor_full_shape(tensor)), call. = FALSE)
  have <- tensor_shape_object(tensor)$dims
  want <- if (!is.null(batch_shape)) vapply(as.list(batch_shape), function(d) if (is.null(d)) NA_integer_ else as.integer(d), 1L)
          else if (!is.null(shape)) c(NA_integer_, as.integer(unlist(shape)))
  if (!is.null(want)) {
    ok <- length(want) == length(have) && all(is.na(want) | is.na(have) | want == have)
    if (!ok) stop(sprintf("layer_input(): `tensor` has shape %s but %s is %s", shape_text(have),
                          if (!is.null(batch_shape)) "`batch_shape`" else "`shape`", shape_text(want)), call. = FALSE)
  }
  tensor
}

# Input tensors of keras_model(): a tensor computed from queue tensors is
# replaced by those queue tensors (the ops in between join the model graph).
expand_tensor_inputs <- function(inputs) {
  out <- list()
  seen <- character(0)
  roots <- function(t) {
    k <- tensor_kind(t)
    if (k == "input") {
      if (!as.character(t$id) %in% seen) { seen <<- c(seen, as.character(t$id)); out[[length(out) + 1]] <<- t }
    } else if (k == "op") {
      for (s in t$inputs) roots(s)
    } else if (k == "layer") {
      stop("keras_model(): an input tensor must come from layer_input() (it cannot be computed by layers)",
           call. = FALSE)
    }
  }
  for (t in inputs) roots(t)
  out
}

# Remember which queue feeds which graph input (fit() with no `x`).
attach_queue_feed <- function(model, inputs) {
  qs <- Filter(Negate(is.null), lapply(inputs, function(t) t$queue))
  if (!length(qs)) return(invisible(model))
  q <- qs[[1]]
  for (o in qs) if (!identical(o, q))
    stop("keras_model(): the input tensors come from more than one input queue", call. = FALSE)
  comp <- vapply(inputs, function(t) {
    if (is.null(t$queue))
      stop("keras_model(): input '", t$input_name, "' is not fed by the model's input queue; every input ",
           "must come from the same tf$train queue", call. = FALSE)
    t$component
  }, integer(1))
  assign("queue_feed", list(queue = q, comp = comp), envir = model)
  invisible(model)
}

# The R loss function of a compile() loss spec (native names included).
loss_function_of <- function(spec) {
  if (!is.null(spec$fn)) return(spec$fn)
  full <- if (spec$name %in% names(loss_aliases)) loss_aliases[[spec$name]] else spec$name
  get(paste0("loss_", full), envir = asNamespace("kerasnative"))
}

# Keras's choice of accuracy for a loss.
accuracy_function_of <- function(loss_name) {
  switch(loss_name,
    binary_crossentropy = metric_binary_accuracy,
    sparse_categorical_crossentropy = metric_sparse_categorical_accuracy,
    metric_categorical_accuracy)
}

# compile(target_tensors = ): losses and metrics traced on the target tensors
# (ops on queue inputs) instead of fed y_true placeholders.
compile_with_target_tensors <- function(object, opt, loss_specs, met, lw, target_tensors) {
  ptr <- model_ptr(object)
  feed <- .subset2(object, "queue_feed")
  if (is.null(feed))
    stop("compile(): `target_tensors` needs a model whose inputs come from an input queue ",
         "(layer_input(tensor = ...))", call. = FALSE)
  if (is_tensor(target_tensors)) target_tensors <- list(target_tensors)
  nodes <- cpp_model_nodes(ptr)
  outs <- nodes$model_outputs
  if (!is.list(target_tensors) || length(target_tensors) != length(outs) ||
      !all(vapply(target_tensors, is_tensor, logical(1))))
    stop(sprintf("compile(): `target_tensors` must hold one tensor per model output (%d)", length(outs)), call. = FALSE)
  cpp_model_clear_graph_terms(ptr)
  cpp_model_compile(ptr, "graph", lw, FALSE, .subset2(opt, "class_name"), to_json(.subset2(opt, "config")))
  model_ids <- .subset2(object, "tensor_nodes")
  in_ids <- nodes$model_inputs
  # queue tensors the targets need that are not model inputs yet become inputs
  visit <- function(t) {
    if (tensor_kind(t) != "input" || is.null(t$queue) || !identical(t$queue, feed$queue))
      stop("compile(): `target_tensors` must be computed from tensors of the model's input queue", call. = FALSE)
    id <- cpp_model_add_input(ptr, t$shape, t$input_name, tensor_fixed_batch(t) %|na|% -1)
    in_ids <<- c(in_ids, id)
    feed$comp <<- c(feed$comp, t$component)
    assign(as.character(t$id), id, envir = model_ids)
    id
  }
  no_visit <- function(t) stop("the function uses tensors that are not y_true, y_pred or constants", call. = FALSE)
  for (k in seq_along(outs)) {
    yt_id <- add_tensor_ops(ptr, target_tensors[[k]], model_ids, visit)
    cpp_model_set_io(ptr, as.integer(in_ids), as.integer(outs))
    y_true <- node_tensor(ptr, yt_id)
    y_pred <- node_tensor(ptr, outs[k])
    spec <- loss_specs[[if (length(loss_specs) == 1) 1 else k]]
    term <- function(scope, f) {
      v <- tryCatch(with_op_scope(scope, f(y_true, y_pred)),
                    error = function(e) stop("compile(): ", scope, ": ", conditionMessage(e), call. = FALSE))
      add_tensor_ops(ptr, as_tensor_arg(v), new.env(parent = emptyenv()), no_visit, loss = TRUE)
    }
    cpp_model_set_graph_loss(ptr, k - 1L, term("loss", loss_function_of(spec)))
    pre <- if (length(outs) > 1) paste0(nodes$name[outs[k] + 1], "_") else ""
    if (met$acc) cpp_model_add_graph_metric(ptr, paste0(pre, "acc"), term(paste0(pre, "acc"), accuracy_function_of(spec$name)))
    for (nm in names(met$fns)) cpp_model_add_graph_metric(ptr, paste0(pre, nm), term(paste0(pre, nm), met$fns[[nm]]))
  }
  assign("queue_feed", feed, envir = object)
  assign("compiled", list(loss = vapply(loss_specs, function(s) s$record, ""), metrics = met$record,
                          optimizer = opt, loss_weights = lw, target_tensors = TRUE), envir = object)
  invisible(object)
}

`%|na|%` <- function(a, b) if (is.na(a)) b else a

# fit() with no `x`: `steps_per_epoch` dequeues per epoch.
fit_plan_queue <- function(object, steps_per_epoch) {
  feed <- .subset2(object, "queue_feed")
  if (is.null(feed)) stop("fit(): `x` is required", call. = FALSE)
  if (is.null(steps_per_epoch))
    stop("fit(): `steps_per_epoch` is required when the model is fed from an input queue", call. = FALSE)
  steps <- check_whole(steps_per_epoch, "fit", "steps_per_epoch")
  if (!queue_running(feed$queue))
    stop("fit(): the model's input queue is not running; call tf$train$start_queue_runners(sess, coord) first",
         call. = FALSE)
  ptr <- model_ptr(object)
  list(batch_size = NULL, samples = NULL, steps = steps, validation_samples = NULL,
       run_epoch = function(seed, verbose, dynamic, hook = NULL)
         cpp_model_fit_queue(ptr, feed$queue$ptr, as.integer(feed$comp), steps, seed, verbose, dynamic, hook),
       validate = NULL)
}
