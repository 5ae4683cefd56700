"""What a newcomer typed first (issue 9, 17): method lists, missing paths, classes, usage."""

from __future__ import annotations

import pytest

from saliency_desktop.cli import main
from saliency_desktop.engine.registry import get_method, method_ids
from saliency_desktop.engine.types import EngineError


def test_gui_methods_all_checks_every_method_in_registry_order(fake_app):
    assert main(["gui", "--methods", "all", "--screenshot", "s.png"]) == 7
    assert fake_app[-1]["methods"] == method_ids()


def test_gui_unknown_method_exits_2_listing_methods_in_registry_order(fake_app, capsys):
    assert main(["gui", "--methods", "gradcam,telepathy"]) == 2
    err = capsys.readouterr().err
    assert f"unknown telepathy; known: all, {', '.join(method_ids())}." in err
    assert fake_app == []  # the app never opened


def test_unknown_method_in_the_engine_lists_methods_in_registry_order():
    with pytest.raises(EngineError) as info:
        get_method("telepathy")
    assert str(info.value).endswith(f"known methods: {', '.join(method_ids())}.")


def test_a_missing_input_is_a_bad_argument_and_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real.png").write_bytes(b"")
    assert main(["explain", "real.png", "photos/nope.jpg", "--out", "D"]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder: photos/nope.jpg" in err  # the path as typed
    assert "Traceback" not in err
    assert not (tmp_path / "D").exists()


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["explain", "x.png", "--out", "o", "--bogus"], "usage: saliency-desktop explain"),
        (["methods", "--bogus"], "usage: saliency-desktop methods"),
        (["layers", "dog-breeds", "--bogus"], "usage: saliency-desktop layers"),
        (["photo.png", "--bogus"], "usage: saliency-desktop gui"),
    ],
)
def test_an_unknown_option_prints_the_commands_usage(argv, usage, capsys, fake_app):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and "unrecognized arguments: --bogus" in err
    assert "COMMAND" not in err  # not the top-level usage
    assert fake_app == []


def test_preprocessing_is_the_option_and_preprocess_a_hidden_alias(fake_app, capsys):
    for option in ("--preprocessing", "--preprocess"):
        assert main(["gui", "a.png", "--screenshot", "s.png", option, "caffe"]) == 7
        assert fake_app[-1]["preprocess"] == "caffe"
    assert main(["explain", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--preprocessing P" in out and "--preprocess " not in out


@pytest.mark.parametrize("command", ["layers", "classes"])
def test_a_required_model_claims_no_default(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "MODEL" in out and "default dog-breeds" not in out
    assert main([command]) == 2
    assert "required: MODEL" in capsys.readouterr().err


def test_classes_prints_every_index_and_label(cli_model, capsys):
    assert main(["classes", "dog-breeds"]) == 0
    lines = capsys.readouterr().out.splitlines()
    labels = cli_model.info.labels
    assert len(lines) == len(labels) == 19
    for index, (line, label) in enumerate(zip(lines, labels, strict=True)):
        assert line.split() == [str(index), label]


def test_an_unknown_target_points_to_the_classes_command(cli_model, images, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["explain", str(images[0]), "--out", str(out), "--target", "poodle"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Unknown class 'poodle'" in err and "`saliency-desktop classes dog-breeds`" in err
    assert not out.exists()
