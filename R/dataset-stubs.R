# Placeholders until the dataset pipeline lands.
fit_plan_dataset <- function(object, dataset, steps_per_epoch, validation_data, validation_steps) {
  stop("datasets are not supported yet", call. = FALSE)
}
evaluate_dataset <- function(object, dataset, steps, verbose) stop("datasets are not supported yet", call. = FALSE)
predict_dataset <- function(object, dataset, steps, verbose) stop("datasets are not supported yet", call. = FALSE)
