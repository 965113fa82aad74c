#!/usr/bin/env bash
# The pose-head student the live page's "head" mode runs
# (www/models/default-head.furpe): an MLP from the embedding of MediaPipe's
# pose_landmark_lite (the body model the page runs anyway; Apache-2.0,
# trained by Google on real people, frozen here) to the 22 SMPL-X body
# rotations, trained on pseudo labels of real people nobody annotated.
#
#   scripts/label-real-images.sh (Pose2Sim's multi-person demo: frames,
#   MediaPipe's detections, one record per person) → `furpe label --experts
#   mediapipe --pose-model lite` (SMPL-X fitted to the lite model's
#   landmarks; the embedding stored beside each label) → `furpe select` →
#   the same for the frames mirrored and for a 2000-image synthetic world →
#   `furpe head train` (held-out PA-MPJPE against the best constant) →
#   www/models/default-head.furpe.
#
# Then scripts/eval-pose2sim.sh scores it on the other demo (single person,
# four calibrated cameras) against a triangulated reference, and `furpe
# infer runs/real-images/sports2d --head …` on Sports2D's clip.
#
# usage: scripts/train-head.sh [WORK_DIR]   (default: runs/real-images)
# Each step is skipped when its output exists. After label-real-images.sh,
# on a 2-core CPU: ~4 min to find the people in the mirrored frames, ~10 min
# of labelling, ~2 min of training.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/real-images}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
export NODEVICE_SELECT=1
scripts/label-real-images.sh "$work"
furpe="$CARGO_TARGET_DIR/release/furpe"
data="$work/data-lite"
mkdir -p "$data"
[ -f "$data/annotations.jsonl" ] || cp "$work/data/annotations.jsonl" "$data/"
if [ ! -f "$data/labels/.done" ]; then
    "$furpe" label --data "$data" --experts mediapipe --pose-model lite --no-hands --no-face --backend flex
    touch "$data/labels/.done"
fi
[ -f "$data/selection.json" ] || "$furpe" select --data "$data" \
    --config "$work/selection-config.json" --backend flex

# The same frames mirrored, found and labelled anew (MediaPipe sees a new
# image; the labels are its own fits, not the mirrored labels): twice the
# people, and every pose also with its sides swapped.
flip="$work/data-lite-mirrored"
if [ ! -f "$work/frames-mirrored/.done" ]; then
    mkdir -p "$work/frames-mirrored"
    for cam in 1 2 3 4; do
        ffmpeg -v error -y -i "$work/frames/Demo_MultiPerson_cam0${cam}_%03d.jpg" -vf hflip -q:v 3 \
            "$work/frames-mirrored/Demo_MultiPerson_cam0${cam}_mirrored_%03d.jpg"
    done
    touch "$work/frames-mirrored/.done"
fi
if [ ! -f "$work/keypoints-mirrored/.done" ]; then
    "$furpe" detect "$work/frames-mirrored" --out "$work/keypoints-mirrored" --overwrite --backend flex
    touch "$work/keypoints-mirrored/.done"
fi
[ -f "$flip/annotations.jsonl" ] || "$furpe" import openpose --images "$work/frames-mirrored" \
    --keypoints "$work/keypoints-mirrored" --out "$flip" --all-people
if [ ! -f "$flip/labels/.done" ]; then
    "$furpe" label --data "$flip" --experts mediapipe --pose-model lite --no-hands --no-face --backend flex
    touch "$flip/labels/.done"
fi
[ -f "$flip/selection.json" ] || "$furpe" select --data "$flip" \
    --config "$work/selection-config.json" --backend flex

# A synthetic world (rendered mannequins in random poses and scenes),
# labelled the same way: poses the dancers never strike. Its ground truth
# is not used; MediaPipe's fits are the labels, as on the real frames.
world="$work/head-synth-world"
[ -f "$world/annotations.jsonl" ] || "$furpe" synth --out "$world" --count 2000 --size 256 --seed 5 --backend flex
if [ ! -f "$world/labels/.done" ]; then
    "$furpe" label --data "$world" --experts mediapipe --pose-model lite --no-hands --no-face --backend flex
    touch "$world/labels/.done"
fi
[ -f "$world/selection.json" ] || "$furpe" select --data "$world" \
    --config "$work/selection-config.json" --backend flex

"$furpe" head train --data "$data" --data "$flip" --data "$world" --out "$work/head-lite" --overwrite --backend flex
cp "$work/head-lite/head.furpe" www/models/default-head.furpe
cp "$work/head-lite/label_mean.json" www/models/default-head.label-mean.json
echo "www/models/default-head.furpe: $(cat "$work/head-lite/report.json" | tr -d '\n' | cut -c1-300)"
