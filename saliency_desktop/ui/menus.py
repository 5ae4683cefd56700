"""The menu bar: File, Model, View, Explain, Help, with the app's keyboard shortcuts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from saliency_desktop.engine import cached_weights
from saliency_desktop.ui.engine_api import ModelRequest
from saliency_desktop.ui.images import sample_images

if TYPE_CHECKING:
    from saliency_desktop.ui.main_window import MainWindow

Key = QKeySequence.StandardKey


@dataclass
class Menus:
    recent: QMenu
    samples: QMenu
    models: dict[str, QAction] = field(default_factory=dict)
    model_group: QActionGroup | None = None
    actions: dict[str, QAction] = field(default_factory=dict)


def _action(
    win: MainWindow, menu: QMenu, text: str, slot: object, shortcut: object = None, tip: str = ""
) -> QAction:
    action = QAction(text, win)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(slot)  # type: ignore[arg-type]
    menu.addAction(action)
    return action


def build_menus(win: MainWindow) -> Menus:
    bar = win.menuBar()
    c = win.commands
    file = bar.addMenu("&File")
    a: dict[str, QAction] = {}
    a["open"] = _action(
        win, file, "&Open images...", c.open_images, Key.Open, "Open one or more image files"
    )
    a["open_folder"] = _action(
        win, file, "Open &folder...", c.open_folder, "Ctrl+Shift+O", "Open every image in a folder"
    )
    recent = file.addMenu("Open &recent")
    samples = file.addMenu("&Samples")
    a["paste"] = _action(
        win, file, "&Paste image", c.paste, Key.Paste, "Explain the image on the clipboard"
    )
    file.addSeparator()
    a["export_report"] = _action(
        win,
        file,
        "&Export report...",
        c.export_report,
        "Ctrl+E",
        "The report figure (PNG, PDF or SVG), as the command line's",
    )
    a["export_view"] = _action(
        win,
        file,
        "Export &view as PNG...",
        c.export_view,
        "Ctrl+Shift+E",
        "The current view at the image's full resolution",
    )
    a["export_arrays"] = _action(
        win,
        file,
        "Export raw &maps...",
        c.export_arrays,
        "Ctrl+Alt+E",
        "The raw float32 maps (.npz) and a JSON record",
    )
    a["full_paths"] = full = QAction("Keep full &paths in records", win, checkable=True)
    full.setStatusTip(
        "Exported JSON records keep the image's and model's absolute paths (private use); "
        "off, they carry file names and SHA-256 only"
    )
    full.setChecked(win.settings.full_paths)
    full.toggled.connect(lambda on: setattr(win.settings, "full_paths", on))
    file.addAction(full)
    a["copy"] = _action(
        win,
        file,
        "&Copy view",
        c.copy_view,
        "Ctrl+Shift+C",
        "The current view at full resolution, to the clipboard",
    )
    file.addSeparator()
    a["quit"] = _action(win, file, "&Quit", win.close, Key.Quit)

    model_menu = bar.addMenu("&Model")
    menus = Menus(recent, samples, actions=a)
    group = QActionGroup(win)
    menus.model_group = group
    embedded = [e for e in win.engine.catalogue().values() if e.kind == "embedded"]
    imagenet = [e for e in win.engine.catalogue().values() if e.kind != "embedded"]
    for section, entries in (
        ("Embedded models", embedded),
        ("ImageNet (downloaded once)", imagenet),
    ):
        model_menu.addSection(section)
        for entry in entries:
            text = entry.label
            if entry.kind != "embedded" and cached_weights(entry) is None:
                text += " (download)"
            action = QAction(text, win, checkable=True)
            action.setStatusTip(f"{entry.id}: {entry.licence}")
            action.triggered.connect(
                lambda _=False, e=entry: win.load_model(ModelRequest(e.id), e.label)
            )
            group.addAction(action)
            model_menu.addAction(action)
            menus.models[entry.id] = action
    model_menu.addSeparator()
    a["open_model"] = _action(
        win,
        model_menu,
        "Open model &file...",
        c.open_model_file,
        "Ctrl+M",
        "A .keras, .h5 or SavedModel classifier of your own",
    )

    view = bar.addMenu("&View")
    v = win.view
    for action in (v.single_action, v.compare_action):
        view.addAction(action)
    view.addSeparator()
    view.addAction(v.fit_action)
    view.addAction(v.zoom100_action)
    a["zoom_in"] = _action(win, view, "Zoom &in", lambda: v.canvas.zoom_by(1.25), Key.ZoomIn)
    a["zoom_out"] = _action(win, view, "Zoom &out", lambda: v.canvas.zoom_by(0.8), Key.ZoomOut)
    view.addSeparator()
    a["prev"] = _action(win, view, "&Previous image", lambda: win.strip.step(-1), "PgUp")
    a["next"] = _action(win, view, "&Next image", lambda: win.strip.step(1), "PgDown")
    view.addSeparator()
    for dock in win.docks:
        view.addAction(dock.toggleViewAction())
    a["reset_layout"] = _action(
        win, view, "&Reset layout", win.reset_layout, tip="Every panel back in place at its size"
    )

    run = bar.addMenu("&Explain")
    a["explain"] = _action(
        win, run, "&Explain now", win.session.explain_now, "F5", "Compute the maps that are missing"
    )
    a["top1"] = _action(
        win,
        run,
        "Explain the &top class",
        lambda: win.session.set_target(None),
        "T",
        "Go back to the predicted class",
    )
    a["cancel"] = _action(win, run, "&Cancel", win.session.cancel, "Esc", "Stop the running job")
    run.addSeparator()
    a["face_crop"] = _action(
        win,
        run,
        "Crop to the &face (face models)",
        win.set_face_crop,
        tip="Explain the face found in the photo, as face models were trained; the map is "
        "drawn back on the whole photo",
    )
    a["face_crop"].setCheckable(True)
    a["face_crop"].setEnabled(False)

    help_menu = bar.addMenu("&Help")
    a["log"] = _action(win, help_menu, "Show &log", c.show_log)
    a["about"] = _action(win, help_menu, "&About Saliency Desktop", c.about)
    fill_samples(win, menus)
    return menus


def fill_recent(win: MainWindow, menus: Menus, paths: list[str]) -> None:
    menus.recent.clear()
    for path in paths:
        action = menus.recent.addAction(Path(path).name or path)
        action.setStatusTip(path)
        action.triggered.connect(lambda _=False, p=path: win.open_paths([p]))
    if paths:
        menus.recent.addSeparator()
        menus.recent.addAction("Clear list", win.clear_recent)
    menus.recent.setEnabled(bool(paths))


def fill_samples(win: MainWindow, menus: Menus) -> None:
    menus.samples.clear()
    found, names = [], set()
    for label, path in sample_images():  # each photo once (a package may ship a bundled one)
        if Path(path).name.lower() not in names:
            names.add(Path(path).name.lower())
            found.append((label, path))
    for label, path in found:
        action = menus.samples.addAction(label)
        action.setStatusTip(path)
        action.triggered.connect(lambda _=False, p=path: win.open_paths([p], recent=False))
    if found:
        menus.samples.addSeparator()
        menus.samples.addAction(
            "Open all samples", lambda: win.open_paths([p for _, p in found], recent=False)
        )
    menus.samples.setEnabled(bool(found))
