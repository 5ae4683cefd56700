"""Hand cases for the noise tunnel, Gradient x Input, Expected Gradients, Blur IG and IG on a
linear model (S = w . x + b, so every gradient is w), seeds, batching and cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from saliency_desktop.engine import CancelledError, explain
from saliency_desktop.engine.models import from_keras
from saliency_desktop.engine.types import EngineError

NEW = ("smoothgrad", "smoothgrad_squared", "vargrad", "expected_gradients", "blur_ig", "guided_ig")


@pytest.fixture(scope="module")
def linear(keras):
    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8, 3))
    out = keras.layers.Dense(3, name="dense")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    w, b = model.get_layer("dense").get_weights()
    return from_keras(model, preprocessing="unit"), w, b


def _w(linear, target):
    return linear[1][:, target].reshape(8, 8, 3)


def _run(model, image, method, **params):
    return explain(model, image, methods=[method], target=1, params={method: params}).methods[
        method
    ]


def test_smoothgrad_of_a_linear_model_is_its_gradient_and_vargrad_is_zero(linear, tiny_image):
    model, w = linear[0], _w(linear, 1)
    sg = _run(model, tiny_image, "smoothgrad", nt_samples=7)
    np.testing.assert_allclose(sg.attributions, w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sg.map, np.abs(w).max(-1), rtol=1e-5)
    sq = _run(model, tiny_image, "smoothgrad_squared", nt_samples=7)
    np.testing.assert_allclose(sq.attributions, w * w, rtol=1e-5, atol=1e-9)
    var = _run(model, tiny_image, "vargrad", nt_samples=7)
    assert np.abs(var.attributions).max() < 1e-9
    for of in ("gradient_x_input", "integrated_gradients"):  # mean of (x + n - x') w: not 0
        v = _run(model, tiny_image, "vargrad", nt_samples=5, of=of, ig_steps=4)
        assert v.attributions.max() > 1e-6


def test_gradient_x_input_is_one_step_ig_and_exact_on_a_linear_model(linear, tiny_image):
    model, w = linear[0], _w(linear, 1)
    x = tiny_image / 255.0
    gxi = _run(model, tiny_image, "gradient_x_input")
    np.testing.assert_allclose(gxi.attributions, x * w, rtol=1e-5, atol=1e-7)
    ig = _run(model, tiny_image, "integrated_gradients")  # auto steps
    np.testing.assert_allclose(ig.attributions, gxi.attributions, rtol=1e-4, atol=1e-6)
    assert ig.extras["relative_delta"] < 1e-4 and ig.extras["steps"] <= 40


def test_expected_gradients_is_exact_on_a_linear_model(linear, tiny_image):
    from saliency_desktop.engine.methods.expected_gradients import DEFAULT_REFERENCES

    model, w = linear[0], _w(linear, 1)
    eg = _run(model, tiny_image, "expected_gradients", n_samples=40, seed=5)
    x = tiny_image / 255.0
    rng = np.random.default_rng(5)
    index = rng.integers(len(DEFAULT_REFERENCES), size=40)
    noise = np.random.default_rng(5).integers(0, 256, (8, 8, 3), dtype=np.uint8) / 255.0
    import cv2

    blur = cv2.GaussianBlur(tiny_image, (0, 0), sigmaX=1.0).reshape(8, 8, 3) / 255.0
    refs = np.stack([blur, noise, np.zeros_like(x), np.ones_like(x)])  # blur noise black white
    expected = (x - refs[index].mean(0)) * w
    np.testing.assert_allclose(eg.attributions, expected, rtol=1e-4, atol=1e-6)
    assert abs(eg.extras["convergence_delta"]) < 1e-4
    assert eg.params["seed"] == 5


def test_expected_gradients_reads_a_reference_folder(linear, tiny_image, tmp_path):
    from PIL import Image

    model, w = linear[0], _w(linear, 1)
    for i, value in enumerate((0, 128, 255)):
        Image.fromarray(np.full((5, 5, 3), value, np.uint8)).save(tmp_path / f"r{i}.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    eg = _run(model, tiny_image, "expected_gradients", n_samples=30, references=str(tmp_path))
    assert eg.extras["n_references"] == 3 and eg.extras["references_skipped"] == ["broken.png"]
    index = np.random.default_rng(0).integers(3, size=30)
    refs = np.array([0, 128, 255])[index] / 255.0
    expected = (tiny_image / 255.0 - refs.mean()) * w
    np.testing.assert_allclose(eg.attributions, expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(EngineError, match="does not exist"):
        _run(model, tiny_image, "expected_gradients", references=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(EngineError, match="no image"):
        _run(model, tiny_image, "expected_gradients", references=str(tmp_path / "empty"))


def test_blur_ig_of_a_linear_model_matches_its_closed_form(linear, tiny_image):
    from saliency_desktop.engine.methods.blur_ig import gaussian_blur

    model, w = linear[0], _w(linear, 1)
    x = tiny_image / 255.0
    res = _run(model, tiny_image, "blur_ig", max_sigma=2.0, steps=400, grad_step=0.001)
    closed = w * (x - gaussian_blur(x, 2.0))  # the integral along the blur path, exactly
    np.testing.assert_allclose(res.attributions, closed, atol=0.02 * np.abs(closed).max())
    assert res.extras["relative_delta"] < 0.02


def test_gaussian_blur_matches_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    from saliency_desktop.engine.methods.blur_ig import gaussian_blur

    image = np.random.default_rng(1).normal(size=(20, 13, 3))
    for sigma in (0.01, 0.3, 1.7, 9.0, 50.0):
        ref = ndimage.gaussian_filter(image, sigma=[sigma, sigma, 0], mode="constant")
        np.testing.assert_allclose(gaussian_blur(image, sigma), ref, atol=1e-12)


def test_seeds_reproduce_and_batching_does_not_change_results(tiny_model, tiny_image, monkeypatch):
    a = _run(tiny_model, tiny_image, "smoothgrad", nt_samples=6, seed=3)
    b = _run(tiny_model, tiny_image, "smoothgrad", nt_samples=6, seed=3)
    c = _run(tiny_model, tiny_image, "smoothgrad", nt_samples=6, seed=4)
    np.testing.assert_array_equal(a.attributions, b.attributions)
    assert not np.allclose(a.attributions, c.attributions) and a.params["seed"] == 3
    monkeypatch.setattr(tiny_model, "batch_size", 4)
    for method, params in (
        ("smoothgrad", {"nt_samples": 9, "seed": 2, "of": "integrated_gradients", "ig_steps": 3}),
        ("expected_gradients", {"n_samples": 9, "seed": 2}),
    ):
        small = _run(tiny_model, tiny_image, method, **params)
        monkeypatch.setattr(tiny_model, "batch_size", 64)
        big = _run(tiny_model, tiny_image, method, **params)
        monkeypatch.setattr(tiny_model, "batch_size", 4)
        np.testing.assert_allclose(small.attributions, big.attributions, rtol=1e-5, atol=1e-7)


def test_the_seed_is_in_the_json(tiny_model, tiny_image, tmp_path):
    import json

    from saliency_desktop.render.export import write_arrays

    e = explain(tiny_model, tiny_image, methods=["vargrad"], params={"vargrad": {"seed": 11}})
    write_arrays(e, tmp_path / "out")
    record = json.loads((tmp_path / "out.json").read_text())
    assert "11" in json.dumps(record) and '"seed": 11' in json.dumps(record)


@pytest.mark.parametrize("of", ["guided_backprop", "deconvnet"])
def test_noise_tunnel_over_rerouted_relus(tiny_model, tiny_image, of):
    """With no noise, SmoothGrad of guided/deconv is that method's gradient."""
    plain = explain(tiny_model, tiny_image, methods=[of], target=1).methods[of]
    sg = _run(tiny_model, tiny_image, "smoothgrad", of=of, noise=0.0, nt_samples=3)
    np.testing.assert_allclose(sg.attributions, plain.attributions, rtol=1e-5, atol=1e-8)


CANCEL_PARAMS = {
    "n_samples": 600,
    "nt_samples": 600,
    "n_steps": 600,
    "steps": 600,
    "x_steps": 600,
}  # several batches on the tiny model


@pytest.mark.parametrize("method", [*NEW, "integrated_gradients", "xrai"])
def test_cancel_during_each(tiny_model, tiny_image, method):
    from saliency_desktop.engine import get_method

    cancel = threading.Event()
    declared = {p.name for p in get_method(method).info.params}
    params = {k: v for k, v in CANCEL_PARAMS.items() if k in declared}

    def stop_inside(fraction: float, message: str) -> None:
        if message not in ("predicting", "predicted", ""):
            cancel.set()

    with pytest.raises(CancelledError):
        explain(
            tiny_model, tiny_image, methods=[method], progress=stop_inside, cancel=cancel,
            params={method: params},
        )  # fmt: skip
    explain(tiny_model, tiny_image, methods=[method], n_steps=4)  # the next job runs
