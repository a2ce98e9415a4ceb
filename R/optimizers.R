# `model`: the compiled model this optimizer belongs to (model$optimizer), so
# that `$lr` is the live learning rate of the engine's optimizer.
new_optimizer <- function(class_name, config, model = NULL) {
  fn <- paste0("optimizer_", tolower(class_name))
  for (nm in intersect(names(config), c("lr", "momentum", "decay", "epsilon", "clipnorm", "clipvalue",
                                       "schedule_decay")))
    check_number(config[[nm]], fn, nm, 0)
  for (nm in intersect(names(config), c("rho", "beta_1", "beta_2")))
    check_number(config[[nm]], fn, nm, 0, 1, max_open = TRUE)
  for (nm in intersect(names(config), c("nesterov", "amsgrad"))) check_flag(config[[nm]], fn, nm)
  structure(list(class_name = class_name, config = config, model = model),
            class = c(paste0("keras.optimizers.", class_name), "keras.optimizers.Optimizer",
                      "kerasnative_optimizer"))
}

#' @export
`$.kerasnative_optimizer` <- function(x, name) {
  if (name %in% c("class_name", "config")) return(.subset2(x, name))
  model <- .subset2(x, "model")
  if (!is.null(model) && name %in% c("lr", "learning_rate")) return(optimizer_param(model, "lr"))
  .subset2(x, "config")[[name]]
}

# ---- the learning rate as a variable (K.get_value / K.set_value) -------------

# A hyperparameter of a model's optimizer, read and written with
# k_get_value() / k_set_value() (Keras keeps it in a float32 variable).
optimizer_param <- function(model, name) {
  structure(list(model = model, name = name), class = "kerasnative_optimizer_param")
}

#' @export
print.kerasnative_optimizer_param <- function(x, ...) {
  cat(sprintf("<optimizer variable '%s:0' shape=() dtype=float32, value=%s>\n", .subset2(x, "name"),
              format(k_get_value(x), digits = 8)))
  invisible(x)
}

#' Get or set the value of a variable
#'
#' `k_get_value(model$optimizer$lr)` returns the learning rate the model's
#' optimizer uses for its next update (a float32 value, widened to double as
#' Keras returns it); `k_set_value(model$optimizer$lr, value)` changes it, as
#' callbacks such as [callback_learning_rate_scheduler()] do.
#' @param x A variable: the learning rate of a compiled model's optimizer
#'   (`model$optimizer$lr`); `k_get_value()` also accepts a plain number.
#' @param value New value (a non-negative number).
#' @return `k_get_value()`: the value (numeric); `k_set_value()`: `NULL`, invisibly.
#' @examples
#' model <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = 2)
#' model %>% compile(loss = "mse", optimizer = optimizer_sgd(lr = 0.1))
#' k_get_value(model$optimizer$lr)
#' k_set_value(model$optimizer$lr, 0.01)
#' k_get_value(model$optimizer$lr)
#' @export
k_get_value <- function(x) UseMethod("k_get_value")

#' @rdname k_get_value
#' @export
k_set_value <- function(x, value) UseMethod("k_set_value")

#' @export
k_get_value.kerasnative_optimizer_param <- function(x) {
  cpp_optimizer_get_lr(model_ptr(.subset2(x, "model")))
}

#' @export
k_set_value.kerasnative_optimizer_param <- function(x, value) {
  if (!is.numeric(value) || length(value) != 1 || is.na(value) || value < 0)
    stop("k_set_value(): the learning rate must be a single non-negative number, got ",
         paste(format(value), collapse = " "), call. = FALSE)
  model <- .subset2(x, "model")
  cpp_optimizer_set_lr(model_ptr(model), as.numeric(value))
  # keep compile()'s record in step with the engine's optimizer
  comp <- .subset2(model, "compiled")
  if (!is.null(comp)) {
    cfg <- .subset2(comp$optimizer, "config")
    cfg$lr <- cpp_optimizer_get_lr(model_ptr(model))
    comp$optimizer <- new_optimizer(.subset2(comp$optimizer, "class_name"), cfg)
    assign("compiled", comp, envir = model)
  }
  invisible(NULL)
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

#' Adadelta optimizer
#'
#' Keras 2.2 update: `a = rho a + (1 - rho) g^2`,
#' `u = g sqrt(d + epsilon) / sqrt(a + epsilon)`, `p = p - lr u`,
#' `d = rho d + (1 - rho) u^2`.
#' @inheritParams optimizer_rmsprop
#' @return An optimizer for [compile()].
#' @examples
#' opt <- optimizer_adadelta()
#' @export
optimizer_adadelta <- function(lr = 1, rho = 0.95, epsilon = NULL, decay = 0, clipnorm = NULL,
                               clipvalue = NULL) {
  check_lr(lr)
  new_optimizer("Adadelta", c(list(lr = lr, rho = rho, decay = decay, epsilon = epsilon %||% 1e-7),
                              clip_args(clipnorm, clipvalue)))
}

#' Adamax optimizer
#'
#' Adam based on the infinity norm (Keras 2.2): `m = beta_1 m + (1 - beta_1) g`,
#' `u = max(beta_2 u, |g|)`, `p = p - lr / (1 - beta_1^t) * m / (u + epsilon)`.
#' @inheritParams optimizer_adam
#' @return An optimizer for [compile()].
#' @examples
#' opt <- optimizer_adamax()
#' @export
optimizer_adamax <- function(lr = 0.002, beta_1 = 0.9, beta_2 = 0.999, epsilon = NULL, decay = 0,
                             clipnorm = NULL, clipvalue = NULL) {
  check_lr(lr)
  new_optimizer("Adamax", c(list(lr = lr, beta_1 = beta_1, beta_2 = beta_2, decay = decay,
                                 epsilon = epsilon %||% 1e-7), clip_args(clipnorm, clipvalue)))
}

#' Nesterov Adam optimizer
#'
#' Adam with Nesterov momentum and Keras 2.2's momentum schedule
#' `beta_1 (1 - 0.5 * 0.96^(t * schedule_decay))`; it has no `decay`.
#' @inheritParams optimizer_adam
#' @param schedule_decay Schedule decay (float >= 0).
#' @return An optimizer for [compile()].
#' @examples
#' opt <- optimizer_nadam()
#' @export
optimizer_nadam <- function(lr = 0.002, beta_1 = 0.9, beta_2 = 0.999, epsilon = NULL,
                            schedule_decay = 0.004, clipnorm = NULL, clipvalue = NULL) {
  check_lr(lr)
  new_optimizer("Nadam", c(list(lr = lr, beta_1 = beta_1, beta_2 = beta_2, epsilon = epsilon %||% 1e-7,
                                schedule_decay = schedule_decay), clip_args(clipnorm, clipvalue)))
}

resolve_optimizer <- function(optimizer) {
  if (inherits(optimizer, "kerasnative_optimizer"))  # detached from any model
    return(new_optimizer(.subset2(optimizer, "class_name"), .subset2(optimizer, "config")))
  if (is.character(optimizer) && length(optimizer) == 1) {
    return(switch(tolower(optimizer),
      sgd = optimizer_sgd(), rmsprop = optimizer_rmsprop(), adam = optimizer_adam(),
      adagrad = optimizer_adagrad(), adadelta = optimizer_adadelta(), adamax = optimizer_adamax(),
      nadam = optimizer_nadam(),
      stop("unknown optimizer '", optimizer, "'; expected one of: 'sgd', 'rmsprop', 'adam', ",
           "'adagrad', 'adadelta', 'adamax', 'nadam' or an optimizer_*() object", call. = FALSE)))
  }
  stop("`optimizer` must be a name or an optimizer_*() object", call. = FALSE)
}
