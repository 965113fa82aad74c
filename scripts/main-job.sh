#!/usr/bin/env bash
# The main job on the embedded defaults, on a fresh machine: builds furpe,
# runs `furpe demo` (synthetic world → part experts (MediaPipe's body model, two small trained ones) → pseudo labels →
# selection → student → evaluation), puts the trained student on the live
# page, builds the browser crate and serves www/ on localhost. The renderer needs a Vulkan driver; on a machine without
# a GPU, Mesa's CPU driver (lavapipe) is installed when apt is available.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
if ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 && command -v apt-get >/dev/null; then
  echo "no Vulkan driver found: installing Mesa lavapipe (mesa-vulkan-drivers)"
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1
fi
# MediaPipe's trained models (npm @mediapipe/holistic, Apache-2.0): the body
# expert whose landmarks the pseudo labels are fitted to.
[ -f models/mediapipe/node_modules/@mediapipe/holistic/package.json ] || npm ci --prefix models/mediapipe --no-audit --no-fund
out="${1:-runs/demo}"
cargo run --release -p furpe-trainer -- demo --out "$out"
# The trained student goes to the live page (f16: half the download), then
# the page is built and served. FURPE_NO_SERVE=1 stops after training.
cargo run --release -p furpe-trainer -- export --student "$out/student/student.furpe" --out www/models/student.furpe --f16
if [ "${FURPE_NO_SERVE:-0}" != 1 ]; then
  scripts/web.sh build
  echo "live demo with the trained student: http://127.0.0.1:8080/ (viewer: /viewer.html)"
  scripts/web.sh serve
fi
