#!/usr/bin/env bash
# Every test of the project: formatting, lints, unit and integration tests
# (including parity with the reference smplx package via committed fixtures),
# the wasm32 lint of the library and the browser crate, and the browser tests
# (scripts/test-web.sh: release wasm build, headless Chromium; ~20 min on a
# fresh 2-core machine, ~1 min when the wasm build and tools are warm).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
# Mesa's device-select layer complains about XDG_RUNTIME_DIR on headless
# machines; the renderer tests do not need it.
export NODEVICE_SELECT=1
# One-shot builds gain nothing from incremental caches, which took half of a
# 60 GB target dir here; CI machines' disks may be far smaller.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
disk() { echo "disk: $(df -h --output=avail "$CARGO_TARGET_DIR" 2>/dev/null | tail -1 | tr -d ' ') free; target dir $(du -sh "$CARGO_TARGET_DIR" 2>/dev/null | cut -f1)"; }
mkdir -p "$CARGO_TARGET_DIR"
# Scratch directories of earlier runs that stopped before cleaning up (a
# failed test keeps its own to look at; an hour later it is litter).
find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'furpe-test-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
# Incremental caches of earlier interactive builds, when the disk runs short.
if [ "$(df -k --output=avail "$CARGO_TARGET_DIR" | tail -1)" -lt $((20 * 1024 * 1024)) ]; then
  rm -rf "$CARGO_TARGET_DIR"/debug/incremental "$CARGO_TARGET_DIR"/release/incremental
fi
disk
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# MediaPipe's models (npm, Apache-2.0) for the real-expert parity and detect tests.
[ -f models/mediapipe/node_modules/@mediapipe/holistic/package.json ] || npm ci --prefix models/mediapipe --no-audit --no-fund

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "== wasm32 clippy (shared + web; the web crate's code only exists on wasm32)"
cargo clippy -p furpe -p furpe-web --target wasm32-unknown-unknown -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set -o pipefail
cargo test --workspace 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
echo "== MPI: two ranks with mpirun against one process of two devices, a killed rank (feature mpi)"
# The system's MPI (Open MPI from Debian) and libclang for rsmpi's bindings.
if ! command -v mpirun >/dev/null || ! dpkg -s libopenmpi-dev >/dev/null 2>&1 || ! dpkg -s libclang-dev >/dev/null 2>&1; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq libopenmpi-dev openmpi-bin libclang-dev >/dev/null
fi
cargo clippy -p furpe-trainer --features mpi --all-targets -- -D warnings
cargo test -p furpe-trainer --features mpi --test train_cli mpi
echo "== CUDA build with NCCL and MPI (no GPU, CUDA toolkit or NCCL needed: kernels compile through NVRTC and libnccl loads at run time)"
cargo clippy -p furpe-trainer --features nccl,mpi -- -D warnings
cargo build -p furpe-trainer --features nccl,mpi
echo "== browser tests (scripts/test-web.sh)"
scripts/test-web.sh
disk
