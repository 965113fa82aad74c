#!/usr/bin/env python3
"""Runs MediaPipe's pose detector (and optionally the pose landmark model) on
skimage's `astronaut` image and prints the raw numbers that the Rust
post-processing in shared/src/mediapipe/pipeline/ is tested against.

    python3 tools/mediapipe_pipeline_check.py [--models DIR] [--top N] [--landmarks] [--face]

The detector input is the image letterboxed to 224x224 (padded to a square,
black outside, bilinear at pixel centres: the same sampling as the crate's
`CropTransform::whole_image(w, h).sample_rgb(..)`), scaled to [-1, 1]. It
prints the N best anchors by raw score: index, raw logit, sigmoid and the 12
raw regressor values (cx, cy, w, h, then 4 keypoints x, y; input pixels
relative to the anchor centre), plus each one decoded to image pixels.

With --landmarks it also builds BlazePose's region of interest from the best
anchor (centre keypoint 0, side 2.5 x |kp1 - kp0|, turned so kp0 -> kp1 points
up), samples that rotated square to 256x256 in [0, 1], runs
pose_landmark_full.tflite and prints the raw landmark rows (x, y, z,
visibility, presence in model-input pixels / logits) for a few landmarks plus
their image positions.

With --face it does the same for the face: face_detection_short_range.tflite
on the image letterboxed to 128x128 in [-1, 1] (16 raw values per anchor: box,
then 6 keypoints), the ROI from the best anchor (its box squared x 1.5, turned
so the eyes, keypoints 0 -> 1, are level), face_landmark.tflite on that window
at 192x192 in [0, 1], and the raw rows of landmarks 1 (nose tip), 33 and 263
(the eyes' outer corners) plus the raw face flag logit.

Needs numpy, scikit-image and ai-edge-litert. Models default to the npm
package that `npm ci --prefix models/mediapipe` installs (plain or packed files).
"""

import argparse
import math
import os

import numpy as np
from mediapipe_package import model_bytes as package_model
from ai_edge_litert.interpreter import Interpreter
from skimage import data

DET_SIZE = 224
LMK_SIZE = 256
# Pose detector anchors (npm @tensorflow-models/pose-detection@2.1.3,
# dist/blazepose_tfjs/constants.js): 5 layers, strides 8,16,32,32,32, fixed
# size, two anchors (scale + interpolated) per layer and cell.
STRIDES = [8, 16, 32, 32, 32]
# Face short-range detector (npm @tensorflow-models/face-detection,
# dist/tfjs/constants.js): 128x128, strides 8,16,16,16.
FACE_DET_SIZE = 128
FACE_STRIDES = [8, 16, 16, 16]
FACE_LMK_SIZE = 192


def anchor_centres(size=DET_SIZE, strides=STRIDES):
    """(x, y) centres in [0, 1], SSD order: layer groups of equal stride,
    then rows, columns, anchors per cell."""
    out, layer = [], 0
    while layer < len(strides):
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
        per_cell = 2 * (last - layer)
        n = math.ceil(size / strides[layer])
        for y in range(n):
            for x in range(n):
                out += [((x + 0.5) / n, (y + 0.5) / n)] * per_cell
        layer = last
    return np.array(out, dtype=np.float32)


def sample_square(img, centre, side, rotation, size):
    """Bilinear samples of the square window (centre, side in pixels, rotated
    `rotation` radians counter-clockwise on screen) at size x size pixel
    centres; black outside. Returns float32 [size, size, 3] in [0, 1]."""
    h, w, _ = img.shape
    g = (np.arange(size) + 0.5) / size * 2 - 1
    u, v = np.meshgrid(g, g)
    s, c = math.sin(rotation), math.cos(rotation)
    x = centre[0] + side / 2 * (c * u + s * v) - 0.5
    y = centre[1] + side / 2 * (-s * u + c * v) - 0.5
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]

    def texel(xi, yi):
        inside = (xi >= 0) & (yi >= 0) & (xi < w) & (yi < h)
        px = img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)].astype(np.float32)
        return px * inside[..., None]

    top = texel(x0, y0) * (1 - fx) + texel(x0 + 1, y0) * fx
    bottom = texel(x0, y0 + 1) * (1 - fx) + texel(x0 + 1, y0 + 1) * fx
    return ((top * (1 - fy) + bottom * fy) / 255.0).astype(np.float32)


def model_bytes(path):
    """A model by path: the npm package folder plus `<name>.tflite`."""
    folder, name = os.path.split(path)
    return package_model(name[: -len(".tflite")], folder)


def run(model, tensor):
    it = Interpreter(model_content=model_bytes(model))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], tensor[None])
    it.invoke()
    return {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}


def main():
    ap = argparse.ArgumentParser()
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "mediapipe", "node_modules", "@mediapipe", "holistic")
    ap.add_argument("--models", default=default)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--landmarks", action="store_true")
    ap.add_argument("--face", action="store_true")
    args = ap.parse_args()
    if args.face:
        face(args)
        return

    img = data.astronaut()
    h, w, _ = img.shape
    centre, side = (w / 2, h / 2), max(w, h)
    x = sample_square(img, centre, side, 0.0, DET_SIZE) * 2 - 1
    out = run(os.path.join(args.models, "pose_detection.tflite"), x)
    boxes, scores = out["Identity"][0], out["Identity_1"][0, :, 0]
    anchors = anchor_centres()
    assert len(anchors) == boxes.shape[0] == 2254

    def to_image(p):  # detector-input [0, 1] -> image pixels
        return (centre[0] + side * (p[0] - 0.5), centre[1] + side * (p[1] - 0.5))

    print(f"astronaut {w}x{h}, letterbox side {side}, detector {DET_SIZE}x{DET_SIZE}")
    order = np.argsort(-scores)
    for i in order[: args.top]:
        raw = boxes[i]
        a = anchors[i]
        cx, cy = raw[0] / DET_SIZE + a[0], raw[1] / DET_SIZE + a[1]
        bw, bh = raw[2] / DET_SIZE, raw[3] / DET_SIZE
        x0, y0 = to_image((cx - bw / 2, cy - bh / 2))
        x1, y1 = to_image((cx + bw / 2, cy + bh / 2))
        kps = [to_image((raw[4 + 2 * k] / DET_SIZE + a[0], raw[5 + 2 * k] / DET_SIZE + a[1])) for k in range(4)]
        sig = 1 / (1 + math.exp(-float(np.clip(scores[i], -100, 100))))
        print(f"anchor {i} centre ({a[0]:.6f}, {a[1]:.6f}) raw score {scores[i]:.7g} sigmoid {sig:.6f}")
        print("  raw: [" + ", ".join(f"{v:.7g}" for v in raw) + "]")
        print(f"  box px: ({x0:.1f}, {y0:.1f}) - ({x1:.1f}, {y1:.1f})")
        print("  keypoints px: " + ", ".join(f"({kx:.1f}, {ky:.1f})" for kx, ky in kps))

    if not args.landmarks:
        return
    best = order[0]
    raw, a = boxes[best], anchors[best]
    k0 = to_image((raw[4] / DET_SIZE + a[0], raw[5] / DET_SIZE + a[1]))
    k1 = to_image((raw[6] / DET_SIZE + a[0], raw[7] / DET_SIZE + a[1]))
    # MediaPipe's angle (clockwise on screen, y down) is 90 deg minus the
    # screen angle of kp0 -> kp1; CropTransform turns counter-clockwise.
    mp_rotation = math.pi / 2 - math.atan2(-(k1[1] - k0[1]), k1[0] - k0[0])
    roi_side = 2 * math.hypot(k1[0] - k0[0], k1[1] - k0[1]) * 1.25
    crop = sample_square(img, k0, roi_side, -mp_rotation, LMK_SIZE)
    lm = run(os.path.join(args.models, "pose_landmark_full.tflite"), crop)
    rows = lm["Identity"][0].reshape(39, 5)
    print(f"ROI centre ({k0[0]:.2f}, {k0[1]:.2f}) side {roi_side:.2f} mediapipe rotation {mp_rotation:.6f}")
    print(f"pose presence (Identity_1, already a probability): {lm['Identity_1'][0, 0]:.6f}")
    s, c = math.sin(mp_rotation), math.cos(mp_rotation)
    names = {0: "nose", 11: "left shoulder", 12: "right shoulder", 33: "aux hip centre", 34: "aux scale point"}
    for k, name in names.items():
        u, v = rows[k, 0] / LMK_SIZE - 0.5, rows[k, 1] / LMK_SIZE - 0.5
        px = (k0[0] + roi_side * (c * u - s * v), k0[1] + roi_side * (s * u + c * v))
        print(f"landmark {k} ({name}) raw: [" + ", ".join(f"{v:.7g}" for v in rows[k]) + f"] -> px ({px[0]:.1f}, {px[1]:.1f})")


def face(args):
    img = data.astronaut()
    h, w, _ = img.shape
    centre, side = (w / 2, h / 2), max(w, h)
    x = sample_square(img, centre, side, 0.0, FACE_DET_SIZE) * 2 - 1
    out = run(os.path.join(args.models, "face_detection_short_range.tflite"), x)
    boxes, scores = out["regressors"][0], out["classificators"][0, :, 0]
    anchors = anchor_centres(FACE_DET_SIZE, FACE_STRIDES)
    assert len(anchors) == boxes.shape[0] == 896

    def to_image(raw, a, k):  # raw regressor pair k -> image pixels
        px = raw[2 * k] / FACE_DET_SIZE + a[0], raw[2 * k + 1] / FACE_DET_SIZE + a[1]
        return (centre[0] + side * (px[0] - 0.5), centre[1] + side * (px[1] - 0.5))

    order = np.argsort(-scores)
    for i in order[: args.top]:
        raw, a = boxes[i], anchors[i]
        print(f"face anchor {i} raw score {scores[i]:.7g}")
        print("  raw: [" + ", ".join(f"{v:.7g}" for v in raw) + "]")
        bw, bh = raw[2] / FACE_DET_SIZE * side, raw[3] / FACE_DET_SIZE * side
        cx, cy = to_image(raw, a, 0)
        print(f"  box px: ({cx - bw / 2:.1f}, {cy - bh / 2:.1f}) - ({cx + bw / 2:.1f}, {cy + bh / 2:.1f})")
        print("  keypoints px: " + ", ".join("({:.1f}, {:.1f})".format(*to_image(raw, a, k)) for k in range(2, 8)))
    raw, a = boxes[order[0]], anchors[order[0]]
    (cx, cy), (e0, e1) = to_image(raw, a, 0), (to_image(raw, a, 2), to_image(raw, a, 3))
    roi_side = max(raw[2], raw[3]) / FACE_DET_SIZE * side * 1.5
    mp_rotation = 0.0 - math.atan2(-(e1[1] - e0[1]), e1[0] - e0[0])
    crop = sample_square(img, (cx, cy), roi_side, -mp_rotation, FACE_LMK_SIZE)
    lm = run(os.path.join(args.models, "face_landmark.tflite"), crop)
    rows = lm["conv2d_21"].reshape(468, 3)
    print(f"face ROI centre ({cx:.2f}, {cy:.2f}) side {roi_side:.2f} mediapipe rotation {mp_rotation:.6f}")
    print(f"face flag (conv2d_31, raw logit): {lm['conv2d_31'].ravel()[0]:.7g}")
    s, c = math.sin(mp_rotation), math.cos(mp_rotation)
    for k, name in {1: "nose tip", 33: "eye corner, screen left", 263: "eye corner, screen right"}.items():
        u, v = rows[k, 0] / FACE_LMK_SIZE - 0.5, rows[k, 1] / FACE_LMK_SIZE - 0.5
        px = (cx + roi_side * (c * u - s * v), cy + roi_side * (s * u + c * v))
        print(f"face landmark {k} ({name}) raw: [" + ", ".join(f"{v:.7g}" for v in rows[k]) + f"] -> px ({px[0]:.1f}, {px[1]:.1f})")


if __name__ == "__main__":
    main()
