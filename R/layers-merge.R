merge_layer <- function(class_name, inputs, config) {
  fn <- paste0("layer_", snake_case(class_name))
  check_layer_common(fn, config$name)
  if (!missing(inputs) && !is.null(inputs)) {
    if (!is.list(inputs) || length(inputs) < 2 || !all(vapply(inputs, is_tensor, logical(1))))
      arg_fail(fn, "inputs", "a list of at least 2 tensors", inputs)
  }
  layer <- create_layer(class_name, NULL, config)
  if (missing(inputs) || is.null(inputs)) return(layer)
  compose_layer(inputs, layer)
}

#' Merge layers: combine a list of tensors
#'
#' `layer_add()`, `layer_subtract()` (2 inputs), `layer_multiply()`,
#' `layer_average()`, `layer_maximum()`, `layer_minimum()` work element-wise
#' on tensors of the same shape; `layer_concatenate()` joins along `axis`.
#' @param inputs A list of input tensors (at least 2). Missing: the layer is
#'   returned, to apply later.
#' @param axis Concatenation axis (-1 = last; counted with the batch axis as
#'   Keras does).
#' @param batch_size,dtype,name,trainable,weights Standard layer arguments.
#' @return A tensor (or a layer when `inputs` is missing).
#' @examples
#' a <- layer_input(shape = 4)
#' b <- layer_input(shape = 4)
#' out <- layer_concatenate(list(a, layer_add(list(a, b)))) %>% layer_dense(units = 1)
#' model <- keras_model(list(a, b), out)
#' @export
layer_concatenate <- function(inputs, axis = -1L, batch_size = NULL, dtype = NULL, name = NULL,
                              trainable = NULL, weights = NULL) {
  axis <- check_whole(axis, "layer_concatenate", "axis", min = -16, max = 16)
  merge_layer("Concatenate", if (missing(inputs)) NULL else inputs, list(name = name, axis = axis))
}

#' @rdname layer_concatenate
#' @export
layer_add <- function(inputs, batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  merge_layer("Add", if (missing(inputs)) NULL else inputs, list(name = name))
}

#' @rdname layer_concatenate
#' @export
layer_subtract <- function(inputs, batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  merge_layer("Subtract", if (missing(inputs)) NULL else inputs, list(name = name))
}

#' @rdname layer_concatenate
#' @export
layer_multiply <- function(inputs, batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  merge_layer("Multiply", if (missing(inputs)) NULL else inputs, list(name = name))
}

#' @rdname layer_concatenate
#' @export
layer_average <- function(inputs, batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  merge_layer("Average", if (missing(inputs)) NULL else inputs, list(name = name))
}

#' @rdname layer_concatenate
#' @export
layer_maximum <- function(inputs, batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  merge_layer("Maximum", if (missing(inputs)) NULL else inputs, list(name = name))
}

#' @rdname layer_concatenate
#' @export
layer_minimum <- function(inputs, batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  merge_layer("Minimum", if (missing(inputs)) NULL else inputs, list(name = name))
}
