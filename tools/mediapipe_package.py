"""MediaPipe's model files in the npm package `@mediapipe/holistic` (what
`npm ci --prefix models/mediapipe` installs), for the Python tools and fixture
generators: plain `<name>.tflite` files, or ones packed into
`holistic_solution_packed_assets.data` at the byte ranges its loader script
lists. The Rust side of the same rule is `furpe::mediapipe::package`."""
import os
import re

PACKAGE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "models", "mediapipe", "node_modules", "@mediapipe", "holistic"
)


def model_bytes(name, package=PACKAGE):
    """The bytes of `<name>.tflite` (`name` without the extension)."""
    plain = os.path.join(package, name + ".tflite")
    if os.path.exists(plain):
        return open(plain, "rb").read()
    loader = open(os.path.join(package, "holistic_solution_packed_assets_loader.js")).read()
    m = re.search(r'"filename": "[^"]*/%s\.tflite", "start": (\d+), "end": (\d+)' % re.escape(name), loader)
    if m is None:
        raise FileNotFoundError(f"{package}: no {name}.tflite, plain or packed")
    blob = open(os.path.join(package, "holistic_solution_packed_assets.data"), "rb").read()
    return blob[int(m.group(1)) : int(m.group(2))]
