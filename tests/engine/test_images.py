"""Images researchers actually have: a corpus generated here (nothing downloaded)."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from saliency_desktop.engine import ImageError, load_image
from saliency_desktop.engine.images import MAX_PIXELS


def _gradient(w: int = 40, h: int = 24) -> np.ndarray:
    """An RGB image whose orientation is easy to check: red grows left->right, green top->down."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 60)], -1).astype(
        np.uint8
    )


def _save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def test_exif_rotated_jpeg_is_upright(tmp_path):
    upright = _gradient()
    # stored rotated 90 degrees, with EXIF orientation 6 ("rotate 90 CW to view")
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(stored, tmp_path / "phone.jpg", exif=exif, quality=95)
    rgb, _ = load_image(path)
    assert rgb.shape == upright.shape
    assert np.abs(rgb.astype(int) - upright.astype(int)).mean() < 6


@pytest.mark.parametrize(
    "kind",
    ["L", "I;16", "RGB16", "RGBA", "P", "P_transparent", "CMYK", "TIFF", "WEBP", "BMP", "LA"],
)
def test_image_modes_become_8bit_rgb(tmp_path, kind):
    base = _gradient()
    if kind == "L":
        path = _save(Image.fromarray(base[..., 0]), tmp_path / "gray.png")
        expected = np.repeat(base[..., :1], 3, -1)
    elif kind == "I;16":
        path = _save(Image.fromarray(base[..., 0].astype(np.uint16) * 257), tmp_path / "g16.png")
        expected = np.repeat(base[..., :1], 3, -1)
    elif kind == "RGB16":  # 16-bit RGB PNG, written with OpenCV (Pillow cannot write it)
        import cv2

        path = tmp_path / "rgb16.png"
        cv2.imwrite(str(path), (base[..., ::-1].astype(np.uint16) * 257))
        expected = base
    elif kind in ("RGBA", "LA"):
        rgba = np.dstack([base, np.full(base.shape[:2], 255, np.uint8)])
        rgba[:, :10, 3] = 0  # fully transparent strip: must come out white
        img = Image.fromarray(rgba, "RGBA")
        path = _save(img if kind == "RGBA" else img.convert("LA"), tmp_path / f"{kind}.png")
        expected = (
            base.copy()
            if kind == "RGBA"
            else np.repeat(np.asarray(Image.fromarray(base).convert("L"))[..., None], 3, -1)
        )
        expected[:, :10] = 255
    elif kind in ("P", "P_transparent"):
        pal = Image.fromarray(base).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
        if kind == "P_transparent":
            pal.info["transparency"] = int(np.asarray(pal)[0, 0])
        path = _save(
            pal,
            tmp_path / f"{kind}.png",
            **({"transparency": pal.info["transparency"]} if kind == "P_transparent" else {}),
        )
        expected = np.asarray(pal.convert("RGB"))
        if kind == "P_transparent":
            mask = np.asarray(pal) == pal.info["transparency"]
            expected = expected.copy()
            expected[mask] = 255
    elif kind == "CMYK":
        path = _save(Image.fromarray(base).convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
        expected = base
    else:
        ext = {"TIFF": "tif", "WEBP": "webp", "BMP": "bmp"}[kind]
        extra = {"lossless": True} if kind == "WEBP" else {}
        path = _save(Image.fromarray(base), tmp_path / f"img.{ext}", **extra)
        expected = base
    rgb, _ = load_image(path)
    assert rgb.dtype == np.uint8 and rgb.shape == base.shape
    tolerance = 12 if kind in ("CMYK",) else 2
    assert np.abs(rgb.astype(int) - expected.astype(int)).mean() < tolerance, kind


def test_animated_gif_first_frame_with_a_note(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    rgb, notes = load_image(path)
    assert tuple(rgb[8, 8]) == (255, 0, 0)
    assert notes and "first of 2 frames" in notes[0]


@pytest.mark.parametrize("size", [(1, 1), (10000, 50), (50, 10000)])
def test_extreme_sizes_are_explained(tiny_model, tmp_path, size):
    from saliency_desktop.engine import explain

    path = _save(Image.new("RGB", size, (120, 30, 200)), tmp_path / "odd.png")
    res = explain(tiny_model, path, methods=["gradcam", "vanilla_gradients"])
    assert res.image.shape == (size[1], size[0], 3)
    assert res.methods["gradcam"].map.shape == (8, 8)


def test_non_ascii_file_name(tmp_path):
    path = _save(Image.fromarray(_gradient()), tmp_path / "chien_été_犬.png")
    assert load_image(path)[0].shape == (24, 40, 3)


def test_arrays_and_pil_images():
    base = _gradient()
    assert np.array_equal(load_image(base)[0], base)
    assert np.array_equal(load_image(Image.fromarray(base))[0], base)
    assert load_image(base[..., 0])[0].shape == (24, 40, 3)
    with pytest.raises(ImageError, match="uint8"):
        load_image(base.astype(np.float32))


def _truncated_jpeg(tmp_path: Path) -> Path:
    buf = io.BytesIO()
    Image.fromarray(_gradient(200, 200)).save(buf, "JPEG")
    path = tmp_path / "half.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


@pytest.mark.parametrize(
    "case,pattern",
    [
        ("empty", "empty"),
        ("truncated", "damaged or truncated"),
        ("random", "not an image"),
        ("text", "not an image"),
        ("directory", "is a folder"),
        ("missing", "no such file"),
        ("bomb", "over the limit"),
    ],
)
def test_bad_images_are_refused_with_one_line(tmp_path, case, pattern):
    if case == "empty":
        path = tmp_path / "empty.png"
        path.write_bytes(b"")
    elif case == "truncated":
        path = _truncated_jpeg(tmp_path)
    elif case == "random":
        path = tmp_path / "noise.png"
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif case == "text":
        path = tmp_path / "notes.jpg"
        path.write_text("this is not a picture\n")
    elif case == "directory":
        path = tmp_path / "folder.png"
        path.mkdir()
    elif case == "missing":
        path = tmp_path / "gone.png"
    else:  # a PNG header claiming 20000 x 20000 pixels: refused before any pixel is decoded
        path = tmp_path / "bomb.png"
        side = int(np.sqrt(MAX_PIXELS)) + 10
        Image.new("1", (side, side)).save(path)  # 1-bit, compresses to almost nothing
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert pattern in message and "\n" not in message and path.name in message


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    import resource

    side = int(np.sqrt(MAX_PIXELS)) + 10
    path = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(path)
    assert path.stat().st_size < 5_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageError):
        load_image(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50  # decoding it as RGB would take over 500 MB


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0,
    reason="root reads any file; permissions cannot be tested as root",
)
def test_unreadable_file(tmp_path):
    path = _save(Image.fromarray(_gradient()), tmp_path / "locked.png")
    path.chmod(0)
    with pytest.raises(ImageError, match="permission denied"):
        load_image(path)


def test_unreadable_file_even_as_root(tmp_path, monkeypatch):
    """As root, simulate the permission error Pillow would see."""
    path = _save(Image.fromarray(_gradient()), tmp_path / "locked.png")
    import PIL.Image

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(PIL.Image, "open", deny)
    with pytest.raises(ImageError, match="permission denied"):
        load_image(path)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(min_size=0, max_size=4096),
    suffix=st.sampled_from([".png", ".jpg", ".gif", ".bmp", ".tif", ".webp"]),
)
def test_fuzz_loader_bytes(tmp_path, data, suffix):
    """Any bytes: an RGB uint8 array or an ImageError, never another exception or a hang."""
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        rgb, _ = load_image(path)
    except ImageError as exc:
        assert "\n" not in str(exc)
    else:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    w=st.integers(1, 300),
    h=st.integers(1, 300),
    mode=st.sampled_from(["RGB", "L", "RGBA", "P", "I;16", "CMYK", "1"]),
    fmt=st.sampled_from(["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP"]),
    cut=st.floats(0.0, 1.0),
)
def test_fuzz_loader_real_images_cut_anywhere(tmp_path, w, h, mode, fmt, cut):
    """Valid images of any size and mode, in any format Pillow writes, truncated anywhere."""
    img = Image.fromarray(np.random.default_rng(w * h).integers(0, 256, (h, w, 3), np.uint8))
    img = (
        img.convert(mode)
        if mode != "I;16"
        else Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257)
    )
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, ValueError, KeyError):
        return  # this format cannot hold this mode: nothing to test
    data = buf.getvalue()
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: max(1, int(len(data) * cut))] if cut < 1.0 else data)
    try:
        rgb, _ = load_image(path)
    except ImageError:
        assert cut < 1.0  # whole images must load
    else:
        assert rgb.shape == (h, w, 3) and rgb.dtype == np.uint8


def test_decoded_files_are_cached_until_they_change(tmp_path):
    path = _save(Image.fromarray(_gradient()), tmp_path / "c.png")
    first, _ = load_image(path)
    assert load_image(path)[0] is first and not first.flags.writeable
    os.utime(path, ns=(1, 1))  # touched: decoded again
    _save(Image.fromarray(255 - _gradient()), path)
    again, _ = load_image(path)
    assert again is not first and np.array_equal(again, 255 - _gradient())
