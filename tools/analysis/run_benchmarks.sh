#!/usr/bin/env bash
# Full-size benchmark sequence behind docs/benchmark.md (CPU, ~15 minutes on
# 2 cores). Run from the repository root on a quiet machine:
#
#   bash tools/analysis/run_benchmarks.sh
#
# PY must be an environment with mmdet and full mmcv (compiled ops) for the
# proposal-based baseline (docs/benchmark.md, "Environments"); SSA2D alone
# runs anywhere. Results: docs/benchmarks/*.json and *.png.
set -euo pipefail

PY=${PY:-/work/venv-bench/bin/python}
OUT=${OUT:-docs/benchmarks}
DEVICE=${DEVICE:-cpu}
# The top-level A2D config if present, else its model base (same model).
SSA2D_CFG=${SSA2D_CFG:-configs/ssa2d_a2d_rgb.py}
[ -f "$SSA2D_CFG" ] || SSA2D_CFG=configs/_base_/models/ssa2d_i3d.py
BASELINE_CFG=configs/benchmarks/proposal_maskrcnn_slowonly.py
# Normal priority, stated explicitly (the docs record the machine's load).
RUN="nice -n 0 $PY"
mkdir -p "$OUT"
echo "config: $SSA2D_CFG  python: $PY  device: $DEVICE  start: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. SSA2D inference, 16x224x224: every speed-work variant, incl. compile.
$RUN tools/analysis/benchmark.py "$SSA2D_CFG" --device "$DEVICE" \
    --shape 16 224 224 --sweep --warmup 1 --iters 3 --limit-iters 3 \
    --out "$OUT/ssa2d_infer_sweep.json"

# 1b. Short clips: the inference default against plain at 8x224x224, where
#     PyTorch's conv heuristic sends many batch-1 Conv3d to slow kernels.
$RUN tools/analysis/benchmark.py "$SSA2D_CFG" --device "$DEVICE" \
    --shape 8 224 224 --compare-plain --warmup 1 --iters 3 --limit-iters 3 \
    --out "$OUT/ssa2d_infer_8frames.json"

# 2. SSA2D training step (forward, losses, backward, Adam), plain fp32.
$RUN tools/analysis/benchmark.py "$SSA2D_CFG" --device "$DEVICE" \
    --shape 16 224 224 --mode train --preset plain --warmup 1 --iters 2 \
    --limit-iters 3 --out "$OUT/ssa2d_train.json"

# 3. The proposal-based baseline at 16 actors: params, FLOPs, limit.
$RUN tools/analysis/benchmark.py "$BASELINE_CFG" --device "$DEVICE" \
    --shape 16 224 224 --api predict --preset plain --warmup 1 --iters 2 \
    --limit-iters 3 --cfg-options model.num_actors=16 \
    --out "$OUT/proposal_16actors.json"

# 4. Scaling: both pipelines over 1/4/16/64 actors, SSA2D over length and
#    resolution; plots.
$RUN tools/analysis/scaling.py --ssa2d-config "$SSA2D_CFG" \
    --device "$DEVICE" --out-dir "$OUT" --actors 1 4 16 64 \
    --actor-shape 16 224 224 --lengths 8 16 32 --sizes 224 320 \
    --warmup 1 --iters 3 --iters-large 2

# 5. The tables of docs/benchmark.md.
$PY tools/analysis/benchmark_report.py "$OUT" > "$OUT/tables.md"

echo "done: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
