#!/usr/bin/env bash
# Real people, labelled by the experts: FuRPE's premise on images nobody
# annotated. Pose2Sim's demo videos (PyPI pose2sim 0.10.49, BSD-3: a man
# dancing in a motion-capture lab, then with a woman beside him; four
# cameras each, 100 frames per camera; see ../shared/reference/real-world.md)
# become a labelled dataset a student can train on beside a synthetic world
# (`extra_data` in a training config):
#
#   frames (ffmpeg, 544×960) → `furpe detect` (MediaPipe's person detector and
#   landmarks) → `furpe import openpose --all-people` → `furpe label`
#   (MediaPipe's body model with SMPL-X fitted to its landmarks; face and hands
#   from the committed experts, as scripts/train-small-student.sh labels the
#   synthetic world, so both datasets carry the same expert features) →
#   `furpe select` (the demo's thresholds).
#
# Nothing here has ground truth: the labels are the experts' (no person in
# these frames was annotated). Sports2D's demo, the browser tests' real
# video, is not trained on: its 90-frame test clip (the man on the box, as
# scripts/test-web.sh cuts it) becomes an evaluation set with MediaPipe's 2D
# keypoints, `$work/sports2d`, which `furpe infer $work/sports2d --student S`
# scores (keypoints_2d.json: every frame, deterministic, unlike the page's
# sampled frames). Every step is skipped when its
# output exists, so a rerun resumes. On a 2-core CPU: ~10 min of detection
# and ~5 min of labelling.
#
# usage: scripts/label-real-images.sh [WORK_DIR]   (default: runs/real-images)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/real-images}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
export NODEVICE_SELECT=1
[ -f models/mediapipe/node_modules/@mediapipe/holistic/package.json ] || npm ci --prefix models/mediapipe --no-audit --no-fund
command -v ffmpeg >/dev/null || { sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo; $sudo_ apt-get install -y -qq ffmpeg >/dev/null; }
cargo build --release -p furpe-trainer
furpe="$CARGO_TARGET_DIR/release/furpe"
mkdir -p "$work"

# 1. The videos, from the wheel on PyPI (cached beside the browser tests' clips).
cache="${FURPE_REAL_CACHE:-$HOME/.cache/furpe-real}"
wheel="$cache/wheel/pose2sim-0.10.49-py3-none-any.whl"
[ -f "$wheel" ] || python3 -m pip download -q --no-deps pose2sim==0.10.49 -d "$cache/wheel"

# 2. Frames: every frame of the eight videos, scaled to 544×960.
if [ ! -f "$work/frames/.done" ]; then
    mkdir -p "$work/videos" "$work/frames"
    python3 - "$wheel" "$work/videos" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1:]
z = zipfile.ZipFile(wheel)
for demo in ("Demo_SinglePerson", "Demo_MultiPerson"):
    for cam in range(1, 5):
        name = f"Pose2Sim/{demo}/videos/cam0{cam}.mp4"
        with open(f"{out}/{demo}_cam0{cam}.mp4", "wb") as f:
            f.write(z.read(name))
PY
    for video in "$work"/videos/*.mp4; do
        stem=$(basename "$video" .mp4)
        ffmpeg -v error -y -i "$video" -vf scale=544:960 -q:v 3 "$work/frames/${stem}_%03d.jpg"
    done
    touch "$work/frames/.done"
fi

# 3. People and their 2D keypoints (OpenPose BODY_25 + hands + face layout).
if [ ! -f "$work/keypoints/.done" ]; then
    "$furpe" detect "$work/frames" --out "$work/keypoints" --overwrite --backend flex
    touch "$work/keypoints/.done"
fi

# 4. One record per detected person.
[ -f "$work/data/annotations.jsonl" ] || "$furpe" import openpose --images "$work/frames" \
    --keypoints "$work/keypoints" --out "$work/data" --all-people

# 5. Pseudo labels and 6. the selection.
[ -f "$work/data/labels/.done" ] || {
    "$furpe" label --data "$work/data" --experts mediapipe --no-hands --no-face \
        --face models/experts/face.expert --hand models/experts/hand.expert --backend flex
    touch "$work/data/labels/.done"
}
printf '{"reprojection_max_mse": 0.05}' > "$work/selection-config.json"
[ -f "$work/data/selection.json" ] || "$furpe" select --data "$work/data" \
    --config "$work/selection-config.json" --backend flex

# 7. The unseen real test clip: Sports2D's man on the box, frames 0-89.
if [ ! -f "$work/sports2d/annotations.jsonl" ]; then
    sports="$cache/sports2d-demo.mp4"
    if [ ! -f "$sports" ]; then
        python3 -m pip download -q --no-deps sports2d==0.8.34 -d "$cache/wheel"
        python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("Sports2D/Demo/demo.mp4"))' \
            "$cache"/wheel/sports2d-0.8.34-py3-none-any.whl >"$sports.partial"
        mv "$sports.partial" "$sports"
    fi
    mkdir -p "$work/sports2d-frames"
    ffmpeg -v error -y -i "$sports" -vf "trim=end_frame=90,crop=884:497:0:0,scale=640:360" -q:v 3 \
        "$work/sports2d-frames/sports2d_%03d.jpg"
    "$furpe" detect "$work/sports2d-frames" --out "$work/sports2d-keypoints" --sequence --max-people 1 \
        --overwrite --backend flex
    "$furpe" import openpose --images "$work/sports2d-frames" --keypoints "$work/sports2d-keypoints" \
        --out "$work/sports2d"
fi
echo "real images labelled: $work/data (selection: $work/data/selection.json); test clip: $work/sports2d"
