"""Every registered method, on a tiny model: the contract all of them keep.

A new method registered with `@register` is picked up here with no change to this file.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from saliency_desktop.engine import explain, get_method, list_methods, method_ids
from saliency_desktop.engine.types import MethodInfo

METHODS = method_ids()


def test_the_seven_methods_are_registered():
    assert set(METHODS) >= {
        "vanilla_gradients",
        "deconvnet",
        "guided_backprop",
        "gradcam",
        "gradcam_plus_plus",
        "guided_gradcam",
        "integrated_gradients",
    }


@pytest.mark.parametrize("info", list_methods(), ids=lambda i: i.id)
def test_method_info_is_complete(info: MethodInfo):
    assert info.label and info.summary.endswith(".") and info.paper
    assert info.family in ("gradients", "cam", "perturbation", "path")
    doc = " ".join((type(get_method(info.id)).__doc__ or "").split())
    cite = re.fullmatch(r"(?P<authors>.+?) (?P<year>(?:19|20)\d\d), (?P<title>\S.{8,})", info.paper)
    assert cite, f"{info.id}: paper should read 'Authors YEAR, Title', not {info.paper!r}"
    first_author = re.split(r"[ ,&]", cite["authors"])[0]
    assert first_author in doc and cite["year"] in doc, (
        f"{info.id}: the class docstring must cite {first_author} {cite['year']} as paper= does"
    )


def _plain_gradient(keras_model, x, target):
    import tensorflow as tf

    xt = tf.constant(x[None])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = keras_model(xt, training=False)
        s = out[0, target]
    return tape.gradient(s, xt).numpy()[0]


@pytest.mark.parametrize("method", METHODS)
def test_contract(method, tiny_model, tiny_image):
    keras_model = tiny_model.keras_model
    weights_before = [w.copy() for w in keras_model.get_weights()]
    x = tiny_model.prepare(tiny_image)[1]
    grad_before = _plain_gradient(keras_model, x, 1)
    activations_before = {
        layer.name: getattr(layer, "activation", None) for layer in keras_model.layers
    }

    res = explain(tiny_model, tiny_image, methods=[method], target=1, n_steps=8)
    again = explain(tiny_model, tiny_image, methods=[method], target=1, n_steps=8)
    m = res.methods[method]
    info = get_method(method).info

    assert m.map.shape == (8, 8) and m.map.dtype == np.float32
    assert np.isfinite(m.map).all()
    if info.has_attributions:
        assert m.attributions is not None and m.attributions.shape == (8, 8, 3)
        assert m.attributions.dtype == np.float32 and np.isfinite(m.attributions).all()
    if info.has_cam:
        assert m.cam is not None and m.cam.ndim == 2 and (m.cam >= 0).all()
    if not info.signed:
        assert (m.map >= 0).all()
    np.testing.assert_array_equal(m.map, again.methods[method].map)  # deterministic
    assert m.seconds >= 0 and isinstance(m.params, dict)
    assert res.target == 1 and res.target_label == "b"

    # the user's model is unchanged: weights, activations, and plain gradients afterwards
    for before, after in zip(weights_before, keras_model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    for layer in keras_model.layers:
        assert getattr(layer, "activation", None) is activations_before[layer.name]
    np.testing.assert_allclose(_plain_gradient(keras_model, x, 1), grad_before, rtol=1e-6)


def test_all_methods_in_one_call_match_separate_calls(tiny_model, tiny_image):
    together = explain(tiny_model, tiny_image, methods="all", n_steps=8)
    for mid in METHODS:
        alone = explain(tiny_model, tiny_image, methods=[mid], n_steps=8)
        np.testing.assert_allclose(
            together.methods[mid].map, alone.methods[mid].map, rtol=1e-5, atol=1e-7, err_msg=mid
        )


def test_guided_gradcam_is_guided_times_gradcam(tiny_model, tiny_image):
    res = explain(tiny_model, tiny_image, methods=["guided_backprop", "gradcam", "guided_gradcam"])
    expected = res.methods["guided_backprop"].attributions * res.methods["gradcam"].map[..., None]
    np.testing.assert_allclose(res.methods["guided_gradcam"].attributions, expected, rtol=1e-6)


def test_vanilla_map_is_channel_max_of_abs(tiny_model, tiny_image):
    m = explain(tiny_model, tiny_image, methods=["vanilla_gradients"]).methods["vanilla_gradients"]
    np.testing.assert_array_equal(m.map, np.abs(m.attributions).max(-1))


def test_target_by_label_and_top_k(tiny_model, tiny_image):
    res = explain(tiny_model, tiny_image, methods=["gradcam"], target="C")
    assert res.target == 2 and res.target_label == "c"
    probs = [p.probability for p in res.top_k]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-5
    auto = explain(tiny_model, tiny_image, methods=["gradcam"])
    assert auto.target == auto.top_k[0].index


def test_progress_and_cancel(tiny_model, tiny_image):
    import threading

    from saliency_desktop.engine import CancelledError

    seen: list[float] = []
    explain(tiny_model, tiny_image, methods="all", n_steps=64, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    cancel = threading.Event()

    def stop_during_ig(fraction: float, message: str) -> None:
        if message == "integrated gradients":
            cancel.set()

    with pytest.raises(CancelledError):
        explain(
            tiny_model,
            tiny_image,
            methods=["integrated_gradients"],
            n_steps=256,
            progress=stop_during_ig,
            cancel=cancel,
        )
    # and the next job still runs
    explain(tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=8)


def test_ig_batches_are_bounded(tiny_model, tiny_image, monkeypatch):
    monkeypatch.setattr(tiny_model, "batch_size", 5)
    monkeypatch.setattr(tiny_model, "batch_measured", True)  # no small trial batch first
    sizes: list[int] = []
    fn = tiny_model.runtime.path("logit")

    def spy(x, baseline, alphas, weights, target):
        sizes.append(len(alphas))
        return fn(x, baseline, alphas, weights, target)

    monkeypatch.setattr(tiny_model.runtime, "path", lambda score: spy)
    small = explain(tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=12)
    assert sizes == [6, 5, 2]  # the baseline rides along in the first batch
    monkeypatch.undo()
    big = explain(tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=12)
    np.testing.assert_allclose(
        small.methods["integrated_gradients"].attributions,
        big.methods["integrated_gradients"].attributions,
        rtol=1e-5,
        atol=1e-7,
    )


def test_engine_never_imports_qt_and_imports_tensorflow_lazily():
    # a fresh interpreter: pytest-qt has already imported PySide6 into this one
    code = (
        "import sys; import saliency_desktop.engine as e; e.list_methods();"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules;"
        "from saliency_desktop.engine.models import from_keras; import keras;"
        "i = keras.Input((8, 8, 3)); m = keras.Model(i, keras.layers.Dense(2)("
        "keras.layers.Flatten()(i)));"
        "import numpy as np; e.explain(from_keras(m), np.zeros((8, 8, 3), np.uint8),"
        " methods=['vanilla_gradients']);"
        "assert not any(n.startswith('PySide6') for n in sys.modules), 'Qt imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def _count_passes(model, monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    original = model.runtime.single

    def spy(rule, capture, score, with_grad):
        fn = original(rule, capture, score, with_grad)
        return lambda x, t: (calls.append((rule, capture, with_grad)), fn(x, t))[1]

    monkeypatch.setattr(model.runtime, "single", spy)
    return calls


@pytest.mark.parametrize(
    "methods,passes",
    [
        (["guided_backprop"], 1),
        (["deconvnet"], 1),
        (["vanilla_gradients", "gradcam", "gradcam_plus_plus"], 1),
        (["guided_backprop", "gradcam", "guided_gradcam"], 1),  # CAM from the guided pass
        (
            [
                "vanilla_gradients",
                "guided_backprop",
                "deconvnet",
                "gradcam",
                "gradcam_plus_plus",
                "guided_gradcam",
            ],
            3,
        ),
    ],
)
def test_methods_share_passes(tiny_model, tiny_image, monkeypatch, methods, passes):
    reference = {m: explain(tiny_model, tiny_image, methods=[m]).methods[m] for m in methods}
    calls = _count_passes(tiny_model, monkeypatch)
    res = explain(tiny_model, tiny_image, methods=methods)
    assert len(calls) == passes, calls
    for m in methods:  # sharing changes nothing in the numbers
        np.testing.assert_allclose(res.methods[m].map, reference[m].map, rtol=1e-5, atol=1e-7)


def test_cam_does_not_use_guided_gradients_through_later_relus(keras, tiny_image, monkeypatch):
    """A Dense ReLU after the CAM layer (as in VGG16): guided dS/dA differs; a plain pass runs."""
    from saliency_desktop.engine.models import from_keras

    keras.utils.set_random_seed(5)
    inp = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    x = keras.layers.Flatten()(a)
    x = keras.layers.Dense(6, activation="relu")(x)
    out = keras.layers.Dense(3)(x)
    model = from_keras(keras.Model(inp, out), preprocessing="unit")
    alone = explain(model, tiny_image, methods=["gradcam"]).methods["gradcam"]
    calls = _count_passes(model, monkeypatch)
    res = explain(model, tiny_image, methods=["guided_backprop", "gradcam"])
    assert [c[0] for c in calls] == ["guided", None]
    np.testing.assert_allclose(res.methods["gradcam"].cam, alone.cam, rtol=1e-6)


def test_top_k_unpacks_as_index_label_probability(tiny_model, tiny_image):
    res = explain(tiny_model, tiny_image, methods=["gradcam"])
    index, label, probability = res.top_k[0]
    assert (index, label, probability) == (res.target, res.target_label, res.top_k[0].probability)


def test_predictions_come_first_then_each_result(tiny_model, tiny_image):
    events: list[tuple] = []
    res = explain(
        tiny_model,
        tiny_image,
        methods=["gradcam", "integrated_gradients"],
        n_steps=4,
        on_predictions=lambda top_k, target: events.append(("predictions", top_k, target)),
        on_result=lambda r: events.append(("result", r.method)),
    )
    assert [e[0] for e in events] == ["predictions", "result", "result"]
    assert events[0][1] == res.top_k and events[0][2] == res.target
