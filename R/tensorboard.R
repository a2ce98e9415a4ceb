# TensorBoard: the callback writing event files, a reader of their scalars,
# a plot of runs side by side, and tensorboard() to launch the real thing.

TensorBoard <- R6::R6Class("TensorBoard", inherit = KerasCallback,
  public = list(
    log_dir = NULL, histogram_freq = 0, write_graph = TRUE, update_freq = "epoch",
    writer = NULL, samples_seen = 0, last_write = 0, last_lr = NULL,
    initialize = function(log_dir, histogram_freq, write_graph, update_freq) {
      self$log_dir <- log_dir; self$histogram_freq <- histogram_freq
      self$write_graph <- write_graph; self$update_freq <- update_freq
    },
    uses_batch_hooks = function(mode) mode == "train" && !identical(self$update_freq, "epoch"),
    on_train_begin = function(logs = NULL) {
      self$writer <- cpp_tfevents_open(self$log_dir)
      self$samples_seen <- 0; self$last_write <- 0; self$last_lr <- NULL
      if (self$write_graph) {
        n <- cpp_model_nodes(model_ptr(self$model))
        inputs <- lapply(n$inputs, function(i) n$name[i + 1L])
        cpp_tfevents_graph(self$writer, n$name, n$class, inputs, lapply(n$shape, as.numeric), now_seconds())
      }
    },
    write_logs = function(logs, step) {
      logs <- logs[setdiff(names(logs), c("batch", "size"))]
      logs <- Filter(function(v) is.numeric(v) && length(v) == 1, logs)
      if (length(logs)) cpp_tfevents_scalars(self$writer, names(logs), as.numeric(unlist(logs)), step, now_seconds())
    },
    on_batch_end = function(batch, logs = NULL) {
      if (identical(self$update_freq, "epoch")) return(invisible(NULL))
      self$samples_seen <- self$samples_seen + (logs$size %||% 0)
      freq <- if (identical(self$update_freq, "batch")) 1 else self$update_freq
      if (self$samples_seen - self$last_write >= freq) {
        self$write_logs(logs, self$samples_seen)
        self$last_write <- self$samples_seen
      }
      invisible(NULL)
    },
    on_epoch_end = function(epoch, logs = NULL) {
      step <- if (identical(self$update_freq, "epoch")) epoch else self$samples_seen
      if (self$histogram_freq > 0 && epoch %% self$histogram_freq == 0) {
        for (l in model_layers(self$model)) {
          if (!inherits(l, "kerasnative_layer")) next
          ws <- cpp_layer_weights(layer_ptr(l))
          for (k in seq_along(ws))
            cpp_tfevents_histogram(self$writer, gsub(":", "_", names(ws)[k], fixed = TRUE), as.numeric(ws[[k]]),
                                   epoch, now_seconds())
        }
      }
      # the learning rate when it changes (and at the first epoch)
      lr <- logs$lr %||% k_get_value(self$model$optimizer$lr)
      if (is.null(logs$lr) && !identical(lr, self$last_lr)) logs$lr <- lr
      self$last_lr <- lr
      self$write_logs(logs, step)
      invisible(NULL)
    },
    on_train_end = function(logs = NULL) {
      if (!is.null(self$writer)) cpp_tfevents_close(self$writer)
      self$writer <- NULL
    }
  )
)
now_seconds <- function() as.numeric(Sys.time())

#' TensorBoard basic visualizations
#'
#' Writes TensorBoard event files (`events.out.tfevents.<seconds>.<host>`,
#' TFRecord-framed `tensorflow.Event` messages starting with the
#' `"brain.Event:2"` version event) as Keras 2.2.5's `TensorBoard` callback
#' with the TensorFlow backend does: one scalar summary per log value at the
#' end of every epoch (`loss`, `acc`, `val_loss`, `val_acc`, ...; step = the
#' 0-based epoch), plus `lr` whenever the optimizer's learning rate changes;
#' with `update_freq = "batch"` (or a number of samples) the batch logs too,
#' at step = samples seen; histograms of every weight
#' (`dense_1/kernel_0`, ...) every `histogram_freq` epochs; and the model
#' graph (one node per layer with its Keras class and output shape).
#' Read them back with [tfevents_scalars()], or open [tensorboard()].
#' @param log_dir The path of the directory where to save the log files (created if needed).
#' @param histogram_freq Frequency (in epochs) at which to compute weight
#'   histograms for the layers of the model. If set to 0, histograms won't be computed.
#' @param batch_size Size of batch of inputs to feed to the network for
#'   histograms computation (Keras feeds validation data; the weight histograms
#'   written here do not depend on it).
#' @param write_graph Whether to visualize the graph in TensorBoard.
#' @param write_grads,write_images Gradient histograms and weight images are
#'   not supported yet (`TRUE` is an error).
#' @param embeddings_freq,embeddings_layer_names,embeddings_metadata,embeddings_data
#'   Embeddings are not supported yet (`embeddings_freq > 0` is an error).
#' @param update_freq `"batch"`, `"epoch"`, or an integer: how often to write
#'   losses and metrics ("batch": after each batch; an integer: every that many samples).
#' @return A [KerasCallback].
#' @family callbacks
#' @examples
#' cb <- callback_tensorboard(file.path(tempdir(), "logs", "run1"))
#' @export
callback_tensorboard <- function(log_dir = "logs", histogram_freq = 0, batch_size = 32, write_graph = TRUE,
                                 write_grads = FALSE, write_images = FALSE, embeddings_freq = 0,
                                 embeddings_layer_names = NULL, embeddings_metadata = NULL,
                                 embeddings_data = NULL, update_freq = "epoch") {
  if (is.null(log_dir)) log_dir <- "logs"
  if (!is.character(log_dir) || length(log_dir) != 1 || !nzchar(log_dir))
    stop("callback_tensorboard(): `log_dir` must be a directory path", call. = FALSE)
  check_cb_number(histogram_freq, "histogram_freq", "callback_tensorboard", 0, integer = TRUE)
  check_cb_number(batch_size, "batch_size", "callback_tensorboard", 1, integer = TRUE)
  if (isTRUE(write_grads)) stop("callback_tensorboard(): write_grads = TRUE is not supported yet", call. = FALSE)
  if (isTRUE(write_images)) stop("callback_tensorboard(): write_images = TRUE is not supported yet", call. = FALSE)
  if (!identical(embeddings_freq, 0) && !identical(embeddings_freq, 0L))
    stop("callback_tensorboard(): embeddings (embeddings_freq > 0) are not supported yet", call. = FALSE)
  if (!identical(update_freq, "epoch") && !identical(update_freq, "batch"))
    check_cb_number(update_freq, "update_freq", "callback_tensorboard", 1, integer = TRUE)
  TensorBoard$new(path.expand(log_dir), as.integer(histogram_freq), isTRUE(write_graph), update_freq)
}

#' Read the scalars of TensorBoard logs
#'
#' Reads every event file (`*tfevents*`) below `log_dir` -- those written by
#' [callback_tensorboard()] and those written by TensorFlow (simple values and
#' TF2 scalar tensors) -- so runs can be compared without TensorBoard. The
#' run is the directory of the file relative to `log_dir` (`"."` for files
#' directly in it). Record CRCs are checked.
#' @param log_dir A log directory (or a single event file).
#' @return A data frame with columns `run`, `tag`, `step`, `wall_time`
#'   (seconds since the epoch) and `value`, ordered by run, tag and step; class
#'   `kerasnative_tfevents_scalars` (see [plot.kerasnative_tfevents_scalars()]).
#' @examples
#' \dontrun{
#' s <- tfevents_scalars("logs")
#' plot(s)
#' }
#' @export
tfevents_scalars <- function(log_dir = "logs") {
  if (!is.character(log_dir) || length(log_dir) != 1 || !file.exists(log_dir))
    stop("tfevents_scalars(): log directory '", paste(log_dir, collapse = " "), "' does not exist", call. = FALSE)
  if (dir.exists(log_dir)) {
    files <- list.files(log_dir, pattern = "tfevents", recursive = TRUE, full.names = FALSE)
    runs <- dirname(files)
    files <- file.path(log_dir, files)
  } else {
    files <- log_dir; runs <- "."
  }
  parts <- lapply(seq_along(files), function(i) {
    d <- tryCatch(cpp_tfevents_read_scalars(files[i]),
                  error = function(e) stop("tfevents_scalars(): ", conditionMessage(e), call. = FALSE))
    if (nrow(d)) cbind(data.frame(run = runs[i], stringsAsFactors = FALSE), d) else NULL
  })
  out <- do.call(rbind, Filter(Negate(is.null), parts))
  if (is.null(out))
    out <- data.frame(run = character(), tag = character(), step = numeric(), wall_time = numeric(),
                      value = numeric(), stringsAsFactors = FALSE)
  out <- out[order(out$run, out$tag, out$step, out$wall_time, method = "radix"), , drop = FALSE]
  rownames(out) <- NULL
  class(out) <- c("kerasnative_tfevents_scalars", "data.frame")
  out
}

#' Plot the scalars of TensorBoard logs
#'
#' One panel per tag (`loss`, `val_loss`, ...), one line per run: the runs
#' of a log directory side by side, as TensorBoard's Scalars tab shows them.
#' @param x A data frame from [tfevents_scalars()].
#' @param tags Tags to plot (default: all).
#' @param ... Passed to [graphics::plot()].
#' @return `x`, invisibly.
#' @examples
#' s <- structure(data.frame(run = rep(c("a", "b"), each = 3), tag = "loss", step = rep(0:2, 2),
#'                           wall_time = 0, value = c(1, 0.6, 0.5, 1.1, 0.8, 0.7)),
#'                class = c("kerasnative_tfevents_scalars", "data.frame"))
#' plot(s)
#' @export
plot.kerasnative_tfevents_scalars <- function(x, tags = NULL, ...) {
  tags <- tags %||% unique(x$tag)
  if (!length(tags)) { message("no scalars to plot"); return(invisible(x)) }
  runs <- unique(x$run)
  cols <- grDevices::hcl.colors(max(2, length(runs)), "Dark 3")[seq_along(runs)]
  nc <- ceiling(sqrt(length(tags)))
  old <- graphics::par(mfrow = c(ceiling(length(tags) / nc), nc), mar = c(4, 4, 2, 1))
  on.exit(graphics::par(old))
  for (tg in tags) {
    d <- x[x$tag == tg, , drop = FALSE]
    graphics::plot(range(d$step), range(d$value), type = "n", xlab = "step", ylab = tg, main = tg, ...)
    for (i in seq_along(runs)) {
      r <- d[d$run == runs[i], , drop = FALSE]
      if (nrow(r)) graphics::lines(r$step, r$value, col = cols[i], type = "o", pch = 20)
    }
    if (length(runs) > 1) graphics::legend("topright", legend = runs, col = cols, lty = 1, bty = "n", cex = 0.8)
  }
  invisible(x)
}

#' Run TensorBoard
#'
#' Launches TensorBoard on `log_dir` when the `tensorboard` program is
#' installed (e.g. `pip install tensorboard`); otherwise explains how to
#' read the logs with this package ([tfevents_scalars()] and its `plot()`).
#' @param log_dir Directory of the logs (all runs below it are shown).
#' @param action `"start"` or `"stop"` (stops the TensorBoard started here).
#' @param host,port Host and port to serve on (`"auto"`: 6006).
#' @param launch_browser Open a browser on it.
#' @param reload_interval How often the backend should load more data (seconds).
#' @param purge_orphaned_data Whether to purge data that may have been orphaned
#'   due to TensorBoard restarts.
#' @return The URL (invisibly), or `NULL` when TensorBoard is not installed.
#' @examples
#' \dontrun{
#' tensorboard("logs")
#' }
#' @export
tensorboard <- function(log_dir = "logs", action = c("start", "stop"), host = "127.0.0.1", port = "auto",
                        launch_browser = interactive(), reload_interval = 5, purge_orphaned_data = TRUE) {
  action <- match.arg(action)
  if (action == "stop") {
    if (!is.null(.kn$tensorboard)) { tools::pskill(.kn$tensorboard); .kn$tensorboard <- NULL }
    return(invisible(NULL))
  }
  exe <- Sys.which("tensorboard")
  if (!nzchar(exe)) {
    message("TensorBoard is not installed (it comes with `pip install tensorboard`). ",
            "To look at the logs in R:\n  s <- tfevents_scalars(\"", log_dir, "\")\n  plot(s)   # one panel per metric, one line per run")
    return(invisible(NULL))
  }
  if (identical(port, "auto")) port <- 6006L
  args <- c(paste0("--logdir=", normalizePath(log_dir, mustWork = FALSE)), paste0("--host=", host),
            paste0("--port=", port), paste0("--reload_interval=", reload_interval),
            paste0("--purge_orphaned_data=", tolower(isTRUE(purge_orphaned_data))))
  out <- tempfile("tensorboard", fileext = ".log")
  pid <- system2("sh", c("-c", shQuote(sprintf("%s %s >%s 2>&1 & echo $!", shQuote(exe),
                                               paste(shQuote(args), collapse = " "), shQuote(out)))), stdout = TRUE)
  .kn$tensorboard <- as.integer(pid[1])
  url <- sprintf("http://%s:%s", host, port)
  message("Started TensorBoard at ", url, " (log: ", out, ")")
  if (isTRUE(launch_browser)) utils::browseURL(url)
  invisible(url)
}
