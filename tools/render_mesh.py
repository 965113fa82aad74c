#!/usr/bin/env python3
"""Render a triangle mesh to a shaded PNG, for eyeballing body models.

Input is a Wavefront OBJ, or an SMPL-X model .npz (official layout), which is
posed through the reference `smplx` package (or shown raw with --raw). The
renderer is a small orthographic z-buffer rasteriser in numpy: no GPU, no
OpenGL, runs anywhere.

Examples:
  render_mesh.py SMPLX_NEUTRAL.npz -o rest.png                  # rest pose, front + side
  render_mesh.py model.npz -o posed.png --pose example           # a sample pose and expression
  render_mesh.py model.npz -o fat.png --betas 1:2 --views front
  render_mesh.py mesh.obj -o mesh.png --views front,side,back,face,hand
Views: front, side, back, top, threequarter, face, lhand, rhand, feet, or
yaw:pitch in degrees (e.g. 30:10); append @head, @lhand, @rhand, @feet or
@x/y/z/half to zoom in (e.g. 90:0@head, 0:0@0.3/-0.2/0.2/0.1).
"""

import argparse
import math
import sys

import numpy as np


def load_obj(path):
    verts, faces = [], []
    with open(path) as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(t) for t in line.split()[1:4]])
            elif line.startswith("f "):
                faces.append([int(t.split("/")[0]) - 1 for t in line.split()[1:4]])
    return np.array(verts, np.float64), np.array(faces, np.int64)


def parse_coeffs(spec, n):
    """'0:2,3:-1' -> length-n vector."""
    out = np.zeros(n, np.float32)
    if spec:
        for item in spec.split(","):
            i, v = item.split(":")
            out[int(i)] = float(v)
    return out


def aa(axis, deg):
    a = np.asarray(axis, np.float64)
    return (a / np.linalg.norm(a) * math.radians(deg)).tolist()


def example_pose():
    """Arms down and bent, knees and hips bent, head turned, fists, mouth open."""
    body = np.zeros((21, 3))
    # body_pose slot = SMPL-X joint - 1.
    body[15] = aa([0, 0, 1], -70)  # left shoulder: arm down
    body[16] = aa([0, 0, 1], 70)  # right shoulder
    body[17] = aa([0, 1, 0], -80)  # left elbow: forearm forward
    body[18] = aa([0, 1, 0], 80)  # right elbow
    body[0] = aa([1, 0, 0], -45)  # left hip: thigh forward
    body[1] = aa([1, 0, 0], -15)
    body[3] = aa([1, 0, 0], 70)  # left knee
    body[4] = aa([1, 0, 0], 25)
    body[11] = aa([0, 1, 0], 10)  # neck
    body[14] = aa([0, 1, 0], 25)  # head: turn to its left
    hand_l = np.tile(aa([0, 0, -1], 55), 15)
    hand_r = np.tile(aa([0, 0, 1], 55), 15)
    # Thumbs: a gentler curl about their own flexion axes.
    hand_l[36:45] = np.tile(aa([0.55, 0, -0.8], 25), 3)
    hand_r[36:45] = np.tile(aa([0.55, 0, 0.8], 25), 3)
    return dict(
        body_pose=body.reshape(1, -1),
        left_hand_pose=hand_l.reshape(1, -1),
        right_hand_pose=hand_r.reshape(1, -1),
        jaw_pose=np.array([aa([1, 0, 0], 17)]),
        expression=parse_coeffs("0:1.5,1:1.0", 10)[None],
    )


def load_model(path, args):
    data = np.load(path, allow_pickle=True)
    faces = data["f"].astype(np.int64)
    if args.raw:
        return data["v_template"].astype(np.float64), faces
    import smplx
    import torch

    model = smplx.SMPLX(
        model_path=path,
        use_pca=False,
        num_betas=10,
        num_expression_coeffs=10,
        flat_hand_mean=args.pose != "example",
    )
    params = dict(
        betas=parse_coeffs(args.betas, 10)[None],
        expression=parse_coeffs(args.expr, 10)[None],
    )
    if args.pose == "example":
        params.update(example_pose())
        if args.expr:
            params["expression"] = parse_coeffs(args.expr, 10)[None]
    params = {k: torch.tensor(np.asarray(v), dtype=torch.float32) for k, v in params.items()}
    with torch.no_grad():
        out = model(**params)
    return out.vertices[0].numpy().astype(np.float64), faces


def rotation(yaw, pitch):
    """World -> camera: the camera orbits by yaw about y, then tilts by pitch."""
    y, p = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    return rx @ ry


VIEWS = {
    "front": (0, 0, None),
    "side": (90, 0, None),
    "back": (180, 0, None),
    "top": (0, 89.9, None),
    "threequarter": (35, 12, None),
    # Close-ups: (yaw, pitch, centre selector).
    "face": (15, 0, "head"),
    "lhand": (0, 89.9, "lhand"),
    "rhand": (0, 89.9, "rhand"),
    "feet": (30, 25, "feet"),
}


def focus(verts, what):
    """Centre and half-size of a close-up, from the vertex cloud (or given
    as x/y/z/half)."""
    if "/" in what:
        x, y, z, half = (float(t) for t in what.split("/"))
        return np.array([x, y, z]), half
    y = verts[:, 1]
    if what == "head":
        sel = verts[y > y.max() - 0.27]
        c = sel.mean(0)
        return c, 0.14
    if what in ("lhand", "rhand"):
        sel = verts[verts[:, 0] > verts[:, 0].max() - 0.22] if what == "lhand" else verts[verts[:, 0] < verts[:, 0].min() + 0.22]
        return sel.mean(0), 0.13
    if what == "feet":
        sel = verts[y < y.min() + 0.15]
        return sel.mean(0), 0.22
    raise ValueError(what)


def render(verts, faces, yaw, pitch, size, center=None, half=None, wire=False):
    r = rotation(yaw, pitch)
    cam = verts @ r.T
    if center is None:
        lo, hi = cam.min(0), cam.max(0)
        c = (lo + hi) / 2
        half = max(hi[0] - lo[0], hi[1] - lo[1]) / 2 * 1.05
    else:
        c = center @ r.T
    scale = size / (2 * half)
    sx = (cam[:, 0] - c[0]) * scale + size / 2
    sy = size / 2 - (cam[:, 1] - c[1]) * scale
    depth = cam[:, 2]  # larger = closer to the camera

    tri = cam[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(verts)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    vn /= np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12
    light = np.array([-0.35, 0.45, 0.82])
    light /= np.linalg.norm(light)
    shade = 0.22 + 0.78 * np.clip(vn @ light, 0, 1) ** 0.9

    zbuf = np.full((size, size), -np.inf)
    img = np.ones((size, size))
    front = fn[:, 2] > 0  # back-face culling on a closed mesh
    for f in np.nonzero(front)[0]:
        i0, i1, i2 = faces[f]
        xs = np.array([sx[i0], sx[i1], sx[i2]])
        ys = np.array([sy[i0], sy[i1], sy[i2]])
        x0, x1 = max(int(xs.min()), 0), min(int(xs.max()) + 1, size - 1)
        y0, y1 = max(int(ys.min()), 0), min(int(ys.max()) + 1, size - 1)
        if x0 > x1 or y0 > y1:
            continue
        px, py = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        d = (ys[1] - ys[2]) * (xs[0] - xs[2]) + (xs[2] - xs[1]) * (ys[0] - ys[2])
        if abs(d) < 1e-12:
            continue
        w0 = ((ys[1] - ys[2]) * (px - xs[2]) + (xs[2] - xs[1]) * (py - ys[2])) / d
        w1 = ((ys[2] - ys[0]) * (px - xs[2]) + (xs[0] - xs[2]) * (py - ys[2])) / d
        w2 = 1 - w0 - w1
        inside = (w0 >= -1e-6) & (w1 >= -1e-6) & (w2 >= -1e-6)
        if not inside.any():
            continue
        z = w0 * depth[i0] + w1 * depth[i1] + w2 * depth[i2]
        s = w0 * shade[i0] + w1 * shade[i1] + w2 * shade[i2]
        if wire:
            # Pixel distance to each edge: w_i * (2 * area / |edge_i|).
            lens = [math.hypot(xs[1] - xs[2], ys[1] - ys[2]), math.hypot(xs[2] - xs[0], ys[2] - ys[0]), math.hypot(xs[0] - xs[1], ys[0] - ys[1])]
            dist = np.minimum(np.minimum(w0 * abs(d) / max(lens[0], 1e-9), w1 * abs(d) / max(lens[1], 1e-9)), w2 * abs(d) / max(lens[2], 1e-9))
            s = np.where(dist < 0.7, s * 0.55, s)
        sub = zbuf[y0 : y1 + 1, x0 : x1 + 1]
        win = inside & (z > sub)
        sub[win] = z[win]
        img[y0 : y1 + 1, x0 : x1 + 1][win] = s[win]
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mesh", help="OBJ file or SMPL-X .npz model")
    ap.add_argument("-o", "--out", required=True, help="output PNG")
    ap.add_argument("--views", default="front,side", help="comma-separated views")
    ap.add_argument("--size", type=int, default=600, help="pixels per view")
    ap.add_argument("--pose", choices=["rest", "example"], default="rest")
    ap.add_argument("--betas", default="", help="shape coefficients, e.g. 0:2,1:-1")
    ap.add_argument("--expr", default="", help="expression coefficients, e.g. 0:2")
    ap.add_argument("--raw", action="store_true", help="show an .npz's v_template without smplx")
    ap.add_argument("--title", default="", help="caption")
    ap.add_argument("--wire", action="store_true", help="draw the triangle edges")
    args = ap.parse_args()

    if args.mesh.endswith(".npz"):
        verts, faces = load_model(args.mesh, args)
    else:
        verts, faces = load_obj(args.mesh)

    panels = []
    for name in args.views.split(","):
        name, _, at = name.partition("@")
        if name in VIEWS:
            yaw, pitch, what = VIEWS[name]
        else:
            yaw, pitch = (float(t) for t in name.split(":"))
            what = None
        what = at or what
        if what:
            c, half = focus(verts, what)
            panels.append(render(verts, faces, yaw, pitch, args.size, c, half, args.wire))
        else:
            panels.append(render(verts, faces, yaw, pitch, args.size, wire=args.wire))
    gap = np.ones((args.size, 6))
    row = np.concatenate(sum(([p, gap] for p in panels), [])[:-1], axis=1)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rgb = np.stack([row * 0.93, row * 0.90, row * 0.86], axis=-1)
    h, w = row.shape
    fig = plt.figure(figsize=(w / 100, h / 100 + (0.3 if args.title else 0)), dpi=100)
    ax = fig.add_axes([0, 0, 1, h / (h + (30 if args.title else 0))])
    ax.imshow(np.clip(rgb, 0, 1), interpolation="lanczos")
    ax.axis("off")
    if args.title:
        fig.text(0.5, 1 - 12 / (h + 30), args.title, ha="center", va="center", fontsize=11)
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out} ({len(verts)} vertices, {len(faces)} faces)", file=sys.stderr)


if __name__ == "__main__":
    main()
