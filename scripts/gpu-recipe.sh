#!/usr/bin/env bash
# The default student's recipe (scripts/train-default-student.sh) for a lent
# GPU machine: CUDA driver, no Rust toolchain, no network, one command of at
# most ~8 minutes. Larger than the CPU recipe (more images, a wider student,
# bigger crops); the CPU recipe stays the reproducible fallback.
#
#   scripts/gpu-recipe.sh prepare      # here: .gpu/ (a release `furpe` built with CUDA,
#                                      # MediaPipe's two body models) and .gl/ (Vulkan/EGL
#                                      # loaders for the renderer), both ignored by git
#   # then, through the device tool (carry [".gpu", ".gl"], timeout_s 560):
#   scripts/gpu-recipe.sh run          # on the GPU machine: render → label → select →
#                                      # train for what is left of the budget → evaluate on an
#                                      # unseen world against the best constant → $OUT
#
# `run` writes to $OUT: student.furpe (f16, the page's format), label-mean.json
# (the best constant), eval_student.md / eval_constant.md, log.jsonl, timings.txt.
# Compare its eval with the committed default's (docs/learning.md §9) before
# committing it as www/models/default-student.furpe (+ .label-mean.json).
#
# Knobs (environment): FURPE_GPU_BUDGET_S (whole run, default 450),
# FURPE_GPU_COUNT (training images, default 12000), FURPE_GPU_TEST_COUNT (the
# unseen world, default 200), FURPE_GPU_BACKEND (cuda;
# `flex` runs the same recipe on a CPU: the dry run that tests this script),
# FURPE_GPU_CONFIG (default configs/gpu-default-student.toml),
# FURPE_BIN (default: .gpu/furpe.gz, unpacked to /tmp/furpe).
#
# Status: written and dry-run on the CPU (FURPE_GPU_BACKEND=flex, tiny
# counts); not yet run on a GPU (no machine was lent while it was written).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
prepare)
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}"
    export NODEVICE_SELECT=1
    # `nccl` (CUDA plus NCCL, loaded only by `--nccl`) for scripts/gpu-check.sh.
    cargo build --release -p furpe-trainer --features nccl
    mkdir -p .gpu/holistic
    # Stripped, the CUDA build is ~65 MB, over what a device call carries
    # (64 MiB with the tree); gzipped ~18 MB.
    strip -o .gpu/furpe "$CARGO_TARGET_DIR/release/furpe"
    gzip -9f .gpu/furpe
    # Only what `furpe label --experts mediapipe --no-hands --no-face` reads:
    # the body landmark model and the person detector (from the packed blob).
    [ -f models/mediapipe/node_modules/@mediapipe/holistic/package.json ] || npm ci --prefix models/mediapipe --no-audit --no-fund
    pkg=models/mediapipe/node_modules/@mediapipe/holistic
    cp "$pkg/package.json" "$pkg/pose_landmark_full.tflite" .gpu/holistic/
    python3 -c 'import sys; sys.path.insert(0, "tools"); import mediapipe_package as m; open(".gpu/holistic/pose_detection.tflite", "wb").write(m.model_bytes("pose_detection"))'
    # Vulkan and EGL loaders for the wgpu renderer (the device's README).
    if [ ! -d .gl ]; then
        mkdir -p .gl /tmp/amd64/partial
        o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        # shellcheck disable=SC2086
        apt-get $o update -qq
        # shellcheck disable=SC2086
        (cd .gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
    fi
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >>.git/info/exclude
    du -sh .gpu .gl
    echo 'prepared; on the device: scripts/gpu-recipe.sh run  (carry [".gpu", ".gl"])'
    ;;
run)
    t0=$(date +%s)
    budget=${FURPE_GPU_BUDGET_S:-450}
    count=${FURPE_GPU_COUNT:-12000}
    backend=${FURPE_GPU_BACKEND:-cuda}
    config=${FURPE_GPU_CONFIG:-configs/gpu-default-student.toml}
    furpe=${FURPE_BIN:-/tmp/furpe}
    [ -n "${FURPE_BIN:-}" ] || { gunzip -c .gpu/furpe.gz >/tmp/furpe && chmod +x /tmp/furpe; }
    out=${OUT:?set OUT to the folder that receives the student}
    work=${FURPE_GPU_WORK:-/tmp/furpe-gpu}
    export FURPE_MEDIAPIPE=${FURPE_MEDIAPIPE:-$PWD/.gpu/holistic}
    if [ -d .gl ] && [ "$backend" = cuda ]; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
        [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
            export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
                __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    fi
    mkdir -p "$work" "$out"
    stamp() { echo "$1 $(($(date +%s) - t0)) s" | tee -a "$out/timings.txt"; }
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/timings.txt"
    "$furpe" --version | tee -a "$out/timings.txt"

    # 1. The world, its pseudo labels and the selection (as the CPU recipe).
    printf '{"reprojection_max_mse": 0.05}' > "$work/selection-config.json"
    "$furpe" prepare --out "$work/world" --count "$count" --seed 0 --size 256 \
        --experts models/experts --selection-config "$work/selection-config.json" --backend "$backend"
    stamp prepared
    "$furpe" synth --out "$work/test" --count "${FURPE_GPU_TEST_COUNT:-200}" --size 256 --seed 999 --backend "$backend"
    stamp "test world"

    # 2. Train for what is left, keeping ~60 s for the evaluation and export.
    left=$((budget - ($(date +%s) - t0) - 60))
    [ "$left" -gt 30 ] || { echo "no time left to train ($left s)"; exit 1; }
    minutes=$(python3 -c "print(round($left / 60, 2))")
    sed -e "s|^data = .*|data = \"$work/world/data\"|" -e "s|^out = .*|out = \"$work/student\"|" \
        -e "s|^max_minutes = .*|max_minutes = $minutes|" "$config" > "$work/config.toml"
    "$furpe" train --config "$work/config.toml" --backend "$backend"
    stamp trained

    # 3. The unseen world, the student against the best constant; the outputs.
    for run in student constant; do
        if [ $run = student ]; then predictor=(--checkpoint "$work/student/student.furpe"); else predictor=(--baseline constant); fi
        "$furpe" eval --dataset synthetic --root "$work/test" "${predictor[@]}" \
            --constant "$work/student/label_mean.json" --out "$work/eval_$run" --backend "$backend"
        cp "$work/eval_$run/report.md" "$out/eval_$run.md"
    done
    "$furpe" export --student "$work/student/student.furpe" --out "$out/student.furpe" --f16
    cp "$work/student/label_mean.json" "$out/label-mean.json"
    cp "$work/student/log.jsonl" "$out/log.jsonl"
    stamp done
    ;;
*)
    sed -n '2,27p' "$0"
    exit 2
    ;;
esac
