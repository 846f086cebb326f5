#!/usr/bin/env bash
# The README's main job: generate the synthetic A2D-format set, train SSA2D on
# it, test the final checkpoint (A2D protocol: actor / action / joint mIoU),
# write official-form predictions and score them again with eval_a2d.py.
# Usage: bash tools/run_synthetic.sh [extra tools/train.py args]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
CONFIG=configs/ssa2d_synthetic_a2d.py
DATA=data/synthetic_a2d
WORK=${WORK_DIR:-work_dirs/ssa2d_synthetic_a2d}

start=$(date +%s)
if [ ! -f "$DATA/Release/videoset.csv" ]; then
    "$PY" tools/data/make_synthetic_a2d.py "$DATA" --videos 480 --test-fraction 0.125 --seed 0
fi
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK" "$@"
"$PY" tools/test.py "$CONFIG" "$(cat "$WORK/last_checkpoint")" \
    --work-dir "$WORK" --out-dir "$WORK/official_pngs"
"$PY" tools/eval_a2d.py --data-root "$DATA/Release" \
    --pred-dir "$WORK/official_pngs" --out "$WORK/eval_a2d.json"
echo "Synthetic A2D job finished in $(( $(date +%s) - start )) s;" \
     "official-form scores in $WORK/eval_a2d.json"
