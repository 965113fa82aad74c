#!/usr/bin/env bash
# CPU benchmarks side by side with their peers, back to back in one run on
# the same inputs (BENCHMARKS.md quotes its output):
#   - SMPL-X forward at batch 1/32/256: furpe (full mesh, and joints only)
#     vs the reference `smplx` package on PyTorch;
#   - one student training step (and one at the GPU recipe's size): furpe (keypoints from the joints-only pass,
#     and from the full mesh as before) vs the PyTorch twin.
# Needs `pip install torch smplx` (never installed by CI). FURPE_BIN picks
# the binary (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
if [ -z "${FURPE_BIN:-}" ]; then
  cargo build --release -p furpe-trainer
  FURPE_BIN="$CARGO_TARGET_DIR/release/furpe"
fi
python3 -c "import torch, smplx" 2>/dev/null || { echo "needs PyTorch and smplx: pip install torch smplx" >&2; exit 1; }
model=$(mktemp -d)/mannequin.npz
trap 'rm -rf "$(dirname "$model")"' EXIT
"$FURPE_BIN" body mannequin --out "$model"

echo "== SMPL-X forward, batch 1/32/256"
"$FURPE_BIN" bench body --model "$model"
"$FURPE_BIN" bench body --model "$model" --joints-only
python3 tools/bench_smplx_torch.py --model "$model"

echo "== student training step, batch 16, 64 px crops, width 16"
"$FURPE_BIN" bench train --batch 16 --crop 64 --width 16 --steps 10
"$FURPE_BIN" bench train --batch 16 --crop 64 --width 16 --steps 10 --full-mesh
python3 tools/bench_train_torch.py --model "$model" --batch 16 --crop 64 --width 16 --steps 10

echo "== student training step, batch 64, 128 px crops, width 32 (the GPU recipe's student)"
"$FURPE_BIN" bench train --batch 64 --crop 128 --width 32 --steps 5 --profile
python3 tools/bench_train_torch.py --model "$model" --batch 64 --crop 128 --width 32 --steps 5
