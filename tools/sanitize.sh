#!/bin/sh
# `make sanitize`: the C++ tests and the whole R test suite under
# AddressSanitizer + UndefinedBehaviorSanitizer (gcc 12). Fails on any report.
#
# Everything is built apart from the normal build, in _build/san:
#   1. the package, from a clean copy of the source tree (_build/san/pkg) into
#      _build/san/lib, with its own R_MAKEVARS_USER file (no ccache: CI has none);
#   2. the C++ tests (Makefile rule _build/san/cpp/test_%), linked against the
#      engine objects of that same build, so every source is compiled once;
#   3. the C++ tests run, then the R suite with the sanitizer runtimes
#      preloaded into R (R itself is not instrumented).
# Instrumented code is compiled at -O1, not -O2: ASan's recommended level, it
# catches the same errors, and it halves the compile time of the instrumented
# build (src/kernels/gemm_kernels.cpp: 16 s at -O2, 6 s at -O1), which keeps a
# CI run (make test + make sanitize on 2 cores) under 30 minutes.
# Reports go to _build/san/logs/ (also those of subprocesses the tests start,
# which inherit the environment); any file there fails the run.
set -e
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SAN="$ROOT/_build/san"
MAKE=${MAKE:-make}
RSCRIPT=${RSCRIPT:-Rscript}
R=${R:-R}
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
t0=$(date +%s)

rm -rf "$SAN/logs" "$SAN/logs-hdf5-child"
mkdir -p "$SAN/logs" "$SAN/logs-hdf5-child"
# read_keras_h5 reads HDF5 files in a child process because libhdf5 1.10.8 has
# memory errors on hostile files (tests feed it the fuzzer's findings): the
# child logs its reports here (src/formats/keras_h5_isolated.cpp). A report
# there whose faulting frame is inside libhdf5 is the protection working (the
# child dies, the caller gets an error); any other report there fails the run.
KN_SAN_CHILD_LOG="$SAN/logs-hdf5-child/report"
export KN_SAN_CHILD_LOG
LIBASAN=$(gcc -print-file-name=libasan.so)
LIBUBSAN=$(gcc -print-file-name=libubsan.so)
# detect_leaks=0: R itself leaks by design (and so does the protobuf runtime).
ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=86:log_path=$SAN/logs/asan"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87:log_path=$SAN/logs/ubsan"

# ---- 1. the package, instrumented ----------------------------------------------
echo "== sanitize: building the package with $SAN_FLAGS -O1"
rm -rf "$SAN/pkg" "$SAN/lib" "$SAN/cpp"
mkdir -p "$SAN/pkg" "$SAN/lib" "$SAN/cpp"
# a clean copy of the source tree (no objects or generated files of the normal build)
tar --exclude=./_build --exclude=./.git --exclude='*.o' --exclude='*.so' \
    --exclude='*.pb.cc' --exclude='*.pb.h' --exclude=./src/Makevars -cf - . | tar -xf - -C "$SAN/pkg"
cat > "$SAN/Makevars" <<MK
CC = gcc $SAN_FLAGS
CXX = g++ $SAN_FLAGS
CXX17 = g++ $SAN_FLAGS
CFLAGS = -g -O1
CXXFLAGS = -g -O1
CXX17FLAGS = -g -O1
MK
# (the sanitizer runtimes are not preloaded while building: R CMD INSTALL's
# test load is skipped, the package is loaded by the test run below)
(cd "$SAN" && R_MAKEVARS_USER="$SAN/Makevars" MAKEFLAGS=-j2 \
   $R CMD INSTALL --no-test-load --library="$SAN/lib" pkg > "$SAN/install.log" 2>&1) || {
  tail -n 40 "$SAN/install.log"; echo "sanitize: package build failed"; exit 1; }
grep -q -- "-fsanitize=address" "$SAN/install.log" || { echo "sanitize: flags not applied"; exit 1; }
t1=$(date +%s)
echo "== sanitize: package build took $((t1 - t0)) s"

# ---- 2./3. C++ tests ---------------------------------------------------------------
echo "== sanitize: C++ tests"
$MAKE --no-print-directory -j2 sanitize-cpp-bins
export ASAN_OPTIONS UBSAN_OPTIONS
cpp_fail=0
for t in "$SAN"/cpp/test_*; do
  echo "== $t"
  (cd tests/cpp && "$t") || cpp_fail=1
done
t2=$(date +%s)
echo "== sanitize: C++ tests took $((t2 - t1)) s"

# ---- 3. R test suite ---------------------------------------------------------------
echo "== sanitize: R test suite with $LIBASAN preloaded"
r_fail=0
(cd tests/testthat && LD_PRELOAD="$LIBASAN $LIBUBSAN" R_LIBS="$SAN/lib" NOT_CRAN=true \
   KERASNATIVE_THREADS=2 $RSCRIPT -e '
  library(testthat); library(kerasnative)
  res <- as.data.frame(test_dir(".", package = "kerasnative", load_package = "installed",
                                reporter = "summary", stop_on_failure = FALSE))
  f <- sum(res$failed) + sum(res$error)
  cat(sprintf("\n%d passed, %d failed, %d skipped\n",
              sum(res$nb) - sum(res$failed) - sum(res$skipped), f, sum(res$skipped)))
  quit(status = f > 0)') || r_fail=1
t3=$(date +%s)
echo "== sanitize: R suite took $((t3 - t2)) s (total $((t3 - t0)) s)"

for f in "$SAN"/logs-hdf5-child/*; do
  [ -f "$f" ] || continue
  # frame #0, or #1 under a libc interceptor (memcpy, strdup, malloc...), in libhdf5
  if awk '/^ *#0 /{f0=$0} /^ *#1 /{f1=$0; exit}
          END{exit !((f0 ~ /libhdf5/) || (f0 ~ /__interceptor_/ && f1 ~ /libhdf5/))}' "$f"; then
    echo "contained (libhdf5, in the reading child): $(basename "$f"): $(grep -m1 'ERROR: ' "$f" | sed 's/.*ERROR: //' | cut -c1-100)"
  else
    mv "$f" "$SAN/logs/"
  fi
done
n=$(ls "$SAN/logs" | wc -l)
for f in "$SAN"/logs/*; do
  [ -f "$f" ] && { echo "==== $f"; head -n 60 "$f"; }
done
echo "sanitize: $n sanitizer report(s); C++ tests $( [ $cpp_fail = 0 ] && echo ok || echo FAILED ); R suite $( [ $r_fail = 0 ] && echo ok || echo FAILED )"
[ "$n" -eq 0 ] && [ $cpp_fail = 0 ] && [ $r_fail = 0 ]
