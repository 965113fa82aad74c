#!/usr/bin/env bash
# Trains the default world's part experts committed under models/experts/
# (what tests/label_cli.rs::default_experts_beat_the_mean_baseline_on_a_fresh_world
# scores on a world of another seed). Each expert learns from the pictures its
# real counterpart learns from: SPIN from full-body pictures, DECA from face
# close-ups, FrankMocap's hand module from hands in 256 px body pictures. On a
# 2-core CPU: about 17 min for the body (16000 images, 2 min of it rendering), 15 min for the face
# (6000 close-ups), 30 min for the hands (8000 images, 8 min of it rendering;
# measured beside other builds, 2026-12-08).
#
# usage: scripts/train-default-experts.sh [WORK_DIR]   (default: runs/default-experts)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/default-experts}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
export NODEVICE_SELECT=1
cargo build --release -p furpe-trainer
furpe="$CARGO_TARGET_DIR/release/furpe"
mkdir -p "$work" models/experts

"$furpe" synth --out "$work/body" --count 16000 --size 128 --seed 21 --backend flex
# Width 16 on 64 px crops: at width 8 / 48 px on 8000 pictures the expert
# scored 93 % of the best constant's PA-MPJPE on a fresh world; this 84 %.
"$furpe" expert train --part body --data "$work/body" --out models/experts/body.expert \
    --epochs 20 --crop 64 --width 16 --backend flex

"$furpe" synth --out "$work/face" --count 6000 --size 128 --seed 31 --framing face --backend flex
"$furpe" expert train --part face --data "$work/face" --out models/experts/face.expert \
    --epochs 16 --crop 48 --backend flex

"$furpe" synth --out "$work/hand" --count 8000 --size 256 --seed 51 --backend flex
# Width 16 on 48 px crops: at width 8 / 32 px on 2000 pictures the expert
# scored 94 % of the best constant's hand PA-MPJPE (it hardly saw the
# fingers); this scores 75 % (models/experts/README.md).
"$furpe" expert train --part hand --data "$work/hand" --out models/experts/hand.expert \
    --epochs 24 --crop 48 --width 16 --backend flex
