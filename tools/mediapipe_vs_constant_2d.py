#!/usr/bin/env python3
"""`furpe detect`'s BODY_25 on a synthetic world against the world's
keypoints, next to the best constant: the mean keypoint layout in the person
box's frame (over the reference's confident points), placed in each image's
box. Errors are fractions of the box's longer side; the spread is the std over
images of each box-normalised point (norm of x, y), averaged over points.

The reference is the world's SimulatedOpenPose keypoints (a SIMULATED
detector: projected ground truth with noise and dropouts), so this measures
2D keypoints only, not SMPL-X labels.

    furpe synth --out W --count 40 --seed 11
    furpe detect W/images --out W/detect --no-hands --no-face
    python3 tools/mediapipe_vs_constant_2d.py W W/detect
"""
import json
import os
import sys

import numpy as np


def norm(p, b):
    c = (b[:2] + b[2:]) / 2
    return (p - c) / max(b[2] - b[0], b[3] - b[1])


def main(world, detect):
    ann = [json.loads(line) for line in open(os.path.join(world, "annotations.jsonl"))]
    rows = []
    for a in ann:
        stem = os.path.splitext(os.path.basename(a["image"]))[0]
        people = json.load(open(os.path.join(detect, f"{stem}_keypoints.json")))["people"]
        ours = np.array(people[0]["pose_keypoints_2d"]).reshape(25, 3) if people else None
        rows.append((ours, np.array(a["keypoints"][:25]), np.array(a["person_box"])))
    ref_norm = [[norm(k[j, :2], b) for _, k, b in rows if k[j, 2] > 0.5] for j in range(25)]
    constant = np.array([np.mean(r, axis=0) if r else [0.0, 0.0] for r in ref_norm])
    err_ours, err_const, spread_ours = [], [], [[] for _ in range(25)]
    for ours, k, b in rows:
        side = max(b[2] - b[0], b[3] - b[1])
        conf = k[:, 2] > 0.5
        placed = constant * side + (b[:2] + b[2:]) / 2
        err_const += list(np.linalg.norm(placed[conf] - k[conf, :2], axis=1) / side)
        if ours is not None:
            both = conf & (ours[:, 2] > 0)
            err_ours += list(np.linalg.norm(ours[both, :2] - k[both, :2], axis=1) / side)
            for j in np.nonzero(both)[0]:
                spread_ours[j].append(norm(ours[j, :2], b))
    spread = lambda lists: np.mean([np.linalg.norm(np.std(np.array(l), axis=0)) for l in lists if len(l) > 3])
    found = sum(o is not None for o, _, _ in rows)
    print(f"people found: {found} of {len(rows)} images")
    print(f"MediaPipe BODY_25: median error {np.median(err_ours):.3f} of the box side ({len(err_ours)} points)")
    print(f"best constant:     median error {np.median(err_const):.3f} ({len(err_const)} points)")
    print(f"spread of the points: MediaPipe {spread(spread_ours):.3f}, reference {spread(ref_norm):.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
