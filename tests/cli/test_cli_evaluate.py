"""`saliency-desktop evaluate`: outputs, schema, exit codes, no overwrite, Ctrl-C."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from saliency_desktop.cli import main

METHODS = "vanilla_gradients,gradcam"
ARGS = ["--methods", METHODS, "--randomization-steps", "2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, dog_model, images):
    """One evaluate run of every metric on chelsea.png, shared by the tests that only read."""
    from tests.cli.conftest import patch_load_model

    mp = pytest.MonkeyPatch()
    patch_load_model(mp, dog_model)
    out = tmp_path_factory.mktemp("evaluate")
    code = main(["evaluate", str(images[0]), "--out", str(out), *ARGS, "--format", "png,svg"])
    mp.undo()
    return code, out


def test_writes_every_file(run):
    code, out = run
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["chelsea.npz", "evaluation.png", "evaluation.svg", "metrics.csv",
                     "metrics.json"]  # fmt: skip
    assert not any(p.name.startswith(".") for p in out.iterdir())  # no temporary file left


def test_npz_holds_the_maps_as_explain_writes_them_and_the_curves(run, dog_model, images):
    from saliency_desktop.engine import explain

    _, out = run
    arrays = np.load(out / "chelsea.npz")
    e = explain(dog_model, images[0], methods=METHODS.split(","))
    for mid in METHODS.split(","):
        np.testing.assert_array_equal(arrays[f"{mid}.map"], e.methods[mid].map)
        assert arrays[f"{mid}.deletion.deletion"].shape == (2, 101)
        assert arrays[f"{mid}.road.morf"].shape == (2, 9)
        assert arrays[f"{mid}.randomization.maps"].shape == (3, 160, 160)
    np.testing.assert_array_equal(arrays["input"], e.input)


def test_csv_has_one_row_per_score(run):
    _, out = run
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["image", "method", "metric", "value"]
    metrics = {r["metric"] for r in rows}
    assert metrics == {"deletion_auc", "insertion_auc", "road_morf", "road_lerf", "road_gap",
                       "randomization", "randomization_ssim", "randomization_mean",
                       "random_logit", "random_logit_ssim"}  # fmt: skip
    assert len(rows) == 2 * len(metrics) and {r["image"] for r in rows} == {"chelsea.png"}
    deletion = [float(r["value"]) for r in rows if r["metric"] == "deletion_auc"]
    assert all(0 <= v <= 1 for v in deletion)


def test_json_validates_against_the_schema(run):
    import jsonschema

    from saliency_desktop.evaluate_cmd import schema

    _, out = run
    record = json.loads((out / "metrics.json").read_text())
    jsonschema.validate(record, schema())
    entry = record["images"][0]["methods"]["gradcam"]["metrics"]
    assert len(entry["deletion"]["curves"]["deletion"]["y"]) == 101
    assert entry["randomization"]["layers"][:2] == ["original", "dense"]
    assert record["versions"]["keras"].startswith("3.")
    bad = dict(record, images=[{**record["images"][0], "score": "softmax"}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema())


def test_no_overwrite_without_force(run, cli_model, images, capsys):
    _, out = run
    before = (out / "metrics.csv").read_bytes()
    code = main(["evaluate", str(images[0]), "--out", str(out), *ARGS, "--metrics", "deletion"])
    err = capsys.readouterr().err
    assert code == 2 and "already exists" in err and "use --force to overwrite" in err
    assert (out / "metrics.csv").read_bytes() == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics", "deletion,faithfulness"], "--metrics: unknown faithfulness"),
        (["--methods", "nope"], "--methods: unknown nope"),
        (["--format", "gif"], "--format: use png, pdf and/or svg"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(cli_model, images, tmp_path, capsys, args, message):
    code = main(["evaluate", str(images[0]), "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "o").exists()


def test_folder_with_a_corrupt_image_exits_1_and_keeps_the_rest(cli_model, images, tmp_path,
                                                                  capsys):  # fmt: skip
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(images[1], folder / "a.jpg")
    (folder / "b.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    code = main(["evaluate", str(folder), "--out", str(out), "--methods", "gradcam",
                 "--metrics", "deletion", "--force"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "b.png" in err and "1 of 2 image(s) evaluated" in err
    assert (out / "a.npz").exists() and (out / "metrics.csv").exists()
    assert not (out / "b.npz").exists()


def test_ctrl_c_exits_130_with_complete_files(cli_model, images, tmp_path, monkeypatch, capsys):
    import saliency_desktop.engine as engine

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "evaluate", interrupted)
    out = tmp_path / "out"
    code = main(["evaluate", str(images[0]), "--out", str(out), "--methods", "gradcam"])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == []  # nothing half-written


def test_the_folder_reads_back_into_figure_rows(run, tmp_path):
    """`evaluation_load.load_rows` gives back the scores, curves, per-metric seconds and the
    randomised maps of a run (to redraw or merge figures); a folder without metrics.json is
    one clear error."""
    from saliency_desktop.render.evaluation import evaluation_figure
    from saliency_desktop.render.evaluation_load import load_rows

    _, out = run
    record = json.loads((out / "metrics.json").read_text())
    arrays = np.load(out / "chelsea.npz")
    [(name, ev, _)] = load_rows(out)
    assert name == "chelsea.png" and ev.target == record["images"][0]["target"]["index"]
    for mid, entry in record["images"][0]["methods"].items():
        for metric, saved in entry["metrics"].items():
            result = ev.results[mid][metric]
            assert result.scores == pytest.approx(saved["scores"])
            assert result.extras["seconds"] == saved["seconds"] > 0
            for cname, curve in saved["curves"].items():
                np.testing.assert_array_equal(result.curves[cname].y, curve["y"])
        maps = ev.results[mid]["randomization"].extras["maps"]
        np.testing.assert_array_equal(maps, arrays[f"{mid}.randomization.maps"])
    assert evaluation_figure([(name, ev, None)]).axes
    with pytest.raises(ValueError, match="is not an evaluate output"):
        load_rows(tmp_path)
