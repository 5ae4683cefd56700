"""Data-set predictions: throughput, and its ratio to the model's own batched `predict`.

    python benchmarks/bench_dataset.py [--images 200] [--repeats 3]

A folder of `--images` JPEGs (the sample photos, re-encoded with small changes so that each file
is distinct: the cache is keyed by file content) is predicted by `predict_dataset` cold (empty
cache: decoding, resizing and the batched forward passes) and warm (every file cached: reading
and hashing only). The limit is the Keras model's own `predict` over the same preprocessed
inputs in batches of 32, timed in the same run; ratios are medians of paired runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def make_folder(root: Path, n: int) -> None:
    from importlib import resources

    import numpy as np
    from PIL import Image

    samples = resources.files("saliency_desktop.resources").joinpath("samples")
    photos = [
        Image.open(str(p)).convert("RGB")
        for p in samples.iterdir()
        if p.name[-4:] in (".jpg", ".png")
    ]  # noqa: E501
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = np.asarray(photos[i % len(photos)]).copy()
        arr[0, 0] = rng.integers(0, 256, 3)  # a distinct file each time
        folder = root / f"class_{i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(folder / f"{i:05d}.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import numpy as np

    from saliency_desktop.engine import dataset, load_model
    from saliency_desktop.engine.images import load_image

    model = load_model("dog-breeds")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_folder(root, args.images)
        data = dataset.open_dataset(root, model.info.labels)
        inputs = np.stack([model.prepare(load_image(it.path)[0])[1] for it in data.items])
        model.keras_model.predict(inputs[:32], verbose=0)  # warm-up (tracing)
        dataset.predict_dataset(model, data)
        cold, warm, limit = [], [], []
        for _ in range(args.repeats):
            dataset._CACHE.clear()
            start = time.perf_counter()
            dataset.predict_dataset(model, data)
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            dataset.predict_dataset(model, data)
            warm.append(time.perf_counter() - start)
            start = time.perf_counter()
            model.keras_model.predict(inputs, batch_size=32, verbose=0)
            limit.append(time.perf_counter() - start)
    n = len(data.items)
    c, w, lim = (statistics.median(v) for v in (cold, warm, limit))
    ratios = statistics.median(a / b for a, b in zip(cold, limit, strict=True))
    print(f"{n} images of {model.info.label}, device {model.device}")
    print(f"cold: {n / c:8.1f} images/s  ({c:.2f} s; decode + resize + forward)")
    print(f"warm: {n / w:8.1f} images/s  ({w:.2f} s; cached: read + hash only)")
    print(f"limit (keras predict on prepared inputs): {n / lim:8.1f} images/s")
    print(f"cold / limit: {ratios:.2f}x (paired median; cold includes decoding and resizing)")


if __name__ == "__main__":
    main()
