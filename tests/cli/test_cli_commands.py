"""Argument parsing, the listing commands, the default `gui` command and input discovery.

No model is loaded here: every case fails or finishes before TensorFlow is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from saliency_desktop.batch import collect_images
from saliency_desktop.cli import main
from saliency_desktop.engine.catalogue import CATALOGUE
from saliency_desktop.engine.registry import list_methods


def test_methods_lists_each_method_and_its_paper(capsys):
    assert main(["methods"]) == 0
    lines = capsys.readouterr().out.splitlines()
    infos = list_methods()
    assert len(lines) == len(infos)
    for line, info in zip(lines, infos, strict=True):
        assert line.startswith(info.id) and info.label in line and line.endswith(info.paper)


def test_models_lists_the_catalogue_and_cached_weights(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / CATALOGUE["resnet50"].file).write_bytes(b"weights")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()}
    for entry_id in CATALOGUE:
        assert entry_id in rows
    assert "cached" in rows["resnet50"] and "first use" in rows["vgg16"]
    assert "installed" in rows["dog-breeds"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--methods", "gradcam,telepathy"], "unknown telepathy"),
        (["--format", "png,gif"], "--format"),
        (["--colormap", "no_such_map"], "Unknown colormap"),
        (["--signed-colormap", "no_such_map"], "Unknown colormap"),
        (["--opacity", "1.5"], "between 0 and 1"),
        (["--ig-steps", "0"], "positive integer"),
        (["--ig-method", "simpson"], "invalid choice"),
        (["--percentile", "0"], "(0, 100]"),
    ],
)
def test_bad_arguments_exit_2_before_any_model_is_loaded(args, message, tmp_path, capsys):
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    code = main(["explain", str(image), "--out", str(tmp_path / "out"), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_no_images_and_a_file_as_out_are_usage_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["explain", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "No image to explain" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["explain", str(empty), "--out", str(tmp_path / "file")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    assert "explain" in capsys.readouterr().out
    assert main(["explain", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--out", "--ig-steps", "--baseline", "--grid", "--force", "--colormap"):
        assert option in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("saliency-desktop ")


def test_gui_is_the_default_command(fake_app):
    assert main([]) == 7
    assert fake_app[-1]["images"] == [] and fake_app[-1]["model"] is None
    assert main(["photo.jpg", "--model", "emotions", "--methods", "gradcam,integrated_gradients",
                 "--trust-model"]) == 7  # fmt: skip
    call = fake_app[-1]
    assert call["images"] == [Path("photo.jpg")] and call["model"] == "emotions"
    assert call["methods"] == ["gradcam", "integrated_gradients"] and call["trust_model"] is True
    assert main(["-v", "gui", "a.png", "b.png", "--screenshot", "s.png", "--preprocess", "caffe",
                 "--labels", "l.txt"]) == 7  # fmt: skip
    call = fake_app[-1]
    assert call["images"] == [Path("a.png"), Path("b.png")]
    assert call["screenshot"] == Path("s.png") and call["labels"] == Path("l.txt")
    assert call["preprocess"] == "caffe" and call["trust_model"] is False


def test_gui_main_passes_the_command_line(fake_app, monkeypatch):
    from saliency_desktop.cli import gui_main

    monkeypatch.setattr(sys, "argv", ["saliency-desktop-gui", "x.png"])
    assert gui_main() == 7
    assert fake_app[-1]["images"] == [Path("x.png")]


def test_collect_images_walks_folders_in_sorted_order(tmp_path):
    root = tmp_path / "photos"
    for rel in ("b.png", "a.JPG", "sub/c.webp", "sub/z/d.tif", ".hidden/e.png", "sub/.f.png",
                "notes.txt", "out/old_report.png"):  # fmt: skip
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    single = tmp_path / "single.gif"
    found = collect_images([str(single), str(root), str(root / "b.png")], exclude=root / "out")
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "single.gif", "photos/a.JPG", "photos/b.png", "photos/sub/c.webp", "photos/sub/z/d.tif",
    ]  # fmt: skip


def test_entry_point_exit_codes_and_no_tensorflow_for_listing():
    code = (
        "import sys\n"
        "from saliency_desktop.cli import main\n"
        "rc = main(['methods'])\n"
        "assert 'tensorflow' not in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "saliency_desktop", "explain", "x.png"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "--out" in proc.stderr


def test_gui_without_a_display(fake_app, monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    calls = len(fake_app)
    assert main(["gui"]) == 2
    assert "no display" in capsys.readouterr().err and len(fake_app) == calls
    assert main(["gui", "a.png", "--screenshot", "s.png"]) == 7  # a screenshot needs no screen
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
