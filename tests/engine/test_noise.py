"""The counter-based Gaussian noise (engine/noise.py) and the noise tunnel's compiled pass:
the integer words against a pure-Python lowbias32, the compiled generator against the numpy
reference (TensorFlow here, JAX and PyTorch in their own processes), the distribution, and the
noise tunnel's sums against the base method run on host-made noisy copies."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import explain
from saliency_desktop.engine.noise import gaussian_numpy, mix_numpy, seed_word, words_numpy

MASK = 2**32 - 1


def lowbias32(x: int) -> int:
    """Wellons' lowbias32 on Python integers (no wrap-around to get wrong)."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    return x ^ (x >> 16)


def test_words_are_lowbias32_of_the_counters_and_the_sample_key():
    assert [int(v) for v in mix_numpy(np.array([0, 1, 2**31, MASK], np.uint32))] == [
        lowbias32(v) for v in (0, 1, 2**31, MASK)
    ]
    seed, samples, size = 2**32 + 7, np.array([0, 5, 2**31 - 1]), 6  # seeds modulo 2^32
    got = words_numpy(size, seed, samples)
    for row, i in enumerate(samples):
        key = lowbias32((lowbias32(7) + int(i)) & MASK)
        for j in range(size):
            for t in (0, 1):
                assert int(got[row, j, t]) == lowbias32(lowbias32(2 * j + t) ^ key)
    assert seed_word(2**32 + 7) == 7 and seed_word(2**32 - 1) == -1


def test_compiled_generator_matches_the_numpy_reference(keras):
    """On TensorFlow in a compiled function: words bit-identical, normals to float32 rounding."""
    import tensorflow as tf

    from saliency_desktop.engine.noise import gaussian, words

    samples = np.array([0, 1, 49, 2**31 - 1], np.int32)
    seed = seed_word(3_000_000_000)

    @tf.function(autograph=False)
    def draw(seed, samples):
        return words(40, seed, samples), gaussian((5, 4, 2), seed, samples)

    w, z = (np.asarray(t) for t in draw(seed, samples))
    np.testing.assert_array_equal(w.view(np.uint32), words_numpy(40, 3_000_000_000, samples))
    ref = np.stack([gaussian_numpy((5, 4, 2), 3_000_000_000, int(i)) for i in samples])
    np.testing.assert_allclose(z, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_backend_draws_the_reference_noise(backend, backend_run):
    """backend_maps.py draws words and normals on each backend (its own process)."""
    with np.load(backend_run(backend) / "noise.npz") as data:
        w, z, samples, seed = data["words"], data["normals"], data["samples"], int(data["seed"])
    np.testing.assert_array_equal(w.view(np.uint32), words_numpy(w.shape[1], seed, samples))
    ref = np.stack([gaussian_numpy(z.shape[1:], seed, int(i)) for i in samples])
    np.testing.assert_allclose(z, ref, rtol=1e-5, atol=1e-6)


def test_the_noise_is_standard_normal_and_uncorrelated():
    stats = pytest.importorskip("scipy.stats")
    n = 1_000_000
    z = gaussian_numpy((n,), 0, 0).astype(np.float64)
    assert abs(z.mean()) < 4 / np.sqrt(n) and abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(np.mean(np.abs(z) > 3) - 0.0027) < 0.0005  # the tails
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 4 / np.sqrt(n)  # neighbouring elements
    m = 100_000
    draws = {(s, i): gaussian_numpy((m,), s, i) for s in (0, 1, 2**31) for i in (0, 1, 2)}
    pairs = [((0, 0), (0, 1)), ((0, 1), (0, 2)), ((0, 0), (1, 0)), ((1, 0), (2**31, 0)),
             ((0, 1), (1, 0))]  # fmt: skip
    for a, b in pairs:  # consecutive samples, seeds, and sample i of s against sample 0 of s+1
        assert abs(np.corrcoef(draws[a], draws[b])[0, 1]) < 4 / np.sqrt(m), (a, b)
        assert not np.array_equal(draws[a], draws[b])
    np.testing.assert_array_equal(gaussian_numpy((7,), 5, 3), gaussian_numpy((7,), 5, 3))


def _tunnel(model, image, method, **params):
    res = explain(model, image, methods=[method], target=1, params={method: params})
    return res.methods[method].attributions


def _host_attributions(model, image, of, n, seed, steps):
    """Each noisy copy's attribution of the base method, from host-made noise (sample_noise)
    and the plain batch pass: what the device pass must reproduce."""
    from saliency_desktop.engine.methods.integrated import integration_points
    from saliency_desktop.engine.methods.noise_tunnel import sample_noise

    x = model.preprocess_array(image)
    black = model.preprocess_array(np.zeros_like(image))
    sigma = 0.15 * float(x.max() - x.min())
    rule = {"guided_backprop": "guided", "deconvnet": "deconv"}.get(of)
    fn = model.runtime.batch("logit", rule)
    out = []
    for i in range(n):
        xi = x + sample_noise(x.shape, sigma, seed, i)
        if of == "integrated_gradients":
            quad = integration_points("gausslegendre", steps)
            alphas, weights = (np.asarray(v, np.float32) for v in quad)
            points = black + alphas[:, None, None, None] * (xi - black)
            g = np.tensordot(weights, np.asarray(fn(points, np.int32(1))[1], np.float64), 1)
        else:
            g = np.asarray(fn(xi[None], np.int32(1))[1][0], np.float64)
        out.append((xi - black) * g if of in ("gradient_x_input", "integrated_gradients") else g)
    return np.stack(out)


@pytest.mark.parametrize(
    ("of", "batch"),
    [("vanilla_gradients", 3), ("guided_backprop", 64), ("gradient_x_input", 2),
     ("integrated_gradients", 2), ("integrated_gradients", 64)],
)  # fmt: skip
def test_device_pass_equals_the_base_method_on_host_noise(
    tiny_model, tiny_image, monkeypatch, of, batch
):
    """SmoothGrad, its square and VarGrad from the device pass equal the definitions over
    host-made noisy copies, at batch sizes that split samples (IG: 5 points a sample, batches of
    2) and that hold them all: the results do not depend on the batch size."""
    monkeypatch.setattr(tiny_model, "batch_size", batch)
    monkeypatch.setattr(tiny_model, "batch_measured", True)
    a = _host_attributions(tiny_model, tiny_image, of, 7, 11, 5)
    params = {"of": of, "nt_samples": 7, "seed": 11, "ig_steps": 5}
    scale = np.abs(a).max()
    for method, expected in (("smoothgrad", a.mean(0)), ("smoothgrad_squared", (a * a).mean(0)),
                             ("vargrad", a.var(0))):  # fmt: skip
        got = _tunnel(tiny_model, tiny_image, method, **params)
        tol = 2e-5 * (scale * scale if method != "smoothgrad" else scale)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=tol, err_msg=method)


def test_the_first_noise_tunnel_batch_is_measured(keras, tiny_image, monkeypatch):
    """On a model that has not run a batch yet, a small trial batch's memory growth sizes the
    noise tunnel's batches (as IG's first batch does); its sums are not used, so the map is the
    same as on a rerun."""
    from saliency_desktop.engine import memory
    from saliency_desktop.engine.models import from_keras
    from saliency_desktop.engine.passes import TRIAL_BATCH
    from tests.engine.tiny_model import tiny_cnn

    model = from_keras(tiny_cnn(keras), preprocessing="unit")
    trials: list[int] = []

    def measure(call, gpu):
        trials.append(1)
        return call(), 3 * 2**20

    monkeypatch.setattr(memory, "measure_growth", measure)
    monkeypatch.setattr("saliency_desktop.engine.device.batch_memory_bytes", lambda: 5 * 2**20)
    assert not model.batch_measured
    sizes: list[int] = []
    real = model.runtime.noise_tunnel

    def spy(*args):
        fn = real(*args)

        def call(x, black, carry, points, *rest):
            sizes.append(len(points[0]))
            return fn(x, black, carry, points, *rest)

        return call

    monkeypatch.setattr(model.runtime, "noise_tunnel", spy)
    first = _tunnel(model, tiny_image, "smoothgrad", nt_samples=10)
    expected = memory.batch_from_trial(3 * 2**20, TRIAL_BATCH, 5 * 2**20)  # 6
    assert trials == [1] and model.batch_measured and model.batch_size == expected
    assert sizes == [TRIAL_BATCH, expected, 10 - expected]
    np.testing.assert_array_equal(first, _tunnel(model, tiny_image, "smoothgrad", nt_samples=10))
