"""The registry drives everything: a method added in one new file reaches the engine, the CLI,
the report and the JSON with no other edit; parameters are per method."""

from __future__ import annotations

import importlib
import sys
import textwrap

import numpy as np
import pytest

from saliency_desktop.engine import registry
from saliency_desktop.engine.types import EngineError

PLUGIN = '''
"""A test method: the input gradient times a constant (declared parameter `gain`)."""
import numpy as np

from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import ParamInfo, gradient_info


@register
class ScaledGradient(SaliencyMethod):
    """gain * |dS/dx|, channel maximum (Simonyan et al. 2013 scaled)."""

    info = gradient_info(
        id="scaled_gradient_test",
        label="Scaled Gradient (test)",
        summary="A test plug-in.",
        paper="Simonyan, Vedaldi & Zisserman 2013, Deep Inside Convolutional Networks",
        params=(
            ParamInfo("gain", "Gain", "float", 2.0, minimum=0.0, option="--test-gain", quick=0.5),
        ),
        plain_gradient=True,
        order=99,
    )

    def compute(self, ctx, params, job):
        grad = ctx.gradients() * params["gain"]
        return np.abs(grad).max(axis=-1), grad, None, {"gain_used": params["gain"]}
'''


@pytest.fixture()
def plugin(tmp_path, monkeypatch):
    """The plug-in module written to a temporary folder, imported, and unregistered after."""
    (tmp_path / "sd_test_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.method_ids()  # the built-in methods first
    importlib.import_module("sd_test_plugin")
    yield "scaled_gradient_test"
    registry._REGISTRY.pop("scaled_gradient_test", None)
    sys.modules.pop("sd_test_plugin", None)


def test_a_plugin_method_is_listed_last_of_its_family(plugin):
    ids = registry.method_ids()
    assert plugin in ids
    gradient_ids = [i.id for i in registry.list_methods() if i.family == "gradients"]
    assert gradient_ids[-1] == plugin  # order=99
    assert ids.index(plugin) < ids.index("gradcam")  # families first


def test_explain_runs_the_plugin_with_its_own_params(plugin, tiny_model, tiny_image):
    from saliency_desktop.engine import explain

    e = explain(tiny_model, tiny_image, methods=[plugin, "vanilla_gradients"],
                params={plugin: {"gain": 3.0}})  # fmt: skip
    r = e.methods[plugin]
    assert r.params == {"gain": 3.0} and r.extras["gain_used"] == 3.0
    np.testing.assert_allclose(r.map, 3.0 * e.methods["vanilla_gradients"].map, rtol=1e-5)


def test_cli_lists_and_runs_the_plugin_with_param(plugin, tmp_path, tiny_image, capsys):
    import json

    from PIL import Image

    from saliency_desktop import cli

    assert cli.main(["methods", "-v"]) == 0
    listing = capsys.readouterr().out
    assert plugin in listing and f"--param {plugin}.gain" in listing
    img = tmp_path / "img.png"
    Image.fromarray(tiny_image).resize((32, 32)).save(img)
    model_file = tmp_path / "tiny.keras"
    import keras

    from tests.engine.tiny_model import tiny_cnn

    tiny_cnn(keras).save(model_file)
    out = tmp_path / "out"
    args = ["explain", str(img), "--model", str(model_file), "--methods", f"{plugin},gradcam"]
    code = cli.main([*args, "--param", f"{plugin}.gain=5", "--test-gain", "4", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    record = json.loads((out / "img.json").read_text())
    assert record["methods"][plugin]["params"]["gain"] == 5.0  # --param wins over the option
    assert np.load(out / "img.npz")[f"{plugin}.map"].shape == (8, 8)
    assert (out / "img_report.png").stat().st_size > 0
    assert cli.main([*args, "--test-gain", "4", "--out", str(out), "--force"]) == 0
    assert json.loads((out / "img.json").read_text())["methods"][plugin]["params"]["gain"] == 4.0


def test_a_declared_option_is_in_explain_help_under_the_method(plugin, capsys):
    from saliency_desktop import cli

    assert cli.main(["explain", "--help"]) == 0
    text = capsys.readouterr().out
    group = text.index("Scaled Gradient (test):")
    assert group < text.index("--test-gain VALUE", group) < text.index("(default 2.0)", group)
    ig = text.index("Integrated Gradients:")  # the built-in methods' options come the same way
    assert group < ig < text.index("--ig-steps auto|N", ig) < text.index("--baseline {", ig)


def test_quick_values_for_the_self_test_come_from_the_registry(plugin):
    from saliency_desktop import selftest

    quick = selftest.quick_params()
    assert quick[plugin] == {"gain": 0.5}
    assert quick["integrated_gradients"] == {"n_steps": 16} and quick["rise"] == {"n_masks": 64}
    assert "gradcam" not in quick  # nothing to make smaller


def test_cli_rejects_unknown_param_names(plugin, capsys):
    from saliency_desktop import cli

    assert cli.main(["explain", "x.png", "--out", "o", "--param", f"{plugin}.nope=1"]) == 2
    assert "has no parameter 'nope'" in capsys.readouterr().err


def test_per_method_params_and_flat_keywords(tiny_model, tiny_image):
    from saliency_desktop.engine import explain

    e = explain(tiny_model, tiny_image, methods=["integrated_gradients"], n_steps=8,
                params={"integrated_gradients": {"rule": "riemann_middle"}})  # fmt: skip
    assert e.methods["integrated_gradients"].params["n_steps"] == 8
    assert e.methods["integrated_gradients"].params["rule"] == "riemann_middle"
    with pytest.raises(EngineError, match="has no parameter"):
        explain(tiny_model, tiny_image, methods=["gradcam"], params={"gradcam": {"n_steps": 3}})
    with pytest.raises(EngineError, match="Unknown method"):
        explain(tiny_model, tiny_image, methods=["gradcam"], params={"nope": {}})


def test_unknown_method_error_lists_ids_in_registry_order():
    with pytest.raises(EngineError) as info:
        registry.get_method("nope")
    listed = str(info.value).split("known methods: ")[1].rstrip(".").split(", ")
    assert listed == registry.method_ids()
