#' Weight constraints
#'
#' Projections applied to a weight after every optimizer update (for
#' arguments such as `kernel_constraint`). Norms are taken over `axis`
#' (0-based, as Keras: for a Dense kernel `(input, units)`, `axis = 0` bounds
#' each unit's incoming weight vector; for a Conv2D kernel use
#' `axis = c(0, 1, 2)`).
#' - `constraint_maxnorm()`: rescales weight vectors whose norm exceeds `max_value`.
#' - `constraint_minmaxnorm()`: moves norms towards `[min_value, max_value]` at `rate`.
#' - `constraint_nonneg()`: sets negative weights to 0.
#' - `constraint_unitnorm()`: rescales to unit norm.
#' @param max_value,min_value Bounds of the norm.
#' @param axis Integer (vector), 0-based axes along which the norm is computed.
#' @param rate Rate for enforcing the constraint.
#' @return A constraint object.
#' @examples
#' layer_dense(units = 4, kernel_constraint = constraint_maxnorm(2))
#' @name constraints
NULL

constraint_axis <- function(axis, fn) {
  a <- check_whole(axis, fn, "axis", min = -8, len = 1:8)
  if (length(a) == 1) as.integer(a) else as.list(as.integer(a))
}
constraint <- function(class_name, config) new_keras_object("constraints", class_name, config)

#' @rdname constraints
#' @export
constraint_maxnorm <- function(max_value = 2, axis = 0) {
  constraint("MaxNorm", list(max_value = check_number(max_value, "constraint_maxnorm", "max_value", 0),
                             axis = constraint_axis(axis, "constraint_maxnorm")))
}
#' @rdname constraints
#' @export
constraint_nonneg <- function() constraint("NonNeg", list())
#' @rdname constraints
#' @export
constraint_unitnorm <- function(axis = 0) {
  constraint("UnitNorm", list(axis = constraint_axis(axis, "constraint_unitnorm")))
}
#' @rdname constraints
#' @export
constraint_minmaxnorm <- function(min_value = 0, max_value = 1, rate = 1, axis = 0) {
  fn <- "constraint_minmaxnorm"
  check_number(min_value, fn, "min_value", 0)
  check_number(max_value, fn, "max_value", 0)
  if (max_value < min_value) stop(fn, "(): `max_value` must be >= `min_value`", call. = FALSE)
  constraint("MinMaxNorm", list(min_value = min_value, max_value = max_value,
                                rate = check_number(rate, fn, "rate", 0, 1),
                                axis = constraint_axis(axis, fn)))
}
