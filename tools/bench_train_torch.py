"""PyTorch side of `furpe bench train`: the same student training step on
random data — ResNet-18 with one basic block per stage (stem width W), the
3-iteration regressor (ReLU MLP [256], 341 parameters from mean values),
6D → rotation matrices, the reference `smplx` package's linear blend
skinning (`smplx.lbs.lbs`, pose2rot=False) and extra vertex joints on the
same model file and the 51 static face landmarks (the 17 pose-dependent
contour landmarks are left out: 127 of the 144 joints), weak-perspective
projection of its joints, L1 keypoint + rotation MSE losses, backward, Adam.

    furpe body mannequin --out /tmp/mannequin.npz
    python3 tools/bench_train_torch.py --model /tmp/mannequin.npz [--batch 16 --crop 64 --width 16]
        [--device cuda --json out.json]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import smplx


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class Student(nn.Module):
    def __init__(self, w, hidden=256, params=341, feat=64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, w, 7, 2, 3, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.layers = nn.Sequential(Block(w, w, 1), Block(w, 2 * w, 2), Block(2 * w, 4 * w, 2), Block(4 * w, 8 * w, 2))
        self.fc1 = nn.Linear(8 * w + params, hidden)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(hidden, params)
        self.features = nn.ModuleList([nn.Linear(8 * w, feat) for _ in range(4)])
        mean = [1, 0, 0, -1, 0, 0] + [1, 0, 0, 1, 0, 0] * 52 + [0] * 20 + [0.3783, 0, 0]
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32)[None])

    def forward(self, x):
        f = self.layers(self.stem(x)).mean((2, 3))
        p = self.mean.expand(x.shape[0], -1)
        for _ in range(3):
            p = p + self.head(self.drop(F.relu(self.fc1(torch.cat([f, p], 1)))))
        feats = [h(f) for h in self.features]
        return p, feats


def rot6d(x):
    a = x.reshape(-1, 3, 2)
    b1 = F.normalize(a[:, :, 0], dim=1)
    b2 = F.normalize(a[:, :, 1] - (b1 * a[:, :, 1]).sum(1, keepdim=True) * b1, dim=1)
    return torch.stack([b1, b2, torch.cross(b1, b2, dim=1)], 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    n = a.batch
    body = smplx.SMPLX(a.model, ext="npz", use_pca=False, num_betas=10, num_expression_coeffs=10, use_face_contour=True, batch_size=n).to(dev)
    net = Student(a.width).to(dev)
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    images = torch.rand(n, 3, a.crop, a.crop, device=dev)
    target2d = torch.rand(n, 144, 2, device=dev) * 2 - 1
    eye = torch.eye(3, device=dev).expand(n, 55, 3, 3)
    shapedirs = torch.cat([body.shapedirs, body.expr_dirs], dim=-1)
    times = []
    for step in range(a.steps + 2):
        t = time.perf_counter()
        p, _ = net(images)
        rot = rot6d(p[:, :318]).view(n, 53, 3, 3)
        # SMPL-X order: global, body 21, jaw, eyes, left hand, right hand.
        eyes = torch.eye(3, device=dev).expand(n, 2, 3, 3)
        full = torch.cat([rot[:, :22], rot[:, 52:53], eyes, rot[:, 22:37], rot[:, 37:52]], 1)
        # smplx 0.1.28's SMPLX.forward cannot take rotation matrices (pose2rot=False
        # reshapes them as axis-angle), so the layer's own lbs is called directly.
        shape = torch.cat([p[:, 318:328], p[:, 328:338]], 1)
        vertices, joints = smplx.lbs.lbs(shape, full, body.v_template, shapedirs, body.posedirs,
                                         body.J_regressor, body.parents, body.lbs_weights, pose2rot=False)
        joints = body.vertex_joint_selector(vertices, joints)
        landmarks = smplx.lbs.vertices2landmarks(vertices, body.faces_tensor, body.lmk_faces_idx.expand(n, -1).contiguous(),
                                                 body.lmk_bary_coords.expand(n, -1, -1).contiguous())
        joints = torch.cat([joints, landmarks], 1)
        cam = p[:, 338:]
        proj = (joints[:, :, :2] + cam[:, None, 1:]) * F.softplus(cam[:, None, :1])
        loss = (proj - target2d[:, :proj.shape[1]]).abs().mean() + (full - eye).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        # The loss read to the host ends the step on an asynchronous device too.
        loss.item()
        if step >= 2:
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    med = times[len(times) // 2]
    print(f"PyTorch {torch.__version__} student train step on {dev} (width {a.width}, {a.crop}x{a.crop}, batch {n}, "
          f"{a.threads} threads): median {med:.1f} ms, min {times[0]:.1f} ms, {n / med * 1e3:.1f} images/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(device=str(dev), batch=n, crop=a.crop, width=a.width, steps=a.steps,
                           median_ms=med, min_ms=times[0]), f, indent=2)


if __name__ == "__main__":
    main()
