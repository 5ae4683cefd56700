"""One process per Keras backend (Keras fixes its backend when first imported), started once a
test session (the `backend_run` fixture, tests/conftest.py), doing all that backend's work:

1. `saliency-desktop explain --backend BACKEND` on the embedded dog-breeds model and the bundled
   photo, as a user runs it (tests/cli/test_cli_backends.py compares the maps and records);
2. every registered method on the tiny model (tests/engine/tiny_model.py), its weights from a
   numpy seed so they are the same on every backend, maps saved to `maps.npz`
   (tests/engine/test_backends.py compares them). After each method the user's model must be
   unchanged: weights, fused activations and outputs;
3. the noise generator's draws in a compiled pass, in `noise.npz` (tests/engine/test_noise.py).

Usage: backend_maps.py BACKEND FOLDER [METHOD,...]. The command line comes first: it chooses
the backend before Keras is imported, as it does for a user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

SMALL = {  # parameters that keep every method to a fraction of a second on 8x8 inputs
    "smoothgrad": {"nt_samples": 4},
    "smoothgrad_squared": {"nt_samples": 4},
    "vargrad": {"nt_samples": 4},
    "occlusion": {"window": 4, "stride": 2},
    "rise": {"n_masks": 64},
    "integrated_gradients": {"n_steps": 8},
    "expected_gradients": {"n_samples": 8},
    "blur_ig": {"steps": 8},
    "guided_ig": {"x_steps": 8},
}
CLI_METHODS = "vanilla_gradients,gradcam,integrated_gradients"
PHOTO = resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png")


def start_backend(backend: str, folder: Path) -> subprocess.Popen[bytes]:
    """Start this script for `backend` in a fresh process, writing to `folder`; its output
    goes to `folder/output.txt` (a file, not a pipe: nobody reads it while it runs)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for var in ("KERAS_BACKEND", "SALIENCY_DESKTOP_BACKEND"):
        env.pop(var, None)
    with open(folder / "output.txt", "wb") as log:
        return subprocess.Popen(
            [sys.executable, __file__, backend, str(folder)], env=env, stdout=log, stderr=log
        )


def finish_backend(proc: subprocess.Popen[bytes], folder: Path) -> Path:
    """Wait for a `start_backend` process; return its folder (asserts success)."""
    proc.wait(timeout=1800)
    output = (folder / "output.txt").read_text(errors="replace")
    assert proc.returncode == 0, output[-3000:]
    return folder


def run_backend(backend: str, folder: Path) -> Path:
    """Run this script for `backend` in a fresh process; return `folder` (asserts success)."""
    return finish_backend(start_backend(backend, folder), folder)


def cli_explain(backend: str, out: Path) -> None:
    """The dog-breeds model on the photo through the command line's `main`."""
    from saliency_desktop.cli import main

    args = ["explain", str(PHOTO), "--backend", backend, "--methods", CLI_METHODS,
            "--ig-steps", "8", "--out", str(out), "--format", "png", "--dpi", "30"]  # fmt: skip
    code = main(args)
    if code != 0:
        raise SystemExit(f"{backend}: explain exited {code}")


def tiny_maps(backend: str, out: Path, methods: list[str] | None) -> None:
    """Every method (or `methods`) on the tiny model; the model checked unchanged after each."""
    from saliency_desktop.engine import backends

    backends.choose(backend)
    import keras

    from saliency_desktop.engine import explain, method_ids
    from saliency_desktop.engine.device import versions
    from saliency_desktop.engine.models import from_keras
    from tests.engine.tiny_model import numpy_weights, tiny_cnn

    km = numpy_weights(tiny_cnn(keras))
    model = from_keras(km, preprocessing="unit")
    image = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    probe = np.random.default_rng(2).random((2, 8, 8, 3)).astype("float32")
    weights = [w.copy() for w in km.get_weights()]
    acts = {la.name: getattr(la, "activation", None) for la in km.layers}
    outputs = keras.ops.convert_to_numpy(km(probe, training=False))
    maps: dict[str, np.ndarray] = {}
    for mid in methods or method_ids():
        params = {mid: SMALL[mid]} if mid in SMALL else None
        res = explain(model, image, methods=[mid], target=3, params=params)
        maps[mid] = res.methods[mid].map
        unchanged = (
            all(np.array_equal(a, b) for a, b in zip(weights, km.get_weights(), strict=True))
            and acts == {la.name: getattr(la, "activation", None) for la in km.layers}
            and np.array_equal(outputs, keras.ops.convert_to_numpy(km(probe, training=False)))
        )
        if not unchanged:
            raise SystemExit(f"{backend}: {mid} changed the user's model")
    record = {"backend": keras.backend.backend(), "versions": versions()}
    np.savez(out, record=json.dumps(record), **maps)


def noise_draws(out: Path) -> None:
    """The noise generator's words and normals, drawn in a compiled pass on this backend
    (tests/engine/test_noise.py compares them with the numpy reference)."""
    from saliency_desktop.engine import backends
    from saliency_desktop.engine.noise import gaussian, seed_word, words

    samples, seed = np.array([0, 1, 49, 2**31 - 1], np.int32), 3_000_000_000

    def draw(seed_w: object, samples_t: object) -> object:
        return words(40, seed_w, samples_t), gaussian((5, 4, 2), seed_w, samples_t)

    specs = [((), "int32"), ((None,), "int32")]
    fn = backends.adapter().compile(draw, specs, [], grad=False, batched=False)
    w, z = (np.asarray(t) for t in fn(seed_word(seed), samples))
    np.savez(out, words=w, normals=z, samples=samples, seed=seed)


if __name__ == "__main__":
    backend, folder = sys.argv[1], Path(sys.argv[2])
    cli_explain(backend, folder / "cli")
    tiny_maps(backend, folder / "maps.npz", sys.argv[3].split(",") if len(sys.argv) > 3 else None)
    noise_draws(folder / "noise.npz")
