#!/usr/bin/env bash
# Browser tests of the live page and the viewer in headless Chromium.
#
#   scripts/test-web.sh [--bench OUT.json] [--screenshots DIR] [--only gpu,cpu,denied,real,real-student,real-head,viewer,viewer-cpu]
#                       [--accuracy-frames N]
#
# Installs what is missing (Debian chromium, node/npm, playwright-core via
# `npm ci`, wasm-bindgen-cli via scripts/web.sh), builds the wasm, renders a
# fake-camera clip from the synthetic world (`furpe synth`, exact ground truth
# beside the frames: the accuracy check scores the page's predicted body
# against it) and real-video clips from Sports2D's demo (ffmpeg), serves www/
# on a free local port and runs tests/web/run.mjs.
# Chromium is Debian's; no tool downloads a browser. FURPE_WEB_STUDENT=random
# runs the page's untrained network instead (the accuracy checks must fail).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
export NODEVICE_SELECT=1

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq >/dev/null
  $sudo_ apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
(cd tests/web && [ -d node_modules/playwright-core ] && [ -d node_modules/gltf-validator ] || npm ci --no-audit --no-fund)

scripts/web.sh build

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== furpe synth: the fake camera's frames"
# An unseen world: `furpe demo` trains on seed 0 and evaluates on seed 1000.
# FURPE_BIN=path/to/furpe uses a built binary instead of `cargo run`.
if [ -n "${FURPE_BIN:-}" ]; then furpe=("$FURPE_BIN"); else furpe=(cargo run -q -p furpe-trainer --bin furpe --); fi
"${furpe[@]}" synth --out "$work/synth" --count 16 --size 256 --seed 7 >/dev/null

echo "== a two-stage student (untrained) and furpe infer on one frame: the page must give the same parameters"
# Random weights (the page's parity check needs no training): the detail
# stage then moves hands and face as much as the body stage does, so a page
# that skipped the detail crops would differ by far more than the bound.
mkdir -p "$work/two-stage"
cat >"$work/two-stage/train.toml" <<'TOML'
seed = 5
[student]
kind = "two_stage"
depth = 18
layers = [1, 1, 1, 1]
width = 16
crop = 64
hidden = [256]
part_width = 8
hand_crop = 32
face_crop = 32
TOML
"${furpe[@]}" export --untrained "$work/two-stage/train.toml" --out "$work/two-stage/student.furpe" >/dev/null
# case.json: the first frame and its person box (the synthetic world's annotation).
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
with open(f"{work}/synth/annotations.jsonl") as f:
    a = json.loads(f.readline())
case = {"image": os.path.basename(a["image"]), "box": a["person_box"]}
with open(f"{work}/two-stage/case.json", "w") as f:
    json.dump(case, f)
PY
read -r box image < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(",".join(map(str,c["box"])), c["image"])' "$work/two-stage/case.json")
"${furpe[@]}" infer "$work/synth/images/$image" --student "$work/two-stage/student.furpe" --person-box "$box" \
  --out "$work/two-stage/infer" --backend flex >/dev/null

echo "== real video: Sports2D's demo (PyPI sports2d, BSD-3) → fake-camera clips"
# Two people outdoors, 1768×994; the clips are the man on the box waving his
# arms (frames 0–89, the top-left 884×497, 16:9) and a still of the same
# scene's lower left with nobody in it. ffmpeg is Debian's.
command -v ffmpeg >/dev/null || { sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo; $sudo_ apt-get install -y -qq ffmpeg >/dev/null; }
cache="${FURPE_REAL_CACHE:-$HOME/.cache/furpe-real}"
if [ ! -f "$cache/sports2d-demo.mp4" ]; then
  mkdir -p "$cache/wheel"
  python3 -m pip download -q --no-deps sports2d==0.8.34 -d "$cache/wheel"
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("Sports2D/Demo/demo.mp4"))' \
    "$cache"/wheel/sports2d-0.8.34-py3-none-any.whl >"$cache/sports2d-demo.mp4.partial"
  mv "$cache/sports2d-demo.mp4.partial" "$cache/sports2d-demo.mp4"
fi
mkdir -p "$work/real"
ffmpeg -v error -y -i "$cache/sports2d-demo.mp4" -vf "trim=end_frame=90,crop=884:497:0:0,scale=640:360" \
  -pix_fmt yuv420p "$work/real/person.y4m"
ffmpeg -v error -y -i "$cache/sports2d-demo.mp4" -vf "trim=end_frame=1,crop=884:497:0:497,scale=640:360" \
  -pix_fmt yuv420p "$work/real/empty.y4m"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory www "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/index.html" >/dev/null 2>&1 && break
  sleep 0.2
done

echo "== browser tests (Chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
node tests/web/run.mjs --url "http://127.0.0.1:$port/" --frames "$work/synth/images" --real "$work/real" \
  --two-stage "$work/two-stage" "$@"
