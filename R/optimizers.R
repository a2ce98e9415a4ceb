new_optimizer <- function(class_name, config) {
  fn <- paste0("optimizer_", tolower(class_name))
  for (nm in intersect(names(config), c("lr", "momentum", "decay", "epsilon", "clipnorm", "clipvalue")))
    check_number(config[[nm]], fn, nm, 0)
  for (nm in intersect(names(config), c("rho", "beta_1", "beta_2")))
    check_number(config[[nm]], fn, nm, 0, 1, max_open = TRUE)
  for (nm in intersect(names(config), c("nesterov", "amsgrad"))) check_flag(config[[nm]], fn, nm)
  structure(list(class_name = class_name, config = config),
            class = c(paste0("keras.optimizers.", class_name), "keras.optimizers.Optimizer",
                      "kerasnative_optimizer"))
}

#' @export
`$.kerasnative_optimizer` <- function(x, name) {
  if (name %in% c("class_name", "config")) return(.subset2(x, name))
  .subset2(x, "config")[[name]]
}

#' @export
print.kerasnative_optimizer <- function(x, ...) {
  cfg <- .subset2(x, "config")
  cat(sprintf("<%s optimizer: %s>\n", .subset2(x, "class_name"),
              paste(names(cfg), vapply(cfg, function(v) if (is.null(v)) "NULL" else format(v), ""),
                    sep = "=", collapse = ", ")))
  invisible(x)
}

clip_args <- function(clipnorm, clipvalue) {
  c(if (!is.null(clipnorm)) list(clipnorm = clipnorm), if (!is.null(clipvalue)) list(clipvalue = clipvalue))
}
check_lr <- function(lr) {
  if (!is.numeric(lr) || length(lr) != 1 || is.na(lr) || lr < 0 || !is.finite(lr))
    stop("`lr` must be a finite non-negative number, got ", arg_text(lr), call. = FALSE)
}

#' Stochastic gradient descent optimizer
#'
#' Keras 2.2 update rules, with learning rate decay
#' `lr / (1 + decay * iterations)`.
#' @param lr float >= 0. Learning rate.
#' @param momentum float >= 0. Parameter that accelerates SGD in the relevant
#'   direction and dampens oscillations.
#' @param decay float >= 0. Learning rate decay over each update.
#' @param nesterov boolean. Whether to apply Nesterov momentum.
#' @param clipnorm Gradients will be clipped when their L2 norm exceeds this value.
#' @param clipvalue Gradients will be clipped when their absolute value exceeds this value.
#' @return An optimizer for [compile()].
#' @examples
#' opt <- optimizer_sgd(lr = 0.01, momentum = 0.9)
#' @export
optimizer_sgd <- function(lr = 0.01, momentum = 0, decay = 0, nesterov = FALSE,
                          clipnorm = NULL, clipvalue = NULL) {
  check_lr(lr)
  new_optimizer("SGD", c(list(lr = lr, momentum = momentum, decay = decay, nesterov = nesterov),
                         clip_args(clipnorm, clipvalue)))
}

#' RMSProp optimizer
#' @inheritParams optimizer_sgd
#' @param rho float >= 0. Decay factor.
#' @param epsilon float >= 0. Fuzz factor. If `NULL`, defaults to `1e-7`.
#' @return An optimizer for [compile()].
#' @examples
#' opt <- optimizer_rmsprop(lr = 2e-3, decay = 1e-5)
#' @export
optimizer_rmsprop <- function(lr = 0.001, rho = 0.9, epsilon = NULL, decay = 0,
                              clipnorm = NULL, clipvalue = NULL) {
  check_lr(lr)
  new_optimizer("RMSprop", c(list(lr = lr, rho = rho, decay = decay, epsilon = epsilon %||% 1e-7),
                             clip_args(clipnorm, clipvalue)))
}

#' Adam optimizer
#' @inheritParams optimizer_rmsprop
#' @param beta_1,beta_2 The exponential decay rates for the 1st and 2nd moment estimates.
#' @param amsgrad Whether to apply the AMSGrad variant.
#' @return An optimizer for [compile()].
#' @examples
#' opt <- optimizer_adam(lr = 1e-3)
#' @export
optimizer_adam <- function(lr = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = NULL, decay = 0,
                           amsgrad = FALSE, clipnorm = NULL, clipvalue = NULL) {
  check_lr(lr)
  new_optimizer("Adam", c(list(lr = lr, beta_1 = beta_1, beta_2 = beta_2, decay = decay,
                               epsilon = epsilon %||% 1e-7, amsgrad = amsgrad),
                          clip_args(clipnorm, clipvalue)))
}

#' Adagrad optimizer
#' @inheritParams optimizer_rmsprop
#' @return An optimizer for [compile()].
#' @examples
#' opt <- optimizer_adagrad()
#' @export
optimizer_adagrad <- function(lr = 0.01, epsilon = NULL, decay = 0, clipnorm = NULL,
                              clipvalue = NULL) {
  check_lr(lr)
  new_optimizer("Adagrad", c(list(lr = lr, decay = decay, epsilon = epsilon %||% 1e-7),
                             clip_args(clipnorm, clipvalue)))
}

resolve_optimizer <- function(optimizer) {
  if (inherits(optimizer, "kerasnative_optimizer")) return(optimizer)
  if (is.character(optimizer) && length(optimizer) == 1) {
    return(switch(tolower(optimizer),
      sgd = optimizer_sgd(), rmsprop = optimizer_rmsprop(), adam = optimizer_adam(),
      adagrad = optimizer_adagrad(),
      stop("unknown optimizer '", optimizer, "'; expected one of: 'sgd', 'rmsprop', 'adam', ",
           "'adagrad' or an optimizer_*() object", call. = FALSE)))
  }
  stop("`optimizer` must be a name or an optimizer_*() object", call. = FALSE)
}
