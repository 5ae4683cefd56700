"""Integrated Gradients with n_steps='auto': the step count grows until completeness holds."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from saliency_desktop.engine import explain, get_method
from saliency_desktop.engine.types import EngineError


def test_int_or_auto_parameters():
    ig = get_method("integrated_gradients")
    assert ig.resolve_params({})["n_steps"] == "auto"
    for value, expected in (("AUTO", "auto"), (64, 64), ("64", 64), (32.0, 32)):
        assert ig.resolve_params({"n_steps": value})["n_steps"] == expected
    for bad in ("many", 2.5, None, True):
        with pytest.raises(EngineError, match="'auto' or an integer"):
            ig.resolve_params({"n_steps": bad})
    with pytest.raises(EngineError, match=">= 1"):
        ig.resolve_params({"n_steps": 0})


def test_command_line_takes_auto_steps():
    from saliency_desktop.cli import build_parser
    from saliency_desktop.cli_params import method_param

    parser = build_parser()
    args = parser.parse_args(["explain", "x.png", "--out", "o", "--ig-steps", "auto"])
    assert args.ig_steps == "auto"
    args = parser.parse_args(["explain", "x.png", "--out", "o", "--ig-steps", "12"])
    assert args.ig_steps == 12
    assert parser.parse_args(["explain", "x.png", "--out", "o"]).ig_steps is None
    assert method_param("integrated_gradients.n_steps=auto")[2] == "auto"
    assert method_param("blur_ig.steps=100")[2] == 100
    with pytest.raises(argparse.ArgumentTypeError, match="'auto' or an integer"):
        method_param("integrated_gradients.n_steps=lots")


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid", "riemann_middle"])
def test_auto_steps_meet_the_tolerance_on_the_tiny_model(tiny_model, tiny_image, rule):
    res = explain(
        tiny_model, tiny_image, methods=["integrated_gradients"], rule=rule, tolerance=0.01
    )
    e = res.methods["integrated_gradients"].extras
    assert e["relative_delta"] <= 0.01 and 32 <= e["steps"] <= 1024
    fixed = explain(tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=7, rule=rule)
    assert fixed.methods["integrated_gradients"].extras["steps"] == 7


def test_auto_steps_reach_the_tolerance_on_the_dog_model(dog_model, sample_photo):
    """The issue's case: at 50 Gauss-Legendre steps IG misses completeness by far more than 5 %."""
    fixed = explain(dog_model, sample_photo, methods=["integrated_gradients"], n_steps=50)
    auto = explain(dog_model, sample_photo, methods=["integrated_gradients"])
    before = fixed.methods["integrated_gradients"].extras
    after = auto.methods["integrated_gradients"].extras
    assert after["relative_delta"] <= 0.05 < before["relative_delta"]
    assert (
        after["steps"] <= 1024 and auto.methods["integrated_gradients"].params["n_steps"] == "auto"
    )
    a = auto.methods["integrated_gradients"].attributions.astype(np.float64)
    assert abs(a.sum() - (after["score"] - after["baseline_score"])) == pytest.approx(
        abs(after["convergence_delta"]), abs=1e-3
    )
