"""The bundled sample photos fit the embedded models, are credited and reach the Samples menu."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

SAMPLES = Path(str(resources.files("saliency_desktop.resources").joinpath("samples")))
# file: (model, its top-1 class); what SOURCES.md says the models answer
EXPECTED = {
    "dog_on_porch.jpg": ("dog-breeds", "Siberian_husky"),
    "dog_in_towel.jpg": ("dog-breeds", "Pomeranian"),
    "dog_with_frisbee.jpg": ("dog-breeds", "Yorkshire_terrier"),
    "face_eileen_collins.jpg": ("emotions", "happy"),
    "face_grace_hopper.jpg": ("emotions", "neutral"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_is_what_its_model_was_made_for(name, dog_model, emotion_model):
    from saliency_desktop.engine import explain

    model_id, label = EXPECTED[name]
    model = dog_model if model_id == "dog-breeds" else emotion_model
    top = explain(model, SAMPLES / name, methods=["gradcam"]).top_k[0]
    assert (top.label, top.probability > 0.5) == (label, True)


def test_every_sample_is_small_credited_and_in_the_samples_menu():
    from saliency_desktop.ui.images import sample_images

    sources = (SAMPLES / "SOURCES.md").read_text()
    photos = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg"))
    assert set(EXPECTED) <= set(photos)
    for name in photos:
        assert f"`{name}`" in sources, f"{name} is not credited in SOURCES.md"
    for name in EXPECTED:
        assert (SAMPLES / name).stat().st_size <= 200_000, name
    menu = {Path(path).name for label, path in sample_images() if "(bundled)" in label}
    assert menu == set(photos)
