#!/usr/bin/env python3
"""A label shard as predictions for `furpe eval --pred`: scores pseudo labels
(from any experts) against a synthetic world's ground truth, next to the
best constant.

    furpe label --data W --experts mediapipe
    furpe body mannequin --out M.npz     # the model the world was rendered with
    python3 tools/labels_to_pred.py W OUT M.npz
    furpe eval --dataset synthetic --root W --pred OUT/pred --constant OUT/gt_mean.json

Writes OUT/pred/<image stem>.json (one body's SMPL-X parameters per image)
and OUT/gt_mean.json, the best constant: the world's ground-truth parameters
averaged (rotations by their chordal mean: the mean matrix projected onto the
rotations; everything else by the arithmetic mean). A part the experts left
unlabelled (NaN) is predicted as the mean of the labels that part does have
(the labels' own best guess), and counted in the summary printed at the end.
Needs numpy and safetensors (PyPI).
"""
import glob
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_labels import axis_angle, rodrigues  # noqa: E402  (one copy of the rotation maths)

ROTATIONS = ("global_orient", "body_pose", "jaw_pose", "left_hand_pose", "right_hand_pose")
PARTS = ROTATIONS + ("expression",)


def chordal_mean(rows):
    """Rows of stacked axis-angles [N, 3k] -> their per-joint chordal mean [3k]."""
    rows = np.asarray(rows, dtype=np.float64)
    out = []
    for j in range(rows.shape[1] // 3):
        m = sum(rodrigues(r[3 * j:3 * j + 3]) for r in rows) / len(rows)
        u, _, vt = np.linalg.svd(m)
        d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
        out.extend(axis_angle(u @ d @ vt))
    return np.asarray(out)


def mean_of(key, rows):
    return chordal_mean(rows) if key in ROTATIONS else np.mean(rows, axis=0)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    world, out, model = sys.argv[1], sys.argv[2], sys.argv[3]
    m = np.load(model)
    hand_means = {"left_hand_pose": m["hands_meanl"], "right_hand_pose": m["hands_meanr"]}
    annotations = [json.loads(line) for line in open(os.path.join(world, "annotations.jsonl"))]
    shards = sorted(glob.glob(os.path.join(world, "labels", "shard-*.safetensors")))
    if not shards:
        sys.exit(f"{world}/labels: no label shards (run furpe label first)")
    labels = {}
    for path in shards:
        tensors = load_file(path)
        for row, index in enumerate(tensors["index"]):
            labels[int(index)] = {k: tensors[k][row] for k in PARTS if k in tensors}
    os.makedirs(os.path.join(out, "pred"), exist_ok=True)

    # The labels' own mean per part, for the parts an expert left out.
    fill, missing = {}, {}
    for key in PARTS:
        have = [l[key] for l in labels.values() if key in l and np.all(np.isfinite(l[key]))]
        missing[key] = len(annotations) - len(have)
        if have:
            fill[key] = mean_of(key, have)
    for i, a in enumerate(annotations):
        stem = os.path.splitext(os.path.basename(a["image"]))[0]
        label = labels.get(i, {})
        body = {}
        for key in PARTS:
            v = label.get(key)
            if v is None or not np.all(np.isfinite(v)):
                v = fill.get(key)
            if v is not None:
                body[key] = [float(x) for x in v]
        with open(os.path.join(out, "pred", f"{stem}.json"), "w") as f:
            json.dump(body, f)

    gts = [a.get("ground_truth") for a in annotations]
    if all(g is None for g in gts):
        # Real images (e.g. Pose2Sim's, scripts/eval-pose2sim.sh): the
        # predictions only; the benchmark has its own reference.
        print(f"wrote {len(annotations)} predictions to {out}/pred (no ground truth in {world}: no gt_mean.json)")
        for key in PARTS:
            print(f"  {key}: {missing[key]} of {len(annotations)} unlabelled (filled with the labels' mean)")
        return
    if any(g is None for g in gts):
        sys.exit(f"{world}: an annotation without ground_truth (a synthetic world is needed)")
    constant = {}
    for key in PARTS + ("betas",):
        rows = [np.asarray(g["params"][key], dtype=np.float64) for g in gts]
        if key in hand_means:
            # Predictions (and labels) are relative to the model's mean
            # hand; a flat-hand-mean ground truth is absolute.
            rows = [r - hand_means[key] if g.get("flat_hand_mean", False) else r for r, g in zip(rows, gts)]
        constant[key] = [float(x) for x in mean_of(key, rows)]
    # The ground truth's global rotation is in the world frame; the labels'
    # in the camera frame. Procrustes alignment ignores it either way.
    with open(os.path.join(out, "gt_mean.json"), "w") as f:
        json.dump(constant, f)
    print(f"wrote {len(annotations)} predictions to {out}/pred and the ground truth's mean to {out}/gt_mean.json")
    for key in PARTS:
        print(f"  {key}: {missing[key]} of {len(annotations)} unlabelled (filled with the labels' mean)")


if __name__ == "__main__":
    main()
