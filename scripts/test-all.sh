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
echo "== cargo test"
cargo test --workspace
echo "== wasm32 build (shared + web)"
cargo build -p furpe -p furpe-web --target wasm32-unknown-unknown
