# Plain-R recurrences (Keras 2.2 equations, hard_sigmoid gates, tanh) shared by
# the recurrent, wrapper and masking tests.

hsig <- function(z) pmin(pmax(0.2 * z + 0.5, 0), 1)

# x (N, T, F); h0/c0 (N, u) or NULL; mask (N, T) 0/1 or NULL.
# Returns list(out = (N, u) or (N, T, u), h = (N, u), c = (N, u)).
ref_rnn <- function(cell, x, W, U, b, h0 = NULL, c0 = NULL, mask = NULL, go_backwards = FALSE,
                    return_sequences = FALSE) {
  N <- dim(x)[1]; TT <- dim(x)[2]
  u <- nrow(U)
  cols <- function(k) ((k - 1) * u + 1):(k * u)
  out <- array(0, c(N, TT, u)); H <- matrix(0, N, u); C <- matrix(0, N, u)
  for (n in 1:N) {
    h <- if (is.null(h0)) rep(0, u) else h0[n, ]
    cc <- if (is.null(c0)) rep(0, u) else c0[n, ]
    steps <- if (go_backwards) TT:1 else 1:TT
    for (s in seq_along(steps)) {
      t <- steps[s]
      xt <- x[n, t, ]
      if (cell == "simple") {
        hn <- tanh(as.vector(xt %*% W) + as.vector(h %*% U) + b); cn <- cc
      } else if (cell == "lstm") {
        z <- as.vector(xt %*% W) + as.vector(h %*% U) + b
        cn <- hsig(z[cols(2)]) * cc + hsig(z[cols(1)]) * tanh(z[cols(3)])
        hn <- hsig(z[cols(4)]) * tanh(cn)
      } else {
        zz <- hsig(as.vector(xt %*% W[, cols(1)]) + as.vector(h %*% U[, cols(1)]) + b[cols(1)])
        r <- hsig(as.vector(xt %*% W[, cols(2)]) + as.vector(h %*% U[, cols(2)]) + b[cols(2)])
        hh <- tanh(as.vector(xt %*% W[, cols(3)]) + as.vector((r * h) %*% U[, cols(3)]) + b[cols(3)])
        hn <- zz * h + (1 - zz) * hh; cn <- cc
      }
      if (is.null(mask) || mask[n, t] != 0) { h <- hn; cc <- cn }
      out[n, s, ] <- h
    }
    H[n, ] <- h; C[n, ] <- cc
  }
  list(out = if (return_sequences) out else H, h = H, c = C)
}

rand_weights <- function(F, u, G) {
  list(matrix(rnorm(F * G * u, sd = 0.5), F, G * u), matrix(rnorm(u * G * u, sd = 0.5), u, G * u),
       rnorm(G * u, sd = 0.3))
}


# Stacks (n, ...) arrays along the sample dimension.
abind_samples <- function(a, b) {
  d <- dim(a)
  out <- array(0, c(d[1] + dim(b)[1], d[-1]))
  idx <- rep(list(TRUE), length(d) - 1)
  out <- do.call(`[<-`, c(list(out, seq_len(d[1])), idx, list(value = a)))
  do.call(`[<-`, c(list(out, d[1] + seq_len(dim(b)[1])), idx, list(value = b)))
}
