"""The compact declaration of a method: a family's facts stated once, overridable per method."""

from __future__ import annotations

import pytest

from saliency_desktop.engine import list_methods
from saliency_desktop.engine.types import (
    FAMILY_DEFAULTS,
    cam_info,
    family_info,
    path_info,
    perturbation_info,
    seed_param,
)

TEXT = {"id": "x", "label": "X", "summary": "A test.", "paper": "Someone 2020, A Title Here"}


@pytest.mark.parametrize("family", sorted(FAMILY_DEFAULTS))
def test_a_family_info_carries_its_family_defaults(family):
    info = family_info(family, **TEXT)
    assert info.family == family
    for name, value in FAMILY_DEFAULTS[family].items():
        assert getattr(info, name) == value, name


def test_the_family_helpers_set_what_each_family_is():
    path, cam = path_info(**TEXT), cam_info(**TEXT)
    assert path.signed and not path.first_pass_backward and not path.default_on
    assert cam.needs_layer and cam.has_cam and not cam.has_attributions
    occlusion = perturbation_info(**TEXT, signed=True)
    assert occlusion.signed and not occlusion.has_attributions and not occlusion.default_on


def test_a_declaration_overrides_its_family_default():
    assert path_info(**TEXT, default_on=True).default_on  # e.g. Integrated Gradients
    assert path_info(**TEXT, has_attributions=False).signed  # XRAI: the rest stays


def test_every_seeded_method_declares_the_one_seed_parameter():
    seeds = [p for info in list_methods() for p in info.params if p.name == "seed"]
    assert len(seeds) >= 4
    for p in seeds:
        assert (p.kind, p.default, p.minimum, p.label) == ("int", 0, 0, "Seed"), p
    assert seed_param("the draws").help == "Seed of the draws."
