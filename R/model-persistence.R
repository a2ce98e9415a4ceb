# Saving and loading models: Keras HDF5 files (weights only and full models),
# JSON / R-list configurations, raw serialization, and rebuilding a model
# that saveRDS()/serialize() wrote (the bytes come from src/r_serialize.cpp).
#
# The HDF5 layout, layer/weight names and JSON configs are those of Keras
# 2.2.4, so files go both ways between kerasnative and Keras. Reading also
# accepts the configs of older (<= 2.2.2) and newer (tf.keras, 2.12) Keras.

# ---------------------------------------------------------------- helpers

# Run `expr`; turn engine errors into clean R errors (no C++ call in the
# message), prefixed with `what`.
kn_try <- function(expr, what) {
  tryCatch(expr, error = function(e) {
    stop(what, ": ", conditionMessage(e), call. = FALSE)
  })
}

check_model_arg <- function(object, fn) {
  if (!is_model(object)) stop(fn, "(): `object` must be a model, not ", class(object)[1], call. = FALSE)
}

check_path_arg <- function(filepath, fn) {
  if (!is.character(filepath) || length(filepath) != 1 || is.na(filepath) || !nzchar(filepath))
    stop(fn, "(): `filepath` must be a single file name", call. = FALSE)
  path.expand(filepath)
}

# Keras's overwrite check: ask when interactive, refuse otherwise.
check_overwrite <- function(filepath, overwrite, fn) {
  if (isTRUE(overwrite) || !file.exists(filepath)) return(invisible(TRUE))
  if (interactive()) {
    ans <- readline(sprintf("[WARNING] %s already exists - overwrite? [y/n] ", filepath))
    if (tolower(substr(ans, 1, 1)) == "y") return(invisible(TRUE))
  }
  stop(fn, "(): file '", filepath, "' already exists; use overwrite = TRUE to replace it", call. = FALSE)
}

read_h5 <- function(filepath, fn) {
  if (!file.exists(filepath)) stop(fn, "(): file '", filepath, "' does not exist", call. = FALSE)
  kn_try(cpp_h5_read(normalizePath(filepath)), paste0(fn, "()"))
}

# custom_objects (named list, merged with with_custom_object_scope()) -> what
# the C++ builder takes: class name -> supported class name, or a
# function(config_json) returning a layer handle. R6 classes (KerasLayer)
# are created from their saved constructor arguments; Lambda layers get
# their R function from custom_objects (see lambda_from_config()).
custom_objects_map <- function(custom_objects) {
  custom_objects <- all_custom_objects(custom_objects)
  from_json <- function(json) jsonlite::fromJSON(json, simplifyVector = FALSE)
  out <- lapply(custom_objects, function(v) {
    if (is.character(v) && length(v) == 1) return(v)
    if (R6::is.R6Class(v)) return(function(json) layer_ptr(custom_layer_from_config(v, from_json(json))))
    if (is.function(v) && !inherits(v, "kerasnative_layer")) {
      return(function(json) {
        layer <- v(from_json(json))
        ptr <- attr(layer, "ptr", exact = TRUE)
        if (is.null(ptr)) stop("custom_objects functions must return a layer (e.g. layer_dense(...))", call. = FALSE)
        ptr
      })
    }
    NULL  # other objects: not used for layers
  })
  out <- out[!vapply(out, is.null, logical(1))]
  if (is.null(out$Lambda))
    out$Lambda <- function(json) layer_ptr(lambda_from_config(from_json(json), custom_objects))
  out
}

# custom_objects given to a loader plus those of enclosing
# with_custom_object_scope() calls (the explicit ones win).
all_custom_objects <- function(custom_objects) {
  objs <- normalize_custom_objects(custom_objects)
  scope <- .kn$custom_object_scope %||% list()
  c(objs, scope[setdiff(names(scope), names(objs))])
}

# A custom R6 layer from its saved config: the entries other than the common
# layer ones go to the class's new() (when it takes them).
custom_layer_from_config <- function(gen, config) {
  common <- c("name", "trainable", "batch_input_shape", "dtype")
  args <- config[!names(config) %in% common]
  init <- r6_method(gen, "initialize")
  if (!is.null(init) && !"..." %in% names(formals(init))) args <- args[names(args) %in% names(formals(init))]
  if (is.null(init)) args <- list()
  # JSON arrays of scalars come back as lists: give new() vectors, as saved
  args <- lapply(args, function(v)
    if (is.list(v) && length(v) && all(vapply(v, function(e) is.atomic(e) && length(e) == 1, logical(1)))) unlist(v) else v)
  bis <- config$batch_input_shape
  create_custom_layer(gen, NULL, c(args, list(name = config$name, trainable = config$trainable %||% TRUE,
                                               batch_input_shape = bis)))
}

r6_method <- function(gen, name) {
  while (!is.null(gen)) {
    m <- gen$public_methods[[name]]
    if (!is.null(m)) return(m)
    gen <- gen$get_inherit()
  }
  NULL
}

# Engine model from a Keras config (JSON text) -> R model object.
model_from_config_json <- function(json, custom_objects, fn) {
  res <- kn_try(cpp_model_from_config(json, custom_objects_map(custom_objects), "", r_seed()),
                paste0(fn, "()"))
  new_model_handle(res$ptr, res$sequential, res$name)
}

# Keras optimizer config (as parsed from training_config) -> optimizer object
# (NULL with a reason when not supported).
optimizer_from_keras <- function(oc) {
  cls <- sub("^Custom>", "", oc$class_name %||% "")
  canon <- c(sgd = "SGD", rmsprop = "RMSprop", adam = "Adam", adagrad = "Adagrad", adadelta = "Adadelta",
             adamax = "Adamax", nadam = "Nadam")[tolower(cls)]
  if (is.na(canon))
    stop("optimizer '", cls, "' is not supported (supported: SGD, RMSprop, Adam, Adagrad, Adadelta, Adamax, Nadam); ",
         "load with compile = FALSE and compile the model yourself", call. = FALSE)
  cfg <- oc$config %||% list()
  if (!is.null(cfg$learning_rate) && is.null(cfg$lr)) cfg$lr <- cfg$learning_rate
  if (is.list(cfg$lr)) {
    warning("learning-rate schedules are not supported; using the default learning rate", call. = FALSE)
    cfg$lr <- NULL
  }
  keys <- c("lr", "decay", "clipnorm", "clipvalue",
            switch(canon, SGD = c("momentum", "nesterov"), RMSprop = c("rho", "epsilon"),
                   Adam = c("beta_1", "beta_2", "epsilon", "amsgrad"), Adagrad = "epsilon",
                   Adadelta = c("rho", "epsilon"), Adamax = c("beta_1", "beta_2", "epsilon"),
                   Nadam = c("beta_1", "beta_2", "epsilon", "schedule_decay")))
  if (canon == "Nadam") keys <- setdiff(keys, "decay")
  ignored <- c(if (!is.null(cfg$weight_decay) && !identical(cfg$weight_decay, 0)) "weight_decay",
               if (isTRUE(cfg$centered)) "centered",
               if (canon == "RMSprop" && !is.null(cfg$momentum) && cfg$momentum != 0) "momentum",
               if (isTRUE(cfg$use_ema)) "use_ema")
  if (length(ignored))
    warning("optimizer settings not supported and ignored: ", paste(ignored, collapse = ", "), call. = FALSE)
  cfg <- cfg[intersect(keys, names(cfg))]
  cfg <- cfg[!vapply(cfg, is.null, logical(1))]
  if (!is.null(cfg$decay) && cfg$decay == 0 && canon != "SGD") cfg$decay <- 0
  new_optimizer(canon, cfg)
}

# Keras loss entry (string, list, dict by output, or serialized loss object)
# -> character vector of loss names.
losses_from_keras <- function(loss, output_names) {
  one <- function(l) {
    if (is.character(l)) return(l)
    if (is.list(l) && !is.null(l$class_name)) {
      if (isTRUE(l$config$from_logits))
        stop("loss '", l$class_name, "' with from_logits = TRUE is not supported", call. = FALSE)
      return(snake_case(l$class_name))
    }
    stop("unsupported loss entry in training_config", call. = FALSE)
  }
  if (is.list(loss) && !is.null(names(loss)) && is.null(loss$class_name)) {
    miss <- setdiff(output_names, names(loss))
    if (length(miss)) stop("training_config has no loss for output(s) ", paste(miss, collapse = ", "), call. = FALSE)
    return(vapply(output_names, function(n) one(loss[[n]]), ""))
  }
  if (is.list(loss) && is.null(loss$class_name)) return(vapply(loss, one, ""))
  one(loss)
}

# Keras metrics entry -> list for compile(): "accuracy", metric names
# kerasnative knows, and custom metrics (from custom_objects, by name).
# Serialized metric objects kerasnative does not know are dropped with a
# warning; unknown metric names are an error naming them.
metrics_from_keras <- function(metrics, custom_objects = list()) {
  flat <- character(0)
  objects <- character(0)
  walk <- function(m) {
    if (is.null(m)) return()
    if (is.character(m)) { flat <<- c(flat, m); return() }
    if (is.list(m) && !is.null(m$class_name)) { objects <<- c(objects, m$config$name %||% snake_case(m$class_name)); return() }
    if (is.list(m)) for (x in m) walk(x)
  }
  walk(metrics)
  acc_re <- "^(sparse_)?(categorical_|binary_)?acc(uracy)?$"
  drop <- objects[!grepl(acc_re, objects) & !vapply(objects, known_metric, logical(1))]
  if (length(drop))
    warning("metrics not supported and dropped: ", paste(unique(drop), collapse = ", "), call. = FALSE)
  flat <- unique(c(flat, setdiff(objects, drop)))
  out <- list()
  for (m in flat) {
    if (grepl(acc_re, m)) { out$accuracy <- "accuracy"; next }
    f <- custom_objects[[m]]
    if (is.function(f)) { out[[m]] <- custom_metric(m, f); next }
    if (!known_metric(m))
      stop("metric '", m, "' is not a kerasnative metric: give the R function in `custom_objects`, e.g. ",
           "custom_objects = list(", m, " = function(y_true, y_pred) ...)", call. = FALSE)
    out[[m]] <- m
  }
  if (length(out)) unname(out) else NULL
}

known_metric <- function(m) {
  full <- if (m %in% names(metric_aliases)) metric_aliases[[m]] else m
  exists(paste0("metric_", full), envir = asNamespace("kerasnative"), inherits = FALSE)
}

# A saved loss name -> what compile() takes: the custom_objects function of
# that name, else the name when kerasnative knows it; an error naming it otherwise.
loss_from_saved_name <- function(l, custom_objects) {
  f <- custom_objects[[l]]
  if (is.function(f)) return(structure(f, kn_name = l))
  full <- if (l %in% names(loss_aliases)) loss_aliases[[l]] else l
  if (l %in% native_losses || exists(paste0("loss_", full), envir = asNamespace("kerasnative"), inherits = FALSE))
    return(l)
  stop("loss '", l, "' is not a kerasnative loss: give the R function in `custom_objects`, e.g. ",
       "custom_objects = list(", l, " = function(y_true, y_pred) ...)", call. = FALSE)
}

output_layer_names <- function(model) {
  n <- cpp_model_nodes(model_ptr(model))
  n$name[n$model_outputs + 1L]
}

# The iteration count kerasnative keeps in training_config: one number, or NaN
# for anything else (the C++ loader checks it is a whole number >= 0 before
# converting it, and warns that the optimizer starts fresh otherwise).
stored_iterations <- function(tc) {
  it <- tc$kerasnative_iterations %||% 0
  if (is.numeric(it) && length(it) == 1L) as.numeric(it) else NaN
}

# Compile `model` from a training_config JSON text and restore the optimizer
# state of the read file `h5`.
compile_from_training_config <- function(model, tc_json, h5, fn, custom_objects = NULL) {
  tc <- jsonlite::fromJSON(tc_json, simplifyVector = FALSE)
  objs <- all_custom_objects(custom_objects)
  opt <- optimizer_from_keras(tc$optimizer_config)
  loss <- lapply(losses_from_keras(tc$loss, output_layer_names(model)), loss_from_saved_name, objs)
  metrics <- metrics_from_keras(tc$metrics, objs)
  lw <- tc$loss_weights
  if (is.list(lw) && !is.null(names(lw))) lw <- lw[output_layer_names(model)]
  if (!is.null(lw)) lw <- as.numeric(unlist(lw))
  kn_try(compile(model, optimizer = opt, loss = loss, metrics = metrics, loss_weights = lw), paste0(fn, "()"))
  if (length(h5$optimizer_weight_names)) {
    msg <- cpp_model_load_optimizer_state(model_ptr(model), h5$handle, stored_iterations(tc))
    if (nzchar(msg)) warning(msg, call. = FALSE)
  }
  invisible(model)
}

# Model from a read full-model file.
model_from_h5 <- function(h5, custom_objects, compile, fn) {
  if (!nzchar(h5$model_config))
    stop(fn, "(): the file holds weights only (no model configuration); build the model and use ",
         "load_model_weights_hdf5()", call. = FALSE)
  model <- model_from_config_json(h5$model_config, custom_objects, fn)
  warn <- kn_try(cpp_model_load_weights(model_ptr(model), h5$handle, FALSE, FALSE, FALSE), paste0(fn, "()"))
  for (w in warn) warning(w, call. = FALSE)
  if (isTRUE(compile)) {
    if (nzchar(h5$training_config)) {
      compile_from_training_config(model, h5$training_config, h5, fn, custom_objects)
    } else {
      warning("no training configuration found in the file: the model was *not* compiled; ",
              "compile it manually", call. = FALSE)
    }
  }
  model
}

# ---------------------------------------------------------------- weights

#' Save/Load model weights using HDF5 files
#'
#' Writes and reads the weights-only HDF5 layout of Keras (`save_weights()` /
#' `load_weights()`): one group per layer, named as the layer, holding
#' datasets named as Keras names weights (`dense_1/kernel:0`). Files written
#' by Keras 2.x (also tf.keras) can be read, and Keras reads the files written
#' here.
#'
#' By default weights are assigned by order: the i-th layer with weights in
#' the file goes to the i-th layer with weights in the model (names are
#' ignored), as Keras does. With `by_name = TRUE` a model layer gets the
#' weights of the file's layer with the same name; layers absent from the
#' file keep their weights. All arrays are checked before any is assigned:
#' on an error the model is unchanged.
#'
#' @param object Model object to save or load weights into.
#' @param filepath Path to the file.
#' @param overwrite Whether to silently overwrite an existing file. If
#'   `FALSE`, asks when interactive and fails otherwise.
#' @param by_name Whether to load weights by layer name.
#' @param skip_mismatch With `by_name = TRUE`, skip (with a warning) layers
#'   whose number of weights or weight shapes do not match, instead of failing.
#' @param reshape Accept file arrays whose shape differs from the model's but
#'   whose number of elements is the same (values are taken in row-major order).
#' @return The model, invisibly.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, activation = "relu", input_shape = 3) %>%
#'   layer_dense(units = 2)
#' f <- tempfile(fileext = ".h5")
#' save_model_weights_hdf5(model, f)
#' model2 <- keras_model_sequential() %>%
#'   layer_dense(units = 4, activation = "relu", input_shape = 3) %>%
#'   layer_dense(units = 2)
#' load_model_weights_hdf5(model2, f)
#' x <- matrix(runif(6), 2)
#' all.equal(predict(model, x), predict(model2, x))
#' unlink(f)
#' @export
save_model_weights_hdf5 <- function(object, filepath, overwrite = TRUE) {
  check_model_arg(object, "save_model_weights_hdf5")
  filepath <- check_path_arg(filepath, "save_model_weights_hdf5")
  check_overwrite(filepath, overwrite, "save_model_weights_hdf5")
  ptr <- model_ptr(object)
  kn_try(cpp_model_save_h5(ptr, filepath, isTRUE(.subset2(object, "sequential")), FALSE, FALSE, ""),
         "save_model_weights_hdf5()")
  invisible(object)
}

#' @rdname save_model_weights_hdf5
#' @export
load_model_weights_hdf5 <- function(object, filepath, by_name = FALSE, skip_mismatch = FALSE, reshape = FALSE) {
  check_model_arg(object, "load_model_weights_hdf5")
  filepath <- check_path_arg(filepath, "load_model_weights_hdf5")
  h5 <- read_h5(filepath, "load_model_weights_hdf5")
  warn <- kn_try(cpp_model_load_weights(model_ptr(object), h5$handle, isTRUE(by_name), isTRUE(skip_mismatch),
                                        isTRUE(reshape)),
                 "load_model_weights_hdf5()")
  for (w in warn) warning(w, call. = FALSE)
  invisible(object)
}

# ---------------------------------------------------------------- full models

#' Save/Load models using HDF5 files
#'
#' `save_model_hdf5()` writes the whole model as Keras's `model.save()` does:
#' the architecture (`model_config`), the compile settings
#' (`training_config`), the weights and the optimizer state, so that
#' training can resume exactly where it stopped. `load_model_hdf5()` reads
#' such files written by kerasnative or by Keras 2.x (including tf.keras and
#' Keras 2.12 files; unsupported extras are ignored).
#'
#' @param object Model object to save.
#' @param filepath File path.
#' @param overwrite Overwrite existing file (if `FALSE`, asks when
#'   interactive and fails otherwise).
#' @param include_optimizer If `TRUE`, save the compile settings and the
#'   optimizer state.
#' @param custom_objects Optional named list mapping layer class names that
#'   kerasnative does not know to either the name of a supported class (e.g.
#'   `list(MyDense = "Dense")`) or a function taking the layer's config (a
#'   list) and returning a layer (e.g. `function(config) layer_dense(units =
#'   config$units, name = config$name)`).
#' @param compile Whether to compile the model after loading (needs the
#'   file's training configuration).
#' @return `save_model_hdf5()`: the model, invisibly; `load_model_hdf5()`: a
#'   model.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 8, activation = "relu", input_shape = 4) %>%
#'   layer_dense(units = 3, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam",
#'                   metrics = "accuracy")
#' f <- tempfile(fileext = ".h5")
#' save_model_hdf5(model, f)
#' model2 <- load_model_hdf5(f)
#' model2
#' unlink(f)
#' @export
save_model_hdf5 <- function(object, filepath, overwrite = TRUE, include_optimizer = TRUE) {
  check_model_arg(object, "save_model_hdf5")
  filepath <- check_path_arg(filepath, "save_model_hdf5")
  check_overwrite(filepath, overwrite, "save_model_hdf5")
  write_model_h5(object, filepath, include_optimizer, "save_model_hdf5()")
  invisible(object)
}

write_model_h5 <- function(object, filepath, include_optimizer, what) {
  ptr <- model_ptr(object)
  if (length(cpp_model_nodes(ptr)$name) == 0)
    stop(what, ": the model has no layers yet", call. = FALSE)
  tc <- ""
  comp <- .subset2(object, "compiled")
  if (isTRUE(include_optimizer) && !is.null(comp)) {
    lw <- if (is.null(comp$loss_weights)) NULL else as.numeric(unlist(comp$loss_weights))
    tc <- cpp_model_training_config(ptr, as.character(comp$loss), as.character(comp$metrics %||% character(0)), lw)
  }
  kn_try(cpp_model_save_h5(ptr, filepath, isTRUE(.subset2(object, "sequential")), TRUE,
                           isTRUE(include_optimizer), tc), what)
}

#' @rdname save_model_hdf5
#' @export
load_model_hdf5 <- function(filepath, custom_objects = NULL, compile = TRUE) {
  filepath <- check_path_arg(filepath, "load_model_hdf5")
  h5 <- read_h5(filepath, "load_model_hdf5")
  model_from_h5(h5, custom_objects, compile, "load_model_hdf5")
}

# ---------------------------------------------------------------- configs

#' Model configuration as JSON
#'
#' `model_to_json()` gives the architecture (no weights) as the JSON text of
#' Keras's `model.to_json()`; `model_from_json()` builds a new model (fresh
#' weights) from such text, also when written by Keras 2.x or tf.keras.
#'
#' @param object Model object.
#' @param json JSON text (a string, or a file path ending in `.json`).
#' @param custom_objects See [load_model_hdf5()].
#' @return `model_to_json()`: a JSON string; `model_from_json()`: a model.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3, name = "hidden") %>%
#'   layer_dense(units = 1)
#' json <- model_to_json(model)
#' model2 <- model_from_json(json)
#' summary(model2)
#' @export
model_to_json <- function(object) {
  check_model_arg(object, "model_to_json")
  cpp_model_config_json(model_ptr(object), isTRUE(.subset2(object, "sequential")), TRUE)
}

#' @rdname model_to_json
#' @export
model_from_json <- function(json, custom_objects = NULL) {
  if (!is.character(json) || length(json) < 1) stop("model_from_json(): `json` must be a string", call. = FALSE)
  json <- paste(json, collapse = "\n")
  if (!grepl("^\\s*[[{]", json) && file.exists(json)) json <- paste(readLines(json, warn = FALSE), collapse = "\n")
  model_from_config_json(json, custom_objects, "model_from_json")
}

#' Layer/Model configuration
#'
#' `get_config()` returns the configuration of a model or layer as an R list
#' (the Keras config as `jsonlite` parses it: JSON `null` becomes `NULL`,
#' lists stay lists); `from_config()` creates a new model (or layer) from it.
#'
#' @param object Model or layer object.
#' @param config A configuration from `get_config()` (for models also the
#'   parsed `{"class_name", "config"}` form of Keras JSON).
#' @param custom_objects See [load_model_hdf5()].
#' @return `get_config()`: a named list with attribute `config_class` (the
#'   Keras class); `from_config()`: a model or layer.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 4, input_shape = 3)
#' config <- get_config(model)
#' config$layers[[1]]$config$units
#' model2 <- from_config(config)
#' @export
get_config <- function(object) {
  if (is_model(object)) {
    full <- jsonlite::fromJSON(cpp_model_config_json(model_ptr(object), isTRUE(.subset2(object, "sequential")), FALSE),
                               simplifyVector = FALSE)
    config <- full$config
    attr(config, "config_class") <- full$class_name
    return(config)
  }
  ptr <- layer_ptr(object)
  if (is.null(ptr)) stop("get_config() needs a model or a layer", call. = FALSE)
  config <- jsonlite::fromJSON(cpp_layer_config(ptr), simplifyVector = FALSE)
  attr(config, "config_class") <- cpp_layer_class(ptr)
  config
}

#' @rdname get_config
#' @export
from_config <- function(config, custom_objects = NULL) {
  if (!is.list(config)) stop("from_config(): `config` must be a list from get_config()", call. = FALSE)
  cls <- attr(config, "config_class", exact = TRUE)
  if (is.null(cls) && !is.null(config$class_name) && !is.null(config$config)) {
    cls <- config$class_name
    config <- config$config
  }
  if (!is.null(cls) && !cls %in% c("Sequential", "Model", "Functional")) {
    attr(config, "config_class") <- NULL
    ptr <- kn_try(cpp_layer_new(cls, config_to_json(config)), "from_config()")
    return(new_layer_object(ptr))
  }
  attr(config, "config_class") <- NULL
  root <- if (is.null(cls)) config else list(class_name = cls, config = config)
  model_from_config_json(config_to_json(root), custom_objects, "from_config")
}

# R list (as jsonlite parses Keras JSON) -> JSON text; doubles keep a decimal
# point so that integer/float entries survive the round trip.
config_to_json <- function(x) {
  as.character(jsonlite::toJSON(x, auto_unbox = TRUE, null = "null", digits = NA, always_decimal = TRUE))
}

# ---------------------------------------------------------------- raw

#' Serialize a model to an R object
#'
#' Keeps the whole model (as [save_model_hdf5()] writes it) in a raw vector,
#' e.g. to store it in a database or send it to another program.
#'
#' Models can also be given to [saveRDS()], [save()] and [serialize()] directly
#' (and so to parallel workers or knitr's cache): R then writes the model as
#' it is at that moment, with the same bytes as `serialize_model()`
#' (architecture, trainable flags, weights, compile settings and optimizer
#' state), and the model read back resumes training exactly. Nothing is copied
#' while the model is used. Layer objects (e.g. from [get_layer()]) are not
#' saved on their own: read back, they give an error; save the model and get
#' the layer from it again.
#'
#' @param model Model (to serialize) or raw vector (to unserialize).
#' @param include_optimizer Whether to include the compile settings and the
#'   optimizer state.
#' @param custom_objects See [load_model_hdf5()].
#' @param compile Whether to compile the model after loading.
#' @return `serialize_model()`: a raw vector (the bytes of a Keras HDF5
#'   file); `unserialize_model()`: a model.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 2, input_shape = 3)
#' raw <- serialize_model(model)
#' model2 <- unserialize_model(raw, compile = FALSE)
#' @export
serialize_model <- function(model, include_optimizer = TRUE) {
  check_model_arg(model, "serialize_model")
  f <- tempfile("kn_model_", fileext = ".h5")
  on.exit(unlink(f), add = TRUE)
  write_model_h5(model, f, include_optimizer, "serialize_model()")
  readBin(f, "raw", file.size(f))
}

#' @rdname serialize_model
#' @export
unserialize_model <- function(model, custom_objects = NULL, compile = TRUE) {
  if (!is.raw(model)) stop("unserialize_model(): `model` must be a raw vector from serialize_model()", call. = FALSE)
  f <- tempfile("kn_model_", fileext = ".h5")
  on.exit(unlink(f), add = TRUE)
  writeBin(model, f)
  h5 <- read_h5(f, "unserialize_model")
  model_from_h5(h5, custom_objects, compile, "unserialize_model")
}

# ---------------------------------------------------------------- saveRDS support

# Rebuilds the engine model of `model` (whose handle is null after readRDS()
# or unserialize()) from its state, which R wrote as the model's bytes; keeps
# and returns the new handle. A damaged or missing state gives an error.
model_reattach <- function(model) {
  st <- .subset2(model, "state")
  what <- "restoring the model read back by readRDS()/unserialize()"
  if (!is.raw(st))
    stop(what, ": the model object holds no saved state (it was not created by kerasnative, or was altered); ",
         "save models with saveRDS(), serialize_model() or save_model_hdf5()", call. = FALSE)
  ptr <- cpp_model_state_ptr(st)
  if (is.null(ptr)) {
    seq <- isTRUE(.subset2(model, "sequential"))
    res <- kn_try(cpp_model_from_state(st, .subset2(model, "name") %||% "sequential", seq, r_seed()), what)
    ptr <- res$ptr
    assign("state", cpp_model_state(ptr, seq), envir = model)
  }
  assign("ptr", ptr, envir = model)
  ptr
}
