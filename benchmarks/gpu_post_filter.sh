#!/bin/bash
# Continue a post-filter's training on one GPU, within a fixed time (issue 19).
#
# The CPU cannot train a post-filter to convergence in a session; this continues one (a
# CPU run's best.pt, or a shipped model) with the bank trainer on a GPU: the training
# images packed beforehand (python -m comp_lib.train.bank pack --out gpu/pack.npz, about
# 34 MB), coded once per quality on the device, bf16 autocast, large batches, the epochs
# sized to fit BUDGET_S seconds (bank, validation and timing probe included), validated
# on the pack's held-out images at qualities 5/10/20 through the real bytes. It writes
# OUT/best.pt, OUT/log.csv and OUT/console.txt (three files: the device returns at most 8).
#
# Usage: bash benchmarks/gpu_post_filter.sh INIT OUT [BUDGET_S]
#   INIT       a checkpoint (.pt) or shipped model name to continue from
#   OUT        folder for best.pt, log.csv, console.txt
#   BUDGET_S   training wall time in seconds (default 720: 12 of a 15-minute GPU lease)
# Environment (defaults): PACK (gpu/pack.npz), PY (python3), NAME (the run's model name,
#   default OUT's folder name), BATCH (128), PATCH (96), PRECISION (bf16), LR (2e-4),
#   EPOCHS (8), QUALITY_AWARE (keep INIT's; "true" adds the conditioning), LIMIT (all
#   training images; e.g. 4 for a dry run).
# tests/test_gpu_post_filter.py runs this script on the CPU at a tiny scale.
set -euo pipefail
init=$1; out=$2; budget=${3:-720}
PACK=${PACK:-gpu/pack.npz}; PY=${PY:-python3}; NAME=${NAME:-$(basename "$out")}
BATCH=${BATCH:-128}; PATCH=${PATCH:-96}; PRECISION=${PRECISION:-bf16}; LR=${LR:-2e-4}
EPOCHS=${EPOCHS:-8}
[ -f "$PACK" ] || { echo "no pack at $PACK: python -m comp_lib.train.bank pack --out $PACK" >&2; exit 2; }
mkdir -p "$out"
run=$(mktemp -d)
extra=()
[ -n "${LIMIT:-}" ] && extra+=(--limit "$LIMIT")
[ "${QUALITY_AWARE:-}" = "true" ] && extra+=(--quality-aware true)
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
    | tee "$out/console.txt"
status=0
PYTHONUNBUFFERED=1 "$PY" -m comp_lib.train.bank train --pack "$PACK" --init "$init" \
    --out "$run" --name "$NAME" --qualities 2 3 4 5 6 8 10 12 15 20 25 30 40 50 60 75 \
    --val-quality 5 10 20 --batch "$BATCH" --patch "$PATCH" --precision "$PRECISION" \
    --lr "$LR" --lr-decay 0.8 --warmup 100 --epochs "$EPOCHS" --steps 0 --budget-s "$budget" \
    --quiet "${extra[@]}" >> "$out/console.txt" 2>&1 || status=$?
for f in best.pt log.csv; do [ -f "$run/$f" ] && cp "$run/$f" "$out/$f"; done
tail -n 20 "$out/console.txt"
rm -rf "$run"
exit $status
