#!/bin/sh
# `make fuzz FUZZ_SECONDS=N`: builds every tests/fuzz/fuzz_<name>.cpp with
# clang-16 (-fsanitize=fuzzer,address,undefined; the engine and format
# sources are compiled with clang-16 too, into _build/fuzz) and runs each for
# N seconds from its seeds, tests/fuzz/corpus/<name>/, plus what earlier runs
# found (_build/fuzz/corpus/<name>/). Fails on any crash, sanitizer report,
# timeout (> 1 s per input) or out-of-memory (> 2 GB).
# The targets run one after the other, one process each (no -jobs/-workers).
# Environment: FUZZ_TARGETS="tfrecord json" runs only those, in that order;
# FUZZ_RUNS=N also stops a target after N executions (whichever comes first).
# Crashing inputs are kept as _build/fuzz/artifacts/<name>-crash-*.
# A summary (executions, peak RSS, slowest corpus input) is written to
# _build/fuzz/summary.txt.
set -e
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
MAKE=${MAKE:-make}

# clang-16 and libFuzzer are needed only here: installed on first use.
if ! command -v clang++-16 >/dev/null 2>&1 || ! dpkg -s libfuzzer-16-dev >/dev/null 2>&1; then
  echo "fuzz: installing clang-16 libfuzzer-16-dev"
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends clang-16 libfuzzer-16-dev >/dev/null
fi

$MAKE --no-print-directory -j2 fuzz-bins
mkdir -p _build/fuzz/artifacts
summary=_build/fuzz/summary.txt
: > "$summary"
fail=0
# UBSan reports must stop the run (the binaries are built with
# -fno-sanitize-recover); leaks are findings too in these small programs.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0"
for s in /usr/lib/llvm-16/bin/llvm-symbolizer /usr/bin/llvm-symbolizer; do
  [ -x "$s" ] && { export ASAN_SYMBOLIZER_PATH="$s"; break; }
done
targets=${FUZZ_TARGETS:-$(ls _build/fuzz | sed -n 's/^fuzz_//p')}
for name in $targets; do
  bin=_build/fuzz/fuzz_$name
  [ -x "$bin" ] || { echo "fuzz: no target $name"; fail=1; continue; }
  seeds=tests/fuzz/corpus/$name
  work=_build/fuzz/corpus/$name
  mkdir -p "$work"
  log=_build/fuzz/$name.log
  echo "== fuzz $name for $SECONDS_EACH s (seeds: $seeds)"
  start=$(date +%s)
  set +e
  "$bin" -max_total_time="$SECONDS_EACH" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -rss_limit_mb=2048 -timeout=1 \
    -print_final_stats=1 -artifact_prefix="_build/fuzz/artifacts/$name-" \
    "$work" $( [ -d "$seeds" ] && echo "$seeds" ) > "$log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  slow_run=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$log" | tail -1)
  # slowest input of the resulting corpus: libFuzzer times each file given by name
  slow=$(find "$work" -type f | head -n 20000 | xargs -r "$bin" -rss_limit_mb=2048 -timeout=1 2>&1 |
         sed -n 's/^Executed \(.*\) in \([0-9]*\) ms$/\2 \1/p' | sort -n | tail -1)
  rate=$( [ -n "$execs" ] && [ "$took" -gt 0 ] && echo $((execs / took)) || echo "?")
  line="$name: rc=$rc execs=${execs:-?} seconds=$took execs_per_s=$rate peak_rss_mb=${rss:-?} slowest_unit_s=${slow_run:-?} corpus=$(ls "$work" | wc -l) slowest_corpus_input_ms=${slow:-?}"
  echo "$line" | tee -a "$summary"
  if [ "$rc" -ne 0 ]; then
    fail=1
    grep -E "ERROR|SUMMARY|FUZZ_ASSERT|Test unit written|==[0-9]+==" "$log" | head -n 20
  fi
done
[ "$fail" -eq 0 ] && echo "fuzz: all targets ran without a finding" || echo "fuzz: FINDINGS (see _build/fuzz/*.log and artifacts)"
exit "$fail"
