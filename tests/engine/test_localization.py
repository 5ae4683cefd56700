"""Boxes from maps (Grad-CAM sec. 4.1), IoU and the pointing game on hand-made annotations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from saliency_desktop.engine.localization import (
    GroundTruth,
    iou,
    load_annotations,
    map_box,
    map_peak,
    pointing_hit,
    score_map,
    truth_for,
)
from saliency_desktop.engine.types import EngineError


def test_box_of_two_blobs_is_the_larger_at_original_resolution():
    heat = np.zeros((10, 10), np.float32)
    heat[1:3, 1:3] = 1.0  # small and strongest
    heat[5:9, 4:9] = 0.5  # larger, above 15 % of the max
    assert map_box(heat, (10, 10)) == (4, 5, 8, 8)
    # at 2x, bilinear with half-pixel centres puts a step edge's 0.5 between two pixels,
    # so with threshold 0.5 the box is exactly the blob scaled: cols [2a, 2b + 1]
    two = np.zeros((6, 8), np.float32)
    two[1, 1] = 1.0
    two[3:5, 4:7] = 1.0
    assert map_box(two, (12, 16), threshold=0.5) == (8, 6, 13, 9)


def test_box_coordinates_exact_with_a_constant_blob():
    heat = np.zeros((4, 8), np.float32)
    heat[:, 4:] = 1.0  # right half: at 2x (8 x 16) the threshold 0.5 cuts in the middle
    assert map_box(heat, (8, 16), threshold=0.5) == (8, 0, 15, 7)
    assert map_box(np.zeros((4, 4)), (8, 8)) is None
    with pytest.raises(EngineError, match="threshold"):
        map_box(heat, (8, 16), threshold=0.0)


def test_iou_and_pointing_game_by_hand():
    assert iou((0, 0, 9, 9), (0, 0, 9, 9)) == 1.0
    assert iou((0, 0, 9, 9), (5, 0, 14, 9)) == pytest.approx(50 / 150)
    assert iou((0, 0, 4, 4), (10, 10, 12, 12)) == 0.0
    assert pointing_hit((30, 10), [(0, 0, 15, 20)])  # 15 px to the right: within tolerance
    assert not pointing_hit((31, 10), [(0, 0, 15, 20)])
    heat = np.zeros((20, 20), np.float32)
    heat[15, 3] = 1.0
    assert map_peak(heat, (20, 20)) == (3, 15)


def test_pointing_diagonal_tolerance_is_euclidean():
    assert pointing_hit((25, 29), [(0, 0, 15, 20)])  # (10, 9): 13.5 px
    assert not pointing_hit((27, 32), [(0, 0, 15, 20)])  # (12, 12): 17 px


VOC = """<annotation><filename>dog.jpg</filename>
<size><width>40</width><height>10</height></size>
<object><name>dog</name><bndbox><xmin>3</xmin><ymin>2</ymin><xmax>10</xmax><ymax>8</ymax></bndbox>
</object><object><name>cat</name><bndbox><xmin>31</xmin><ymin>1</ymin><xmax>40</xmax>
<ymax>4</ymax></bndbox></object></annotation>"""


def test_voc_scores_per_image(tmp_path: Path):
    (tmp_path / "dog.xml").write_text(VOC)
    ann = load_annotations(tmp_path / "dog.xml")
    truth = truth_for(ann, "/photos/dog.jpg")
    assert truth == [GroundTruth("dog", (2, 1, 9, 7)), GroundTruth("cat", (30, 0, 39, 3))]
    heat = np.zeros((10, 40), np.float32)
    heat[1:8, 2:10] = 1.0  # exactly the dog's box
    heat[4, 5] = 2.0
    s = score_map(heat, (10, 40), truth, label="dog")
    assert s["box"] == [2, 1, 9, 7] and s["iou"] == 1.0 and s["pointing_hit"]
    cat = score_map(heat, (10, 40), truth, label="Cat")
    assert cat["iou"] == 0.0 and not cat["pointing_hit"] and cat["peak"] == [5, 4]
    assert load_annotations(tmp_path) == ann  # a folder of VOC files


def test_coco_scores(tmp_path: Path):
    coco = {
        "images": [{"id": 7, "file_name": "a.png", "width": 20, "height": 10}],
        "categories": [{"id": 1, "name": "dog"}],
        "annotations": [{"image_id": 7, "category_id": 1, "bbox": [2, 1, 8, 7]}],
    }
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(coco))
    truth = truth_for(load_annotations(path), "a.png")
    assert truth == [GroundTruth("dog", (2, 1, 9, 7))]
    assert truth_for(load_annotations(path), "b.png") is None
    heat = np.zeros((10, 20), np.float32)
    heat[1:8, 2:6] = 1.0  # half the box
    s = score_map(heat, (10, 20), truth)
    assert s["box"] == [2, 1, 5, 7] and s["iou"] == pytest.approx(0.5) and s["pointing_hit"]


@pytest.mark.parametrize(
    "text,message",
    [
        ('<!DOCTYPE a [<!ENTITY x "y">]><annotation/>', "DTDs and entities"),
        ("<annotation><object>", "not well-formed"),
        ("<notes/>", "not a Pascal VOC"),
        (
            "<annotation><object><bndbox><xmin>a</xmin></bndbox></object></annotation>",
            "xmin is not a number",
        ),
    ],
)
def test_bad_voc_is_one_clear_error(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.xml"
    path.write_text(text)
    with pytest.raises(EngineError, match=message):
        load_annotations(path)


def test_bad_coco_and_size_limit(tmp_path: Path, monkeypatch):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(EngineError, match="not valid JSON"):
        load_annotations(bad)
    bad.write_text('{"images": [{"id": 1}]}')
    with pytest.raises(EngineError, match="not a COCO"):
        load_annotations(bad)
    monkeypatch.setattr("saliency_desktop.engine.localization.MAX_XML_BYTES", 10)
    big = tmp_path / "big.xml"
    big.write_text(VOC)
    with pytest.raises(EngineError, match="larger than"):
        load_annotations(big)
    with pytest.raises(EngineError, match="must be a Pascal VOC"):
        load_annotations(tmp_path / "x.txt")
