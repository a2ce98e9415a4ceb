# Fixed inputs of every write_tfrecord() column kind; the fixture
# fixtures/tfrecord/write_ref.tfrecord was written from them by the writer
# before the parallel column encoder (commit 52b12eb), so the test checks the
# new writer byte for byte against the old one.
write_ref_data <- function() {
  n <- 37L
  i <- seq_len(n)
  list(
    img = array((i * 7L + rep(0:11, each = n) * 13L) %% 256L, c(n, 3, 4)),        # as_bytes, integer
    img_dbl = array(as.double((i * 3 + rep(0:4, each = n) * 29) %% 256), c(n, 5)), # as_bytes, double
    raw = array(as.raw((i + rep(0:5, each = n) * 40) %% 256), c(n, 2, 3)),         # raw -> one bytes value
    ints = matrix(c((i - 19L) * 100003L, rep(c(.Machine$integer.max, -.Machine$integer.max), length.out = n)), n),
    flt = array(cbind(sin(outer(i, 1:24)) * 10^(i %% 7 - 3), rep(c(NaN, Inf, -Inf, 0, -0, 1e-40), length.out = n)), c(n, 5, 5)),
    lgl = rep(c(TRUE, FALSE, TRUE), length.out = n),
    txt = matrix(c(paste0("r", i), rep(c("", "\u00e9t\u00e9", "a b"), length.out = n)), n),
    fac = factor(rep(c("lo", "hi"), length.out = n)),
    lab = (i * 5L) %% 10L
  )
}
