"""Ours (Keras 3 on JAX, compiled) against pytorch-grad-cam and Captum on one GPU, paired.

    python benchmarks/bench_gpu_peers.py [--models MobileNetV2,ResNet50]
        [--repeats 7] [--json FILE]

The peers run as their users run them: on torchvision's own MobileNetV2 / ResNet50 (random
weights, eval mode, PyTorch eager); ours runs through the public `explain()` on the Keras
application of the same architecture (random weights) on the JAX backend, in the same process, on
the same card, at equal precision (TF32 off in PyTorch, JAX matmuls at "highest", our default).
Input: one 224x224 photo (ours gets the uint8 pixels, so its time includes preprocessing and
the map's transfer to the host; theirs gets the preprocessed tensor already on the GPU, and the
map is brought to the host). Each pair runs ours then theirs back to back; the ratio is the
median of the per-pair ratios theirs / ours (> 1: ours faster). Target (issue 14): >= 2x every
peer, >= 3x on MobileNetV2. Needs torch with CUDA, torchvision, captum, grad-cam (and ttach).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # share the card with torch

IG_STEPS, SG_SAMPLES, SG_NOISE = 50, 50, 0.15
OURS_PARAMS = {
    "integrated_gradients": {"n_steps": IG_STEPS},
    "smoothgrad": {"nt_samples": SG_SAMPLES, "noise": SG_NOISE},
}


def torch_model(name: str, device: str) -> tuple[Any, Any]:
    """(torchvision network, its last convolutional block: the CAM layer)."""
    import torch
    import torchvision

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if name == "MobileNetV2":
        net = torchvision.models.mobilenet_v2()
        layer = net.features[-1]
    else:
        net = torchvision.models.resnet50()
        layer = net.layer4[-1]
    return net.eval().to(device), layer


def peer_fns(net: Any, layer: Any, t: Any, target: int) -> dict[str, Callable[[], Any]]:
    """Each peer method on the prepared input tensor, returning the map on the host."""
    from captum.attr import IntegratedGradients, NoiseTunnel, Saliency
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    kinds = {"gradcam": GradCAM, "gradcam_plus_plus": GradCAMPlusPlus, "layercam": LayerCAM}
    cams = {mid: cls(model=net, target_layers=[layer]) for mid, cls in kinds.items()}
    targets = [ClassifierOutputTarget(target)]
    sigma = SG_NOISE * float(t.max() - t.min())
    fns: dict[str, Callable[[], Any]] = {
        mid: (lambda cam=cam: cam(input_tensor=t, targets=targets)) for mid, cam in cams.items()
    }
    fns["vanilla_gradients"] = lambda: Saliency(net).attribute(t, target=target, abs=False).cpu()
    fns["integrated_gradients"] = lambda: (
        IntegratedGradients(net)
        .attribute(
            t, baselines=t * 0, target=target, n_steps=IG_STEPS, internal_batch_size=IG_STEPS
        )
        .cpu()
    )
    fns["smoothgrad"] = lambda: (
        NoiseTunnel(Saliency(net))
        .attribute(
            t,
            nt_type="smoothgrad",
            nt_samples=SG_SAMPLES,
            nt_samples_batch_size=SG_SAMPLES,
            stdevs=sigma,
            target=target,
            abs=False,
        )  # fmt: skip
        .cpu()
    )
    return fns


def pair(ours: Callable[[], Any], theirs: Callable[[], Any], repeats: int) -> dict[str, float]:
    """bench_engine's `paired` (warm-up, alternation, median of pair ratios) with the GPU's queue
    drained after each call; theirs is passed as its "ours", so its ratio is theirs / ours."""
    import torch
    from limits import paired

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)

    def synced(fn: Callable[[], Any]) -> Callable[[], None]:
        return lambda: (fn(), sync())

    r = paired(synced(theirs), synced(ours), repeats)
    return {"ours_ms": r["limit"] * 1e3, "theirs_ms": r["ours"] * 1e3, "ratio": r["ratio"]}


def bench(name: str, repeats: int) -> dict[str, dict[str, float]]:
    import keras
    import numpy as np
    import torch

    from saliency_desktop.engine import explain, load_image
    from saliency_desktop.engine.models import from_keras

    photo = resources.files("saliency_desktop.resources").joinpath("samples", "dog_in_towel.jpg")
    pixels = np.ascontiguousarray(load_image(str(photo))[0][:224, :224])
    pixels.flags.writeable = False  # as a decoded file is: prepared once, then reused
    model = from_keras(getattr(keras.applications, name)(weights=None), preprocessing="unit")
    _, x = model.prepare(pixels)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    net, layer = torch_model(name, device)
    t = torch.as_tensor(np.ascontiguousarray(x.transpose(2, 0, 1))[None]).to(device)
    target = 13
    rows = {}
    for mid, theirs in peer_fns(net, layer, t, target).items():

        def ours(mid: str = mid) -> Any:
            return explain(model, pixels, methods=[mid], target=target, params=OURS_PARAMS)

        rows[mid] = r = pair(ours, theirs, repeats)
        print(f"{name:12s} {mid:22s} ours {r['ours_ms']:8.2f} ms  theirs {r['theirs_ms']:8.2f} ms"
              f"  theirs/ours {r['ratio']:5.2f}", flush=True)  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="MobileNetV2,ResNet50")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json")
    args = parser.parse_args()
    from saliency_desktop.engine import choose_backend
    from saliency_desktop.engine.device import versions

    choose_backend(os.environ.get("SALIENCY_DESKTOP_BACKEND", "jax"))
    print(f"# {versions()}; {args.repeats} pairs, medians")
    figures = {name: bench(name, args.repeats) for name in args.models.split(",")}
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
