#' @export
print.keras_training_history <- function(x, ...) {
  p <- x$params
  validate <- if (isTRUE(p$do_validation)) {
    if (!is.null(p$validation_samples))
      paste0(", validated on ", prettyNum(p$validation_samples, big.mark = ","), " samples")
    else ", validated"
  } else ""
  str <- if (!is.null(p$samples)) {
    paste0("Trained on ", prettyNum(p$samples, big.mark = ","), " samples", validate,
           " (batch_size=", p$batch_size, ", epochs=", p$epochs, ")")
  } else {  # generators and datasets: steps per epoch
    paste0("Trained on ", if (!is.null(p$steps)) paste0(p$steps, " steps per epoch") else "a dataset",
           validate, " (epochs=", p$epochs, ")")
  }
  metrics <- Filter(length, x$metrics)
  if (length(metrics)) {
    last <- vapply(metrics, function(m) m[[length(m)]], numeric(1))
    labels <- format(names(last), justify = "right")
    vals <- format(round(last, 4), nsmall = 4)
    str <- paste0(str, "\nFinal epoch (plot to see history):\n",
                  paste0(labels, ": ", vals, collapse = "\n"))
  }
  cat(str, "\n")
  invisible(x)
}

#' Converts a training history to a data frame
#'
#' @param x A `keras_training_history` from [fit()].
#' @param ... Ignored.
#' @return A long data frame with columns `epoch`, `value`, `metric`
#'   (`loss`, `acc`, ...) and `data` (`training` or `validation`).
#' @examples
#' h <- structure(list(params = list(epochs = 2),
#'   metrics = list(loss = c(0.5, 0.3), acc = c(0.8, 0.9))), class = "keras_training_history")
#' as.data.frame(h)
#' @export
as.data.frame.keras_training_history <- function(x, ...) {
  m <- Filter(length, x$metrics)
  if (!length(m)) return(data.frame(epoch = integer(), value = numeric(), metric = factor(), data = factor()))
  n <- max(lengths(m))
  base <- unique(sub("^val_", "", names(m)))
  rows <- lapply(names(m), function(nm) {
    v <- m[[nm]]
    data.frame(epoch = seq_along(v), value = v, metric = sub("^val_", "", nm),
               data = if (startsWith(nm, "val_")) "validation" else "training",
               stringsAsFactors = FALSE)
  })
  df <- do.call(rbind, rows)
  df$metric <- factor(df$metric, levels = base)
  df$data <- factor(df$data, levels = c("training", "validation"))
  df[order(df$metric, df$data, df$epoch), , drop = FALSE]
}

#' Plot training history
#'
#' One panel per metric (loss, acc), training and validation as points with
#' smooth lines: ggplot2 when installed, base graphics otherwise.
#' @param x Training history object returned from [fit()].
#' @param y Unused.
#' @param metrics One or more metrics to plot (e.g. `c("loss", "acc")`).
#'   Defaults to all.
#' @param method `"auto"`, `"ggplot2"` or `"base"`.
#' @param smooth Whether a loess smooth is added (with 10 or more epochs).
#' @param theme_bw Use `ggplot2::theme_bw()`.
#' @param ... Further arguments to the base plot.
#' @return A ggplot object (ggplot2) or `NULL` invisibly (base).
#' @examples
#' h <- structure(list(params = list(epochs = 3), metrics = list(
#'   loss = c(0.5, 0.3, 0.2), acc = c(0.8, 0.9, 0.95),
#'   val_loss = c(0.6, 0.4, 0.35), val_acc = c(0.75, 0.85, 0.9))),
#'   class = "keras_training_history")
#' plot(h, method = "base")
#' @importFrom graphics plot lines points legend par
#' @export
plot.keras_training_history <- function(x, y, metrics = NULL, method = c("auto", "ggplot2", "base"),
                                        smooth = getOption("keras.plot.history.smooth", TRUE),
                                        theme_bw = getOption("keras.plot.history.theme_bw", FALSE), ...) {
  method <- match.arg(method)
  if (method == "auto") method <- if (requireNamespace("ggplot2", quietly = TRUE)) "ggplot2" else "base"
  df <- as.data.frame(x)
  if (!is.null(metrics)) df <- df[df$metric %in% metrics, , drop = FALSE]
  df$metric <- droplevels(df$metric)
  if (method == "ggplot2") {
    do_val <- nlevels(droplevels(df$data)) > 1
    aes <- if (do_val) ggplot2::aes(x = .data$epoch, y = .data$value, color = .data$data, fill = .data$data)
           else ggplot2::aes(x = .data$epoch, y = .data$value)
    p <- ggplot2::ggplot(df, aes)
    if (smooth && max(df$epoch) >= 10) p <- p + ggplot2::geom_smooth(se = FALSE, method = "loess", formula = y ~ x)
    p <- p + ggplot2::geom_point(shape = 21, col = 1) +
      ggplot2::facet_grid(metric ~ ., switch = "y", scales = "free_y") +
      ggplot2::theme(axis.title.y = ggplot2::element_blank(), strip.placement = "outside",
                     strip.text = ggplot2::element_text(colour = "black", size = 11),
                     strip.background = ggplot2::element_rect(fill = NA, color = NA))
    if (theme_bw) p <- p + ggplot2::theme_bw()
    return(p)
  }
  ms <- levels(df$metric)
  op <- par(mfrow = c(length(ms), 1), mar = c(3, 4, 1, 1))
  on.exit(par(op))
  for (m in ms) {
    d <- df[df$metric == m, ]
    plot(d$epoch, d$value, type = "n", xlab = "epoch", ylab = m, ...)
    for (k in levels(droplevels(d$data))) {
      s <- d[d$data == k, ]
      col <- if (k == "training") "#F8766D" else "#00BFC4"
      points(s$epoch, s$value, pch = 21, bg = col)
      lines(s$epoch, s$value, col = col)
    }
    if (nlevels(droplevels(d$data)) > 1)
      legend("topright", legend = levels(droplevels(d$data)), pt.bg = c("#F8766D", "#00BFC4"), pch = 21, bty = "n")
  }
  invisible(NULL)
}
