"""Paths shared by the packaging tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "io.github.saliency_desktop.SaliencyDesktop"
DESKTOP = ROOT / "resources" / f"{APP_ID}.desktop"
METAINFO = ROOT / "resources" / f"{APP_ID}.metainfo.xml"
ICONS = ROOT / "resources" / "icons"
RUNTIME_ICONS = ROOT / "saliency_desktop" / "resources" / "icons"
INSTALL_DESKTOP = ROOT / "packaging" / "install-desktop.sh"
SAMPLE = ROOT / "saliency_desktop" / "resources" / "samples" / "chelsea.png"
