"""Face crop for face models: the face is found, the crop explained, the map drawn back on the
whole photo at the crop's place, and the crop's box shown on the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.engine import faces
from saliency_desktop.engine.catalogue import CATALOGUE
from saliency_desktop.ui.engine_api import ModelRequest
from tests.ui.helpers import open_and_wait, wait_done

skimage_data = pytest.importorskip("skimage.data")  # the test extra ships the photo


@pytest.fixture
def portrait(tmp_path) -> str:
    path = tmp_path / "astronaut.png"
    Image.fromarray(skimage_data.astronaut()).save(path)
    return str(path)


def test_detector_finds_the_face_and_nothing_in_a_flat_image():
    assert faces.available() == ""
    box = faces.detect_face(skimage_data.astronaut())
    assert box is not None
    assert 150 <= box.x + box.w / 2 <= 290 and 50 <= box.y + box.h / 2 <= 200  # her face
    assert box.w == box.h and box.x >= 0 and box.y >= 0
    assert faces.detect_face(np.full((120, 160, 3), 128, np.uint8)) is None


def test_catalogue_marks_the_face_model():
    assert CATALOGUE["emotions"].faces and not CATALOGUE["dog-breeds"].faces
    assert CATALOGUE["dog-breeds"].domain == "19 dog breeds"


def test_face_model_explains_the_crop_and_draws_it_back(qtbot, make_window, portrait):
    win = make_window(model=False)
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.load_model(ModelRequest("emotions"))
    action = win.menus.actions["face_crop"]
    assert action.isEnabled() and action.isChecked()  # on by default for the face model
    open_and_wait(qtbot, win, portrait, timeout=10000)
    box = win.session.face_box()
    assert box is not None
    assert win.engine.explain_calls[-1]["shape"] == (box.h, box.w, 3)  # the crop, not 512x512
    canvas = win.view.canvas
    assert canvas.box_item.isVisible()
    assert canvas.box_item.rect().getRect() == (box.x, box.y, box.w, box.h)
    pixmap = canvas.overlay_item.pixmap()
    assert (pixmap.width(), pixmap.height()) == (box.w, box.h)
    assert (canvas.overlay_item.pos().x(), canvas.overlay_item.pos().y()) == (box.x, box.y)
    assert any("face crop" in n for n in win.session.explanation().notes)
    win.view.set_mode("compare")
    assert all(t.crop is not None for t in win.view.compare.tiles if t.key)
    calls = len(win.engine.explain_calls)
    action.trigger()  # off: the whole photo, a new job
    wait_done(qtbot, win, timeout=10000)
    assert len(win.engine.explain_calls) == calls + 1
    assert win.engine.explain_calls[-1]["shape"] == (512, 512, 3)
    assert not canvas.box_item.isVisible()


def test_face_crop_is_off_by_default_for_other_models(qtbot, make_window):
    win = make_window()
    assert not win.menus.actions["face_crop"].isChecked()
    assert not win.session.face_crop
