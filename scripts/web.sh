#!/usr/bin/env bash
# The browser build and a local server for www/.
#
#   scripts/web.sh build          # wasm32 release build + wasm-bindgen → www/pkg/,
#                                 # MediaPipe's models → www/mediapipe/
#   scripts/web.sh serve [PORT]   # serve www/ on http://127.0.0.1:PORT (default 8080)
#   scripts/web.sh                # both
#
# wasm-bindgen-cli is installed from crates.io at exactly the version
# Cargo.lock pins (the generated JS must match the wasm-bindgen crate); no
# prebuilt binaries are downloaded. `wasm-opt` (Debian's binaryen) is used
# when FURPE_WASM_OPT=1 and it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
# A target dir of its own: wasm builds do not hold the native build's lock.
export CARGO_TARGET_DIR="${FURPE_WASM_TARGET_DIR:-$HOME/.cache/furpe-wasm-target}"

bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_bindgen() {
  local want
  want=$(bindgen_version)
  if wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $want"; then
    return
  fi
  echo "== installing wasm-bindgen-cli $want from crates.io"
  # --locked when the index has every pinned dependency; some mirrors lag
  # behind a patch release, and then the newest compatible versions do.
  cargo install wasm-bindgen-cli --version "$want" --locked ||
    cargo install wasm-bindgen-cli --version "$want"
}

# MediaPipe's models for the page's experts mode, from the user's copy of the
# npm package (Apache-2.0; `npm ci --prefix models/mediapipe`), into
# www/mediapipe/ (not committed). The pose landmark model is a plain file in
# the package; the detector, hand and face models are cut out of the packed
# assets at the byte ranges the package's loader script lists (the rule
# furpe::mediapipe::package::packed_range reads natively).
models() {
  local pkg=models/mediapipe/node_modules/@mediapipe/holistic
  if [ ! -f "$pkg/package.json" ]; then
    npm ci --prefix models/mediapipe --no-audit --no-fund >/dev/null 2>&1 || true
  fi
  if [ ! -f "$pkg/package.json" ]; then
    echo "== MediaPipe's models are not installed (npm ci --prefix models/mediapipe): the page runs without its experts mode"
    return
  fi
  mkdir -p www/mediapipe
  cp "$pkg/pose_landmark_lite.tflite" www/mediapipe/
  python3 - "$pkg" www/mediapipe <<'PY'
import re, sys, pathlib
pkg, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
loader = (pkg / "holistic_solution_packed_assets_loader.js").read_text()
blob = (pkg / "holistic_solution_packed_assets.data").read_bytes()
for name in ["pose_detection", "hand_landmark_full", "face_landmark"]:
    m = re.search(r'/%s\.tflite"\s*,\s*"start"\s*:\s*(\d+)\s*,\s*"end"\s*:\s*(\d+)' % name, loader)
    if not m:
        sys.exit(f"{pkg}: {name}.tflite is not listed in the packed assets' loader")
    start, end = int(m.group(1)), int(m.group(2))
    if end > len(blob):
        sys.exit(f"{pkg}: {name}.tflite ends at byte {end}, the packed assets have {len(blob)}")
    tmp = out / f".{name}.tflite.partial"
    tmp.write_bytes(blob[start:end])
    tmp.replace(out / f"{name}.tflite")
PY
  local total
  total=$(cat www/mediapipe/*.tflite | wc -c)
  echo "== www/mediapipe/: MediaPipe's 4 models for the experts mode, $((total / 1024)) KiB"
}

build() {
  models
  rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  ensure_bindgen
  echo "== cargo build (wasm32, profile web)"
  cargo build -p furpe-web --target wasm32-unknown-unknown --profile web
  rm -rf www/pkg
  wasm-bindgen --target web --no-typescript --out-dir www/pkg \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/web/furpe_web.wasm"
  if [ "${FURPE_WASM_OPT:-0}" = 1 ] && command -v wasm-opt >/dev/null; then
    echo "== wasm-opt -Os"
    wasm-opt -Os --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      -o www/pkg/furpe_web_bg.wasm www/pkg/furpe_web_bg.wasm
  fi
  local bytes gz
  bytes=$(stat -c %s www/pkg/furpe_web_bg.wasm)
  gz=$(gzip -9 -c www/pkg/furpe_web_bg.wasm | wc -c)
  echo "== www/pkg/furpe_web_bg.wasm: $((bytes / 1024)) KiB ($((gz / 1024)) KiB gzipped)"
}

serve() {
  local port="${1:-8080}"
  [ -f www/pkg/furpe_web.js ] || build
  echo "== serving www/ on http://127.0.0.1:$port/ (live page) and /viewer.html (viewer)"
  # Localhost is a secure context, so getUserMedia and WebGPU work without https.
  exec python3 -m http.server --bind 127.0.0.1 --directory www "$port"
}

case "${1:-all}" in
  build) build ;;
  serve) shift; serve "$@" ;;
  all) build; serve "${2:-8080}" ;;
  *) echo "usage: scripts/web.sh [build|serve [PORT]]" >&2; exit 2 ;;
esac
