"""The PyTorch side of the peer comparisons: Captum and pytorch-grad-cam on a Keras 3 model.

A Keras 3 model loaded under the PyTorch backend is a `torch.nn.Module` whose layers run torch
ops, so Captum and pytorch-grad-cam run on the SAME weights (the same .keras file) as this
project's TensorFlow engine. Run as a script (never imported by the package):

    KERAS_BACKEND=torch python tests/peers/torch_side.py maps REQUEST.json OUT.npz
    KERAS_BACKEND=torch python tests/peers/torch_side.py serve MODEL.keras ARRAYS.npz

`maps` computes each job of the request (one peer method each) and writes its array to OUT.npz;
`serve` reads one JSON job per line on stdin and answers one line with the seconds it took, so
that benchmarks/bench_peers.py can pair each of our runs with one of theirs.

Every job gets the model input x (H, W, C, preprocessed), the target class and its parameters.
S is the target's logit: the last layer's softmax is replaced by the identity (as our engine's
score and tf-keras-vis' ReplaceToLinear do).
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: this module is a script


def shim_missing_imports() -> None:
    """pytorch-grad-cam imports torchvision and scikit-learn at module level, for helpers the
    CAM classes compared here never call (image transforms, KernelPCA, NMF). PyPI's torchvision
    does not import beside torch 2.13.0+cpu ("operator torchvision::nms does not exist"), so
    empty stand-ins take their place; any use of one raises."""

    def unavailable(name: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"{name} is not installed beside torch 2.13.0+cpu")

        return fail

    names = {
        "torchvision": [],
        "torchvision.transforms": ["Compose", "Normalize", "ToTensor"],
        "torchvision.transforms.functional": ["resize"],
        "sklearn": [],
        "sklearn.decomposition": ["KernelPCA", "NMF"],
    }
    for module_name, attrs in names.items():
        if module_name in sys.modules:
            continue
        module = types.ModuleType(module_name)
        for attr in attrs:
            setattr(module, attr, unavailable(f"{module_name}.{attr}"))
        sys.modules[module_name] = module
    sys.modules["torchvision"].transforms = sys.modules["torchvision.transforms"]  # type: ignore[attr-defined]
    sys.modules["sklearn"].decomposition = sys.modules["sklearn.decomposition"]  # type: ignore[attr-defined]


def load_logit_model(path: str) -> Any:
    """The .keras model under the torch backend, its last activation replaced by the identity."""
    import keras

    model = keras.models.load_model(path, compile=False)
    last = model.layers[-1]
    if getattr(last, "activation", None) in (keras.activations.softmax, keras.activations.sigmoid):
        last.activation = keras.activations.linear
    return model


def find_layer(model: Any, path: str) -> Any:
    """A layer by its path ("outer/inner" for a layer inside a nested model)."""
    layer = model
    for name in path.split("/"):
        layer = layer.get_layer(name)
    return layer


class ChannelsFirst:
    """nn.Module view of a channels-last Keras model for pytorch-grad-cam, which reads the input
    size and upsamples as (N, C, H, W)."""

    def __new__(cls, model: Any) -> Any:
        import torch

        class _Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.model(x.permute(0, 2, 3, 1), training=False)

        return _Wrapper()


def to_nchw(t: Any) -> Any:
    return t.permute(0, 3, 1, 2)


def captum_job(model: Any, x: Any, target: int, job: dict[str, Any]) -> np.ndarray:
    """One Captum method on x (1, H, W, C); returns its attributions (H, W, C)."""
    import torch
    from captum import attr

    def forward(t: torch.Tensor) -> torch.Tensor:
        return model(t, training=False)

    name = job["method"]
    if name == "Saliency":
        out = attr.Saliency(forward).attribute(x, target=target, abs=False)
    elif name == "InputXGradient":
        out = attr.InputXGradient(forward).attribute(x, target=target)
    elif name in ("GuidedBackprop", "Deconvolution"):
        if not job.get("replica"):
            out = getattr(attr, name)(model).attribute(x, target=target)
        else:
            nchw = getattr(attr, name)(torch_replica(model)).attribute(to_nchw(x), target=target)
            out = nchw.permute(0, 2, 3, 1)
    elif name == "IntegratedGradients":
        out = attr.IntegratedGradients(forward).attribute(
            x,
            baselines=torch.zeros_like(x),
            target=target,
            n_steps=job["n_steps"],
            method="gausslegendre",
            internal_batch_size=job.get("batch", 64),
        )
    elif name == "Occlusion":
        c = x.shape[-1]
        out = attr.Occlusion(forward).attribute(
            x,
            sliding_window_shapes=(job["window"], job["window"], c),
            strides=(job["stride"], job["stride"], c),
            baselines=0.0,
            target=target,
            perturbations_per_eval=job.get("batch", 64),
        )
    elif name == "NoiseTunnel":
        out = noise_tunnel(forward, x, target, job)
    elif name == "GradientShap":
        out = gradient_shap(forward, x, target, job)
    else:
        raise ValueError(f"unknown Captum job {name}")
    return out.detach().numpy()[0]


def torch_replica(model: Any) -> Any:
    """A plain torch.nn.Sequential with the Keras model's weights, channels first, for a chain
    of Conv2D (3x3 "same" or "valid"), ReLU, MaxPooling2D, GlobalAveragePooling2D and Dense
    layers: its ReLUs are nn.ReLU modules, which Captum's guided/deconv hooks need."""
    import keras
    import torch

    def tensor(v: Any) -> torch.Tensor:
        return torch.as_tensor(keras.ops.convert_to_numpy(v))

    modules: list[torch.nn.Module] = []
    for layer in model.layers[1:]:
        kind = type(layer).__name__
        if kind == "Conv2D":
            k = layer.kernel_size[0]
            conv = torch.nn.Conv2d(
                layer.kernel.shape[2],
                layer.filters,
                k,
                padding=k // 2 if layer.padding == "same" else 0,
            )
            conv.weight.data = tensor(layer.kernel).permute(3, 2, 0, 1).contiguous()
            conv.bias.data = tensor(layer.bias)
            modules.append(conv)
        elif kind == "MaxPooling2D":
            modules.append(torch.nn.MaxPool2d(layer.pool_size[0]))
        elif kind == "GlobalAveragePooling2D":
            modules += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()]
        elif kind == "Dense":
            dense = torch.nn.Linear(*layer.kernel.shape)
            dense.weight.data = tensor(layer.kernel).T.contiguous()
            dense.bias.data = tensor(layer.bias)
            modules.append(dense)
        elif kind != "Activation":
            raise ValueError(f"no torch replica for a {kind} layer")
        if getattr(layer, "activation", None) is keras.activations.relu:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules).eval()


def noise_tunnel(forward: Callable[..., Any], x: Any, target: int, job: dict[str, Any]) -> Any:
    """NoiseTunnel over Saliency (abs=False) or InputXGradient. With `noise` given (n, H, W, C),
    Captum's own torch.normal draw is replaced by those samples, so both sides see the same
    noisy copies; without it Captum draws its own."""
    import torch
    from captum import attr

    base = attr.Saliency(forward) if job["of"] == "Saliency" else attr.InputXGradient(forward)
    kwargs = {"abs": False} if job["of"] == "Saliency" else {}
    tunnel = attr.NoiseTunnel(base)
    noise = job.get("noise")
    real_normal = torch.normal
    if noise is not None:
        torch.normal = lambda mean, std, *a, **k: torch.as_tensor(noise).reshape(std.shape)
    try:
        return tunnel.attribute(
            x,
            nt_type=job["nt_type"],
            nt_samples=job["nt_samples"],
            stdevs=float(job["sigma"]),
            nt_samples_batch_size=job["nt_samples"],
            target=target,
            **kwargs,
        )
    finally:
        torch.normal = real_normal


def gradient_shap(forward: Callable[..., Any], x: Any, target: int, job: dict[str, Any]) -> Any:
    """GradientShap (stdevs 0: Expected Gradients) with the baselines given; `index` and
    `alpha`, when given, replace Captum's np.random draws of the baseline and the point."""
    import torch
    from captum import attr

    baselines = torch.as_tensor(job["baselines"])
    real_choice, real_uniform = np.random.choice, np.random.uniform
    if "index" in job:
        np.random.choice = lambda *a, **k: np.asarray(job["index"])
        np.random.uniform = lambda *a, **k: np.asarray(job["alpha"], np.float64)
    try:
        return attr.GradientShap(forward).attribute(
            x, baselines=baselines, n_samples=job["n_samples"], stdevs=0.0, target=target
        )
    finally:
        np.random.choice, np.random.uniform = real_choice, real_uniform


GRAD_CAMS = {
    "gradcam": "GradCAM",
    "gradcam_plus_plus": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
    "scorecam": "ScoreCAM",
    "ablationcam": "AblationCAM",
}


def grad_cam_object(model: Any, job: dict[str, Any]) -> Any:
    """A pytorch-grad-cam CAM object on the channels-first view of the model."""
    shim_missing_imports()
    import pytorch_grad_cam

    layer = find_layer(model, job["layer"])
    cls = getattr(pytorch_grad_cam, GRAD_CAMS[job["method"]])
    cam = cls(model=ChannelsFirst(model), target_layers=[layer], reshape_transform=to_nchw)
    if job["method"] == "scorecam":
        cam.batch_size = job.get("batch", 64)
    if job["method"] == "ablationcam":
        ablate_by_hook(cam, layer)
    return cam


def ablate_by_hook(cam: Any, layer: Any) -> None:
    """AblationCAM swaps the target module for its AblationLayer in `model._modules`; a Keras
    model runs its own graph of layers, so the swap would do nothing (every weight 0). Here the
    swap becomes a forward hook that returns the AblationLayer's output in place of the layer's,
    and the activations it ablates are kept channels-first, as its indexing expects."""
    import pytorch_grad_cam.ablation_cam as ablation_cam

    handles: list[Any] = []

    def save_activation(module: Any, inputs: Any, output: Any) -> None:
        cam.activations = to_nchw(output)

    def replace(model: Any, old: Any, new: Any) -> bool:
        if old is layer:
            hook = lambda m, i, o: new(to_nchw(o)).permute(0, 2, 3, 1)  # noqa: E731
            handles.append(layer.register_forward_hook(hook))
        else:
            handles.pop().remove()
        return True

    cam.save_activation = save_activation
    ablation_cam.replace_layer_recursive = replace


def grad_cam_job(model: Any, x: Any, target: int, job: dict[str, Any]) -> np.ndarray:
    """The peer's CAM at layer resolution (its ReLU applied, its min-max scaling and resize
    skipped), or with job["raw"] the layer-resolution map before the ReLU (Eigen-CAM's sign)."""
    shim_missing_imports()
    import pytorch_grad_cam.base_cam as base_cam
    import torch
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam = grad_cam_object(model, job)
    real = (base_cam.scale_cam_image, np.maximum, torch.nn.UpsamplingBilinear2d)
    base_cam.scale_cam_image = lambda img, target_size=None: np.asarray(img, np.float32)
    if job.get("raw"):
        np.maximum = lambda a, b: a  # base_cam's ReLU, the only np.maximum on the way
    if job.get("half_pixel"):  # our documented upsampling (README): half-pixel, not corners

        def half_pixel(size: Any) -> Any:
            return torch.nn.Upsample(size=tuple(size), mode="bilinear", align_corners=False)

        torch.nn.UpsamplingBilinear2d = half_pixel
    try:
        out = cam(input_tensor=to_nchw(x), targets=[ClassifierOutputTarget(target)])[0]
    finally:
        base_cam.scale_cam_image, np.maximum, torch.nn.UpsamplingBilinear2d = real
    return np.asarray(out, np.float32)


def run_job(model: Any, x: Any, target: int, job: dict[str, Any]) -> np.ndarray:
    if job["method"] in GRAD_CAMS:
        return grad_cam_job(model, x, target, job)
    return captum_job(model, x, target, job)


def maps(request_path: str, out_path: str) -> None:
    import torch

    with open(request_path) as f:
        request = json.load(f)
    arrays = dict(np.load(request["arrays"]))
    models = {request["model"]: load_logit_model(request["model"])}
    x = torch.as_tensor(arrays.pop("x")[None])
    results = {}
    for key, job in request["jobs"].items():
        job = with_arrays(job, arrays)
        path = job.get("model", request["model"])  # a job may name another .keras file
        if path not in models:
            models[path] = load_logit_model(path)
        try:
            results[key] = run_job(models[path], x, request["target"], job)
        except Exception as exc:  # a peer that cannot run on a Keras module is a result
            results[key + ".error"] = np.array(f"{type(exc).__name__}: {exc}"[:300])
    np.savez(out_path, **results)


def with_arrays(job: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The job with each "@name" value replaced by the array of that name."""
    return {k: arrays[v[1:]] if isinstance(v, str) and v[:1] == "@" else v for k, v in job.items()}


def serve(model_path: str, arrays_path: str) -> None:
    """Times one job per stdin line (JSON: the job and "target"); answers {"seconds": s}, and
    saves the job's array where the job names a "save" path."""
    import torch

    arrays = dict(np.load(arrays_path))
    model = load_logit_model(model_path)
    x = torch.as_tensor(arrays.pop("x")[None])
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = with_arrays(json.loads(line), arrays)
        try:
            start = time.perf_counter()
            out = run_job(model, x, job["target"], job)
            reply = {"seconds": time.perf_counter() - start}
            if job.get("save"):
                np.save(job["save"], out)
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    if sys.argv[1] == "maps":
        maps(sys.argv[2], sys.argv[3])
    else:
        serve(sys.argv[2], sys.argv[3])
