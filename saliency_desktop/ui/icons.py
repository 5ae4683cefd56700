"""The app icon (resources/icons): the hand-written SVG and its PNG renders.

`python -m saliency_desktop.ui.icons` renders the PNGs again after the SVG changes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPainter

NAME = "saliency-desktop"
SIZES = (48, 128, 256)


def icons_dir() -> Path:
    return Path(str(resources.files("saliency_desktop.resources").joinpath("icons")))


def app_icon() -> QIcon:
    icon = QIcon()
    folder = icons_dir()
    for size in SIZES:
        png = folder / f"{NAME}-{size}.png"
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    svg = folder / f"{NAME}.svg"
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    return icon


def render_svg(svg: Path, size: int) -> QImage:
    """The SVG drawn at size x size pixels, antialiased, on a transparent background."""
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"the icon SVG {svg} cannot be read")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def render_pngs(folder: Path | None = None) -> list[Path]:
    folder = folder or icons_dir()
    out = []
    for size in SIZES:
        path = folder / f"{NAME}-{size}.png"
        render_svg(folder / f"{NAME}.svg", size).save(str(path))
        out.append(path)
    return out


if __name__ == "__main__":
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication([])
    for p in render_pngs():
        print(p)
