"""Plain data exchanged between the engine, the renderer, the command line and the UI.

Everything here is a frozen dataclass of numpy arrays and builtins: no TensorFlow, no Qt, so
the UI (which never imports TensorFlow) and the renderer can use these types freely. The
helpers `gradient_info`, `cam_info`, `perturbation_info`, `path_info` and `seed_param` declare a
method's `MethodInfo` with its family's defaults (`FAMILY_DEFAULTS`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

Family = Literal["gradients", "cam", "perturbation", "path"]
ParamKind = Literal["int", "float", "choice", "layer", "int_or_auto", "folder"]
ProgressCallback = Callable[[float, str], None]


class EngineError(Exception):
    """An error whose message is fit to show a user as it is (one clear sentence or two)."""


class ImageError(EngineError):
    """An image that cannot be read or decoded."""


class ModelError(EngineError):
    """A model that cannot be loaded or cannot be explained."""


class CancelledError(EngineError):
    """The job was cancelled through its cancel event."""


@dataclass(frozen=True)
class ParamInfo:
    """One user-settable parameter of a method (drives the UI's editors and the CLI).

    Kinds: int, float, choice (one of `choices`), layer, int_or_auto (the string "auto" or an
    int in [minimum, maximum]: the method picks the value itself), folder (a folder path, or ""
    for none).
    """

    name: str
    label: str
    kind: ParamKind
    default: Any
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""
    # A command-line option of its own on `explain` (e.g. "--ig-steps"), besides --param; its
    # value is a flat keyword of `explain()`, so it reaches every chosen method declaring `name`.
    option: str = ""
    quick: Any = None  # the value for a quick run (the self-test); None: the default will do


@dataclass(frozen=True)
class MethodInfo:
    """What a method is, for menus, tooltips, reports and the contract tests."""

    id: str
    label: str
    family: Family
    summary: str
    paper: str
    params: tuple[ParamInfo, ...] = ()
    caveat: str = ""
    needs_layer: bool = False  # needs a 4-D feature-map layer (CAM methods)
    signed: bool = False  # the map is signed (diverging colormap, centred on zero)
    has_attributions: bool = True  # (H, W, C) attributions in model-input space
    has_cam: bool = False  # (h, w) map at layer resolution
    # "guided" / "deconv": the pass re-routes every ReLU this way (the model must have ReLUs it
    # can re-route, else the method is unavailable)
    relu_rule: str | None = None
    gradient_image: bool = False  # reports may show its attributions as an RGB gradient image
    plain_gradient: bool = False  # needs the plain dS/dx of the image (the first pass is plain)
    first_pass_backward: bool = True  # uses gradients from the shared first pass (else forward)
    default_on: bool = True  # chosen in the app until the user changes it (heavy methods: off)
    order: int = 50  # display order within its family (menus, reports, the app's tree)
    class_agnostic: bool = False  # the map ignores the target's score: no contrastive (A vs B)


# What every method of a family is unless its declaration says otherwise (`family_info`).
FAMILY_DEFAULTS: dict[Family, dict[str, Any]] = {
    "gradients": {},
    # a map at a feature layer's resolution, resized: no input-space attributions
    "cam": {"needs_layer": True, "has_attributions": False, "has_cam": True},
    # forward passes of masked copies only; heavy, so chosen when asked for
    "perturbation": {"has_attributions": False, "first_pass_backward": False, "default_on": False},
    # signed attributions integrated along a path of its own passes; heavy
    "path": {"signed": True, "first_pass_backward": False, "default_on": False},
}


def family_info(family: Family, **fields: Any) -> MethodInfo:
    """A `MethodInfo` of `family`: its `FAMILY_DEFAULTS`, then `fields` (which may override)."""
    return MethodInfo(family=family, **{**FAMILY_DEFAULTS[family], **fields})


def seed_param(of: str) -> ParamInfo:
    """The `seed` parameter of a method's random draws; `of` says what it seeds."""
    return ParamInfo("seed", "Seed", "int", 0, minimum=0, help=f"Seed of {of}.")


def gradient_info(**fields: Any) -> MethodInfo:
    return family_info("gradients", **fields)


def cam_info(**fields: Any) -> MethodInfo:
    return family_info("cam", **fields)


def perturbation_info(**fields: Any) -> MethodInfo:
    return family_info("perturbation", **fields)


def path_info(**fields: Any) -> MethodInfo:
    return family_info("path", **fields)


@dataclass(frozen=True)
class LayerInfo:
    """A layer whose output is a 4-D feature map with spatial size > 1 (eligible for CAM)."""

    path: str  # nested layers joined with "/", e.g. "mobilenetv2_1.00_160/out_relu"
    shape: tuple[int, int, int]  # (h, w, channels)


@dataclass(frozen=True)
class ModelInfo:
    """Description of a loaded (or loadable) model."""

    id: str  # catalogue id, or the file path for a user model
    label: str
    input_size: tuple[int, int]  # (height, width)
    channels: int  # 1 or 3
    preprocessing: str
    labels: tuple[str, ...]
    source: str = ""  # file path (or URL of the weights)
    sha256: str = ""
    licence: str = ""
    final_activation: str = "linear"  # softmax | sigmoid | linear
    layers: tuple[LayerInfo, ...] = ()
    default_layer: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)  # method id -> reason


@dataclass(frozen=True)
class MethodResult:
    """Raw float32 output of one method. Scaling and colormaps live in `render/` only."""

    method: str
    map: np.ndarray  # (H, W) float32 at model-input size
    attributions: np.ndarray | None  # (H, W, C) float32 in model-input space, or None
    cam: np.ndarray | None  # (h, w) float32 at layer resolution, or None
    seconds: float
    params: dict[str, Any]
    # e.g. IG's convergence delta; extras["note"]: a sentence a user must see beside the map
    # (guided/deconv: which activations were and were not re-routed)
    extras: dict[str, Any] = field(default_factory=dict)


class Prediction(NamedTuple):
    """One class of the top-k: unpacks as (index, label, probability)."""

    index: int
    label: str
    probability: float


@dataclass(frozen=True)
class Explanation:
    """Everything one `explain()` call produced for one image."""

    model: ModelInfo
    image: np.ndarray  # the original image, RGB uint8 (H0, W0, 3), orientation applied
    input: np.ndarray  # the preprocessed model input (H, W, C) float32
    target: int
    target_label: str
    score: str  # "logit" or "probability"
    top_k: list[Prediction]
    layer: str | None
    methods: dict[str, MethodResult]
    device: str
    notes: tuple[str, ...] = ()  # e.g. "animated GIF: first frame used"
    skipped: dict[str, str] = field(default_factory=dict)  # method id -> why it did not run
    contrast: int | None = None  # explained S_target - S_contrast ("A vs B") when set
    contrast_label: str | None = None


@dataclass
class JobControl:
    """Progress reporting and cancellation for one job (checked between batches)."""

    progress: ProgressCallback | None = None
    cancel: threading.Event | None = None

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise CancelledError("Cancelled.")

    def report(self, fraction: float, message: str = "") -> None:
        if self.progress is not None:
            self.progress(min(max(fraction, 0.0), 1.0), message)
