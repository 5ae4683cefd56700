"""Captum (issue 12): the same Keras model, run by Captum under the PyTorch backend and by our
TensorFlow engine, gives the same attributions. Random draws (noise, baselines, alphas) are fed to
Captum from our seeded generators, so the comparison is exact, not in expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.engine import explain
from saliency_desktop.engine.methods.noise_tunnel import sample_noise
from tests.peers.conftest import require, run_torch_side, tiny_relu_cnn

TARGET = 2
N_NOISE = 12
SEED = 3


def assert_same(ours: np.ndarray, theirs: np.ndarray, rtol: float = 1e-4) -> None:
    """Equal to float32 precision, relative to the map's scale."""
    assert ours.shape == theirs.shape
    scale = float(np.abs(theirs).max())
    assert scale > 0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale)


@pytest.fixture(scope="module")
def setup(peer_setup: dict[str, Any]) -> dict[str, Any]:
    require("torch", "captum")
    tmp, x = peer_setup["tmp"], peer_setup["x"]
    sigma = 0.15 * float(x.max() - x.min())
    noise = np.stack([sample_noise(x.shape, sigma, SEED, i) for i in range(N_NOISE)])
    refs = tmp / "references"
    refs.mkdir()
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    for i, ref in enumerate(raw):
        Image.fromarray(ref).save(refs / f"ref{i}.png")
    draws = np.random.default_rng(SEED)
    index = draws.integers(len(raw), size=40)
    alpha = draws.uniform(0.0, 1.0, size=40).astype(np.float32)
    nt = {"method": "NoiseTunnel", "of": "Saliency", "nt_samples": N_NOISE, "sigma": sigma}
    jobs = {
        "saliency": {"method": "Saliency"},
        "input_x_gradient": {"method": "InputXGradient"},
        "ig": {"method": "IntegratedGradients", "n_steps": 24},
        "occlusion": {"method": "Occlusion", "window": 4, "stride": 2},
        "smoothgrad": {**nt, "nt_type": "smoothgrad", "noise": "@noise"},
        "smoothgrad_sq": {**nt, "nt_type": "smoothgrad_sq", "noise": "@noise"},
        "vargrad": {**nt, "nt_type": "vargrad", "noise": "@noise"},
        "smoothgrad_own_noise": {**nt, "nt_type": "smoothgrad"},
        "smoothgrad_x_input": {
            **nt,
            "of": "InputXGradient",
            "nt_type": "smoothgrad",
            "noise": "@noise",
        },
        "gradient_shap": {
            "method": "GradientShap",
            "baselines": "@baselines",
            "n_samples": 40,
            "index": "@index",
            "alpha": "@alpha",
        },
        "guided_backprop_keras": {"method": "GuidedBackprop"},
    }
    relu_model, relu_path = relu_only(tmp)
    for name in ("GuidedBackprop", "Deconvolution"):
        jobs[name] = {"method": name, "replica": True, "model": str(relu_path)}
    theirs = run_torch_side(
        tmp,
        peer_setup["path"],
        TARGET,
        jobs,
        x=x,
        noise=noise,
        baselines=(raw / 255.0).astype(np.float32),
        index=index,
        alpha=alpha,
    )
    return {**peer_setup, "theirs": theirs, "references": str(refs), "relu_model": relu_model}


def relu_only(tmp: Path) -> tuple[Any, Path]:
    """The plain-ReLU tiny CNN, saved, and wrapped for our engine."""
    import keras

    from saliency_desktop.engine.models import from_keras

    keras_model = tiny_relu_cnn(keras)
    keras_model.save(tmp / "tiny_relu.keras")
    model = from_keras(keras_model, preprocessing="unit", labels=list("abcd"))
    return model, tmp / "tiny_relu.keras"


def ours(setup: dict[str, Any], method: str, **params: Any) -> Any:
    result = explain(
        setup["model"],
        setup["image"],
        methods=[method],
        target=TARGET,
        params={method: params} if params else None,
    )
    return result.methods[method]


def test_saliency_is_our_vanilla_gradient(setup):
    assert_same(ours(setup, "vanilla_gradients").attributions, setup["theirs"]["saliency"])


def test_input_x_gradient(setup):
    assert_same(ours(setup, "gradient_x_input").attributions, setup["theirs"]["input_x_gradient"])


def test_integrated_gradients_gauss_legendre(setup):
    mine = ours(setup, "integrated_gradients", n_steps=24, rule="gausslegendre")
    assert_same(mine.attributions, setup["theirs"]["ig"])


def test_occlusion_sliding_window(setup):
    theirs = setup["theirs"]["occlusion"]
    # Captum attributes the window's score change to every channel alike; our map is (H, W).
    np.testing.assert_array_equal(theirs[..., 0], theirs[..., 2])
    assert_same(ours(setup, "occlusion", window=4, stride=2, fill="black").map, theirs[..., 0])


@pytest.mark.parametrize(
    ("method", "key"),
    [("smoothgrad", "smoothgrad"), ("smoothgrad_squared", "smoothgrad_sq"), ("vargrad", "vargrad")],
)
def test_noise_tunnel_same_noise(setup, method, key):
    mine = ours(setup, method, nt_samples=N_NOISE, noise=0.15, seed=SEED)
    assert_same(mine.attributions, setup["theirs"][key], rtol=2e-4)


def test_noise_tunnel_uses_the_noise(setup):
    """The shared noise matters: with Captum's own draws the SmoothGrad differs."""
    mine = ours(setup, "smoothgrad", nt_samples=N_NOISE, noise=0.15, seed=SEED).attributions
    other = setup["theirs"]["smoothgrad_own_noise"]
    assert np.abs(mine - other).max() > 1e-2 * np.abs(other).max()


def test_smoothgrad_of_gradient_x_input(setup):
    mine = ours(
        setup, "smoothgrad", of="gradient_x_input", nt_samples=N_NOISE, noise=0.15, seed=SEED
    )
    assert_same(mine.attributions, setup["theirs"]["smoothgrad_x_input"], rtol=2e-4)


def test_gradient_shap_is_expected_gradients(setup):
    mine = ours(
        setup, "expected_gradients", n_samples=40, seed=SEED, references=setup["references"]
    )
    assert_same(mine.attributions, setup["theirs"]["gradient_shap"])


def test_captum_guided_backprop_needs_torch_relu_modules(setup):
    """Why guided backprop is compared on a torch replica (test_guided_and_deconv below): Captum
    hooks torch.nn.ReLU modules, and a Keras model's ReLUs are Keras layers, so on the Keras
    module Captum's GuidedBackprop silently returns the plain gradient."""
    np.testing.assert_allclose(
        setup["theirs"]["guided_backprop_keras"], setup["theirs"]["saliency"], atol=1e-7
    )
    guided = ours(setup, "guided_backprop").attributions
    assert np.abs(guided - setup["theirs"]["saliency"]).max() > 1e-3 * np.abs(guided).max()


@pytest.mark.parametrize(("method", "key"), [("guided_backprop", "GuidedBackprop"),
                                             ("deconvnet", "Deconvolution")])  # fmt: skip
def test_guided_and_deconv_on_a_torch_replica(setup, method, key):
    """Captum's GuidedBackprop and Deconvolution on a torch.nn.Sequential holding the same
    weights as a plain-ReLU Keras CNN (nn.ReLU modules, which Captum hooks) against ours on the
    Keras model."""
    mine = explain(setup["relu_model"], setup["image"], methods=[method], target=TARGET)
    assert_same(mine.methods[method].attributions, setup["theirs"][key])
