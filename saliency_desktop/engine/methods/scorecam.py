"""Score-CAM and Faster Score-CAM: channel weights from forward passes on masked inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from saliency_desktop.engine.methods.cam import resize_bilinear
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, ParamInfo, cam_info


def upsampled_masks(activations: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(m, H, W): each channel of A (h, w, m) resized to the input (bilinear, half-pixel) and
    min-max normalised: (M - min) / (max - min + 1e-8)."""
    masks = np.stack(
        [resize_bilinear(activations[..., k], size) for k in range(activations.shape[-1])]
    ).astype(np.float32)
    low = masks.min(axis=(1, 2), keepdims=True)
    high = masks.max(axis=(1, 2), keepdims=True)
    return (masks - low) / (high - low + 1e-8)


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max())
    return e / e.sum()


def score_cam(
    ctx: PassCache, channels: np.ndarray, job: JobControl, label: str
) -> tuple[np.ndarray, np.ndarray]:
    """(cam (h, w), weights over `channels`): s_k = S(x * M_k), w = softmax(s),
    cam = ReLU(sum_k w_k A_k) over the given channels, masked inputs built batch by batch."""
    acts, _ = ctx.cam_inputs()
    size = ctx.model.info.input_size
    x = ctx.x.astype(np.float32)

    def make_batch(start: int, stop: int) -> np.ndarray:
        masks = upsampled_masks(acts[..., channels[start:stop]], size)
        return x[None] * masks[..., None]

    scores, _ = ctx.forward_scores(make_batch, len(channels), job, label)
    weights = softmax(scores)
    cam = np.tensordot(acts[..., channels].astype(np.float64), weights, axes=(-1, 0))
    return np.maximum(cam, 0.0), weights


@register
class ScoreCam(SaliencyMethod):
    """Wang et al. 2020, 'Score-CAM' (sec. 3-4, and the paper's code): M_k = A_k upsampled
    to the input and min-max normalised; s_k = S(x * M_k), the mask multiplying the
    preprocessed input; w = softmax(s) over channels; L = ReLU(sum_k w_k A_k).

    Deviations from pytorch-grad-cam: the upsampling uses half-pixel centres (as Grad-CAM's
    map here; pytorch-grad-cam's UpsamplingBilinear2d aligns corners), and S is the request's
    score (logit by default, as its ClassifierOutputTarget). The baseline term f(X_b) of the paper's
    increase of confidence is one constant for every channel, which the softmax removes.
    """

    info = cam_info(
        id="scorecam",
        label="Score-CAM",
        summary="Weights each feature map by the score of the image masked with it: "
        "gradient-free, one forward pass per channel.",
        paper="Wang et al. 2020, Score-CAM: Score-Weighted Visual Explanations for "
        "Convolutional Neural Networks",
        caveat="One forward pass per channel of the CAM layer (1,280 on MobileNetV2).",
        order=80,
        default_on=False,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        return max(512 / max(2 * batch_size, 1), 1.0)  # channel count unknown here: typical

    def channels(self, acts: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return np.arange(acts.shape[-1])

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        acts, _ = ctx.cam_inputs()
        channels = self.channels(acts, params)
        cam, _ = score_cam(ctx, channels, job, self.info.label)
        cam = cam.astype(np.float32)
        cam_map = resize_bilinear(cam, ctx.model.info.input_size)
        return cam_map, None, cam, {"layer": ctx.layer, "channels": len(channels)}


def faster_channel_count(n_channels: int, total: int) -> int:
    """0 (auto): 10 % of the channels, at most 128 (at least 1); otherwise n, at most all."""
    if n_channels <= 0:
        return max(1, min(128, math.ceil(total / 10)))
    return min(n_channels, total)


@register
class FasterScoreCam(ScoreCam):
    """Faster Score-CAM (tabayashi0117, as in tf-keras-vis 'max_N'): Score-CAM (Wang et al.
    2020) on the N channels whose activation maps vary most (largest standard deviation over
    positions, as tf-keras-vis), or, with rank_by=mean, the largest mean activation.
    """

    info = cam_info(
        id="faster_scorecam",
        label="Faster Score-CAM",
        summary="Score-CAM on the most varied channels only (10 % of them, at most 128): "
        "nearly the same map for a fraction of the passes.",
        paper="Wang et al. 2020, Score-CAM; Faster Score-CAM as in tf-keras-vis",
        params=(
            ParamInfo(
                "n_channels",
                "Channels",
                "int",
                0,
                minimum=0,
                maximum=100000,
                help="Channels scored (0: 10 % of the layer's channels, at most 128).",
            ),
            ParamInfo(
                "rank_by",
                "Rank channels by",
                "choice",
                "std",
                choices=("std", "mean"),
                help="std: largest spatial standard deviation (tf-keras-vis); mean: largest "
                "mean activation.",
            ),
        ),
        order=90,
        default_on=False,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        n = params.get("n_channels", 0) or 128
        return max(n / max(2 * batch_size, 1), 1.0)

    def channels(self, acts: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        total = acts.shape[-1]
        n = faster_channel_count(int(params.get("n_channels", 0)), total)
        flat = acts.reshape(-1, total).astype(np.float64)
        rank = flat.std(axis=0) if params.get("rank_by", "std") == "std" else flat.mean(axis=0)
        return np.sort(np.argsort(-rank, kind="stable")[:n])
