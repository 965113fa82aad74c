#!/usr/bin/env bash
# Trains the committed default student (www/models/default-student.furpe,
# the one the live page runs) and its best constant (the mean of its
# training labels, www/models/default-student.label-mean.json, which the
# tests score it against). The FuRPE pipeline on the embedded defaults: two
# 3000-image synthetic worlds at 256 px (seeds 0 and 1) → MediaPipe's body
# model (SMPL-X fitted to its landmarks) and the committed face and hand
# experts (models/experts) label them → the demo's selection →
# configs/wide-student-6k.toml (ResNet-18 [1,1,1,1] at width 32 on 128-px
# crops, 36 epochs, lr drop at 30) → an evaluation on an unseen 200-image
# world (seed 999) against the best constant. Seeded. On a 2-core CPU:
# ~8 min of rendering and labelling per world, then ~60 min of training
# (docs/learning.md §14). The small student of the previous default:
# scripts/train-small-student.sh.
#
# usage: scripts/train-default-student.sh [WORK_DIR]   (default: runs/default-student)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/default-student}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
export NODEVICE_SELECT=1
[ -f models/mediapipe/node_modules/@mediapipe/holistic/package.json ] || npm ci --prefix models/mediapipe --no-audit --no-fund
cargo build --release -p furpe-trainer
furpe="$CARGO_TARGET_DIR/release/furpe"
mkdir -p "$work"

printf '{"reprojection_max_mse": 0.05}' > "$work/selection-config.json"
for world in "world 0" "world-b 1"; do
    set -- $world
    [ -f "$work/$1/prepare.json" ] || "$furpe" prepare --out "$work/$1" --count 3000 --seed "$2" --size 256 \
        --experts models/experts --selection-config "$work/selection-config.json" --backend flex
done

run="$work/student-wide-6k"
sed -e "s|^data = .*|data = \"$work/world/data\"|" -e "s|^extra_data = .*|extra_data = [\"$work/world-b/data\"]|" \
    -e "s|^out = .*|out = \"$run\"|" configs/wide-student-6k.toml > "$work/wide-6k.toml"
if [ -f "$run/student.furpe" ]; then
    echo "$run/student.furpe exists: not retraining"
elif [ -d "$run" ]; then
    "$furpe" train --config "$work/wide-6k.toml" --resume --backend flex
else
    "$furpe" train --config "$work/wide-6k.toml" --backend flex
fi

"$furpe" export --student "$run/student.furpe" --out www/models/default-student.furpe --f16
cp "$run/label_mean.json" www/models/default-student.label-mean.json.tmp
mv www/models/default-student.label-mean.json.tmp www/models/default-student.label-mean.json

[ -f "$work/test/annotations.jsonl" ] || "$furpe" synth --out "$work/test" --count 200 --size 256 --seed 999 --backend flex
for pred in student constant; do
    if [ $pred = student ]; then predictor=(--checkpoint www/models/default-student.furpe); else predictor=(--baseline constant); fi
    "$furpe" eval --dataset synthetic --root "$work/test" "${predictor[@]}" \
        --constant www/models/default-student.label-mean.json --out "$work/eval_wide6k_$pred"
done
echo "default student: www/models/default-student.furpe (unseen world: $work/eval_wide6k_student/report.md, best constant: $work/eval_wide6k_constant/report.md)"
