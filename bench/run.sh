#!/bin/sh
# Side-by-side benchmark: the PyTorch reference (../shared/bench, oneDNN sgemm)
# and kerasnative on the same models, one after the other in this run.
# Usage: bench/run.sh [MODELS] [THREADS] [REPS]
set -e
cd "$(dirname "$0")/.."
MODELS=${1:-"M2 M1 M3 M4"}
THREADS=${2:-2}
REPS=${3:-3}
REF=../shared/bench/torch_models.py
for m in $MODELS; do
  if [ -f "$REF" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 "$REF" "$m" "$THREADS" --blas dnnl --reps "$REPS" | grep -E "train_img_per_s|test_acc" || true
  else
    echo "# PyTorch reference not available (apt-get install python3-torch python3-numpy dataset-fashion-mnist)"
  fi
  R_LIBS=_build/lib Rscript bench/bench_models.R "$m" "$THREADS" "$REPS"
done
# Input pipeline (TFRecord vs arrays) and its memory bound.
R_LIBS=_build/lib Rscript bench/bench_pipeline.R
R_LIBS=_build/lib Rscript bench/bench_memory.R 2
