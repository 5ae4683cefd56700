"""File dialogs sized so their columns read whole (Qt's own dialog opens 640 px wide with a
Name column cut to a few letters); the same calls as QFileDialog's static functions."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QHeaderView, QTreeView, QWidget

SIZE = (960, 600)
NAME_SHARE = 0.5  # of the list's width, for the Name column

Mode = QFileDialog.FileMode


def prepare(dialog: QFileDialog) -> QFileDialog:
    """A roomy dialog in the detail view, Name column wide, the others fitted to contents."""
    dialog.resize(*SIZE)
    dialog.setViewMode(QFileDialog.ViewMode.Detail)
    tree = dialog.findChild(QTreeView, "treeView")  # only Qt's own (non-native) dialog has it
    if tree is not None:
        header = tree.header()
        header.setStretchLastSection(False)
        for column in range(1, header.count()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(80)
    return dialog


def _dialog(parent: QWidget | None, caption: str, directory: str, filters: str) -> QFileDialog:
    return QFileDialog(parent, caption, directory, filters)


def open_files(parent: QWidget | None, caption: str, directory: str, filters: str) -> list[str]:
    dialog = prepare(_dialog(parent, caption, directory, filters))
    dialog.setFileMode(Mode.ExistingFiles)
    return list(dialog.selectedFiles()) if dialog.exec() else []


def open_file(parent: QWidget | None, caption: str, directory: str, filters: str) -> str:
    dialog = prepare(_dialog(parent, caption, directory, filters))
    dialog.setFileMode(Mode.ExistingFile)
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""


def existing_dir(parent: QWidget | None, caption: str, directory: str) -> str:
    dialog = prepare(_dialog(parent, caption, directory, ""))
    dialog.setFileMode(Mode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""


def save_file(
    parent: QWidget | None,
    caption: str,
    path: str,
    filters: str,
    options: QFileDialog.Option | None = None,
) -> tuple[str, str]:
    """(path, the chosen filter), ("", "") when cancelled. `path` is the proposed file."""
    dialog = prepare(_dialog(parent, caption, path, filters))  # a file name here is selected
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    if options is not None:
        dialog.setOptions(options)
    if not dialog.exec() or not dialog.selectedFiles():
        return "", ""
    return dialog.selectedFiles()[0], dialog.selectedNameFilter()
