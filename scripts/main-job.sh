#!/usr/bin/env bash
# The main job on the embedded defaults, on a fresh machine: builds furpe,
# then runs `furpe demo` (stand-in body model, posed sequence, a small
# synthetic world). The renderer needs a Vulkan driver; on a machine without
# a GPU, Mesa's CPU driver (lavapipe) is installed when apt is available.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
if ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 && command -v apt-get >/dev/null; then
  echo "no Vulkan driver found: installing Mesa lavapipe (mesa-vulkan-drivers)"
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1
fi
cargo run --release -p furpe-trainer -- demo --out "${1:-runs/demo}"
