"""The optional alibi backend for Integrated Gradients."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from saliency_desktop.engine import EngineError, explain


class _FakeIG:
    """alibi's IntegratedGradients contract, computed with plain TensorFlow (Gauss-Legendre)."""

    def __init__(self, model, method, n_steps, internal_batch_size):
        assert method == "gausslegendre" and internal_batch_size >= 1
        self.model, self.n_steps = model, n_steps

    def explain(self, x, baselines, target):
        import tensorflow as tf

        nodes, weights = np.polynomial.legendre.leggauss(self.n_steps)
        alphas, weights = (nodes + 1) / 2, weights / 2
        points = baselines + alphas[:, None, None, None] * (x - baselines)
        pts = tf.constant(points.astype(np.float32))
        with tf.GradientTape() as tape:
            tape.watch(pts)
            s = tf.reduce_sum(self.model(pts)[:, target[0]])
        grads = tape.gradient(s, pts).numpy()
        attributions = (x - baselines) * np.tensordot(weights, grads, axes=(0, 0))[None]
        return types.SimpleNamespace(attributions=[attributions])


def test_alibi_backend_plumbing_matches_native(tiny_model, tiny_image, monkeypatch):
    fake = types.ModuleType("alibi.explainers")
    fake.IntegratedGradients = _FakeIG
    monkeypatch.setitem(sys.modules, "alibi", types.ModuleType("alibi"))
    monkeypatch.setitem(sys.modules, "alibi.explainers", fake)
    native = explain(tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=16)
    via = explain(
        tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=16, backend="alibi"
    )
    a, b = native.methods["integrated_gradients"], via.methods["integrated_gradients"]
    np.testing.assert_allclose(b.attributions, a.attributions, rtol=1e-4, atol=1e-6)
    assert b.params["backend"] == "alibi"
    assert b.extras["convergence_delta"] == pytest.approx(a.extras["convergence_delta"], abs=1e-5)


def test_alibi_backend_missing_says_how_to_install(tiny_model, tiny_image, monkeypatch):
    monkeypatch.setitem(sys.modules, "alibi", None)  # import alibi -> ImportError
    with pytest.raises(EngineError, match=r"saliency-desktop\[alibi\]"):
        explain(tiny_model, tiny_image, methods=["integrated_gradients"], backend="alibi")


def test_real_alibi_when_installed(tiny_model, tiny_image):
    pytest.importorskip("alibi.explainers", reason="the optional alibi extra is not installed")
    native = explain(tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=32)
    via = explain(
        tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=32, backend="alibi"
    )
    np.testing.assert_allclose(
        via.methods["integrated_gradients"].attributions,
        native.methods["integrated_gradients"].attributions,
        rtol=1e-3,
        atol=1e-5,
    )
