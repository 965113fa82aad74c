#!/usr/bin/env bash
# Trains the small student (F: ResNet-18 [1,1,1,1] at width 16 on 64-px crops),
# the live page's default until 2026-12-08 (docs/learning.md §6, §9), and
# its best constant (the mean of its training labels). The FuRPE pipeline on
# the embedded defaults: a 3000-image synthetic world at 256 px → MediaPipe's
# body model (SMPL-X fitted to its landmarks) and the committed face and hand
# experts (models/experts) label it → selection → configs/default-student.toml,
# continued at a tenth of its learning rate by configs/default-student-finetune.toml
# → an evaluation on an unseen 200-image world against the best constant.
# Writes WORK_DIR/small-student.furpe (f16); scripts/train-default-student.sh
# makes the page's default now. Seeded. On a 2-core CPU: about 18 min of
# labelling and rendering, then about 25 min of training.
#
# usage: scripts/train-small-student.sh [WORK_DIR]   (default: runs/default-student)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/default-student}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
export NODEVICE_SELECT=1
[ -f models/mediapipe/node_modules/@mediapipe/holistic/package.json ] || npm ci --prefix models/mediapipe --no-audit --no-fund
cargo build --release -p furpe-trainer
furpe="$CARGO_TARGET_DIR/release/furpe"
mkdir -p "$work"

# The selection threshold of `furpe demo` (its reasons are in trainer/src/demo.rs).
printf '{"reprojection_max_mse": 0.05}' > "$work/selection-config.json"
[ -f "$work/world/prepare.json" ] || "$furpe" prepare --out "$work/world" --count 3000 --seed 0 --size 256 \
    --experts models/experts --selection-config "$work/selection-config.json" --backend flex

# Phase 1: configs/default-student.toml (4192 steps at lr 1e-3).
sed -e "s|^data = .*|data = \"$work/world/data\"|" -e "s|^out = .*|out = \"$work/student\"|" \
    configs/default-student.toml > "$work/config.toml"
train() {  # CONFIG RUN_DIR: train, resume an interrupted run, or keep a finished one
    if [ -f "$2/student.furpe" ]; then
        echo "$2/student.furpe exists: not retraining"
    elif [ -d "$2" ]; then
        "$furpe" train --config "$1" --resume --backend flex
    else
        "$furpe" train --config "$1" --backend flex
    fi
}
train "$work/config.toml" "$work/student"
# Phase 2: configs/default-student-finetune.toml, from phase 1's f16 export
# (the weights the page would have run), 2000 steps at lr 1e-4.
[ -f "$work/phase1.furpe" ] || "$furpe" export --student "$work/student/student.furpe" --out "$work/phase1.furpe" --f16
sed -e "s|^data = .*|data = \"$work/world/data\"|" -e "s|^out = .*|out = \"$work/finetune\"|" \
    -e "s|^init = .*|init = \"$work/phase1.furpe\"|" \
    configs/default-student-finetune.toml > "$work/finetune.toml"
train "$work/finetune.toml" "$work/finetune"

[ -f "$work/test/annotations.jsonl" ] || "$furpe" synth --out "$work/test" --count 200 --size 256 --seed 999 --backend flex
for run in student constant; do
    if [ $run = student ]; then predictor=(--checkpoint "$work/finetune/student.furpe"); else predictor=(--baseline constant); fi
    "$furpe" eval --dataset synthetic --root "$work/test" "${predictor[@]}" \
        --constant "$work/finetune/label_mean.json" --out "$work/eval_$run"
done

"$furpe" export --student "$work/finetune/student.furpe" --out "$work/small-student.furpe" --f16
echo "small student: $work/small-student.furpe, best constant $work/finetune/label_mean.json (unseen world: $work/eval_student/report.md, best constant: $work/eval_constant/report.md)"
