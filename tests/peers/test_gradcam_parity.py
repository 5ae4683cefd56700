"""pytorch-grad-cam (issue 11): its CAMs, run on the same Keras model under the PyTorch backend,
against ours, at the CAM layer's resolution (its ReLU kept, its min-max scaling and resize
skipped, since those are display choices)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from saliency_desktop.engine import explain
from tests.peers.conftest import require, run_torch_side

TARGET = 2
LAYER = "relu6"  # 8x8, before max pooling and a conv: gradients vary over space
SCORE_LAYER = "act3"  # 4x4: Score-CAM's masks are upsampled to the 8x8 input
EXACT = ["gradcam", "hirescam", "xgradcam", "layercam", "ablationcam"]
HEAD_SCALE = 1000.0  # Grad-CAM++ on the tiny model with its dense layer's weights x 1000


@pytest.fixture(scope="module")
def setup(peer_setup: dict[str, Any]) -> dict[str, Any]:
    require("torch", "pytorch_grad_cam")
    jobs: dict[str, dict[str, Any]] = {m: {"method": m, "layer": LAYER} for m in EXACT}
    jobs["eigencam_raw"] = {"method": "eigencam", "layer": LAYER, "raw": True}
    jobs["scorecam_half_pixel"] = {"method": "scorecam", "layer": SCORE_LAYER, "half_pixel": True}
    jobs["scorecam"] = {"method": "scorecam", "layer": SCORE_LAYER}
    scaled, scaled_path = scaled_head(peer_setup["tmp"])
    jobs["gradcam_plus_plus"] = {"method": "gradcam_plus_plus", "layer": LAYER}
    jobs["gradcam_plus_plus_scaled"] = {**jobs["gradcam_plus_plus"], "model": str(scaled_path)}
    theirs = run_torch_side(peer_setup["tmp"], peer_setup["path"], TARGET, jobs, x=peer_setup["x"])
    model, image = peer_setup["model"], peer_setup["image"]
    methods = [*EXACT, "eigencam", "gradcam_plus_plus"]
    mine = explain(model, image, methods=methods, target=TARGET, layer=LAYER)
    ours = {m: mine.methods[m].cam for m in methods}
    score = explain(model, image, methods=["scorecam"], target=TARGET, layer=SCORE_LAYER)
    ours["scorecam"] = score.methods["scorecam"].cam
    plus = explain(scaled, image, methods=["gradcam_plus_plus"], target=TARGET, layer=LAYER)
    ours["gradcam_plus_plus_scaled"] = plus.methods["gradcam_plus_plus"].cam
    return {"theirs": theirs, "ours": ours}


def scaled_head(tmp: Path) -> tuple[Any, Path]:
    """The tiny model with its last layer's weights and bias x HEAD_SCALE (S and every gradient
    x HEAD_SCALE), saved, and wrapped for our engine."""
    import keras

    from saliency_desktop.engine.models import from_keras
    from tests.engine.tiny_model import tiny_cnn

    keras_model = tiny_cnn(keras)
    dense = keras_model.get_layer("dense")
    dense.set_weights([w * HEAD_SCALE for w in dense.get_weights()])
    keras_model.save(tmp / "tiny_scaled.keras")
    return from_keras(
        keras_model, preprocessing="unit", labels=list("abcd")
    ), tmp / "tiny_scaled.keras"


def check(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert theirs.max() > 0
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5 * theirs.max())


@pytest.mark.parametrize("method", EXACT)
def test_cam_matches_pytorch_grad_cam(setup, method):
    assert f"{method}.error" not in setup["theirs"], setup["theirs"].get(f"{method}.error")
    check(setup["ours"][method], setup["theirs"][method])


def test_gradcam_plus_plus_matches_where_gradients_dwarf_its_epsilon(setup):
    """pytorch-grad-cam adds eps = 1e-6 to Grad-CAM++'s denominator 2 g^2 + sum(A) g^3; ours
    (the paper's eq. 19) adds nothing and sets alpha to 0 where the denominator is 0. With
    gradients near 1e-3 (the tiny model) g^2 is of the order of eps and the maps differ by a few
    per cent; with the head's weights x 1000 (gradients x 1000) they are equal."""
    check(setup["ours"]["gradcam_plus_plus_scaled"], setup["theirs"]["gradcam_plus_plus_scaled"])
    ours, theirs = setup["ours"]["gradcam_plus_plus"], setup["theirs"]["gradcam_plus_plus"]
    assert not np.allclose(ours, theirs, rtol=1e-3)
    assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.99


def test_the_layer_tells_the_gradient_cams_apart(setup):
    """At this layer the CAM formulas give different maps, so each comparison above tests its
    own formula (after global average pooling they would all coincide)."""
    ours = setup["ours"]
    assert ours["gradcam"].shape == (8, 8)
    for other in ("hirescam", "xgradcam", "layercam", "gradcam_plus_plus", "ablationcam"):
        assert not np.allclose(ours["gradcam"], ours[other], rtol=1e-2), other


def test_eigencam_matches_up_to_the_svd_sign(setup):
    """pytorch-grad-cam leaves the SVD's sign arbitrary; ours picks the sign whose projection
    correlates positively with sum_k A_k (README). Given that sign, the maps are equal."""
    raw = setup["theirs"]["eigencam_raw"]
    flipped = np.maximum(-raw, 0.0)
    straight = np.maximum(raw, 0.0)
    ours = setup["ours"]["eigencam"]
    best = straight if np.abs(ours - straight).max() < np.abs(ours - flipped).max() else flipped
    check(ours, best)


def test_scorecam_matches_with_half_pixel_upsampling(setup):
    """Score-CAM's masks: ours upsample with half-pixel centres (README), pytorch-grad-cam's
    UpsamplingBilinear2d aligns corners. With its upsampler set to half-pixel the maps are
    equal; as shipped they differ, but only a little."""
    check(setup["ours"]["scorecam"], setup["theirs"]["scorecam_half_pixel"])
    as_shipped = setup["theirs"]["scorecam"]
    assert not np.allclose(setup["ours"]["scorecam"], as_shipped, rtol=1e-4, atol=1e-6)
    corr = np.corrcoef(setup["ours"]["scorecam"].ravel(), as_shipped.ravel())[0, 1]
    assert corr > 0.9
