#!/usr/bin/env python3
"""SMPL-X parity of a `furpe` binary on any backend (scripts/gpu-check.sh runs
it on CUDA): the same seeded parameters posed by `furpe body forward
--backend B` and by the reference `smplx` package (float64, CPU) on the same
model file; prints and writes the largest vertex and joint differences.

The committed parity test (tests/smplx_parity.rs) checks the CPU backend
against fixtures in CI; this runs the same comparison where only a binary
and PyTorch are at hand.

    python3 tools/smplx_parity_run.py --model M.npz --furpe BIN --backend cuda --json out.json
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
import torch
import smplx

# Metres. f32 on any device reaches ~1e-6 on the mannequin; the committed CPU
# test's bound is the same order.
BOUND = 1e-4

WIDTHS = dict(betas=10, expression=10, global_orient=3, body_pose=63, jaw_pose=3,
              left_hand_pose=45, right_hand_pose=45, transl=3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--furpe", required=True)
    ap.add_argument("--backend", default="flex")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--json")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    params = {k: rng.uniform(-0.5, 0.5, (a.batch, n)) for k, n in WIDTHS.items()}
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "params.json")
        o = os.path.join(tmp, "ours.json")
        with open(p, "w") as f:
            json.dump({k: v.tolist() for k, v in params.items()}, f)
        subprocess.run([a.furpe, "body", "forward", "--model", a.model, "--params", p,
                        "--out", o, "--backend", a.backend], check=True)
        with open(o) as f:
            ours = json.load(f)
    model = smplx.SMPLX(model_path=a.model, batch_size=a.batch, use_pca=False, num_betas=10,
                        num_expression_coeffs=10, use_face_contour=True, dtype=torch.float64)
    with torch.no_grad():
        ref = model(**{k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()})
    dv = np.abs(np.asarray(ours["vertices"]) - ref.vertices.numpy()).max()
    dj = np.abs(np.asarray(ours["joints"]) - ref.joints.numpy()).max()
    ok = bool(dv <= BOUND and dj <= BOUND)
    print(f"SMPL-X parity, furpe --backend {a.backend} vs smplx {getattr(smplx, '__version__', '')} "
          f"float64, batch {a.batch}: max |dv| {dv:.2e} m, max |dj| {dj:.2e} m "
          f"({'within' if ok else 'OVER'} {BOUND:g} m)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(backend=a.backend, batch=a.batch, max_abs_vertex_m=float(dv),
                           max_abs_joint_m=float(dj), bound_m=BOUND, within=ok), f, indent=2)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
