"""Linux desktop integration: the .desktop entry, AppStream metainfo, icons, install script."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from saliency_desktop import __version__
from saliency_desktop.engine.images import IMAGE_SUFFIXES
from tests.packaging.paths import (
    APP_ID,
    DESKTOP,
    ICONS,
    INSTALL_DESKTOP,
    METAINFO,
    ROOT,
    RUNTIME_ICONS,
)

# The freedesktop shared-mime-info type of each suffix the engine opens.
MIME_OF_SUFFIX = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jfif": "image/jpeg",
    ".bmp": "image/bmp",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".ppm": "image/x-portable-pixmap",
    ".pgm": "image/x-portable-graymap",
}
ICON_SIZES = (48, 128, 256)


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: apt-get install {package})")
    return path


def desktop_entry(path: Path = DESKTOP) -> configparser.SectionProxy:
    parser = configparser.RawConfigParser(delimiters=("=",), strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def validate_desktop(path: Path) -> None:
    proc = subprocess.run(
        [tool("desktop-file-validate", "desktop-file-utils"), str(path)],
        capture_output=True,
        text=True,
    )
    output = proc.stdout + proc.stderr
    # Hints are advice (the entry is in three main categories on purpose); errors and warnings
    # are not.
    problems = [line for line in output.splitlines() if ": hint: " not in line]
    assert proc.returncode == 0 and not problems, output


def test_desktop_entry_is_valid():
    validate_desktop(DESKTOP)


def test_metainfo_is_valid():
    proc = subprocess.run(
        [tool("appstreamcli", "appstream"), "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert not [line for line in output.splitlines() if line.startswith(("E:", "W:"))], output


def test_desktop_entry_content():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Categories"] == "Science;Education;Graphics;Qt;"
    assert entry["Icon"] == APP_ID
    assert entry["Exec"] == "saliency-desktop gui %F"  # install-desktop.sh rewrites the program
    assert entry["Terminal"] == "false"
    mimes = set(filter(None, entry["MimeType"].split(";")))
    for suffix in IMAGE_SUFFIXES:
        assert MIME_OF_SUFFIX[suffix] in mimes, f"{suffix} files cannot be opened with the app"


def test_metainfo_matches_the_entry_and_the_package():
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "MIT"
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == DESKTOP.name
    releases = root.findall("releases/release")
    assert releases[0].get("version") == __version__
    assert root.find("content_rating") is not None
    image = root.findtext("screenshots/screenshot/image") or ""
    assert image.startswith("https://") and image.endswith("docs/images/screenshot.png")


def test_icons_are_copies_of_the_runtime_icons():
    """resources/icons/ is made by packaging/make_icons.py; run it again when this fails."""
    svg = ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert svg.read_bytes() == (RUNTIME_ICONS / "saliency-desktop.svg").read_bytes()
    for size in ICON_SIZES:
        png = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png.read_bytes() == (RUNTIME_ICONS / f"saliency-desktop-{size}.png").read_bytes()
        with Image.open(png) as image:
            assert image.size == (size, size)
    with Image.open(ICONS / "saliency-desktop.ico") as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(ICONS / "saliency-desktop.icns") as icns:
        assert icns.format == "ICNS"


def installed_files(data: Path) -> list[Path]:
    icons = data / "icons" / "hicolor"
    return [
        data / "applications" / f"{APP_ID}.desktop",
        data / "metainfo" / f"{APP_ID}.metainfo.xml",
        icons / "scalable" / "apps" / f"{APP_ID}.svg",
        *(icons / f"{s}x{s}" / "apps" / f"{APP_ID}.png" for s in ICON_SIZES),
    ]


def run_install(data: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, XDG_DATA_HOME=str(data))
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        ["bash", str(INSTALL_DESKTOP), *args], env=env, capture_output=True, text=True
    )


def fake_program(folder: Path) -> Path:
    folder.mkdir(parents=True)
    program = folder / "saliency-desktop"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    return program


def test_install_and_uninstall_for_the_user(tmp_path):
    data = tmp_path / "data"
    program = fake_program(tmp_path / "my apps")  # a space: the Exec value must be quoted
    proc = run_install(data, "--exec", str(program))
    assert proc.returncode == 0, proc.stderr
    for path in installed_files(data):
        assert path.is_file(), path
    desktop = data / "applications" / f"{APP_ID}.desktop"
    entry = desktop_entry(desktop)
    assert entry["Exec"] == f'"{program}" gui %F'
    assert entry["TryExec"] == str(program)
    assert entry["Icon"] == APP_ID
    validate_desktop(desktop)
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").read_bytes() == METAINFO.read_bytes()

    proc = run_install(data, "--uninstall")
    assert proc.returncode == 0, proc.stderr
    assert not [p for p in installed_files(data) if p.exists()]


def test_install_finds_the_bundle_or_the_command_on_path(tmp_path):
    program = fake_program(tmp_path / "bin")
    proc = run_install(tmp_path / "data", path=f"{program.parent}:/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    bundle = ROOT / "dist" / "saliency-desktop" / "saliency-desktop"
    expected = bundle if os.access(bundle, os.X_OK) else program
    entry = desktop_entry(tmp_path / "data" / "applications" / f"{APP_ID}.desktop")
    assert entry["Exec"] == f"{expected} gui %F"


def test_install_refuses_a_missing_program(tmp_path):
    proc = run_install(tmp_path / "data", "--exec", str(tmp_path / "nothing"))
    assert proc.returncode == 2
    assert "not an executable file" in proc.stderr
    assert not (tmp_path / "data" / "applications").exists()
