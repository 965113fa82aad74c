#!/usr/bin/env bash
# The prepared GPU check (CPU-speed issue, item 5): on a lent GPU machine
# (NVIDIA driver, PyTorch, no Rust toolchain, no network, one command of at
# most ~8 minutes), run SMPL-X parity on CUDA, and our CUDA body model and
# training step side by side with the PyTorch twins on the same GPU. One file
# of numbers comes back: $OUT/gpu-check.json (and gpu-check.md, a table).
#
#   scripts/gpu-check.sh prepare     # here: .gpu/ (the stripped CUDA `furpe`, shared with
#                                    # scripts/gpu-recipe.sh) and .gpu/wheels/ (the `smplx`
#                                    # wheel the PyTorch twins import; pure Python)
#   # then, through the device tool (carry [".gpu"], timeout_s 480):
#   scripts/gpu-check.sh run         # on the GPU machine → $OUT/gpu-check.{json,md}
#
# Steps of `run`, each with its own time limit; a failing step is recorded
# and the others still run:
#   1. parity: `furpe body forward --backend cuda` against the reference smplx
#      (float64) on the same seeded bodies and model file
#      (tools/smplx_parity_run.py; bound 1e-4 m);
#   2. SMPL-X forward at batch 1/32/256: `furpe bench body --backend cuda`
#      (full mesh, and joints only) and tools/bench_smplx_torch.py --device cuda;
#   3. training step: `furpe bench train --backend cuda --profile` and
#      tools/bench_train_torch.py --device cuda, at the CPU benchmark's size
#      (batch 16, 64 px, width 16) and at the GPU recipe's (batch 64, 128 px,
#      width 32);
#   4. NCCL with one rank (the data-parallel issue): the same tiny training
#      run (a 16-image world with oracle labels, made by `prepare`) without
#      and with `--nccl`; a one-rank sum is the identity, so both must end
#      with the same weights digest. NCCL is loaded as libnccl.so (the
#      `libnccl-dev` name; PyTorch's wheel ships libnccl.so.2, linked here).
#
# Dry run on a CPU (tests everything but the GPU): FURPE_CHECK_BACKEND=flex
# FURPE_CHECK_TORCH_DEVICE=cpu FURPE_BIN=target/release/furpe OUT=/tmp/gc
# scripts/gpu-check.sh run
#
# Status: written and dry-run on this CPU; not yet run on a GPU (no machine was
# lent while it was written).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
prepare)
    # Rebuilds the CUDA binary when the sources changed (cargo is incremental).
    scripts/gpu-recipe.sh prepare
    mkdir -p .gpu/wheels
    # The version the committed fixtures and benchmarks were made with.
    python3 -m pip download --quiet --no-deps --dest .gpu/wheels "smplx==0.1.28"
    # Step 4's world: 16 rendered images and their exact labels (made here).
    if [ ! -f .gpu/nccl/data/labels/shard-0000-of-0001.safetensors ]; then
        here="${FURPE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/furpe-target}/release/furpe}"
        rm -rf .gpu/nccl && mkdir -p .gpu/nccl
        "$here" synth --out .gpu/nccl/data --count 16 --size 64 --supersample 1 --seed 3
        "$here" body mannequin --out /tmp/gpu-check-prepare.npz
        python3 tools/oracle_labels.py .gpu/nccl/data /tmp/gpu-check-prepare.npz
    fi
    printf '%s\n' '# The NCCL check of scripts/gpu-check.sh: tiny, exact labels, no dropout.' \
        'data = ".gpu/nccl/data"' 'use_selection = false' 'epochs = 2' 'batch = 4' 'lr = 1e-3' \
        'checkpoint_every = 4' 'log_every = 1' 'holdout_every = 5' 'workers = 2' '[student]' \
        'depth = 18' 'layers = [1, 1, 1, 1]' 'width = 4' 'crop = 32' 'hidden = [16]' \
        'dropout = 0.0' >.gpu/nccl/train.toml
    du -sh .gpu
    echo 'prepared; on the device: scripts/gpu-check.sh run  (carry [".gpu"])'
    ;;
run)
    : "${OUT:?set OUT to the folder that comes back}"
    backend="${FURPE_CHECK_BACKEND:-cuda}"
    torch_device="${FURPE_CHECK_TORCH_DEVICE:-cuda}"
    bin="${FURPE_BIN:-}"
    if [ -z "$bin" ]; then
        gunzip -c .gpu/furpe.gz >/tmp/furpe && chmod +x /tmp/furpe
        bin=/tmp/furpe
    fi
    if ! python3 -c 'import smplx' 2>/dev/null; then
        python3 -m pip install --quiet --no-index --no-deps --target /tmp/pydeps .gpu/wheels/smplx-*.whl
        export PYTHONPATH="/tmp/pydeps${PYTHONPATH:+:$PYTHONPATH}"
    fi
    mkdir -p "$OUT/raw"
    log="$OUT/gpu-check.log"
    : >"$log"
    (nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true) | tee "$OUT/raw/gpu.txt"
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1 | tee "$OUT/raw/torch.txt" || true
    # step NAME LIMIT_S COMMAND...: runs it, keeps its output, records its exit code.
    step() {
        local name=$1 limit=$2
        shift 2
        echo "== $name" | tee -a "$log"
        local start=$SECONDS rc=0
        timeout "$limit" "$@" >>"$log" 2>&1 || rc=$?
        echo "$name rc=$rc $((SECONDS - start))s" | tee -a "$log" "$OUT/raw/steps.txt"
    }
    model=/tmp/gpu-check-mannequin.npz
    "$bin" body mannequin --out "$model" >>"$log" 2>&1
    step parity 120 python3 tools/smplx_parity_run.py --model "$model" --furpe "$bin" \
        --backend "$backend" --json "$OUT/raw/parity.json"
    step body-ours 120 "$bin" bench body --model "$model" --backend "$backend" \
        --json "$OUT/raw/body-ours.json"
    step body-ours-joints 60 "$bin" bench body --model "$model" --backend "$backend" \
        --joints-only --json "$OUT/raw/body-ours-joints.json"
    step body-torch 120 python3 tools/bench_smplx_torch.py --model "$model" \
        --device "$torch_device" --json "$OUT/raw/body-torch.json"
    for size in "16 64 16" "64 128 32"; do
        read -r batch crop width <<<"$size"
        tag="b${batch}-c${crop}-w${width}"
        step "train-ours-$tag" 150 "$bin" bench train --batch "$batch" --crop "$crop" \
            --width "$width" --steps 10 --profile --backend "$backend" \
            --json "$OUT/raw/train-ours-$tag.json"
        step "train-torch-$tag" 120 python3 tools/bench_train_torch.py --model "$model" \
            --batch "$batch" --crop "$crop" --width "$width" --steps 10 \
            --device "$torch_device" --json "$OUT/raw/train-torch-$tag.json"
    done
    # 4. NCCL with one rank: --nccl must not change the weights.
    step nccl-off 180 "$bin" train --config .gpu/nccl/train.toml --backend "$backend" \
        --out /tmp/gpu-check-nccl-off --overwrite
    if [ "$backend" = cuda ]; then
        nccl_lib=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null || true)
        if [ -n "$nccl_lib" ] && [ -f "$nccl_lib/libnccl.so.2" ]; then
            mkdir -p /tmp/gpu-check-nccl-lib
            ln -sf "$nccl_lib/libnccl.so.2" /tmp/gpu-check-nccl-lib/libnccl.so
            export LD_LIBRARY_PATH="/tmp/gpu-check-nccl-lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        fi
        step nccl-on 180 "$bin" train --config .gpu/nccl/train.toml --backend cuda --nccl \
            --out /tmp/gpu-check-nccl-on --overwrite
    else
        echo "nccl-on skipped: NCCL needs the CUDA backend (dry run)" | tee -a "$log" "$OUT/raw/steps.txt"
    fi
    python3 -c '
import json, re, sys
text = open(sys.argv[1]).read()
def digest(step):
    marker = "== " + step + "\n"
    if marker not in text:
        return None
    part = text.split(marker, 1)[1].split("\n== ", 1)[0]
    m = re.search(r"\"weights\":\s*\"([^\"]+)\"", part)
    return m.group(1) if m else None
off, on = digest("nccl-off"), digest("nccl-on")
json.dump({"weights_without_nccl": off, "weights_with_nccl": on,
           "identical": off is not None and off == on}, open(sys.argv[2], "w"), indent=2)
' "$log" "$OUT/raw/nccl.json"
    python3 - "$OUT" "$backend" "$torch_device" <<'EOF'
import json, os, sys
out, backend, torch_device = sys.argv[1:]
raw = os.path.join(out, "raw")
def load(name):
    path = os.path.join(raw, name)
    return json.load(open(path)) if os.path.exists(path) else None
result = {
    "backend": backend, "torch_device": torch_device,
    "gpu": open(os.path.join(raw, "gpu.txt")).read().strip(),
    "steps": open(os.path.join(raw, "steps.txt")).read().split("\n")[:-1],
    "parity": load("parity.json"),
    "body": {"ours": load("body-ours.json"), "ours_joints_only": load("body-ours-joints.json"),
             "torch": load("body-torch.json")},
    "train": {tag: {"ours": load(f"train-ours-{tag}.json"), "torch": load(f"train-torch-{tag}.json")}
              for tag in ("b16-c64-w16", "b64-c128-w32")},
    "nccl_one_rank": load("nccl.json"),
}
tmp = os.path.join(out, "gpu-check.json.tmp")
json.dump(result, open(tmp, "w"), indent=2)
os.replace(tmp, os.path.join(out, "gpu-check.json"))
lines = [f"# GPU check: furpe --backend {backend} vs PyTorch on {torch_device}", "",
         f"GPU: {result['gpu']}", ""]
p = result["parity"]
lines.append(f"SMPL-X parity: " + (f"max |dv| {p['max_abs_vertex_m']:.2e} m, max |dj| {p['max_abs_joint_m']:.2e} m "
                                   f"({'within' if p['within'] else 'OVER'} {p['bound_m']:g} m)" if p else "failed (see gpu-check.log)"))
lines += ["", "| SMPL-X forward, batch | furpe full (ms) | furpe joints only | PyTorch smplx | ratio full |", "|---:|---:|---:|---:|---:|"]
b = result["body"]
def by_batch(rows):
    return {r["batch"]: r["median_ms"] for r in rows or []}
ours, joints, torch_ = by_batch(b["ours"]), by_batch(b["ours_joints_only"]), by_batch(b["torch"])
for n in sorted(set(ours) | set(torch_)):
    o, j, t = ours.get(n), joints.get(n), torch_.get(n)
    f = lambda v: f"{v:.3f}" if v is not None else "—"
    ratio = f"{o / t:.2f}×" if o and t else "—"
    lines.append(f"| {n} | {f(o)} | {f(j)} | {f(t)} | {ratio} |")
lines += ["", "| train step | furpe (ms) | PyTorch (ms) | ratio |", "|---|---:|---:|---:|"]
for tag, pair in result["train"].items():
    o = pair["ours"]["median_ms"] if pair["ours"] else None
    t = pair["torch"]["median_ms"] if pair["torch"] else None
    ratio = f"{o / t:.2f}×" if o and t else "—"
    lines.append(f"| {tag} | {o if o is None else round(o, 1)} | {t if t is None else round(t, 1)} | {ratio} |")
n = result["nccl_one_rank"] or {}
lines += ["", "NCCL, one rank: " + ("the same weights with and without --nccl" if n.get("identical")
          else f"weights without --nccl {n.get('weights_without_nccl')}, with {n.get('weights_with_nccl')}")]
open(os.path.join(out, "gpu-check.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
    ;;
*)
    echo "usage: scripts/gpu-check.sh prepare|run" >&2
    exit 2
    ;;
esac
