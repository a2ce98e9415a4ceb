#!/bin/sh
# `make sanitize`: the C++ tests and the whole R test suite under
# AddressSanitizer + UndefinedBehaviorSanitizer (gcc 12). Fails on any report.
#
# Everything is built apart from the normal build: the C++ tests in
# _build/san/cpp (Makefile rules), the package from a copy of the source tree
# in _build/san/pkg into _build/san/lib, with its own R_MAKEVARS_USER file.
# R is not instrumented, so the sanitizer runtimes are preloaded into it.
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
CCACHE=$(command -v ccache || true)
t0=$(date +%s)

rm -rf "$SAN/logs"
mkdir -p "$SAN/logs"
LIBASAN=$(gcc -print-file-name=libasan.so)
LIBUBSAN=$(gcc -print-file-name=libubsan.so)
# detect_leaks=0: R itself leaks by design (and so does the protobuf runtime).
ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=86:log_path=$SAN/logs/asan"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87:log_path=$SAN/logs/ubsan"
export ASAN_OPTIONS UBSAN_OPTIONS


# ---- C++ tests -------------------------------------------------------------
echo "== sanitize: C++ tests (gcc $SAN_FLAGS)"
$MAKE --no-print-directory -j2 sanitize-cpp-bins
cpp_fail=0
for t in "$SAN"/cpp/test_*; do
  echo "== $t"
  (cd tests/cpp && "$t") || cpp_fail=1
done
t1=$(date +%s)
echo "== sanitize: C++ tests took $((t1 - t0)) s"

# ---- R package ----------------------------------------------------------------
echo "== sanitize: building the package with $SAN_FLAGS"
rm -rf "$SAN/pkg" "$SAN/lib"
mkdir -p "$SAN/pkg" "$SAN/lib"
# a clean copy of the source tree (no objects of the normal build)
tar --exclude=./_build --exclude=./.git --exclude='*.o' --exclude='*.so' \
    --exclude=./src/Makevars -cf - . | tar -xf - -C "$SAN/pkg"
cat > "$SAN/Makevars" <<MK
CC = $CCACHE gcc $SAN_FLAGS
CXX = $CCACHE g++ $SAN_FLAGS
CXX17 = $CCACHE g++ $SAN_FLAGS
CFLAGS = -g -O2
CXXFLAGS = -g -O2
CXX17FLAGS = -g -O2
MK
# (the sanitizer runtimes are not preloaded while building: R CMD INSTALL's
# test load is skipped, the package is loaded by the test run below)
(cd "$SAN" && R_MAKEVARS_USER="$SAN/Makevars" MAKEFLAGS=-j2 \
   $R CMD INSTALL --no-test-load --library="$SAN/lib" pkg > "$SAN/install.log" 2>&1) || {
  tail -n 40 "$SAN/install.log"; echo "sanitize: package build failed"; exit 1; }
grep -q -- "-fsanitize=address" "$SAN/install.log" || { echo "sanitize: flags not applied"; exit 1; }
t2=$(date +%s)
echo "== sanitize: package build took $((t2 - t1)) s"

# ---- R test suite ---------------------------------------------------------------
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

n=$(ls "$SAN/logs" | wc -l)
for f in "$SAN"/logs/*; do
  [ -f "$f" ] && { echo "==== $f"; head -n 60 "$f"; }
done
echo "sanitize: $n sanitizer report(s); C++ tests $( [ $cpp_fail = 0 ] && echo ok || echo FAILED ); R suite $( [ $r_fail = 0 ] && echo ok || echo FAILED )"
[ "$n" -eq 0 ] && [ $cpp_fail = 0 ] && [ $r_fail = 0 ]
