#!/usr/bin/env bash
# Every test of the project: formatting, lints, unit and integration tests
# (including parity with the reference smplx package via committed fixtures),
# and the wasm32 build of the library and the browser crate.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
# Mesa's device-select layer complains about XDG_RUNTIME_DIR on headless
# machines; the renderer tests do not need it.
export NODEVICE_SELECT=1
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "== wasm32 build (shared + web)"
cargo build -p furpe -p furpe-web --target wasm32-unknown-unknown
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set -o pipefail
cargo test --workspace 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
