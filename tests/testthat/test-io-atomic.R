# Saves never lose work: a child R process overwrites a good file again and
# again (save_model_hdf5(), save_model_weights_hdf5(), write_tfrecord()) and is
# killed with SIGKILL while a save is in progress (its temporary file exists).
# The target must still be a complete file that loads, holding either the
# parent's original content or one complete child version, never a mixture.
#
# Temporary files: a writer killed by SIGKILL cannot clean up, so one stray
# temporary may remain. It is a hidden file named after the target
# (".<name>.tmp-<pid>-<n>", or ".<name>.kn-tmp-<hex>" from the HDF5 writer
# before kn::AtomicFile), so it cannot be mistaken for the target or matched
# by a "*.h5" / "*.tfrecord" pattern; the test requires every leftover to have
# that form, and requires that the kill really hit a save (a temporary was left).

rscript <- function() file.path(R.home("bin"), "Rscript")

# Values written by the parent (original) and by the child (each iteration).
kOriginal <- 0.25
kChild <- 0.75
kUnits <- 1500  # dense 1500 x 1500: 2.25M float32 weights, about 9 MB per save

big_model <- function(value) {
  m <- keras_model_sequential() %>%
    layer_dense(units = kUnits, input_shape = kUnits, name = "big") %>%
    layer_dense(units = 3, name = "out")
  set_weights(m, list(matrix(value, kUnits, kUnits), rep(value, kUnits),
                      matrix(value, kUnits, 3), rep(value, 3)))
  m
}

child_script <- function(kind, target, ready) {
  c("suppressMessages(library(kerasnative))",
    "kn_threads(1)",
    sprintf("kind <- '%s'; target <- '%s'", kind, target),
    sprintf("kUnits <- %d; v <- %s", kUnits, kChild),
    "if (kind == 'tfrecord') {",
    "  x <- matrix(v, 20000, 256)",  # 20,000 records of 256 floats: about 20 MB
    "} else {",
    "  m <- keras_model_sequential() %>% layer_dense(units = kUnits, input_shape = kUnits, name = 'big') %>%",
    "    layer_dense(units = 3, name = 'out')",
    "  set_weights(m, list(matrix(v, kUnits, kUnits), rep(v, kUnits), matrix(v, kUnits, 3), rep(v, 3)))",
    "}",
    sprintf("file.create('%s')", ready),
    "repeat {",
    "  if (kind == 'model') save_model_hdf5(m, target)",
    "  if (kind == 'weights') save_model_weights_hdf5(m, target)",
    "  if (kind == 'tfrecord') write_tfrecord(list(x = x, id = seq_len(nrow(x))), target)",
    "}")
}

# Running (a killed child nobody has reaped yet is a zombie: state Z).
pid_alive <- function(pid) {
  stat <- sprintf("/proc/%d/stat", pid)
  if (file.exists(stat)) {
    st <- tryCatch(readLines(stat, warn = FALSE), error = function(e) "")
    return(length(st) == 1 && !grepl("^[0-9]+ \\(.*\\) Z", st))
  }
  isTRUE(tools::pskill(pid, 0L))
}

# Start the child, wait until its temporary file appears, SIGKILL it at once.
# Returns the files left in `dir` besides the target (the stray temporaries).
kill_during_save <- function(kind, dir, target, timeout = 60) {
  ready <- file.path(dir, "ready")
  pidfile <- file.path(dir, "pid")
  script <- file.path(dir, "child.R")
  writeLines(child_script(kind, target, ready), script)
  unlink(c(ready, pidfile))
  # `exec` keeps the shell's pid for Rscript, so the pid file names the writer.
  cmd <- sprintf("echo $$ > '%s'; exec '%s' '%s' >'%s' 2>&1", pidfile, rscript(), script,
                 file.path(dir, "child.log"))
  system2("sh", c("-c", shQuote(cmd)), wait = FALSE,
          env = paste0("R_LIBS=", paste(.libPaths(), collapse = ":")))
  t0 <- Sys.time()
  while (!file.exists(pidfile) || length(readLines(pidfile, warn = FALSE)) == 0) {
    if (difftime(Sys.time(), t0, units = "secs") > timeout) stop("child did not start")
    Sys.sleep(0.01)
  }
  pid <- as.integer(readLines(pidfile, warn = FALSE)[1])
  on.exit(if (pid_alive(pid)) tools::pskill(pid, tools::SIGKILL))
  base <- basename(target)
  tmp_re <- paste0("^\\.", gsub(".", "\\.", base, fixed = TRUE), "\\.")
  repeat {
    if (!pid_alive(pid)) stop("child died: ", paste(readLines(file.path(dir, "child.log")), collapse = "\n"))
    if (file.exists(ready) && length(grep(tmp_re, list.files(dir, all.files = TRUE)))) break
    if (difftime(Sys.time(), t0, units = "secs") > timeout) stop("no save in progress seen within ", timeout, " s")
    Sys.sleep(0.005)
  }
  tools::pskill(pid, tools::SIGKILL)
  while (pid_alive(pid)) Sys.sleep(0.01)
  setdiff(list.files(dir, all.files = TRUE, no.. = TRUE),
          c(base, "ready", "pid", "child.R", "child.log"))
}

# Kill until a kill lands inside a save (a temporary survives); at most 4 tries.
check_kill <- function(kind, make_original, check_target) {
  skip_on_cran()
  dir <- tempfile("kn_atomic_")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  target <- file.path(dir, switch(kind, tfrecord = "data.tfrecord", "model.h5"))
  make_original(target)
  hit <- FALSE
  for (try in 1:4) {
    left <- kill_during_save(kind, dir, target)
    # only hidden temporaries named after the target may remain
    expect_true(all(grepl(paste0("^\\.", gsub(".", "\\.", basename(target), fixed = TRUE),
                                 "\\.(kn-)?tmp-"), left)), info = paste(left, collapse = ", "))
    expect_true(file.exists(target))
    check_target(target)
    if (length(left)) hit <- TRUE
    unlink(file.path(dir, left))
    if (hit) break
  }
  expect_true(hit, info = "no SIGKILL landed while a temporary file existed")
}

# Every weight of a loaded model is the same constant, one of the two versions.
expect_one_version <- function(w) {
  vals <- unique(unlist(lapply(w, function(a) unique(as.vector(a)))))
  expect_length(vals, 1)
  expect_true(vals[1] %in% c(kOriginal, kChild), info = paste(vals, collapse = " "))
  expect_equal(lapply(w, dim), list(c(kUnits, kUnits), NULL, c(kUnits, 3L), NULL))
}

test_that("SIGKILL during save_model_hdf5() leaves the previous file intact", {
  check_kill("model",
             function(target) save_model_hdf5(big_model(kOriginal), target),
             function(target) expect_one_version(get_weights(load_model_hdf5(target, compile = FALSE))))
})

test_that("SIGKILL during save_model_weights_hdf5() leaves the previous file intact", {
  check_kill("weights",
             function(target) save_model_weights_hdf5(big_model(kOriginal), target),
             function(target) {
               m <- big_model(0)
               load_model_weights_hdf5(m, target)
               expect_one_version(get_weights(m))
             })
})

test_that("SIGKILL during write_tfrecord() leaves the previous file intact", {
  n_orig <- 500
  check_kill("tfrecord",
             function(target) write_tfrecord(list(x = matrix(kOriginal, n_orig, 256), id = seq_len(n_orig)),
                                             target),
             function(target) {
               ds <- tfrecord_dataset(target) %>%
                 dataset_map(function(r) tf$io$parse_single_example(r, list(
                   x = tf$io$FixedLenFeature(shape(256), tf$float32),
                   id = tf$io$FixedLenFeature(shape(), tf$int64)))) %>%
                 dataset_batch(5000)
               b <- iterate(ds)  # reading verifies every length and data CRC
               x <- do.call(rbind, lapply(b, `[[`, "x"))
               id <- unlist(lapply(b, `[[`, "id"))
               v <- unique(as.vector(x))
               expect_length(v, 1)
               expect_true(v %in% c(kOriginal, kChild))
               # a complete version: all its records, in order
               expect_equal(id, seq_len(if (v == kOriginal) n_orig else 20000))
             })
})

test_that("a write_tfrecord() or tfrecord_writer that fails keeps the previous file and leaves no temporary", {
  dir <- tempfile("kn_atomic_err_")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  target <- file.path(dir, "data.tfrecord")
  write_tfrecord(list(a = 1:3), target)
  before <- readBin(target, "raw", file.size(target))
  # fails at record 3 (a function is not a feature value), after two records were written
  expect_error(write_tfrecord(list(a = list(1L, 2L, sum)), target), "feature 'a'")
  expect_identical(readBin(target, "raw", file.size(target)), before)
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "data.tfrecord")
  # a writer that is aborted, or garbage-collected without close()
  w <- tfrecord_writer(target)
  w$write(list(a = 9L))
  expect_length(list.files(dir, all.files = TRUE, no.. = TRUE), 2)  # the hidden temporary
  w$abort()
  expect_identical(readBin(target, "raw", file.size(target)), before)
  w <- tfrecord_writer(target)
  w$write(list(a = 9L))
  rm(w)
  invisible(gc())
  expect_identical(readBin(target, "raw", file.size(target)), before)
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "data.tfrecord")
  # and a writer that closes replaces it
  w <- tfrecord_writer(target)
  w$write(list(a = 9L))
  w$close()
  expect_equal(read_tfrecord_examples(target)[[1]]$a$values, 9)
})
