"""Parity with tf-keras-vis where it is installed (an optional peer, skipped otherwise)."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import explain

pytest.importorskip("tf_keras_vis")


@pytest.mark.parametrize("target", [0, 2])
def test_layercam_matches_tf_keras_vis(tiny_model, tiny_image, target):
    from tf_keras_vis.layercam import Layercam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    x = tiny_model.prepare(tiny_image)[1]
    peer = Layercam(tiny_model.keras_model, model_modifier=ReplaceToLinear(), clone=True)
    theirs = peer(
        CategoricalScore([target]),
        x[None],
        penultimate_layer="act3",
        seek_penultimate_conv_layer=False,
        expand_cam=False,
        normalize_cam=False,
    )[0]
    ours = explain(tiny_model, tiny_image, methods=["layercam"], target=target)
    np.testing.assert_allclose(ours.methods["layercam"].cam, theirs, rtol=1e-4, atol=1e-6)
