"""ImageNet weights download, against an HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from saliency_desktop.engine import ModelError, catalogue
from saliency_desktop.engine.download import fetch_weights


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    broken: set[str] = set()  # paths that break off halfway

    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        name = self.path.rsplit("/", 1)[-1]
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.broken:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.close()  # the client sees a short read
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server(monkeypatch, tmp_path) -> Iterator[type[_Handler]]:
    handler = type("H", (_Handler,), {"files": {}, "broken": set()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SALIENCY_DESKTOP_WEIGHTS_URL", f"http://127.0.0.1:{httpd.server_port}/w/")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    yield handler
    httpd.shutdown()
    httpd.server_close()


def _entry(name: str, body: bytes, algo: str = "sha256") -> catalogue.CatalogueEntry:
    digest = hashlib.new(algo, body).hexdigest()
    return replace(catalogue.CATALOGUE["vgg16"], id="test", file=name, file_hash=digest)


def _cache_files() -> list[Path]:
    cache = catalogue.keras_cache_dir()
    return sorted(cache.iterdir()) if cache.exists() else []


@pytest.mark.parametrize("algo", ["sha256", "md5"])
def test_download_with_progress_and_hash(server, algo):
    body = np.random.default_rng(0).bytes(300_000)
    server.files["w.h5"] = body
    seen: list[tuple[int, int | None]] = []
    path = fetch_weights(_entry("w.h5", body, algo), progress=lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == body and path.parent == catalogue.keras_cache_dir()
    assert seen[-1] == (len(body), len(body)) and len(seen) > 1
    assert _cache_files() == [path]
    # a second call uses the cache: no request (the server no longer has the file)
    server.files.clear()
    assert fetch_weights(_entry("w.h5", body, algo)) == path


def test_hash_mismatch_leaves_nothing(server):
    server.files["w.h5"] = b"tampered" * 1000
    with pytest.raises(ModelError, match="do not match their published hash"):
        fetch_weights(_entry("w.h5", b"the real file"))
    assert _cache_files() == []


def test_broken_download_leaves_nothing(server):
    body = b"x" * 200_000
    server.files["w.h5"] = body
    server.broken.add("w.h5")
    with pytest.raises(ModelError, match="broke off"):
        fetch_weights(_entry("w.h5", body))
    assert _cache_files() == []


def test_offline_message_says_what_to_do(server, monkeypatch):
    monkeypatch.setenv("SALIENCY_DESKTOP_WEIGHTS_URL", "http://127.0.0.1:9/none/")  # closed port
    with pytest.raises(ModelError) as info:
        fetch_weights(_entry("w.h5", b""))
    message = str(info.value)
    assert "\n" not in message and "open a model file" in message and "w.h5" in message
    assert _cache_files() == []


def test_cancel_leaves_nothing(server):
    from saliency_desktop.engine import CancelledError

    body = b"y" * 500_000
    server.files["w.h5"] = body
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        cancel.set()

    with pytest.raises(CancelledError):
        fetch_weights(_entry("w.h5", body), progress=progress, cancel=cancel)
    assert _cache_files() == []


def test_imagenet_model_loads_from_downloaded_weights(server, tmp_path, monkeypatch):
    """The whole path: catalogue id -> download -> keras.applications with the file -> explain."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    from saliency_desktop.engine import explain, load_model

    keras.utils.set_random_seed(0)
    source = keras.applications.MobileNetV2(weights=None)  # random weights stand in for ImageNet's
    weights_file = tmp_path / "weights.h5"
    with h5py.File(weights_file, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    body = weights_file.read_bytes()
    entry = catalogue.CATALOGUE["mobilenet_v2"]
    server.files[entry.file] = body
    monkeypatch.setitem(
        catalogue.CATALOGUE,
        "mobilenet_v2",
        replace(entry, file_hash=hashlib.sha256(body).hexdigest()),
    )
    progress: list[int] = []
    model = load_model("mobilenet_v2", download_progress=lambda d, t: progress.append(d))
    assert progress[-1] == len(body)
    assert model.info.labels[0] == "tench" and len(model.info.labels) == 1000
    assert (
        model.info.default_layer == "out_relu"
        and catalogue.cached_weights(catalogue.CATALOGUE["mobilenet_v2"]) is not None
    )
    np.testing.assert_array_equal(model.keras_model.get_weights()[0], source.get_weights()[0])
    res = explain(model, np.zeros((32, 48, 3), np.uint8), methods=["gradcam"])
    assert res.methods["gradcam"].map.shape == (224, 224)
