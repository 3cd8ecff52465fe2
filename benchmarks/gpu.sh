#!/usr/bin/env bash
# GPU benchmark: CycleGAN at 256 px, batch 1 and 16, fp32 eager vs the fast configuration
# (bf16 autocast + channels_last + torch.compile), and StarGAN v2's peak memory at 256 px,
# batch 8. Writes one JSON file (default benchmarks/results/gpu.json).
#
#   bash benchmarks/gpu.sh [OUT.json]          # on a machine with a CUDA GPU (make bench-gpu)
#   bash benchmarks/gpu.sh --cpu [OUT.json]    # the tiny CPU path CI runs so the script cannot rot
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
CPU=()
if [ "${1:-}" = "--cpu" ]; then CPU=(--cpu); shift; fi
OUT="${1:-benchmarks/results/gpu.json}"
"$PY" -c "import torch; print('torch', torch.__version__, '| cuda:', torch.cuda.is_available() and torch.cuda.get_device_name())"
exec "$PY" benchmarks/gpu_bench.py --out "$OUT" "${CPU[@]}"
