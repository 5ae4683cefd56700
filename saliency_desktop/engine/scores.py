"""Score specs: which scalar S a pass explains ("logit", "probability", "logit vs B": the
contrast S_target - S_B), shared by the compiled passes (`runtime.py`, `summed_passes.py`)."""

from __future__ import annotations

from typing import Any

CONTRAST = " vs "


def contrast_score(score: str, contrast: int | None) -> str:
    """The score spec of a contrastive explanation: "logit vs 7" is S_target - S_7.

    Every pass takes its score through `Runtime._score`, so each method that explains a scalar
    (gradients, CAMs, IG, perturbations) explains the difference when given this spec.
    """
    return score if contrast is None else f"{score}{CONTRAST}{int(contrast)}"


def split_score(score: str) -> tuple[str, int]:
    """("logit" or "probability", the contrast class or -1) of a score spec."""
    base, _, contrast = score.partition(CONTRAST)
    return base, int(contrast) if contrast else -1


def minus_contrast(source: Any, target: Any, contrast: Any) -> Any:
    """source[:, target] - source[:, contrast] (a Python int or an int32 tensor; -1: none)."""
    from keras import ops

    s = ops.take(source, target, axis=1)
    if isinstance(contrast, int):
        return s if contrast < 0 else s - ops.take(source, contrast, axis=1)
    other = ops.take(source, ops.maximum(contrast, 0), axis=1)
    return s - ops.where(contrast >= 0, other, ops.zeros_like(other))
