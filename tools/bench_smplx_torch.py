#!/usr/bin/env python3
"""The peer for `furpe bench body`: the reference `smplx` package on PyTorch
(CPU, or `--device cuda` for scripts/gpu-check.sh), same model file, same batch sizes, same pose distribution (moderate
random poses, axis-angle hands, face contour on), float32, no autograd.

    python3 tools/bench_smplx_torch.py --model runs/demo/mannequin.npz --batch 1,32,256
"""
import argparse
import json
import time

import numpy as np
import torch
import smplx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", default="1,32,256")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--json")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    print(f"{'batch':>6} {'median ms':>12} {'min ms':>12} {'bodies/s':>14}")
    rows = []
    for batch in [int(b) for b in args.batch.split(",")]:
        model = smplx.SMPLX(model_path=args.model, batch_size=batch, use_pca=False,
                            num_betas=10, num_expression_coeffs=10, use_face_contour=True).to(device)
        rng = np.random.default_rng(0)
        p = {k: torch.tensor(rng.uniform(-0.5, 0.5, (batch, n)), dtype=torch.float32, device=device)
             for k, n in dict(betas=10, expression=10, global_orient=3, body_pose=63, jaw_pose=3,
                              left_hand_pose=45, right_hand_pose=45).items()}
        with torch.no_grad():
            for _ in range(2):
                model(**p)
            times = []
            start = time.perf_counter()
            while len(times) < args.iters or (time.perf_counter() - start < 2.0 and len(times) < 1000):
                t = time.perf_counter()
                out = model(**p)
                # The read to the host ends the work on an asynchronous device too.
                _ = out.vertices.cpu().numpy(), out.joints.cpu().numpy()
                times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        median = times[len(times) // 2]
        print(f"{batch:>6} {median:>12.3f} {times[0]:>12.3f} {batch / median * 1e3:>14.1f}")
        rows.append(dict(device=str(device), batch=batch, median_ms=median, min_ms=times[0], iters=len(times)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
