"""Regenerate resources/icons/ from the app icon in saliency_desktop/resources/icons/.

    python packaging/make_icons.py

- hicolor/{48x48,128x128,256x256}/apps/<APP_ID>.png and hicolor/scalable/apps/<APP_ID>.svg:
  byte-for-byte copies of the runtime icons (the .desktop entry's `Icon=` is the app id);
- saliency-desktop.ico (Windows: 16 to 256 px) and saliency-desktop.icns (macOS: 16 to 1024 px),
  rendered from the SVG with Qt's SVG renderer so that every size is sharp.

tests/packaging/test_desktop.py checks that the copies match their sources.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "saliency_desktop" / "resources" / "icons"
TARGET = ROOT / "resources" / "icons"
NAME = "saliency-desktop"
APP_ID = "io.github.saliency_desktop.SaliencyDesktop"
PNG_SIZES = (48, 128, 256)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def copy_hicolor() -> list[Path]:
    out = []
    for size in PNG_SIZES:
        dest = TARGET / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOURCE / f"{NAME}-{size}.png", dest)
        out.append(dest)
    dest = TARGET / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE / f"{NAME}.svg", dest)
    return [*out, dest]


def render(size: int):  # -> PIL.Image.Image
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice  # noqa: TID251

    from saliency_desktop.ui.icons import render_svg

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    render_svg(SOURCE / f"{NAME}.svg", size).save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA")


def platform_icons() -> list[Path]:
    from PySide6.QtGui import QGuiApplication  # noqa: TID251

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renders = {size: render(size) for size in sorted({*ICO_SIZES, *ICNS_SIZES})}
    ico, icns = TARGET / f"{NAME}.ico", TARGET / f"{NAME}.icns"
    largest = renders[max(ICO_SIZES)]
    largest.save(
        ico,
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[renders[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    renders[max(ICNS_SIZES)].save(
        icns, append_images=[renders[s] for s in ICNS_SIZES if s != max(ICNS_SIZES)]
    )
    return [ico, icns]


if __name__ == "__main__":
    for path in [*copy_hicolor(), *platform_icons()]:
        print(path.relative_to(ROOT))
