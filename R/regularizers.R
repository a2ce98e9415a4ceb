#' L1 and L2 regularization
#'
#' Weight (`kernel_regularizer`, `bias_regularizer`, ...) and activity
#' (`activity_regularizer`) penalties: `sum(l1 * abs(x)) + sum(l2 * x^2)` is
#' added to the loss that `fit()` reports and minimises (activity penalties
#' are summed over the whole batch of outputs, as Keras 2.2 does).
#' @param l Regularization factor.
#' @param l1 L1 regularization factor.
#' @param l2 L2 regularization factor.
#' @return A regularizer object.
#' @examples
#' layer_dense(units = 4, kernel_regularizer = regularizer_l2(0.01))
#' @export
regularizer_l1 <- function(l = 0.01) {
  new_keras_object("regularizers", "L1L2", list(l1 = f32(check_number(l, "regularizer_l1", "l", 0)), l2 = 0))
}
#' @rdname regularizer_l1
#' @export
regularizer_l2 <- function(l = 0.01) {
  new_keras_object("regularizers", "L1L2", list(l1 = 0, l2 = f32(check_number(l, "regularizer_l2", "l", 0))))
}
#' @rdname regularizer_l1
#' @export
regularizer_l1_l2 <- function(l1 = 0.01, l2 = 0.01) {
  new_keras_object("regularizers", "L1L2", list(l1 = f32(check_number(l1, "regularizer_l1_l2", "l1", 0)),
                                                l2 = f32(check_number(l2, "regularizer_l1_l2", "l2", 0))))
}

# Keras keeps l1/l2 as float32 (get_config() gives the float32 value widened).
f32 <- function(x) readBin(writeBin(as.numeric(x), raw(), size = 4), "double", size = 4)

# Regularizer and constraint arguments of a layer, checked, for its config.
penalty_args <- function(fn, ...) {
  args <- list(...)
  for (nm in names(args)) {
    v <- args[[nm]]
    if (is.null(v)) next
    if (is.character(v) && length(v) == 1) {  # keras identifiers, with their default arguments
      v <- switch(v, l1 = regularizer_l1(), l2 = regularizer_l2(), l1_l2 = regularizer_l1_l2(),
                  max_norm = , maxnorm = constraint_maxnorm(), non_neg = , nonneg = constraint_nonneg(),
                  unit_norm = , unitnorm = constraint_unitnorm(), min_max_norm = constraint_minmaxnorm(), v)
      args[[nm]] <- v
    }
    if (grepl("_regularizer$", nm) && !inherits(v, "keras.regularizers.L1L2"))
      arg_fail(fn, nm, "a regularizer (regularizer_l1(), regularizer_l2() or regularizer_l1_l2())", v)
    if (grepl("_constraint$", nm) && !inherits(v, "kerasnative_keras_object") ||
        grepl("_constraint$", nm) && !grepl("^keras\\.constraints\\.", class(v)[1]))
      arg_fail(fn, nm, "a constraint (constraint_maxnorm(), constraint_minmaxnorm(), constraint_nonneg() or constraint_unitnorm())", v)
  }
  args
}
