"""Ours against the peers on the same model and input: maps (agreement) and times (paired).

    python benchmarks/bench_peers.py [--repeats 3] [--heavy-repeats 1] [--skip-torch] [--skip-tfkv]

* pytorch-grad-cam and Captum run on the dog-breed model (nested MobileNetV2, 160x160): our
  engine saves it as .keras and a subprocess loads the same file under Keras' PyTorch backend
  (tests/peers/torch_side.py `serve`), where the model is a torch.nn.Module. Each pair is one run
  of ours (TensorFlow, through the public `explain()` on the prepared photo) then one of theirs
  (PyTorch, CPU), back to back; the ratio is the median of the per-pair ratios theirs / ours
  (> 1: ours faster). Agreement: Pearson correlation and max |ours - theirs| / max |ours| of the
  CAM (layer resolution) or of the attributions (H, W, C).
* tf-keras-vis runs in this process on a flat random-weight MobileNetV2 (160x160, 19 classes;
  it fails on the nested model under Keras 3), paired the same way.
Needs `pip install captum` and pytorch-grad-cam (`pip install --no-deps grad-cam ttach`: its
torchvision does not import beside torch 2.13.0+cpu, see torch_side.shim_missing_imports).
Heavy methods (Score-CAM's 1,280 channels, Ablation-CAM, occlusion, sampling methods) run
`--heavy-repeats` pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
TORCH_SIDE = ROOT / "tests" / "peers" / "torch_side.py"
LAYER = "mobilenetv2_1.00_160/out_relu"
PHOTO = "dog_on_porch.jpg"

# (peer, their job, our method id, our params, what is compared, heavy)
TORCH_CASES: list[tuple[str, dict[str, Any], str, dict[str, Any], str, bool]] = [
    *[
        ("pytorch-grad-cam " + name, {"method": mid, "layer": LAYER}, mid, {}, "cam", heavy)
        for mid, name, heavy in [
            ("gradcam", "GradCAM", False),
            ("gradcam_plus_plus", "GradCAMPlusPlus", False),
            ("hirescam", "HiResCAM", False),
            ("xgradcam", "XGradCAM", False),
            ("layercam", "LayerCAM", False),
            ("eigencam", "EigenCAM", False),
            ("ablationcam", "AblationCAM", True),
            ("scorecam", "ScoreCAM", True),
        ]
    ],
    ("Captum Saliency", {"method": "Saliency"}, "vanilla_gradients", {}, "attributions", False),
    ("Captum InputXGradient", {"method": "InputXGradient"}, "gradient_x_input", {},
     "attributions", False),
    ("Captum IntegratedGradients (50 GL)", {"method": "IntegratedGradients", "n_steps": 50},
     "integrated_gradients", {"n_steps": 50, "rule": "gausslegendre"}, "attributions", True),
    ("Captum NoiseTunnel smoothgrad (50)", {"method": "NoiseTunnel", "of": "Saliency",
     "nt_type": "smoothgrad", "nt_samples": 50, "sigma": "@sigma"}, "smoothgrad",
     {"nt_samples": 50}, "spread", True),
    ("Captum GradientShap (200)", {"method": "GradientShap", "baselines": "@baselines",
     "n_samples": 200}, "expected_gradients", {"n_samples": 200}, "spread", True),
    ("Captum Occlusion (16/8, 361 windows)", {"method": "Occlusion", "window": 16, "stride": 8},
     "occlusion", {}, "occlusion", True),
]  # fmt: skip


def agreement(ours: np.ndarray, theirs: np.ndarray) -> str:
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    if ours.shape != theirs.shape:
        return f"shapes differ {ours.shape} {theirs.shape}"
    corr = np.corrcoef(ours.ravel(), theirs.ravel())[0, 1]
    diff = np.abs(ours - theirs).max() / max(np.abs(ours).max(), 1e-30)
    return f"corr {corr:.6f}, max|diff|/max {diff:.1e}"


def pair(ours: Callable[[], Any], theirs: Callable[[], float], repeats: int) -> dict:
    """One warm-up each, then `repeats` pairs; theirs reports its own seconds."""
    ours(), theirs()
    ours_t, theirs_t, ratios = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ours()
        ours_t.append(time.perf_counter() - start)
        theirs_t.append(theirs())
        ratios.append(theirs_t[-1] / ours_t[-1])
    return {"ours": statistics.median(ours_t), "theirs": statistics.median(theirs_t),
            "ratio": statistics.median(ratios)}  # fmt: skip


class TorchSide:
    """The torch_side.py server: one job per line, answered with its seconds."""

    def __init__(self, model_path: Path, arrays: Path) -> None:
        env = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
        self.proc = subprocess.Popen(
            [sys.executable, str(TORCH_SIDE), "serve", str(model_path), str(arrays)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=env,
        )  # fmt: skip
        self.ask({})  # waits for "ready"

    def ask(self, job: dict[str, Any]) -> dict[str, Any]:
        if job:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the torch side exited")
        return json.loads(line)

    def seconds(self, job: dict[str, Any]) -> float:
        reply = self.ask(job)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return float(reply["seconds"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def torch_peers(args: argparse.Namespace, tmp: Path) -> None:
    from saliency_desktop.engine import explain, load_model

    model = load_model("dog-breeds")
    photo = str(resources.files("saliency_desktop.resources").joinpath("samples", PHOTO))
    first = explain(model, photo, methods=["gradcam"])
    target, x = first.target, first.input.astype(np.float32)
    model.keras_model.save(tmp / "dog.keras")
    rng = np.random.default_rng(0)
    baselines = np.stack(
        [
            np.full_like(x, -1.0),
            np.full_like(x, 1.0),
            rng.uniform(-1, 1, x.shape).astype(np.float32),
            np.zeros_like(x),
        ]
    )
    sigma = np.array(0.15 * float(x.max() - x.min()))
    np.savez(tmp / "arrays.npz", x=x, baselines=baselines, sigma=sigma)
    side = TorchSide(tmp / "dog.keras", tmp / "arrays.npz")
    print(f"# dog-breeds 160x160, {PHOTO}, target {target}; theirs: torch CPU, same .keras")
    print(f"{'peer':40s} {'ours':>9s} {'theirs':>9s} {'theirs/ours':>11s}  agreement")
    try:
        for name, job, mid, params, what, heavy in TORCH_CASES:
            if args.only and mid not in args.only.split(","):
                continue
            job = {**job, "target": target}
            run_ours = lambda m=mid, p=params: explain(  # noqa: E731
                model, photo, methods=[m], target=target, params={m: p} if p else None
            )
            try:
                r = pair(run_ours, lambda j=job: side.seconds(j),
                         args.heavy_repeats if heavy else args.repeats)  # fmt: skip
            except RuntimeError as exc:
                print(f"{name:40s} failed: {exc}")
                continue
            side.ask({**job, "save": str(tmp / "theirs.npy")})
            mine = run_ours().methods[mid]
            theirs = np.load(tmp / "theirs.npy")
            if what == "cam":
                agree = agreement(mine.cam, theirs)
            elif what == "occlusion":
                agree = agreement(mine.map, theirs[..., 0])
            elif what == "attributions":
                agree = agreement(mine.attributions, theirs)
            else:  # their own random draws: agreement only in expectation
                agree = "(own draws) " + agreement(mine.attributions, theirs)
            print(f"{name:40s} {fmt(r['ours'])} {fmt(r['theirs'])} {r['ratio']:11.2f}  {agree}")
    finally:
        side.close()


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f}ms" if seconds < 1 else f"{seconds:8.2f}s"


def tf_keras_vis_peers(args: argparse.Namespace) -> None:
    import keras
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.layercam import Layercam
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    from saliency_desktop.engine import explain
    from saliency_desktop.engine.models import from_keras

    keras.utils.set_random_seed(0)
    flat = keras.applications.MobileNetV2(input_shape=(160, 160, 3), weights=None, classes=19)
    model = from_keras(flat, preprocessing="mobilenet", labels=[str(i) for i in range(19)])
    photo = str(resources.files("saliency_desktop.resources").joinpath("samples", PHOTO))
    first = explain(model, photo, methods=["gradcam"])
    x, target, score = first.input[None], first.target, CategoricalScore([first.target])
    kw = {"model_modifier": ReplaceToLinear(), "clone": True}
    cam_kw = {"penultimate_layer": "out_relu", "seek_penultimate_conv_layer": False}
    gradcam, plus, layercam = Gradcam(flat, **kw), GradcamPlusPlus(flat, **kw), Layercam(flat, **kw)
    scorecam, saliency = Scorecam(flat, **kw), Saliency(flat, **kw)
    cases = [
        ("Gradcam", "gradcam", {}, lambda: gradcam(score, x, **cam_kw), False),
        ("GradcamPlusPlus", "gradcam_plus_plus", {}, lambda: plus(score, x, **cam_kw), False),
        ("Layercam", "layercam", {}, lambda: layercam(score, x, **cam_kw), False),
        ("Scorecam max_N=128 (Faster Score-CAM)", "faster_scorecam", {},
         lambda: scorecam(score, x, max_N=128, **cam_kw), True),
        ("Saliency", "vanilla_gradients", {}, lambda: saliency(score, x), False),
        ("Saliency smooth_samples=50 (SmoothGrad)", "smoothgrad", {"nt_samples": 50},
         lambda: saliency(score, x, smooth_samples=50, smooth_noise=0.15), True),
    ]  # fmt: skip
    print(f"# flat random-weight MobileNetV2 160x160, {PHOTO}; tf-keras-vis in this process")
    print(f"{'peer':40s} {'ours':>9s} {'theirs':>9s} {'theirs/ours':>11s}")
    for name, mid, params, theirs, heavy in cases:
        if args.only and mid not in args.only.split(","):
            continue

        def timed(fn: Callable[[], Any] = theirs) -> float:
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start

        run_ours = lambda m=mid, p=params: explain(  # noqa: E731
            model, photo, methods=[m], target=target, params={m: p} if p else None
        )
        r = pair(run_ours, timed, args.heavy_repeats if heavy else args.repeats)
        print(f"tf-keras-vis {name:27s} {fmt(r['ours'])} {fmt(r['theirs'])} {r['ratio']:11.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--heavy-repeats", type=int, default=1)
    parser.add_argument("--only", default="", help="our method ids, comma-separated")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-tfkv", action="store_true")
    args = parser.parse_args()
    if not args.skip_torch:
        with tempfile.TemporaryDirectory() as tmp:
            torch_peers(args, Path(tmp))
    if not args.skip_tfkv:
        tf_keras_vis_peers(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
