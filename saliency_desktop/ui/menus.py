"""The menu bar: File, Model, View, Explain, Help, with the app's keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    backend: Any = None  # the Engine backend submenu's BackendChoice


@dataclass(frozen=True)
class ActionSpec:
    """One menu entry, as data (napari's `qactions`): `slot` picks the callback from the window
    when the menus are built. `id` "-" is a separator; "@name" is a place filled in by code
    (the recent and sample lists, the model catalogue, the view modes, the panels)."""

    id: str
    menu: str = ""
    text: str = ""
    slot: Callable[[MainWindow], Callable[..., Any]] | None = None
    shortcut: object = None
    tip: str = ""
    checkable: bool = False
    enabled: bool = True
    on_toggle: bool = False  # the slot follows every change of the check, not only clicks


SEP = ActionSpec("-")
MENUS = (("file", "&File"), ("model", "&Model"), ("view", "&View"), ("explain", "&Explain"),
         ("help", "&Help"))  # fmt: skip

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "file", "&Open images...", lambda w: w.commands.open_images, Key.Open,
               "Open one or more image files"),
    ActionSpec("open_folder", "file", "Open &folder...", lambda w: w.commands.open_folder,
               "Ctrl+Shift+O", "Open every image in a folder"),
    ActionSpec("open_dataset", "file", "Open &data set...", lambda w: w.commands.open_dataset,
               "Ctrl+D", "A folder whose subfolders are class names: predictions, accuracy, "
               "confusion, mistakes"),
    ActionSpec("open_dataset_csv", "file", "Open data set from CS&V...",
               lambda w: w.commands.open_dataset_csv,
               tip="A CSV of path,label rows: predictions, accuracy, confusion, mistakes"),
    ActionSpec("@recent", "file", "Open &recent"),
    ActionSpec("@samples", "file", "&Samples"),
    ActionSpec("paste", "file", "&Paste image", lambda w: w.commands.paste, Key.Paste,
               "Explain the image on the clipboard"),
    replace(SEP, menu="file"),
    ActionSpec("export_report", "file", "&Export report...", lambda w: w.commands.export_report,
               "Ctrl+E", "The report figure (PNG, PDF or SVG), as the command line's"),
    ActionSpec("export_view", "file", "Export &view as PNG...",
               lambda w: w.commands.export_view, "Ctrl+Shift+E",
               "The current view at the image's full resolution"),
    ActionSpec("export_arrays", "file", "Export raw &maps...",
               lambda w: w.commands.export_arrays, "Ctrl+Alt+E",
               "The raw float32 maps (.npz) and a JSON record"),
    ActionSpec("full_paths", "file", "Keep full &paths in records",
               lambda w: lambda on: setattr(w.settings, "full_paths", on),
               tip="Exported JSON records keep the image's and model's absolute paths (private "
               "use); off, they carry file names and SHA-256 only", checkable=True,
               on_toggle=True),
    ActionSpec("copy", "file", "&Copy view", lambda w: w.commands.copy_view, "Ctrl+Shift+C",
               "The current view at full resolution, to the clipboard"),
    replace(SEP, menu="file"),
    ActionSpec("quit", "file", "&Quit", lambda w: w.close, Key.Quit),
    ActionSpec("@models", "model"),
    replace(SEP, menu="model"),
    ActionSpec("open_model", "model", "Open model &file...",
               lambda w: w.commands.open_model_file, "Ctrl+M",
               "A .keras, .h5 or SavedModel classifier of your own"),
    replace(SEP, menu="model"),
    ActionSpec("@backends", "model", "Engine &backend"),
    ActionSpec("@view_modes", "view"),
    replace(SEP, menu="view"),
    ActionSpec("@zoom", "view"),
    ActionSpec("zoom_in", "view", "Zoom &in", lambda w: lambda: w.view.canvas.zoom_by(1.25),
               Key.ZoomIn),
    ActionSpec("zoom_out", "view", "Zoom &out", lambda w: lambda: w.view.canvas.zoom_by(0.8),
               Key.ZoomOut),
    replace(SEP, menu="view"),
    ActionSpec("prev", "view", "&Previous image", lambda w: lambda: w.strip.step(-1), "PgUp"),
    ActionSpec("next", "view", "&Next image", lambda w: lambda: w.strip.step(1), "PgDown"),
    replace(SEP, menu="view"),
    ActionSpec("@docks", "view"),
    ActionSpec("reset_layout", "view", "&Reset layout", lambda w: w.reset_layout,
               tip="Every panel back in place at its size"),
    ActionSpec("explain", "explain", "&Explain now", lambda w: w.session.explain_now, "F5",
               "Compute the maps that are missing"),
    ActionSpec("top1", "explain", "Explain the &top class",
               lambda w: lambda: w.session.set_target(None), "T",
               "Go back to the predicted class"),
    ActionSpec("cancel", "explain", "&Cancel", lambda w: w.session.cancel, "Esc",
               "Stop the running job"),
    replace(SEP, menu="explain"),
    ActionSpec("face_crop", "explain", "Crop to the &face (face models)",
               lambda w: w.set_face_crop, tip="Explain the face found in the photo, as face "
               "models were trained; the map is drawn back on the whole photo",
               checkable=True, enabled=False),
    ActionSpec("log", "help", "Show &log", lambda w: w.commands.show_log),
    ActionSpec("about", "help", "&About Saliency Desktop", lambda w: w.commands.about),
)  # fmt: skip


def make_action(win: MainWindow, spec: ActionSpec) -> QAction:
    action = QAction(spec.text, win, checkable=spec.checkable)
    if spec.shortcut is not None:
        action.setShortcut(QKeySequence(spec.shortcut))  # type: ignore[call-overload]
    if spec.tip:
        action.setStatusTip(spec.tip)
        action.setToolTip(spec.tip)
    if spec.slot is not None:
        signal = action.toggled if spec.on_toggle else action.triggered
        signal.connect(spec.slot(win))  # type: ignore[arg-type]
    action.setEnabled(spec.enabled)
    return action


def build_menus(win: MainWindow) -> Menus:
    """The menu bar from `ACTIONS`, with the lists only known at run time put in their places."""
    menus_by_id = {key: win.menuBar().addMenu(title) for key, title in MENUS}
    menus = Menus(QMenu(), QMenu())
    for spec in ACTIONS:
        menu = menus_by_id[spec.menu]
        if spec.id == "-":
            menu.addSeparator()
        elif spec.id.startswith("@"):
            _fill_place(win, menus, menu, spec)
        else:
            menus.actions[spec.id] = make_action(win, spec)
            menu.addAction(menus.actions[spec.id])
    menus.actions["full_paths"].setChecked(win.settings.full_paths)
    fill_samples(win, menus)
    return menus


def _fill_place(win: MainWindow, menus: Menus, menu: QMenu, spec: ActionSpec) -> None:
    if spec.id == "@recent":
        menus.recent = menu.addMenu(spec.text)
    elif spec.id == "@samples":
        menus.samples = menu.addMenu(spec.text)
    elif spec.id == "@models":
        _model_entries(win, menus, menu)
    elif spec.id == "@view_modes":
        menu.addActions([win.view.single_action, win.view.compare_action])
    elif spec.id == "@zoom":
        menu.addActions([win.view.fit_action, win.view.zoom100_action])
    elif spec.id == "@backends":
        from saliency_desktop.ui.backend_choice import BackendChoice

        menus.backend = BackendChoice(win, menu.addMenu(spec.text))
    elif spec.id == "@docks":
        for dock in (*win.docks, win.trust, win.dataset):
            menu.addAction(dock.toggleViewAction())


def _model_entries(win: MainWindow, menus: Menus, menu: QMenu) -> None:
    """The catalogue: embedded models, then ImageNet ones (marked when not yet downloaded)."""
    group = QActionGroup(win)
    menus.model_group = group
    entries = list(win.engine.catalogue().values())
    for section, embedded in (("Embedded models", True), ("ImageNet (downloaded once)", False)):
        menu.addSection(section)
        for entry in (e for e in entries if (e.kind == "embedded") == embedded):
            text = entry.label
            if entry.kind != "embedded" and cached_weights(entry) is None:
                text += " (download)"
            action = QAction(text, win, checkable=True)
            action.setStatusTip(f"{entry.id}: {entry.licence}")
            action.triggered.connect(
                lambda _=False, e=entry: win.load_model(ModelRequest(e.id), e.label)
            )
            group.addAction(action)
            menu.addAction(action)
            menus.models[entry.id] = action


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
