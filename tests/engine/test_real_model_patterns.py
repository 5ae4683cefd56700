"""Issue 17: model patterns users build (augmentation inside the model, binary heads, residual
sums before the head, gated activations), each on a small purpose-built model."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import explain
from saliency_desktop.engine.models import from_keras
from saliency_desktop.engine.types import EngineError


def _image(seed: int = 1, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _training_layers(keras):
    return {
        "dropout": lambda: keras.layers.Dropout(0.5),
        "batch_norm": lambda: keras.layers.BatchNormalization(),
        "random_flip": lambda: keras.layers.RandomFlip("horizontal_and_vertical"),
        "random_rotation": lambda: keras.layers.RandomRotation(0.3),
        "random_zoom": lambda: keras.layers.RandomZoom(0.3),
        "random_translation": lambda: keras.layers.RandomTranslation(0.2, 0.2),
        "random_contrast": lambda: keras.layers.RandomContrast(0.5),
        "gaussian_noise": lambda: keras.layers.GaussianNoise(0.5),
        "gaussian_dropout": lambda: keras.layers.GaussianDropout(0.4),
    }


def _with_layer(keras, kind: str, nested: bool):
    """16x16x3 -> [layer, in a nested Sequential when `nested`] -> Conv(relu) -> GAP -> Dense(3)."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((16, 16, 3))
    layer = _training_layers(keras)[kind]()
    x = keras.Sequential([layer], name="augment")(inp) if nested else layer(inp)
    x = keras.layers.Conv2D(5, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(3)(x))


KINDS = [
    "dropout",
    "batch_norm",
    "random_flip",
    "random_rotation",
    "random_zoom",
    "random_translation",
    "random_contrast",
    "gaussian_noise",
    "gaussian_dropout",
]


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_pass_runs_in_inference_mode(keras, kind, nested):
    import tensorflow as tf

    km = _with_layer(keras, kind, nested)
    model = from_keras(km, preprocessing="unit")
    img = _image()
    runs = [
        explain(
            model, img, methods=["vanilla_gradients", "integrated_gradients"], target=1, n_steps=4
        )
        for _ in range(2)
    ]
    a, b = (r.methods["vanilla_gradients"].attributions for r in runs)
    np.testing.assert_array_equal(a, b)
    x = tf.constant(img[None].astype(np.float32) / 255.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        s = km(x, training=False)[0, 1]
    np.testing.assert_allclose(a, tape.gradient(s, x)[0].numpy(), rtol=1e-4, atol=1e-6)
    expected = tf.nn.softmax(km.predict(x.numpy(), verbose=0))[0].numpy()
    probs = {p.index: p.probability for p in runs[0].top_k}
    np.testing.assert_allclose([probs[i] for i in range(3)], expected, rtol=1e-5, atol=1e-6)
    ig = [r.methods["integrated_gradients"].attributions for r in runs]
    np.testing.assert_array_equal(ig[0], ig[1])


def _binary(keras, activation: str | None):
    keras.utils.set_random_seed(5)
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(1, activation=activation, name="head")(x))


@pytest.mark.parametrize("activation", ["sigmoid", None], ids=["sigmoid", "logit"])
def test_a_single_output_is_two_classes(keras, activation):
    import tensorflow as tf

    km = _binary(keras, activation)
    model = from_keras(km, preprocessing="unit", labels=["cat", "dog"])
    assert model.n_classes == 2 and model.info.labels == ("cat", "dog")
    img = _image(size=8)
    x = tf.constant(img[None].astype(np.float32) / 255.0)
    out = float(km.predict(x.numpy(), verbose=0)[0, 0])
    p = out if activation == "sigmoid" else float(tf.sigmoid(out))
    e = explain(model, img, methods=["vanilla_gradients"])
    probs = {q.index: q.probability for q in e.top_k}
    np.testing.assert_allclose([probs[0], probs[1]], [1 - p, p], rtol=1e-5, atol=1e-6)
    assert e.target == (1 if p > 0.5 else 0) and e.target_label == ("dog" if p > 0.5 else "cat")
    logit_model = keras.Model(km.input, km.layers[-2].output)
    dense = km.get_layer("head")
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = (tf.matmul(logit_model(x, training=False), dense.kernel) + dense.bias)[0, 0]
    dz = tape.gradient(z, x)[0].numpy()
    for target, sign in ((1, 1.0), (0, -1.0)):
        r = explain(model, img, methods=["vanilla_gradients"], target=target)
        assert r.target == target
        np.testing.assert_allclose(
            r.methods["vanilla_gradients"].attributions, sign * dz, rtol=1e-4, atol=1e-7
        )
    prob = explain(model, img, methods="all", score="probability", target=1)
    for mid, result in prob.methods.items():
        if mid == "gradcam_counterfactual":  # ReLU(-sum w A): zero where nothing speaks against
            cam = prob.methods["gradcam"].cam  # ReLU(+sum w A) of the same, non-zero, weights
            assert np.any(result.map != 0) or np.any(cam != 0), f"{mid}: zero weights"
            continue
        assert np.any(result.map != 0), f"{mid} is all zero with score=probability"


def test_a_single_output_takes_a_two_line_labels_file(keras, tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("negative\npositive\n")
    model = from_keras(_binary(keras, "sigmoid"), preprocessing="unit", labels=str(path))
    assert model.label(1) == "positive"
    assert model.class_index("negative") == 0
    with pytest.raises(EngineError, match="out of range"):
        model.class_index(2)


def test_multi_label_sigmoid_heads_keep_their_own_probabilities(keras):
    keras.utils.set_random_seed(6)
    inp = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inp))
    km = keras.Model(inp, keras.layers.Dense(3, activation="sigmoid")(x))
    model = from_keras(km, preprocessing="unit")
    img = _image(size=8)
    e = explain(model, img, methods=["vanilla_gradients"])
    expected = km.predict(img[None].astype(np.float32) / 255.0, verbose=0)[0]
    probs = {q.index: q.probability for q in e.top_k}
    np.testing.assert_allclose([probs[i] for i in range(3)], expected, rtol=1e-5)
    assert abs(sum(probs.values()) - 1.0) > 1e-3  # not a softmax across the outputs


def _residual(keras):
    """conv -> conv; x + y (a keras.ops Add, not a layer) -> GAP -> Dense: ConvNeXt's ending."""
    keras.utils.set_random_seed(7)
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inp)
    y = keras.layers.Conv2D(4, 3, padding="same", name="branch")(x)
    s = x + y
    out = keras.layers.Dense(3, name="head")(keras.layers.GlobalAveragePooling2D()(s))
    return keras.Model(inp, out), s._keras_history[0].name


def test_default_cam_layer_is_the_residual_sum_the_head_reads(keras):
    import tensorflow as tf

    km, add_name = _residual(keras)
    model = from_keras(km, preprocessing="unit")
    assert model.info.default_layer == add_name
    img = _image(size=8)
    e = explain(model, img, methods=["gradcam"], target=2)
    assert e.layer == add_name
    op = next(o for o in km.operations if o.name == add_name)
    probe = keras.Model(km.input, [op.output, km.output])
    x = tf.constant(img[None].astype(np.float32) / 255.0)
    with tf.GradientTape() as tape:
        acts, logits = probe(x, training=False)
        s = logits[0, 2]
    grads = tape.gradient(s, acts)[0].numpy()
    weights = grads.mean(axis=(0, 1))
    cam = np.maximum((acts[0].numpy() * weights).sum(-1), 0)
    np.testing.assert_allclose(e.methods["gradcam"].cam, cam, rtol=1e-4, atol=1e-6)
    # an operation's output can be chosen by name, like a layer's
    chosen = explain(model, img, methods=["gradcam"], layer=add_name, target=2)
    np.testing.assert_allclose(chosen.methods["gradcam"].cam, cam, rtol=1e-4, atol=1e-6)


def _gated(keras, feature_relu: bool = True):
    """MobileNetV3's pattern: a feature ReLU, a squeeze-excitation gate ReLU6(x + 3) / 6, and a
    hard-swish activation on the feature path."""
    keras.utils.set_random_seed(8)
    inp = keras.Input((8, 8, 3))
    act = "relu" if feature_relu else "gelu"
    x = keras.layers.Conv2D(4, 3, padding="same", activation=act, name="feature")(inp)
    g = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
    g = keras.layers.Conv2D(4, 1, name="squeeze")(g)
    g = keras.layers.ReLU(6.0, name="gate")(g + 3.0) * (1.0 / 6.0)
    x = keras.layers.Multiply(name="excite")([x, g])
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv2")(x)
    x = keras.layers.Activation("hard_swish", name="hswish")(x)
    out = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inp, out)


def test_guided_rules_skip_gates_and_name_what_they_left(keras):
    from saliency_desktop.engine.graph import RunState, run_model

    km = _gated(keras)
    model = from_keras(km, preprocessing="unit")
    census = model.activations
    assert census.rerouted == ("feature",) and census.gates == ("gate",)
    assert census.others == {"hard_swish": 1}
    st = RunState(rule="guided", skip=frozenset(census.gates))
    run_model(km, np.zeros((1, 8, 8, 3), np.float32), st)
    assert st.overridden == ["feature"]  # the gate keeps its plain gradient
    e = explain(model, _image(size=8), methods=["guided_backprop", "deconvnet", "guided_gradcam"])
    for result in e.methods.values():
        note = result.extras["note"]
        assert "1 ReLU" in note and "hard_swish ×1" in note and "relu6 ×1" in note


def test_guided_rules_are_refused_when_only_gates_are_relus(keras):
    model = from_keras(_gated(keras, feature_relu=False), preprocessing="unit")
    reason = model.info.unavailable["guided_backprop"]
    assert "no ReLU on the feature path" in reason and "gelu" in reason
    with pytest.raises(EngineError, match="not available"):
        explain(model, _image(size=8), methods=["deconvnet"])
    e = explain(model, _image(size=8), methods="all", n_steps=4)
    assert set(e.skipped) == {"guided_backprop", "deconvnet", "guided_gradcam"}
    assert e.skipped["deconvnet"] == reason
    assert not set(e.skipped) & set(e.methods)
