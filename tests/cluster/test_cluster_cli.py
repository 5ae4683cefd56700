"""`explain --ray` and `evaluate --ray` on a real two-node Ray cluster on this machine: the
same files as a local run, a node lost mid-run, Ctrl-C, a corrupt image."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cluster.conftest import METHODS, finish_cli, run_side_by_side, start_cli

pytestmark = pytest.mark.slow

EXPLAIN = ["--methods", METHODS, "--format", "png", "--dpi", "40"]


def explain_args(images: Path, out: Path, model: Path, *more: str) -> list[str]:
    return ["explain", str(images), "--out", str(out), "--model", str(model), *EXPLAIN, *more]


def without_run_details(record):
    """A JSON record less what differs between two runs of the same work: timings, dates and
    the device (the host) it ran on."""
    if isinstance(record, dict):
        drop = ("seconds", "created", "device")
        return {k: without_run_details(v) for k, v in record.items() if k not in drop}
    if isinstance(record, list):
        return [without_run_details(v) for v in record]
    return record


def assert_same_arrays(a: Path, b: Path) -> None:
    with np.load(a) as x, np.load(b) as y:
        assert sorted(x.files) == sorted(y.files)
        for key in x.files:
            np.testing.assert_array_equal(x[key], y[key], err_msg=f"{a.name}: {key}")


def assert_complete(out: Path) -> None:
    """Every file in `out` is whole (loads), and no temporary file is left."""
    from PIL import Image

    for f in out.iterdir():
        assert not f.name.startswith("."), f"temporary file left: {f.name}"
        if f.suffix == ".npz":
            with np.load(f) as arrays:
                [arrays[k] for k in arrays.files]
        elif f.suffix == ".json":
            json.loads(f.read_text())
        elif f.suffix == ".png":
            with Image.open(f) as img:
                img.load()


def failure_lines(stderr: str) -> list[str]:
    return sorted(line for line in stderr.splitlines() if "corrupt.png" in line)


def test_evaluate_on_the_cluster_writes_what_a_local_run_writes(
    ray_cluster, image_folder, model_file, tmp_path
):
    images = [str(image_folder / f"img{i:02d}.png") for i in (4, 0, 3, 1, 2)]
    common = ["--model", str(model_file), "--methods", "gradcam,vanilla_gradients",
              "--metrics", "deletion,insertion", "--dpi", "40"]  # fmt: skip
    local, remote = tmp_path / "local", tmp_path / "ray"
    ray = ["--ray", ray_cluster.address, "--ray-worker-reads"]  # the workers open the files
    for done in run_side_by_side(
        ["evaluate", *images, "--out", str(local), *common],
        ["evaluate", *images, "--out", str(remote), *common, *ray],
    ):
        assert done.returncode == 0, done.stderr  # 99: the local run imported Ray
    assert sorted(p.name for p in remote.iterdir()) == sorted(p.name for p in local.iterdir())
    for npz in local.glob("*.npz"):
        assert_same_arrays(npz, remote / npz.name)
    assert (local / "metrics.csv").read_text() == (remote / "metrics.csv").read_text()
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (local, remote))
    assert without_run_details(a) == without_run_details(b)
    assert [r["name"] for r in b["images"]] == ["img04", "img00", "img03", "img01", "img02"]


def _wait_for(predicate, timeout: float, proc) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_ctrl_c_stops_the_remote_work_and_leaves_complete_files(
    ray_cluster, image_folder, model_file, tmp_path
):
    out = tmp_path / "out"
    # RISE with many masks: ~1 s an image, so the work cannot all be done before the signal
    # lands, however late a loaded machine lets this test send it.
    slow = ["--methods", "rise", "--param", "rise.n_masks=12000", "--ray", ray_cluster.address]
    proc = start_cli(*explain_args(image_folder, out, model_file, *slow))
    try:
        _wait_for(lambda: out.is_dir() and any(out.glob("*.npz")), 300, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted after" in err
    assert_complete(out)
    assert len(list(out.glob("*.npz"))) < 20
    deadline = time.monotonic() + 60  # the actors were killed: their processes go away
    while ray_cluster.pids_of(name="ImageWorker") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ray_cluster.pids_of(name="ImageWorker") == []


def test_explain_on_the_cluster_losing_a_node_writes_what_a_local_run_writes(
    ray_cluster, image_folder, model_file, tmp_path
):
    """The cluster's explain, with a third node killed mid-run (last: the node stays lost):
    the lost node's images are done by the others, and every file is the local run's (run
    side by side with the cluster's)."""
    local, out = tmp_path / "local", tmp_path / "out"
    local_proc = start_cli(*explain_args(image_folder, local, model_file, "--grid"))
    node = ray_cluster.add_node()  # a third node, for this test to lose
    args = explain_args(image_folder, out, model_file, "--grid", "--ray", ray_cluster.address)
    proc = start_cli(*args)
    try:
        _wait_for(lambda: out.is_dir() and len(list(out.glob("*.npz"))) >= 2, 300, proc)
        raylets = ray_cluster.pids_of(node, "raylet/raylet")
        assert len(raylets) == 1
        os.kill(raylets[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
        local_result = finish_cli(local_proc)
    finally:
        for p in (proc, local_proc):
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert local_result.returncode == 1, local_result.stderr  # corrupt.png; 99: Ray imported
    assert "a Ray worker was lost" in err  # it was lost with work in hand
    assert proc.returncode == 1, err  # a corrupt image is one image's failure
    assert failure_lines(err) == failure_lines(local_result.stderr) != []
    assert "20 of 21 image(s) explained" in err
    names = sorted(p.name for p in local.iterdir())
    assert sorted(p.name for p in out.iterdir()) == names
    assert len(names) == 20 * 3 + 1  # npz, json, report per image, and the grid
    for name in names:
        if name.endswith(".npz"):
            assert_same_arrays(local / name, out / name)
        elif name.endswith(".json"):
            a, b = (json.loads((d / name).read_text()) for d in (local, out))
            assert without_run_details(a) == without_run_details(b), name
        else:  # the figures, the grid in input order included
            assert (local / name).read_bytes() == (out / name).read_bytes(), name
    assert_complete(out)
