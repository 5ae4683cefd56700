"""Issue 17: what a session changes (score, target, settings) must not retrace; skipped methods
are recorded; IG's batch is sized from a measured trial."""

from __future__ import annotations

import logging

import numpy as np

from saliency_desktop.engine import explain, memory
from saliency_desktop.engine.models import from_keras


def test_switching_score_target_and_ig_settings_never_retraces(tiny_model, tiny_image, caplog):
    methods = ["vanilla_gradients", "gradcam", "guided_backprop", "integrated_gradients"]
    explain(tiny_model, tiny_image, methods=methods, n_steps=4)
    traces = tiny_model.runtime.tracing_count()
    caplog.set_level(logging.WARNING)
    for score, target, rule in (
        ("probability", 1, "riemann_left"),
        ("logit", 2, "gausslegendre"),
        ("probability", None, "riemann_trapezoid"),
    ):
        explain(tiny_model, tiny_image, methods=methods, score=score, target=target, rule=rule,
                n_steps=7)  # fmt: skip
    assert tiny_model.runtime.tracing_count() == traces
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_probability_and_logit_scores_still_differ(tiny_model, tiny_image):
    logit = explain(tiny_model, tiny_image, methods=["vanilla_gradients"], target=1)
    prob = explain(tiny_model, tiny_image, methods=["vanilla_gradients"], target=1,
                   score="probability")  # fmt: skip
    a = logit.methods["vanilla_gradients"].attributions
    b = prob.methods["vanilla_gradients"].attributions
    assert not np.allclose(a, b)


def test_skipped_methods_reach_the_json_record(keras, tmp_path):
    import json

    import jsonschema

    from saliency_desktop.render.export import explanation_record, schema

    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="gelu")(inp)
    km = keras.Model(inp, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
    e = explain(from_keras(km, preprocessing="unit"), np.zeros((8, 8, 3), np.uint8), n_steps=4)
    record = json.loads(json.dumps(explanation_record(e)))
    jsonschema.validate(record, schema())
    assert record["skipped"]["guided_backprop"]["label"] == "Guided Backpropagation"
    assert "gelu" in record["skipped"]["guided_backprop"]["reason"]


def test_ig_batch_is_sized_from_the_measured_first_batch(keras, monkeypatch):
    from saliency_desktop.engine import device

    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    km = keras.Model(inp, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
    model = from_keras(km, preprocessing="unit")
    monkeypatch.setattr(model, "batch_size", 64)
    monkeypatch.setenv("SALIENCY_DESKTOP_BATCH_MB", "100")
    sizes: list[int] = []

    def measured(fn, gpu):
        result = fn()
        sizes.append(len(result[0]))
        return result, 20 * 2**20 * len(result[0])  # 20 MB per sample

    monkeypatch.setattr(memory, "measure_growth", measured)
    e = explain(model, np.zeros((8, 8, 3), np.uint8), methods=["integrated_gradients"],
                n_steps=20)  # fmt: skip
    assert sizes == [5]  # a trial of 4 path points + the baseline, measured once
    assert model.batch_measured and model.batch_size == 5  # 100 MB / 20 MB per sample
    assert device.batch_memory_bytes() == 100 * 2**20
    assert np.isfinite(e.methods["integrated_gradients"].extras["convergence_delta"])


def test_memory_growth_sees_a_large_allocation():
    _, growth = memory.measure_growth(lambda: np.ones(64 * 2**20 // 8).sum(), gpu=False)
    assert 40 * 2**20 < growth < 200 * 2**20
    assert memory.batch_from_trial(100, 5, 1000) == 50
    assert memory.batch_from_trial(10**12, 5, 1000) == 1
    assert memory.batch_from_trial(1, 5, 10**12) == 64
