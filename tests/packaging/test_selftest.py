"""`saliency-desktop --self-test` (saliency_desktop.selftest), run in-process."""

from __future__ import annotations

import json
import re
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from saliency_desktop import selftest
from saliency_desktop.engine.registry import method_ids

OK_LINE = re.compile(
    r"^self-test ok: (?P<n>\d+) methods, top-1 \S.* (?P<p>[01]\.\d\d), "
    r"report (?P<w>\d+)x(?P<h>\d+) px, device (?P<device>(CPU|GPU).*), \d+\.\d s$"
)


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_self_test_passes_and_writes_a_checked_report(tmp_path, capsys):
    had_qt = "PySide6" in sys.modules
    assert selftest.main(["--self-test", "--keep", str(tmp_path)]) == 0
    line = one_line(capsys)
    match = OK_LINE.match(line)
    assert match, line
    assert int(match["n"]) == len(method_ids()) >= 7
    assert int(match["w"]) >= 100 and int(match["h"]) >= 100
    record = json.loads((tmp_path / "chelsea.json").read_text())
    assert record["device"] == match["device"]
    assert sorted(record["methods"]) == sorted(method_ids())
    ig_quick = selftest.quick_params()["integrated_gradients"]["n_steps"]
    assert record["methods"]["integrated_gradients"]["params"]["n_steps"] == ig_quick
    assert (tmp_path / "chelsea_report.png").is_file() and (tmp_path / "chelsea.npz").is_file()
    if not had_qt:
        assert "PySide6" not in sys.modules, "the self-test must stay headless"


def test_self_test_in_a_temporary_folder_leaves_nothing(tmp_path, monkeypatch, capsys):
    """The default run writes into a temporary folder that is gone afterwards."""
    seen = []
    monkeypatch.setattr(selftest, "run", lambda out: seen.append(out) or "stub")
    assert selftest.main([]) == 0
    assert one_line(capsys) == "self-test ok: stub"
    assert seen and not seen[0].exists()


def test_a_missing_sample_fails_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(selftest, "SAMPLE", "no_such_photo.png")
    assert selftest.main([]) == 1
    assert one_line(capsys) == "self-test FAILED: the bundled sample no_such_photo.png is missing"


def test_an_unexpected_error_fails_with_one_line_and_a_traceback(monkeypatch, capsys):
    def boom(out):
        raise RuntimeError("boom")

    monkeypatch.setattr(selftest, "run", boom)
    assert selftest.main([]) == 1
    captured = capsys.readouterr()
    assert captured.out == "self-test FAILED: RuntimeError: boom\n"
    assert "Traceback" in captured.err


def test_unknown_arguments_fail(capsys):
    assert selftest.main(["--frobnicate"]) == 1
    assert one_line(capsys).startswith("self-test FAILED: unexpected arguments")


def test_a_blank_report_is_caught(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 400), "white").save(blank)
    with pytest.raises(selftest.SelfTestError, match="blank"):
        selftest.check_report_image(blank)
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 20, 3), np.uint8)).save(tiny)
    with pytest.raises(selftest.SelfTestError, match="only 20x20 px"):
        selftest.check_report_image(tiny)


def test_a_map_with_nan_is_caught():
    def result(value: float) -> SimpleNamespace:
        return SimpleNamespace(map=np.full((4, 4), value, np.float32), attributions=None, cam=None)

    good = SimpleNamespace(methods={"gradcam": result(0.5), "vanilla_gradients": result(0.1)})
    selftest.check_finite(good, ["gradcam", "vanilla_gradients"])
    bad = SimpleNamespace(methods={"gradcam": result(np.nan)})
    with pytest.raises(selftest.SelfTestError, match="gradcam: the map has NaN"):
        selftest.check_finite(bad, ["gradcam"])
    with pytest.raises(selftest.SelfTestError, match="without a result: deconvnet"):
        selftest.check_finite(good, ["gradcam", "deconvnet"])
