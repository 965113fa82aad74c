#!/usr/bin/env python3
"""The peer for `furpe bench mediapipe`: the same MediaPipe models, batch 1,
mid-grey input, in the TFLite interpreter (PyPI ai-edge-litert), with its
default XNNPACK delegate and with the reference kernels, on as many threads
as given (default 2, this machine's cores). Prints median and min ms.

Run:  pip install ai-edge-litert numpy
      python3 tools/bench_mediapipe_tflite.py [--threads 2] [--runs 10]
"""
import argparse
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from mediapipe_package import model_bytes

MODELS = [
    ("pose_detection", 224), ("pose_landmark_lite", 256), ("pose_landmark_full", 256),
    ("pose_landmark_heavy", 256), ("palm_detection_full", 192), ("hand_landmark_full", 224),
    ("face_detection_short_range", 128), ("face_landmark", 192),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    for kind, resolver in [("XNNPACK", OpResolverType.AUTO), ("reference kernels", OpResolverType.BUILTIN_REF)]:
        print(f"TFLite interpreter ({kind}), {args.threads} threads, batch 1")
        for name, size in MODELS:
            it = Interpreter(model_content=model_bytes(name), num_threads=args.threads, experimental_op_resolver_type=resolver)
            it.allocate_tensors()
            x = np.full((1, size, size, 3), 0.5, np.float32)
            times = []
            for run in range(args.runs + 2):
                t = time.perf_counter()
                it.set_tensor(it.get_input_details()[0]["index"], x)
                it.invoke()
                for d in it.get_output_details():
                    it.get_tensor(d["index"])
                if run >= 2:
                    times.append((time.perf_counter() - t) * 1e3)
            times.sort()
            print(f"{name:<28} {size:>3}²  median {times[len(times) // 2]:7.2f} ms  min {times[0]:7.2f} ms")


if __name__ == "__main__":
    main()
