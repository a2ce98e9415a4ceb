# Custom models (keras_model_custom()) and custom objects
# (with_custom_object_scope(), shared by the loaders and compile()).

#' Create a Keras custom model
#'
#' `model_fn(self)` creates the model's layers, keeping them in `self` (the
#' model: `self$dense1 <- layer_dense(units = 32)`), and returns the forward
#' pass, a `function(inputs, mask = NULL)` applying the layers to `inputs` (a
#' tensor, or a list of tensors for several inputs). As in Keras, the model
#' is built the first time it meets data (`fit()`, `evaluate()`, `predict()`,
#' `train_on_batch()`, `test_on_batch()` with arrays): the forward pass then
#' runs once on inputs of the data's shape. `compile()` before that is kept
#' and applied when the model is built.
#'
#' @param model_fn Function of `self` returning the forward-pass function.
#' @param name Optional model name.
#' @return A model.
#' @examples
#' model <- keras_model_custom(name = "mlp", function(self) {
#'   self$dense1 <- layer_dense(units = 8, activation = "relu")
#'   self$dense2 <- layer_dense(units = 2, activation = "softmax")
#'   function(inputs, mask = NULL) self$dense2(self$dense1(inputs))
#' })
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
#' predict(model, matrix(runif(8), 2))
#' @export
keras_model_custom <- function(model_fn, name = NULL) {
  if (!is.function(model_fn)) arg_fail("keras_model_custom", "model_fn", "a function of `self`", model_fn)
  check_string(name, "keras_model_custom", "name", null_ok = TRUE)
  name <- name %||% unique_name("model")
  model <- new_model_handle(cpp_model_new(name, r_seed()), FALSE, name)
  assign("custom_unbuilt", TRUE, envir = model)
  call_fn <- model_fn(model)
  if (!is.function(call_fn))
    stop("keras_model_custom(): `model_fn` must return the forward pass, a function(inputs, mask = NULL)",
         call. = FALSE)
  assign("custom_call", call_fn, envir = model)
  model
}

is_unbuilt_custom <- function(object) isTRUE(.subset2(object, "custom_unbuilt"))

# Builds a keras_model_custom() model on the shapes of data `x` (an array or
# a list of arrays): the forward pass runs once on layer_input() tensors.
# Does nothing for other models.
custom_model_build <- function(object, x, fn) {
  if (!is_unbuilt_custom(object)) return(invisible(object))
  xs <- if (is.list(x) && !is.data.frame(x)) x else list(x)
  if (!length(xs) || !all(vapply(xs, function(a) is.numeric(a) || is.logical(a) || is.data.frame(a), logical(1))))
    stop(fn, "(): a keras_model_custom() model is built from its first data, which must be arrays ",
         "(call fit(), evaluate() or predict() with arrays first)", call. = FALSE)
  inputs <- lapply(xs, function(a) {
    d <- if (is.data.frame(a)) ncol(a) else if (is.null(dim(a))) 1L else dim(a)[-1]
    layer_input(shape = d)
  })
  out <- .subset2(object, "custom_call")(if (length(inputs) == 1) inputs[[1]] else inputs)
  built <- keras_model(inputs, out, name = .subset2(object, "name"))
  ptr <- .subset2(built, "ptr")
  assign("ptr", ptr, envir = object)
  assign("state", cpp_model_state(ptr, FALSE), envir = object)
  assign("tensor_nodes", .subset2(built, "tensor_nodes"), envir = object)
  assign("custom_unbuilt", FALSE, envir = object)
  pending <- .subset2(object, "pending_compile")
  if (!is.null(pending)) {
    assign("pending_compile", NULL, envir = object)
    do.call(compile, c(list(object), pending))
  }
  invisible(object)
}

#' Provide a scope with mappings of names to custom objects
#'
#' Inside `expr`, loaders ([load_model_hdf5()], [model_from_json()],
#' [unserialize_model()]...) and [compile()] (losses and metrics given by
#' name) find these objects as if they were given in `custom_objects`.
#' @param objects Named list of objects (R6 layer classes, Lambda functions,
#'   losses, metrics); functions from [custom_metric()] may be unnamed.
#' @param expr Expression to evaluate.
#' @return The value of `expr`.
#' @examples
#' mean_pred <- custom_metric("mean_pred", function(y_true, y_pred) k_mean(y_pred))
#' with_custom_object_scope(list(mean_pred), {
#'   model <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = 2)
#'   model %>% compile(loss = "mse", optimizer = "sgd", metrics = "mean_pred")
#' })
#' @export
with_custom_object_scope <- function(objects, expr) {
  objects <- normalize_custom_objects(objects)
  old <- .kn$custom_object_scope
  .kn$custom_object_scope <- c(objects, old[setdiff(names(old), names(objects))])
  on.exit(.kn$custom_object_scope <- old)
  force(expr)
}

# custom_objects as a named list: names given, else a function's
# py_function_name (custom_metric()) or an R6 class's class name.
normalize_custom_objects <- function(objects) {
  if (is.null(objects) || !length(objects)) return(list())
  if (is.function(objects) || R6::is.R6Class(objects) || !is.list(objects)) objects <- list(objects)
  nm <- names(objects) %||% rep("", length(objects))
  for (i in seq_along(objects)) {
    if (nzchar(nm[i])) next
    o <- objects[[i]]
    nm[i] <- attr(o, "py_function_name") %||% (if (R6::is.R6Class(o)) o$classname) %||% ""
    if (!nzchar(nm[i]))
      stop("`custom_objects` must be a named list (name = layer class, function, loss or metric); ",
           "entry ", i, " has no name", call. = FALSE)
  }
  names(objects) <- nm
  objects
}
