"""A corpus of good and bad images, generated in the test (nothing downloaded).

Shared by the app's fault tests (tests/ui/test_faults.py) and the command line's
(tests/cli/test_corpus.py).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from saliency_desktop.engine.images import MAX_PIXELS


def _gradient(w: int = 40, h: int = 24) -> np.ndarray:
    """Red grows left to right, green top to bottom: a wrong orientation cannot pass."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 60)], -1).astype(
        np.uint8
    )


def good_images(folder: Path) -> dict[str, np.ndarray]:
    """File name -> the RGB pixels the app must show and explain."""
    base = _gradient()
    gray = np.repeat(base[..., :1], 3, -1)
    rgba = np.dstack([base, np.full(base.shape[:2], 255, np.uint8)])
    rgba[:, :10, 3] = 0  # a transparent strip: composited on white
    on_white = base.copy()
    on_white[:, :10] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned 90 degrees; the viewer must turn it back
    pal = Image.fromarray(base).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    clear = int(np.asarray(pal)[0, 0])  # this palette entry is transparent
    pal_on_white = np.asarray(pal.convert("RGB")).copy()
    pal_on_white[np.asarray(pal) == clear] = 255
    red, blue = (Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255)))
    dot, wide = (10, 200, 30), (120, 30, 200)
    files = {  # name: (image, save options, the pixels expected)
        "phone_exif.jpg": (
            Image.fromarray(base).transpose(Image.Transpose.ROTATE_90),
            {"exif": exif, "quality": 95},
            base,
        ),
        "gray.png": (Image.fromarray(base[..., 0]), {}, gray),
        "gray16.png": (Image.fromarray(base[..., 0].astype(np.uint16) * 257), {}, gray),
        "alpha.png": (Image.fromarray(rgba, "RGBA"), {}, on_white),
        "palette.png": (pal, {"transparency": clear}, pal_on_white),
        "print_cmyk.jpg": (Image.fromarray(base).convert("CMYK"), {"quality": 95}, base),
        "scan.tif": (Image.fromarray(base), {}, base),
        "web.webp": (Image.fromarray(base), {"lossless": True}, base),
        "old.bmp": (Image.fromarray(base), {}, base),
        "anim.gif": (red, {"save_all": True, "append_images": [blue]}, np.asarray(red)),
        "dot.png": (Image.new("RGB", (1, 1), dot), {}, np.full((1, 1, 3), dot, np.uint8)),
        "wide.png": (
            Image.new("RGB", (10000, 50), wide),
            {},
            np.full((50, 10000, 3), wide, np.uint8),
        ),
        "chien_été_犬.png": (Image.fromarray(base), {}, base),
    }
    for name, (image, options, _) in files.items():
        image.save(folder / name, **options)
    import cv2  # 16-bit RGB PNG: Pillow cannot write it (as in tests/engine/test_images.py)

    cv2.imwrite(str(folder / "rgb16.png"), base[..., ::-1].astype(np.uint16) * 257)
    return {"rgb16.png": base, **{name: f[2] for name, f in files.items()}}


# name -> what its one-line message must say
BAD = {
    "empty.png": "the file is empty",
    "half.jpg": "damaged or truncated",
    "noise.png": "not an image",
    "notes.txt": "not an image",
    "gone.png": "no such file",
    "locked.png": "permission denied",
    "huge.png": "over the limit",
}


def write_bad_images(folder: Path) -> None:
    """The bad files of BAD; "gone.png" and "locked.png" are made unreadable by the test."""
    (folder / "empty.png").write_bytes(b"")
    buf = io.BytesIO()
    Image.fromarray(_gradient(200, 200)).save(buf, "JPEG")
    (folder / "half.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (folder / "noise.png").write_bytes(np.random.default_rng(0).bytes(5000))
    (folder / "notes.txt").write_text("not a picture\n", encoding="utf-8")
    (folder / "folder.png").mkdir()  # a folder named like an image, with no images in it
    # deleted after it is listed, before it is read; unreadable (simulated: tests run as root)
    Image.new("RGB", (4, 4)).save(folder / "gone.png")
    Image.new("RGB", (4, 4)).save(folder / "locked.png")
    side = int(np.sqrt(MAX_PIXELS)) + 10
    Image.new("1", (side, side)).save(folder / "huge.png")  # over the limit, 12 kB on disk
