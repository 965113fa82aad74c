#!/usr/bin/env bash
# Browser tests of the live page and the viewer in headless Chromium.
#
#   scripts/test-web.sh [--bench OUT.json] [--screenshots DIR] [--only gpu,cpu,denied,viewer,viewer-cpu]
#                       [--accuracy-frames N]
#
# Installs what is missing (Debian chromium, node/npm, playwright-core via
# `npm ci`, wasm-bindgen-cli via scripts/web.sh), builds the wasm, renders a
# fake-camera clip from the synthetic world (`furpe synth`, exact ground truth
# beside the frames: the accuracy check scores the page's predicted body
# against it), serves www/ on a free local port and runs tests/web/run.mjs.
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

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory www "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/index.html" >/dev/null 2>&1 && break
  sleep 0.2
done

echo "== browser tests (Chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
node tests/web/run.mjs --url "http://127.0.0.1:$port/" --frames "$work/synth/images" "$@"
