#!/bin/sh
# Before/after of the data-side benchmarks in one run, interleaved so both see
# the same machine load: bench/bench_pipeline.R with the package built from a
# base commit (BASE_LIB) and with this checkout's _build/lib, REPS times each.
# Usage: bench/pipeline_ab.sh BASE_LIB [REPS]
#   e.g. git archive <base> | tar -x -C /tmp/base && R CMD INSTALL --library=/tmp/baselib /tmp/base
set -e
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/pipeline_ab.sh BASE_LIB [REPS]}
REPS=${2:-2}
grep -m1 "model name" /proc/cpuinfo
i=1
while [ "$i" -le "$REPS" ]; do
  echo "=== before (rep $i)"; BENCH_REPS=${BENCH_REPS:-1} BENCH_FIT=0 R_LIBS=$BASE Rscript bench/bench_pipeline.R
  echo "=== after (rep $i)"; BENCH_REPS=${BENCH_REPS:-1} BENCH_FIT=0 R_LIBS=_build/lib Rscript bench/bench_pipeline.R
  i=$((i + 1))
done
