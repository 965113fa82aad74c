"""Writes www/examples/wave.json: the viewer's example, the same wave as
`furpe demo` (trainer/src/demo.rs), in the sequence format of
shared/src/smplx/params.rs (`{"fps", "frames": [SMPL-X parameters]}`).
Run: python3 www/examples/gen_wave.py"""
import json, math, os

FRAMES = 24
frames = []
for f in range(FRAMES):
    t = f / FRAMES * 2 * math.pi
    body = [0.0] * 63
    body[15 * 3 + 2] = -1.2                   # left shoulder down
    body[16 * 3 + 2] = -0.6 - 0.2 * math.sin(t)  # right shoulder raised
    body[18 * 3 + 2] = -1.2 + 0.5 * math.sin(t)  # right elbow waves
    body[11 * 3 + 1] = 0.4 * math.sin(t)        # neck turns
    body[3 * 3] = 0.3 * (1 - math.cos(t))       # left knee bends
    hand = [0.0] * 45
    for i in range(0, 45, 3):
        hand[i] = 0.3 * (1 + math.cos(t))
    r = lambda v: [round(x, 4) for x in v]
    frames.append({
        "global_orient": [0.0, 0.3 * math.sin(t / 2), 0.0],
        "body_pose": r(body),
        "jaw_pose": r([0.15 * (1 - math.cos(t)), 0, 0]),
        "expression": r([1.5 * math.sin(t)] + [0] * 9),
        "right_hand_pose": r(hand),
        "time": round(f / 12, 4),
    })
out = os.path.join(os.path.dirname(__file__), "wave.json")
with open(out, "w") as fh:
    json.dump({"fps": 12, "frames": frames}, fh, separators=(",", ":"))
print(out)
