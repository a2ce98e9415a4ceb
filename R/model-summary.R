# Keras's print_summary, as text lines.
summary_lines <- function(object, line_length = getOption("width"), positions = NULL) {
  nodes <- summary_node_table(cpp_model_nodes(model_ptr(object)))
  sequential <- isTRUE(object$sequential)
  # Keras prints a functional model like a Sequential one when it is a plain
  # chain: one input and output, every node fed by at most one other, no layer
  # used twice.
  chain <- sequential || (length(nodes$model_inputs) == 1 && length(nodes$model_outputs) == 1 &&
    all(lengths(nodes$inputs[nodes$show]) <= 1) && !anyDuplicated(unlist(nodes$inputs[nodes$show])) &&
    !anyDuplicated(nodes$name[nodes$show]))
  line_length <- as.integer(line_length %||% if (chain) 65L else 98L)
  if (is.null(positions)) positions <- if (chain) c(.45, .85, 1) else c(.33, .55, .67, 1)
  if (max(positions) <= 1) positions <- as.integer(line_length * positions)
  headers <- c("Layer (type)", "Output Shape", "Param #", if (!chain) "Connected to")
  row <- function(fields) {
    line <- ""
    for (i in seq_along(fields)) {
      if (i > 1) line <- paste0(substr(line, 1, nchar(line) - 1), " ")
      line <- paste0(line, fields[i])
      line <- substr(line, 1, positions[i])
      line <- paste0(line, strrep(" ", positions[i] - nchar(line)))
    }
    line
  }
  shape_text <- function(s) {
    parts <- c("None", as.character(s))
    paste0("(", paste(parts, collapse = ", "), if (length(parts) == 1) "," else "", ")")
  }
  out <- c(strrep("_", line_length), row(headers), strrep("=", line_length))
  idx <- which(nodes$show)
  if (sequential) idx <- idx[!vapply(nodes$layer[idx], is.null, logical(1)) | nodes$class[idx] == "Lambda"]
  trainable <- 0; non_trainable <- 0
  counted <- character()
  for (k in seq_along(idx)) {
    i <- idx[k]
    lptr <- nodes$layer[[i]]
    params <- 0
    if (!is.null(lptr) && !(nodes$name[i] %in% counted)) {
      w <- cpp_layer_weights(lptr)
      tr <- attr(w, "trainable")
      sizes <- vapply(w, length, numeric(1))
      layer_tr <- cpp_layer_trainable(lptr)
      trainable <- trainable + sum(sizes[tr & layer_tr])
      non_trainable <- non_trainable + sum(sizes[!(tr & layer_tr)])
      params <- sum(sizes)
      counted <- c(counted, nodes$name[i])
    }
    # a multi-output layer (an RNN with return_state) shows every output, as Keras: [(None, 4), (None, 4)]
    extra <- nodes$extra_shapes[[i]]
    shape_field <- if (length(extra)) {
      paste0("[", paste(vapply(c(list(nodes$shape[[i]]), extra), shape_text, ""), collapse = ", "), "]")
    } else shape_text(nodes$shape[[i]])
    fields <- c(sprintf("%s (%s)", nodes$name[i], nodes$class[i]), shape_field,
                format(params, scientific = FALSE))
    if (!chain) {
      ins <- nodes$inputs[[i]]
      # [node index][tensor index]: output k of a multi-output layer is name[0][k]
      conn <- if (length(ins)) paste0(nodes$name[ins + 1], "[0][", nodes$output_index[ins + 1], "]") else ""
      out <- c(out, row(c(fields, conn[1])))
      for (extra in conn[-1]) out <- c(out, row(c("", "", "", extra)))
    } else {
      out <- c(out, row(fields))
    }
    out <- c(out, if (k == length(idx)) strrep("=", line_length) else strrep("_", line_length))
  }
  fmt <- function(n) formatC(n, format = "d", big.mark = ",")
  c(out, paste0("Total params: ", fmt(trainable + non_trainable)),
    paste0("Trainable params: ", fmt(trainable)),
    paste0("Non-trainable params: ", fmt(non_trainable)), strrep("_", line_length))
}

#' Print a summary of a Keras model
#'
#' The Keras table: layers with their output shapes and parameter counts
#' (and, for non-sequential models, what each layer is connected to).
#' @param object,x Keras model instance.
#' @param line_length Total length of printed lines.
#' @param positions Relative or absolute positions of log elements in each line.
#' @param ... Ignored.
#' @return The model, invisibly.
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 32, input_shape = 784) %>%
#'   layer_dense(units = 10, activation = "softmax")
#' summary(model)
#' @export
summary.kerasnative_model <- function(object, line_length = getOption("width"), positions = NULL, ...) {
  writeLines(summary_lines(object, line_length, positions))
  invisible(object)
}

#' @rdname summary.kerasnative_model
#' @export
format.kerasnative_model <- function(x, ...) {
  if (length(cpp_model_nodes(model_ptr(x))$name) == 0) return("Model\n<empty: no layers yet>")
  paste(c("Model", summary_lines(x)), collapse = "\n")
}

#' @rdname summary.kerasnative_model
#' @export
print.kerasnative_model <- function(x, ...) {
  writeLines(format(x, ...))
  invisible(x)
}
