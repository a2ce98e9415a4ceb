# Placeholder hooks, replaced by the persistence implementation:
# model_touched(model) is called after every change of a model (layers,
# compile, weights, fit); model_restore(model) rebuilds a null handle.
model_touched <- function(model) invisible(model)
model_restore <- function(model) {
  stop("this model's engine handle is no longer valid (was it restored with readRDS() ",
       "in another session?)", call. = FALSE)
}
