"""The menu bar: File, Model, View, Explain, Help, with the app's keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QMenuBar, QWidget

from saliency_desktop.engine import cached_weights
from saliency_desktop.ui.engine_api import ModelRequest
from saliency_desktop.ui.images import sample_images

if TYPE_CHECKING:
    from saliency_desktop.ui.commands import Commands
    from saliency_desktop.ui.image_strip import ImageStrip
    from saliency_desktop.ui.session import Session
    from saliency_desktop.ui.settings import Settings
    from saliency_desktop.ui.view_panel import ViewPanel

Key = QKeySequence.StandardKey


@dataclass(frozen=True)
class MenuParts:
    """What the menus need: the actions' targets and the app's lists (the main window gives
    them; the menus never reach into it)."""

    parent: QWidget  # owns the actions
    commands: Commands
    session: Session
    settings: Settings
    view: ViewPanel
    strip: ImageStrip
    quit: Callable[[], object]
    reset_layout: Callable[[], None]
    set_face_crop: Callable[[bool], None]
    open_paths: Callable[..., None]  # (paths, recent=True)
    load_model: Callable[[ModelRequest, str], None]
    clear_recent: Callable[[], None]
    docks: Sequence[QDockWidget] = ()  # View's list of panels


@dataclass
class Menus:
    parts: MenuParts
    recent: QMenu
    samples: QMenu
    models: dict[str, QAction] = field(default_factory=dict)
    model_group: QActionGroup | None = None
    actions: dict[str, QAction] = field(default_factory=dict)
    backend: Any = None  # the Engine backend submenu's BackendChoice


@dataclass(frozen=True)
class ActionSpec:
    """One menu entry, as data (napari's `qactions`): `slot` picks the callback from the
    `MenuParts` when the menus are built. `id` "-" is a separator; "@name" is a place filled
    in by code (the recent and sample lists, the model catalogue, the view modes, the panels)."""

    id: str
    menu: str = ""
    text: str = ""
    slot: Callable[[MenuParts], Callable[..., Any]] | None = None
    shortcut: object = None
    tip: str = ""
    checkable: bool = False
    enabled: bool = True
    on_toggle: bool = False  # the slot follows every change of the check, not only clicks


SEP = ActionSpec("-")
MENUS = (("file", "&File"), ("model", "&Model"), ("view", "&View"), ("explain", "&Explain"),
         ("help", "&Help"))  # fmt: skip

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "file", "&Open images...", lambda p: p.commands.open_images, Key.Open,
               "Open one or more image files"),
    ActionSpec("open_folder", "file", "Open &folder...", lambda p: p.commands.open_folder,
               "Ctrl+Shift+O", "Open every image in a folder"),
    ActionSpec("open_dataset", "file", "Open &data set...", lambda p: p.commands.open_dataset,
               "Ctrl+D", "A folder whose subfolders are class names: predictions, accuracy, "
               "confusion, mistakes"),
    ActionSpec("open_dataset_csv", "file", "Open data set from CS&V...",
               lambda p: p.commands.open_dataset_csv,
               tip="A CSV of path,label rows: predictions, accuracy, confusion, mistakes"),
    ActionSpec("@recent", "file", "Open &recent"),
    ActionSpec("@samples", "file", "&Samples"),
    ActionSpec("paste", "file", "&Paste image", lambda p: p.commands.paste, Key.Paste,
               "Explain the image on the clipboard"),
    replace(SEP, menu="file"),
    ActionSpec("export_report", "file", "&Export report...", lambda p: p.commands.export_report,
               "Ctrl+E", "The report figure (PNG, PDF or SVG), as the command line's"),
    ActionSpec("export_view", "file", "Export &view as PNG...",
               lambda p: p.commands.export_view, "Ctrl+Shift+E",
               "The current view at the image's full resolution"),
    ActionSpec("export_arrays", "file", "Export raw &maps...",
               lambda p: p.commands.export_arrays, "Ctrl+Alt+E",
               "The raw float32 maps (.npz) and a JSON record"),
    ActionSpec("full_paths", "file", "Keep full &paths in records",
               lambda p: lambda on: setattr(p.settings, "full_paths", on),
               tip="Exported JSON records keep the image's and model's absolute paths (private "
               "use); off, they carry file names and SHA-256 only", checkable=True,
               on_toggle=True),
    ActionSpec("copy", "file", "&Copy view", lambda p: p.commands.copy_view, "Ctrl+Shift+C",
               "The current view at full resolution, to the clipboard"),
    replace(SEP, menu="file"),
    ActionSpec("quit", "file", "&Quit", lambda p: p.quit, Key.Quit),
    ActionSpec("@models", "model"),
    replace(SEP, menu="model"),
    ActionSpec("open_model", "model", "Open model &file...",
               lambda p: p.commands.open_model_file, "Ctrl+M",
               "A .keras, .h5 or SavedModel classifier of your own"),
    replace(SEP, menu="model"),
    ActionSpec("@backends", "model", "Engine &backend"),
    ActionSpec("@view_modes", "view"),
    replace(SEP, menu="view"),
    ActionSpec("@zoom", "view"),
    ActionSpec("zoom_in", "view", "Zoom &in", lambda p: lambda: p.view.canvas.zoom_by(1.25),
               Key.ZoomIn),
    ActionSpec("zoom_out", "view", "Zoom &out", lambda p: lambda: p.view.canvas.zoom_by(0.8),
               Key.ZoomOut),
    replace(SEP, menu="view"),
    ActionSpec("prev", "view", "&Previous image", lambda p: lambda: p.strip.step(-1), "PgUp"),
    ActionSpec("next", "view", "&Next image", lambda p: lambda: p.strip.step(1), "PgDown"),
    replace(SEP, menu="view"),
    ActionSpec("@docks", "view"),
    ActionSpec("reset_layout", "view", "&Reset layout", lambda p: p.reset_layout,
               tip="Every panel back in place at its size"),
    ActionSpec("explain", "explain", "&Explain now", lambda p: p.session.explain_now, "F5",
               "Compute the maps that are missing"),
    ActionSpec("top1", "explain", "Explain the &top class",
               lambda p: lambda: p.session.set_target(None), "T",
               "Go back to the predicted class"),
    ActionSpec("cancel", "explain", "&Cancel", lambda p: p.session.cancel, "Esc",
               "Stop the running job"),
    replace(SEP, menu="explain"),
    ActionSpec("face_crop", "explain", "Crop to the &face (face models)",
               lambda p: p.set_face_crop, tip="Explain the face found in the photo, as face "
               "models were trained; the map is drawn back on the whole photo",
               checkable=True, enabled=False),
    ActionSpec("log", "help", "Show &log", lambda p: p.commands.show_log),
    ActionSpec("about", "help", "&About Saliency Desktop", lambda p: p.commands.about),
)  # fmt: skip


def make_action(parts: MenuParts, spec: ActionSpec) -> QAction:
    action = QAction(spec.text, parts.parent, checkable=spec.checkable)
    if spec.shortcut is not None:
        action.setShortcut(QKeySequence(spec.shortcut))  # type: ignore[call-overload]
    if spec.tip:
        action.setStatusTip(spec.tip)
        action.setToolTip(spec.tip)
    if spec.slot is not None:
        signal = action.toggled if spec.on_toggle else action.triggered
        signal.connect(spec.slot(parts))  # type: ignore[arg-type]
    action.setEnabled(spec.enabled)
    return action


def build_menus(bar: QMenuBar, parts: MenuParts) -> Menus:
    """The menu bar from `ACTIONS`, with the lists only known at run time put in their places."""
    menus_by_id = {key: bar.addMenu(title) for key, title in MENUS}
    menus = Menus(parts, QMenu(), QMenu())
    for spec in ACTIONS:
        menu = menus_by_id[spec.menu]
        if spec.id == "-":
            menu.addSeparator()
        elif spec.id.startswith("@"):
            _fill_place(menus, menu, spec)
        else:
            menus.actions[spec.id] = make_action(parts, spec)
            menu.addAction(menus.actions[spec.id])
    menus.actions["full_paths"].setChecked(parts.settings.full_paths)
    fill_samples(menus)
    return menus


def _fill_place(menus: Menus, menu: QMenu, spec: ActionSpec) -> None:
    view = menus.parts.view
    if spec.id == "@recent":
        menus.recent = menu.addMenu(spec.text)
    elif spec.id == "@samples":
        menus.samples = menu.addMenu(spec.text)
    elif spec.id == "@models":
        _model_entries(menus, menu)
    elif spec.id == "@view_modes":
        menu.addActions([view.single_action, view.compare_action])
    elif spec.id == "@zoom":
        menu.addActions([view.fit_action, view.zoom100_action])
    elif spec.id == "@backends":
        from saliency_desktop.ui.backend_choice import BackendChoice

        menus.backend = BackendChoice(menus.parts.parent, menu.addMenu(spec.text))  # type: ignore[arg-type]
    elif spec.id == "@docks":
        for dock in menus.parts.docks:
            menu.addAction(dock.toggleViewAction())


def _model_entries(menus: Menus, menu: QMenu) -> None:
    """The catalogue: embedded models, then ImageNet ones (marked when not yet downloaded)."""
    parts = menus.parts
    group = QActionGroup(parts.parent)
    menus.model_group = group
    entries = list(parts.session.engine.catalogue().values())
    for section, embedded in (("Embedded models", True), ("ImageNet (downloaded once)", False)):
        menu.addSection(section)
        for entry in (e for e in entries if (e.kind == "embedded") == embedded):
            text = entry.label
            if entry.kind != "embedded" and cached_weights(entry) is None:
                text += " (download)"
            action = QAction(text, parts.parent, checkable=True)
            action.setStatusTip(f"{entry.id}: {entry.licence}")
            action.triggered.connect(
                lambda _=False, e=entry: parts.load_model(ModelRequest(e.id), e.label)
            )
            group.addAction(action)
            menu.addAction(action)
            menus.models[entry.id] = action


def fill_recent(menus: Menus, paths: list[str]) -> None:
    menus.recent.clear()
    open_paths = menus.parts.open_paths
    for path in paths:
        action = menus.recent.addAction(Path(path).name or path)
        action.setStatusTip(path)
        action.triggered.connect(lambda _=False, p=path: open_paths([p]))
    if paths:
        menus.recent.addSeparator()
        menus.recent.addAction("Clear list", menus.parts.clear_recent)
    menus.recent.setEnabled(bool(paths))


def fill_samples(menus: Menus) -> None:
    menus.samples.clear()
    open_paths = menus.parts.open_paths
    found, names = [], set()
    for label, path in sample_images():  # each photo once (a package may ship a bundled one)
        if Path(path).name.lower() not in names:
            names.add(Path(path).name.lower())
            found.append((label, path))
    for label, path in found:
        action = menus.samples.addAction(label)
        action.setStatusTip(path)
        action.triggered.connect(lambda _=False, p=path: open_paths([p], recent=False))
    if found:
        menus.samples.addSeparator()
        menus.samples.addAction(
            "Open all samples", lambda: open_paths([p for _, p in found], recent=False)
        )
    menus.samples.setEnabled(bool(found))
