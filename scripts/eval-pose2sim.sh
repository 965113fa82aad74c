#!/usr/bin/env bash
# Real people in the evaluation: every predictor on Pose2Sim's single-person
# demo (PyPI pose2sim 0.10.49, BSD-3: a man dancing in a motion-capture lab,
# four synchronised calibrated cameras, 100 frames each, 1080×1920).
#
# Nobody annotated it in 3D. The reference is a multi-view pseudo ground
# truth: every view's 2D keypoints (MediaPipe's, `furpe detect`) triangulated
# with the demo's Qualisys calibration (`furpe eval --dataset pose2sim`,
# shared/src/benchmarks/pose2sim.rs). Each predictor is then scored on each
# single view: PA-MPJPE on the 12 limb joints.
#
# Predictors: the pose-head student (www/models/default-head.furpe, with
# the fits to MediaPipe's lite landmarks it learnt from), the default student (www/models/default-student.furpe, never
# trained on these frames), the MediaPipe fits (`furpe label --experts
# mediapipe`: SMPL-X fitted to the single view's 3D landmarks), the trained
# body expert (models/experts/body.expert), the best constant (the student's
# training labels' mean, www/models/default-student.label-mean.json) and the zero-parameter
# body. The single-view fits see the same detector whose 2D points, from all
# views, make the reference: they are not independent of it (say so).
#
# Then the 2D check: `furpe infer` scores the student's projected joints
# against each view's own detection (keypoints_2d.json, beside the best
# constant in the image).
#
# usage: scripts/eval-pose2sim.sh [WORK_DIR]   (default: runs/pose2sim)
# Every step is skipped when its output exists. ~5 min of detection and
# ~2 min of labelling on a 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/pose2sim}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
export NODEVICE_SELECT=1
[ -f models/mediapipe/node_modules/@mediapipe/holistic/package.json ] || npm ci --prefix models/mediapipe --no-audit --no-fund
command -v ffmpeg >/dev/null || { sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo; $sudo_ apt-get install -y -qq ffmpeg >/dev/null; }
python3 -c 'import numpy, safetensors' 2>/dev/null || python3 -m pip install -q numpy safetensors
cargo build --release -p furpe-trainer
furpe="$CARGO_TARGET_DIR/release/furpe"
root="$work/root"
mkdir -p "$root/calibration" "$root/images"

# 1. The demo: calibration and frames (halved to 540×960; the loader scales
#    the intrinsics by the image height).
cache="${FURPE_REAL_CACHE:-$HOME/.cache/furpe-real}"
wheel="$cache/wheel/pose2sim-0.10.49-py3-none-any.whl"
[ -f "$wheel" ] || python3 -m pip download -q --no-deps pose2sim==0.10.49 -d "$cache/wheel"
if [ ! -f "$root/images/.done" ]; then
    python3 - "$wheel" "$work" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1:]
z = zipfile.ZipFile(wheel)
demo = "Pose2Sim/Demo_SinglePerson"
with open(f"{out}/root/calibration/Calib.qca.txt", "wb") as f:
    f.write(z.read(f"{demo}/calibration/Calib.qca.txt"))
for cam in range(1, 5):
    with open(f"{out}/cam0{cam}.mp4", "wb") as f:
        f.write(z.read(f"{demo}/videos/cam0{cam}.mp4"))
PY
    for cam in 1 2 3 4; do
        ffmpeg -v error -y -i "$work/cam0$cam.mp4" -vf scale=540:960 -q:v 3 "$root/images/cam0${cam}_%03d.jpg"
    done
    touch "$root/images/.done"
fi

# 2. Each view's 2D keypoints (one person).
if [ ! -f "$root/pose/.done" ]; then
    "$furpe" detect "$root/images" --out "$root/pose" --max-people 1 --overwrite --backend flex
    touch "$root/pose/.done"
fi

# 3. The same frames as a dataset, labelled by the MediaPipe fits and by the
#    trained experts, as per-image predictions.
[ -f "$work/data/annotations.jsonl" ] || "$furpe" import openpose --images "$root/images" \
    --keypoints "$root/pose" --out "$work/data"
[ -f "$work/mannequin.npz" ] || "$furpe" body mannequin --out "$work/mannequin.npz"
if [ ! -f "$work/data/labels/.done" ]; then
    "$furpe" label --data "$work/data" --experts mediapipe --no-hands --no-face \
        --face models/experts/face.expert --hand models/experts/hand.expert --backend flex
    touch "$work/data/labels/.done"
fi
[ -d "$work/fits/pred" ] || python3 tools/labels_to_pred.py "$work/data" "$work/fits" "$work/mannequin.npz"
if [ ! -f "$work/experts-data/labels/.done" ]; then
    mkdir -p "$work/experts-data"
    sed 's#"image":"#"image":"../data/#' "$work/data/annotations.jsonl" > "$work/experts-data/annotations.jsonl"
    "$furpe" label --data "$work/experts-data" --body models/experts/body.expert \
        --face models/experts/face.expert --hand models/experts/hand.expert --backend flex
    touch "$work/experts-data/labels/.done"
fi
[ -d "$work/experts/pred" ] || python3 tools/labels_to_pred.py "$work/experts-data" "$work/experts" "$work/mannequin.npz"
# The pose-head student's experts: the fits to pose_landmark_lite's landmarks.
if [ ! -f "$work/data-lite/labels/.done" ]; then
    mkdir -p "$work/data-lite"
    sed 's#"image":"#"image":"../data/#' "$work/data/annotations.jsonl" > "$work/data-lite/annotations.jsonl"
    "$furpe" label --data "$work/data-lite" --experts mediapipe --pose-model lite --no-hands --no-face --backend flex
    touch "$work/data-lite/labels/.done"
fi
[ -d "$work/fits-lite/pred" ] || python3 tools/labels_to_pred.py "$work/data-lite" "$work/fits-lite" "$work/mannequin.npz"

# 4. Every predictor on every view.
student=www/models/default-student.furpe
constant=www/models/default-student.label-mean.json
"$furpe" eval --dataset pose2sim --root "$root" --checkpoint "$student" --constant "$constant" \
    --out "$work/eval/student" --backend flex
"$furpe" eval --dataset pose2sim --root "$root" --pred "$work/fits/pred" --constant "$constant" \
    --out "$work/eval/fits" --backend flex
"$furpe" eval --dataset pose2sim --root "$root" --pred "$work/experts/pred" --constant "$constant" \
    --out "$work/eval/experts" --backend flex
# The pose-head student: MediaPipe finds the person in each view, the head
# reads its embedding.
head=www/models/default-head.furpe
head_constant=www/models/default-head.label-mean.json
"$furpe" eval --dataset pose2sim --root "$root" --head "$head" --constant "$head_constant" \
    --out "$work/eval/head" --backend flex
"$furpe" eval --dataset pose2sim --root "$root" --pred "$work/fits-lite/pred" --constant "$head_constant" \
    --out "$work/eval/fits-lite" --backend flex

# 5. 2D: the student's projected joints against each view's own detection.
"$furpe" infer "$work/data" --student "$student" --out "$work/infer" --backend flex
"$furpe" infer "$work/data" --head "$head" --out "$work/head/infer" --backend flex
echo "reports: $work/eval/{student,fits,experts,head,fits-lite}/report.md; 2D: $work/infer/keypoints_2d.json, $work/head/infer/keypoints_2d.json"
