"""The parts of `--ray` that need no cluster: the worker computes what a local run computes,
the model and images reach it as bytes, the options are checked, Ray stays unimported."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pytest

from saliency_desktop.cli import main
from saliency_desktop.cluster.worker import ImageWorker, ModelSource, pack_model, read_uri


def model_args(**kw) -> argparse.Namespace:
    base = dict(labels=None, preprocessing=None, trust_model=False, output_index=None)
    return argparse.Namespace(**{**base, **kw})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--actors", "2"], "--actors and --ray-worker-reads go with --ray"),
        (["--ray-worker-reads"], "--actors and --ray-worker-reads go with --ray"),
        (["--ray", "local", "--actors", "0"], "--actors must be at least 1, not 0"),
    ],
)
@pytest.mark.parametrize("command", ["explain", "evaluate"])
def test_cluster_options_are_checked_before_any_work(
    command, extra, message, image_folder, tmp_path, capsys
):
    out = tmp_path / "out"
    code = main([command, str(image_folder / "img00.png"), "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert "ray" not in sys.modules


def test_without_ray_installed_the_message_says_what_to_install(monkeypatch):
    from saliency_desktop.batch import UsageError
    from saliency_desktop.cluster.driver import connect

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(UsageError, match=r"saliency-desktop\[cluster\]"):
        connect("local", verbose=False)


def test_read_uri_reads_paths_file_uris_and_fsspec_uris(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    (tmp_path / "a.bin").write_bytes(b"abc")
    with fsspec.open("memory://bucket/b.bin", "wb") as f:
        f.write(b"xyz")
    assert read_uri(str(tmp_path / "a.bin")) == b"abc"
    assert read_uri(f"file://{tmp_path / 'a.bin'}") == b"abc"
    assert read_uri("memory://bucket/b.bin") == b"xyz"
    with pytest.raises(OSError):
        read_uri(str(tmp_path / "missing.bin"))


def test_a_model_folder_travels_as_a_tar_and_a_file_as_its_bytes(tmp_path, model_file):
    folder = tmp_path / "saved"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "v.index").write_bytes(b"index")
    packed = pack_model(str(folder), model_args())
    assert packed.spec == "saved" and packed.is_folder
    worker = ImageWorker.__new__(ImageWorker)  # unpack only: the load itself fails (no model)
    worker.folder = tmp_path / "worker"
    worker.folder.mkdir()
    with pytest.raises(Exception):  # noqa: B017 - the fake graph cannot load
        worker._load(packed)
    assert (worker.folder / "model" / "saved" / "variables" / "v.index").read_bytes() == b"index"
    as_file = pack_model(str(model_file), model_args())
    assert as_file.payload == model_file.read_bytes() and not as_file.is_folder
    assert pack_model("emotions", model_args()) == ModelSource("emotions")


def test_the_worker_computes_what_a_local_run_computes(model_file, image_folder):
    from saliency_desktop.batch import failure_line as _failure
    from saliency_desktop.compute import explain_image
    from saliency_desktop.engine import load_model
    from saliency_desktop.engine.types import ImageError

    worker = ImageWorker(pack_model(str(model_file), model_args()))
    problem, where = worker.ready()
    assert problem is None and where
    params = {"methods": ["gradcam", "vanilla_gradients"], "seed": 0}
    image = image_folder / "img03.png"
    ok, remote = worker.run("explain", 3, image.name, image.read_bytes(), {"params": params})
    assert ok, remote
    local = explain_image(load_model(str(model_file)), image, params)
    assert remote.target == local.target and list(remote.methods) == list(local.methods)
    for mid in local.methods:
        np.testing.assert_array_equal(remote.methods[mid].map, local.methods[mid].map)
    assert not any(worker.folder.glob("3/*"))  # the image's copy is gone

    bad = image_folder / "corrupt.png"
    ok, exc = worker.run("explain", 4, bad.name, bad.read_bytes(), {"params": params})
    assert not ok and isinstance(exc, ImageError)
    assert _failure(bad, exc) == "corrupt.png: not an image file Pillow can read."
    ok, exc = worker.run("explain", 5, "gone.png", str(image_folder / "gone.png"), {})
    assert not ok and isinstance(exc, ImageError) and str(exc).startswith("gone.png: cannot read")


def test_a_worker_that_cannot_load_the_model_says_why(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    worker = ImageWorker(pack_model(str(broken), model_args()))
    problem, _ = worker.ready()
    assert problem is not None and "broken.keras" in problem
