# Model utilities of keras 2.2.5: clone_model(), model_to_yaml() /
# model_from_yaml() (through the 'yaml' package, Debian r-cran-yaml) and
# use_session_with_seed().

#' Clone a model instance
#'
#' Model cloning is similar to calling a model on new inputs, except that it
#' creates new layers (and thus new weights) instead of sharing the weights of
#' the existing layers: the clone has the same configuration (architecture,
#' layer settings, names) and freshly initialised weights.
#'
#' @param model Instance of a model (sequential or functional).
#' @param input_tensors Optional list of input tensors to build the model upon;
#'   `NULL` (the default) creates new inputs. Other values are not supported
#'   (an error).
#' @return A new, uncompiled model.
#' @family model functions
#' @examples
#' model <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3)
#' clone <- clone_model(model)
#' identical(model_to_json(model), model_to_json(clone))
#' @export
clone_model <- function(model, input_tensors = NULL) {
  check_model_arg(model, "clone_model")
  if (!is.null(input_tensors))
    stop("clone_model(): `input_tensors` is not supported; clone the model, then call it on your tensors ",
         "(e.g. outputs <- clone_model(model)(inputs))", call. = FALSE)
  model_from_config_json(model_to_json(model), NULL, "clone_model")
}

yaml_available <- function(fn) {
  if (!requireNamespace("yaml", quietly = TRUE))
    stop(fn, "(): YAML needs the 'yaml' package (Debian: r-cran-yaml), which is not installed", call. = FALSE)
}

#' Model configuration as YAML
#'
#' Save and re-load models configurations as YAML. Note that the
#' representation does not include the weights, only the architecture. The
#' YAML holds the same data as [model_to_json()]'s JSON.
#'
#' @param object Model object to save.
#' @param yaml YAML text (a string, or the path of a `.yaml`/`.yml` file).
#' @param custom_objects Optional named list mapping names to custom classes or
#'   functions to be considered during deserialization.
#' @return `model_to_yaml()`: a YAML string; `model_from_yaml()`: a model.
#' @family model persistence
#' @export
model_to_yaml <- function(object) {
  check_model_arg(object, "model_to_yaml")
  yaml_available("model_to_yaml")
  config <- jsonlite::fromJSON(model_to_json(object), simplifyVector = FALSE)
  yaml::as.yaml(config)
}

#' @rdname model_to_yaml
#' @export
model_from_yaml <- function(yaml, custom_objects = NULL) {
  yaml_available("model_from_yaml")
  if (!is.character(yaml) || length(yaml) < 1 || anyNA(yaml))
    stop("model_from_yaml(): `yaml` must be a string", call. = FALSE)
  if (length(yaml) == 1 && grepl("\\.ya?ml$", yaml) && file.exists(yaml)) yaml <- readLines(yaml, warn = FALSE)
  config <- tryCatch(yaml::yaml.load(paste(yaml, collapse = "\n")),
                     error = function(e) stop("model_from_yaml(): invalid YAML: ", conditionMessage(e), call. = FALSE))
  if (!is.list(config) || is.null(config$class_name) || is.null(config$config))
    stop("model_from_yaml(): the YAML does not describe a model (no class_name and config entries)", call. = FALSE)
  model_from_config_json(config_to_json(config), custom_objects, "model_from_yaml")
}

#' Use a session with a random seed
#'
#' Sets R's random seed (from which this package draws every seed of its
#' engine: weight initialisation, dropout, shuffling) and clears the session,
#' so that models created and trained afterwards are reproducible.
#'
#' @param seed A single value, interpreted as an integer.
#' @param disable_gpu There is no GPU; accepted for compatibility (`TRUE` or `FALSE`).
#' @param disable_parallel_cpu `TRUE` runs the engine on one thread
#'   ([kn_threads()] `= 1`); results do not depend on the number of threads in
#'   this package, so this only costs speed.
#' @param quiet `TRUE` to suppress printing of messages.
#' @return The seed, invisibly.
#' @family backend
#' @export
use_session_with_seed <- function(seed, disable_gpu = TRUE, disable_parallel_cpu = TRUE, quiet = FALSE) {
  seed <- check_whole(seed, "use_session_with_seed", "seed", min = -.Machine$integer.max)
  for (a in c("disable_gpu", "disable_parallel_cpu", "quiet")) check_flag(get(a), "use_session_with_seed", a)
  k_clear_session()
  set.seed(seed)
  if (disable_parallel_cpu) kn_threads(1)
  if (!quiet) {
    msg <- sprintf("Set session seed to %d", seed)
    if (disable_parallel_cpu) msg <- paste(msg, "(disabled CPU parallelism)")
    message(msg)
  }
  invisible(seed)
}
