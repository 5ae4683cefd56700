"""engine/device.py: GPU memory growth on every GPU, and the device named for status bar and JSON.

No GPU is needed: TensorFlow's device queries are replaced by fakes, and the undecorated
`configure` (it is cached) is called through `__wrapped__`.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from saliency_desktop.engine import device


@pytest.fixture(scope="module")
def tf():
    import tensorflow as tf

    return tf


def fake_gpus(n: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(name=f"/physical_device:GPU:{i}", device_type="GPU") for i in range(n)]


def test_cpu_is_named_when_there_is_no_gpu(tf):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    name = device.configure()
    assert name.startswith("CPU (") and "cores" in name
    assert not device.is_gpu()
    assert device.batch_memory_bytes() > 0


def test_memory_growth_is_set_on_every_gpu(tf, monkeypatch):
    gpus = fake_gpus(2)
    growth = []
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else []
    )
    monkeypatch.setattr(
        tf.config.experimental, "set_memory_growth", lambda d, on: growth.append((d.name, on))
    )
    monkeypatch.setattr(
        tf.config.experimental,
        "get_device_details",
        lambda d: {"device_name": "NVIDIA H100 80GB HBM3", "compute_capability": (9, 0)},
    )
    assert device.configure.__wrapped__() == "GPU: NVIDIA H100 80GB HBM3"
    assert growth == [(g.name, True) for g in gpus]


def test_a_gpu_already_initialised_is_logged_not_fatal(tf, monkeypatch, caplog):
    gpus = fake_gpus(1)

    def refuse(d, on):
        raise RuntimeError("Physical devices cannot be modified after being initialized")

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus)
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", refuse)
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda d: {})
    with caplog.at_level(logging.WARNING, logger=device.__name__):
        assert device.configure.__wrapped__() == f"GPU: {gpus[0].name}"
    assert "could not set GPU memory growth" in caplog.text


def test_the_batch_budget_follows_the_environment(monkeypatch):
    monkeypatch.setenv("SALIENCY_DESKTOP_BATCH_MB", "64")
    assert device.batch_memory_bytes() == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("card_bytes", "budget_mb"),
    [(80 * 2**30, 10 * 2**10), (8 * 2**30, 2048), (None, 2048)],
)
def test_the_gpu_batch_budget_is_an_eighth_of_the_card(monkeypatch, card_bytes, budget_mb):
    """An eighth of the card where the backend says its size (80 GB: IG's 50 points in one
    batch), never under the 2 GB default; the default where it does not (TensorFlow)."""
    from saliency_desktop.engine import backends

    monkeypatch.delenv("SALIENCY_DESKTOP_BATCH_MB", raising=False)
    monkeypatch.setattr(device, "is_gpu", lambda: True)
    fake = SimpleNamespace(gpu_total_bytes=lambda: card_bytes)
    monkeypatch.setattr(backends, "adapter", lambda: fake)
    assert device.batch_memory_bytes() == budget_mb * 2**20
