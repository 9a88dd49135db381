#!/usr/bin/env bash
# The CUDA path on one GPU, in under 8 minutes: the tests marked `cuda`, then the throughput bench.
# Usage: bench/gpu.sh            (uses .venv/bin/python; PYTHON=... to choose another)
# Writes everything it prints to ${OUT:-bench}/gpu-results.txt as well.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" QT_QPA_PLATFORM=offscreen
LOG="${OUT:-bench}/gpu-results.txt"
mkdir -p "$(dirname "$LOG")"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'this PyTorch sees no CUDA GPU')"
  echo "== tests marked cuda"
  timeout 270 "$PY" -m pytest -m cuda -q -rs -p no:cacheprovider tests/test_cuda.py tests/test_training_streaming.py
  echo "== throughput"
  timeout 200 "$PY" bench/gpu_throughput.py
} 2>&1 | tee "$LOG"
