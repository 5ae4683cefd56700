"""Bad input and faults in the app, with the fake engine (no TensorFlow).

A dropped batch mixing good and bad images, export to a read-only folder or a full disk, engine
failures (one line for the user, the traceback in the log file) and a PySide6 bug that would
abort the app after some thousand signal emits.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QPlainTextEdit

from saliency_desktop import atomic
from saliency_desktop.engine.types import ModelError
from saliency_desktop.ui import dialogs
from saliency_desktop.ui.engine_api import ModelRequest
from saliency_desktop.ui.log import current_log
from tests.corpus import BAD, good_images, write_bad_images
from tests.subprocesses import run_python
from tests.ui.fake_engine import FakeEngine
from tests.ui.helpers import drop_urls, open_and_wait, wait_done


# ---- recording what the user is told ----
@pytest.fixture
def errors(monkeypatch) -> list[tuple[str, str]]:
    """(title, message) of every error box; the real box still opens (window-modal, no wait)."""
    shown: list[tuple[str, str]] = []
    real = dialogs.show_error

    def record(parent, title, message):  # type: ignore[no-untyped-def]
        shown.append((title, message))
        return real(parent, title, message)

    monkeypatch.setattr(dialogs, "show_error", record)
    return shown


def status_messages(win) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    win.statusBar().messageChanged.connect(lambda text: seen.append(text) if text else None)
    return seen


# ---- the image corpus (generated here, nothing downloaded) ----
def bad_images(folder: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write_bad_images(folder)
    import PIL.Image

    import saliency_desktop.ui.images as ui_images

    real_load, real_open = ui_images.load_image, PIL.Image.open

    def load_after_a_delete(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(path).name == "gone.png":
            Path(path).unlink()  # listed and queued, then gone before the decoder reads it
        return real_load(path, *args, **kwargs)

    def open_denied(fp, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(fp, str | os.PathLike) and Path(fp).name == "locked.png":
            raise PermissionError(errno.EACCES, "Permission denied", str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(ui_images, "load_image", load_after_a_delete)
    monkeypatch.setattr(PIL.Image, "open", open_denied)


def _wait_decoded(qtbot, win, n: int) -> set[str]:  # type: ignore[no-untyped-def]
    """Wait until each of the n entries has a thumbnail or an error; the keys with thumbnails."""
    thumbs: set[str] = set()
    win.session.thumbnail_ready.connect(lambda key, _img: thumbs.add(key))

    def settled() -> bool:
        entries = win.session.entries.values()
        return len(entries) == n and all(e.key in thumbs or e.error for e in entries)

    qtbot.waitUntil(settled, timeout=20000)
    return thumbs


@pytest.fixture
def batch(tmp_path, monkeypatch) -> tuple[list[Path], dict[str, np.ndarray]]:
    folder = tmp_path / "batch"
    folder.mkdir()
    good = good_images(folder)
    bad_images(folder, monkeypatch)
    # a bad file first: it is the one shown, so it gets the dialog; the others a status line
    names = ["empty.png", *sorted(good), *sorted(n for n in BAD if n != "empty.png"), "folder.png"]
    return [folder / n for n in names], good


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # huge.png's header
def test_a_mixed_drop_names_each_bad_file_and_keeps_the_good_ones(
    qtbot, make_window, batch, errors
):
    paths, good = batch
    win = make_window()
    status = status_messages(win)
    session_status: list[str] = []
    win.session.status.connect(session_status.append)
    assert drop_urls(win, paths).isAccepted()
    thumbs = _wait_decoded(qtbot, win, len(paths) - 1)  # the empty folder adds no entry
    names = [win.strip.item(i).text() for i in range(win.strip.count())]
    assert names == [p.name for p in paths if p.name != "folder.png"]
    by_name = {e.name: e for e in win.session.entries.values()}
    for name in good:
        assert by_name[name].error is None and by_name[name].key in thumbs, name
    for name, reason in BAD.items():
        message = by_name[name].error
        assert message and message.startswith(f"{name}:") and reason in message, message
        assert "\n" not in message and "Traceback" not in message
        assert message in status, f"no status line for {name}"  # said once, in the status bar
        item = win.strip.item(names.index(name))
        assert item.toolTip() == message  # and kept on the strip's warning icon
    assert "folder.png: a folder with no image files in it." in session_status
    # the shown (first) file is bad: a dialog for it alone, not one per file of the batch
    assert errors == [("Cannot open the image", by_name["empty.png"].error)]
    assert win.view.rgb is None
    # the app goes on: choosing a good image explains it
    win.strip.setCurrentRow(names.index("dot.png"))
    qtbot.waitUntil(lambda: win.session.current_entry().name == "dot.png", timeout=3000)
    wait_done(qtbot, win)
    assert win.view.canvas.has_overlay()


def test_each_good_image_is_shown_upright_and_explained(qtbot, make_window, batch):
    paths, good = batch
    engine = FakeEngine()
    win = make_window(engine)
    win.open_paths([str(p) for p in paths if p.name in good])
    names = [win.strip.item(i).text() for i in range(win.strip.count())]
    assert sorted(names) == sorted(good)
    for row, name in enumerate(names):
        win.strip.setCurrentRow(row)
        qtbot.waitUntil(lambda n=name: win.session.current_entry().name == n, timeout=3000)
        wait_done(qtbot, win, timeout=10000)
        entry = win.session.current_entry()
        expected = good[name]
        assert entry.rgb.shape == expected.shape and entry.rgb.dtype == np.uint8, name
        tolerance = 12 if name.endswith(".jpg") else 2  # JPEG (and CMYK round trip) vs lossless
        assert np.abs(entry.rgb.astype(int) - expected.astype(int)).mean() < tolerance, name
        assert win.view.rgb is entry.rgb  # the canvas shows these pixels
        assert engine.explain_calls[-1]["shape"] == expected.shape  # and the engine gets them
        assert set(win.session.results()) == set(win.tree.selected())


def test_the_first_frame_note_of_an_animated_gif_is_shown(qtbot, make_window, tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    win = make_window()
    status = status_messages(win)
    open_and_wait(qtbot, win, str(path))
    note = "anim.gif: animated image; the first of 3 frames is used."
    assert note in status  # said when the image is shown...
    assert note in win.session.explanation().notes  # ...kept with the explanation...
    assert note in win.details.toPlainText()  # ...shown in the Details panel...
    from saliency_desktop.render.export import explanation_record

    assert note in explanation_record(win.session.explanation())["image"]["notes"]  # ...exported


def test_a_very_wide_image_has_a_visible_thumbnail(qtbot, make_window, tmp_path):
    from saliency_desktop.ui.images import THUMB, thumbnail

    thumb = thumbnail(np.zeros((50, 10000, 3), np.uint8))
    assert min(thumb.width(), thumb.height()) * 8 >= THUMB  # not a 96x1 sliver
    win = make_window()
    path = tmp_path / "wide.png"
    Image.new("RGB", (10000, 50), (200, 10, 10)).save(path)
    open_and_wait(qtbot, win, str(path))
    icon = win.strip.item(0).icon()
    assert not icon.pixmap(win.strip.iconSize()).isNull()  # a null pixmap: Qt paint warnings


# ---- export faults ----
@pytest.fixture
def log_file() -> Any:
    """The app's log file, and a function giving what was written to it since."""
    from saliency_desktop.ui.log import setup_logging

    path = setup_logging()
    assert path is not None
    start = path.stat().st_size if path.exists() else 0

    def since() -> str:
        data = path.read_bytes()
        return (data[start:] if len(data) >= start else data).decode("utf-8", "replace")

    return path, since


def _refuse_temp(*args: Any, **kwargs: Any) -> Any:
    raise PermissionError(errno.EACCES, "Permission denied")


def _disk_full(fd: int) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


FAULTS = {  # as root, chmod cannot make a folder read-only: the temporary file is refused
    "read-only folder": (atomic, "_create_temp", _refuse_temp, "Permission denied"),
    "full disk": (os, "fsync", _disk_full, "No space left on device"),
}


EXPORTS = {  # File > Export ..., as the commands run after the file dialog; the first file
    "report": (lambda c, d: c.export_report_to(d / "photo_report", ("png",)), "photo_report.png"),
    "view": (lambda c, d: c.export_view_to(d / "photo_view.png"), "photo_view.png"),
    "arrays": (lambda c, d: c.export_arrays_to(d / "photo_maps"), "photo_maps.npz"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", list(EXPORTS))
def test_export_faults_give_a_message_and_leave_no_file(
    qtbot, make_window, image_file, tmp_path, monkeypatch, errors, log_file, kind, fault
):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    status = status_messages(win)
    folder = tmp_path / "out"
    folder.mkdir()
    # one of the destination files exists and the user agreed to replace it: after the
    # failure it must still be the old file, whole
    monkeypatch.setattr(dialogs, "ask_overwrite", lambda _w, _p: True)
    start, first = EXPORTS[kind]
    old = folder / first
    old.write_bytes(b"the user's earlier file")
    module, name, fake, reason = FAULTS[fault]
    monkeypatch.setattr(module, name, fake)
    with qtbot.waitSignal(win.commands.exporter.failed, timeout=60000) as blocker:
        assert start(win.commands, folder)
    message = blocker.args[0]
    assert errors[-1] == ("Export failed", message)
    assert reason in message and str(old) in message
    assert "\n" not in message and "Errno" not in message and "Traceback" not in message
    assert "Export failed." in status
    assert sorted(p.name for p in folder.iterdir()) == [old.name]  # no partial or temp file
    assert old.read_bytes() == b"the user's earlier file"  # nothing lost
    logged = log_file[1]()
    assert f"export to {old}" in logged and "Traceback (most recent call last)" in logged
    monkeypatch.undo()  # the disk is fine again: the app is still usable
    good = tmp_path / "good"
    with qtbot.waitSignal(win.commands.exporter.done, timeout=60000) as blocker:
        assert start(win.commands, good)
    written = blocker.args[0]
    assert written and all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert not [p for p in good.iterdir() if p.name.startswith(".")]


# ---- engine failures: one line on screen, the traceback in the log ----
class FailingEngine(FakeEngine):
    """Loading `bad.keras` fails as Keras would (a chained cause); explaining can blow up."""

    explode = False

    def load_model(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if request.spec.endswith("bad.keras"):
            try:
                raise OSError("Unable to synchronously open file (truncated file: eof = 96)")
            except OSError as cause:
                raise ModelError(
                    "bad.keras: damaged or not a Keras model (Unable to synchronously open file)."
                ) from cause
        return super().load_model(request, *args, **kwargs)

    def explain(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.explode:
            self.explode = False
            raise RuntimeError("out of cheese in layer conv_7")
        return super().explain(*args, **kwargs)


def test_a_model_failure_is_one_line_on_screen_and_a_traceback_in_the_log(
    qtbot, make_window, image_file, errors, log_file
):
    path, since = log_file
    win = make_window(FailingEngine())
    open_and_wait(qtbot, win, image_file)
    with qtbot.waitSignal(win.session.model_error, timeout=5000) as blocker:
        win.load_model(ModelRequest("/models/bad.keras", "unit"))
    message = blocker.args[0]
    assert errors[-1] == ("Cannot load the model", message)
    assert "bad.keras" in message and "\n" not in message and "Traceback" not in message
    logged = since()
    assert "Traceback (most recent call last)" in logged
    assert "truncated file: eof = 96" in logged  # the cause Keras gave, for a bug report
    assert win.session.model.request.spec == "dog-breeds"  # the old model stays
    assert win.model_label.text().startswith("Dog breeds")
    assert current_log() == path  # Help > Show log shows this file, traceback included
    dialog = dialogs.LogDialog(current_log(), win)
    qtbot.addWidget(dialog)
    assert "truncated file: eof = 96" in dialog.findChild(QPlainTextEdit).toPlainText()


def test_an_unexpected_engine_error_says_where_the_details_are(
    qtbot, make_window, image_file, errors, log_file
):
    _, since = log_file
    engine = FailingEngine()
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    status = status_messages(win)
    engine.explode = True
    win.tree.editor("integrated_gradients", "n_steps").setValue(9)  # a new job, which fails
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    title, message = errors[-1]
    assert title == "Cannot explain the image"
    assert "out of cheese" in message and "log" in message and "\n" not in message
    assert "The explanation failed." in status
    logged = since()
    assert "Traceback (most recent call last)" in logged and "RuntimeError" in logged
    win.tree.editor("integrated_gradients", "n_steps").setValue(10)  # the next job works
    qtbot.waitUntil(
        lambda: (
            win.session.results().get("integrated_gradients") is not None
            and win.session.results()["integrated_gradients"].params["n_steps"] == 10
        ),
        timeout=5000,
    )
    wait_done(qtbot, win)


# ---- a dependency bug that would take the app down after a while ----
def test_many_signal_emits_do_not_abort_the_app():
    """PySide6 6.12.0 drops a reference to `True` on every `emit()`: without the workaround in
    `saliency_desktop.ui`, CPython aborts ("bool_dealloc") after a few thousand emits, that is
    after some hundred explain jobs (or when the app exits)."""
    code = (
        "import sys\n"
        "import saliency_desktop.ui\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "class P(QObject):\n"
        "    busy = Signal(bool)\n"
        "p = P()\n"
        "p.busy.connect(lambda b: None)\n"
        "for i in range(200_000):\n"
        "    p.busy.emit(i % 2 == 0)\n"
        "print('OK')\n"
    )
    out = run_python(code, timeout=120, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "OK" in out.stdout
