#!/usr/bin/env python3
"""Oracle pseudo labels: a synthetic world's exact ground truth written as a
label shard (DATA/labels/shard-0000-of-0001.safetensors), in the layout
`furpe label` writes. For diagnosis only: training a student on them
measures what the student can learn from its pixels when the labels are
perfect (its upper bound), apart from what the experts get wrong.

    furpe body mannequin --out M.npz
    furpe synth --out DATA --count N --seed S
    python3 tools/oracle_labels.py DATA M.npz

Needs numpy and safetensors (PyPI). Refuses to replace existing labels.
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import save_file


def rodrigues(v):
    v = np.asarray(v, dtype=np.float64)
    angle = np.linalg.norm(v)
    if angle < 1e-12:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def axis_angle(r):
    cos = np.clip((np.trace(r) - 1) / 2, -1.0, 1.0)
    angle = np.arccos(cos)
    if angle < 1e-9:
        return np.zeros(3)
    if np.pi - angle < 1e-4:
        # Near 180°: the axis from the symmetric part.
        m = (r + np.eye(3)) / 2
        axis = np.sqrt(np.clip(np.diag(m), 0, None))
        i = int(np.argmax(axis))
        axis = m[i] / np.sqrt(m[i, i])
        return axis / np.linalg.norm(axis) * angle
    w = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return w / (2 * np.sin(angle)) * angle


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, model = sys.argv[1], sys.argv[2]
    out = os.path.join(data, "labels", "shard-0000-of-0001.safetensors")
    if os.path.exists(out):
        sys.exit(f"{out}: exists; remove it first (labels are never replaced unasked)")
    m = np.load(model)
    means = {"left_hand_pose": m["hands_meanl"], "right_hand_pose": m["hands_meanr"]}
    rows = {}
    index = []
    with open(os.path.join(data, "annotations.jsonl")) as f:
        for i, line in enumerate(f):
            a = json.loads(line)
            gt = a.get("ground_truth")
            if gt is None:
                sys.exit(f"{data}/annotations.jsonl line {i + 1}: no ground_truth (a synthetic world is needed)")
            p, cam = gt["params"], gt["camera"]
            # The label's global orientation is in the camera frame.
            glob = axis_angle(np.asarray(cam["rotation"]) @ rodrigues(p["global_orient"]))
            fields = {
                "body_box": a["person_box"],
                "body_camera": [1.0, 0.0, 0.0],
                "global_orient": glob,
                "body_pose": p["body_pose"],
                "smpl_betas": p["betas"][:10],
                "jaw_pose": p["jaw_pose"],
                "expression": p["expression"][:10],
            }
            for hand in ("left_hand_pose", "right_hand_pose"):
                # Labels are relative to the model's mean hand; a flat-hand
                # ground truth is absolute.
                v = np.asarray(p[hand], dtype=np.float64)
                fields[hand] = v - means[hand] if gt.get("flat_hand_mean", False) else v
            for k, v in fields.items():
                rows.setdefault(k, []).append(np.asarray(v, dtype=np.float32))
            index.append(i)
    tensors = {k: np.stack(v) for k, v in rows.items()}
    tensors["index"] = np.asarray(index, dtype=np.int64)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    save_file(tensors, tmp)
    os.replace(tmp, out)
    print(f"wrote {out}: {len(index)} oracle labels (the world's ground truth)")


if __name__ == "__main__":
    main()
