"""Parameters that run every method's own code on a real model (the embedded dog-breeds and
emotions models) in a fraction of its default time: the samplers with few samples, the
perturbation methods with few passes. For the end-to-end runs of every method, whose tests check
what the runs write and that every map is whole, not how well a sampler converges (that is
tested on the tiny models: tests/engine/test_smooth_and_path.py, test_perturbation.py)."""

from __future__ import annotations

from typing import Any

FEW: dict[str, dict[str, Any]] = {
    "smoothgrad": {"nt_samples": 8},
    "smoothgrad_squared": {"nt_samples": 8},
    "vargrad": {"nt_samples": 8},
    "expected_gradients": {"n_samples": 16},
    "blur_ig": {"steps": 16},
    "guided_ig": {"x_steps": 16},
    "rise": {"n_masks": 64},
    "occlusion": {"window": 32, "stride": 32},
    "faster_scorecam": {"n_channels": 8},
}


def few_params(methods: list[str]) -> dict[str, dict[str, Any]]:
    """FEW for these methods only."""
    return {m: p for m, p in FEW.items() if m in methods}


def few_cli_params(methods: list[str]) -> list[str]:
    """FEW for these methods as the command line's `--param ID.NAME=VALUE` options."""
    return [
        arg
        for mid, params in few_params(methods).items()
        for name, value in params.items()
        for arg in ("--param", f"{mid}.{name}={value}")
    ]
