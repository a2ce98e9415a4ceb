# Runs seeds 000 and 002 (inst/scripts/seed_000.R, seed_002.R) on the full
# MNIST of ../shared/testdata (or $KERASNATIVE_SHARED) and prints their
# accuracies. Not part of the test suite (seed 000 trains 5 epochs).
# Usage: Rscript inst/scripts/run_seeds.R [000|002 ...]   (from the package root)
args <- commandArgs(trailingOnly = TRUE)
which <- if (length(args)) args else c("000", "002")
shared <- Sys.getenv("KERASNATIVE_SHARED", file.path("..", "shared", "testdata"))
files <- c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
           "t10k-labels-idx1-ubyte.gz")
src <- file.path(shared, "mnist", files)
if (!all(file.exists(src))) stop("MNIST not found in ", file.path(shared, "mnist"), call. = FALSE)
home <- tempfile("kerashome")
dir.create(file.path(home, "datasets"), recursive = TRUE)
invisible(file.copy(src, file.path(home, "datasets")))
scripts <- system.file("scripts", package = "kerasnative")
if (!nzchar(scripts)) scripts <- file.path("inst", "scripts")
for (s in which) {
  wd <- tempfile(paste0("seed", s)); dir.create(wd)
  t0 <- Sys.time()
  out <- system2(file.path(R.home("bin"), "Rscript"),
                 c("-e", shQuote(sprintf("setwd('%s'); source('%s')", wd, normalizePath(file.path(scripts, paste0("seed_", s, ".R")))))),
                 env = c(paste0("KERAS_HOME=", home), paste0("SEED002_DIR=", file.path(wd, "model"))),
                 stdout = TRUE, stderr = TRUE)
  el <- as.numeric(Sys.time() - t0, units = "mins")
  acc <- grep("Test accuracy|accuracy = ", out, value = TRUE)
  cat(sprintf("seed %s (%.1f min): %s\n", s, el, if (length(acc)) paste(acc, collapse = " | ") else "no accuracy line"))
}
