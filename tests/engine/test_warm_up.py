"""engine.warm_up: the default single-pass methods' passes compiled before the first image."""

from __future__ import annotations

import numpy as np

from saliency_desktop.engine import explain, get_method, warm_up
from tests.engine.tiny_model import tiny_cnn


def test_the_first_map_after_a_warm_up_traces_nothing(keras, tiny_image):
    from saliency_desktop.engine.models import from_keras

    model = from_keras(tiny_cnn(keras, seed=3), preprocessing="unit", labels=list("abcd"))
    assert model.runtime.tracing_count() == 0
    warmed = warm_up(model)
    traced = model.runtime.tracing_count()
    assert traced > 0
    # from the registry: on by default, one pass each (no IG, SmoothGrad or perturbation)
    assert warmed and all(get_method(m).info.default_on for m in warmed)
    assert all(get_method(m).cost(get_method(m).resolve_params({}), 8) <= 1.0 for m in warmed)
    result = explain(model, tiny_image, methods=warmed, target=1)
    assert model.runtime.tracing_count() == traced  # the real image reuses every pass
    assert all(np.isfinite(r.map).all() for r in result.methods.values())
