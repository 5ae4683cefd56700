"""Saliency Desktop: see where an image classifier is looking.

What lives here: the version (only: importing the package loads nothing heavy), the command
line (`cli.py`, `batch.py`, `evaluate_cmd.py`, `predict_cmd.py`, `selftest.py`) and the one
atomic file writer (`atomic.py`, standard library only). Sub-packages: `engine/` (models,
methods, no Qt), `render/` (pictures and files, shared by the app and the CLI), `ui/` (the
PySide6 app), `resources/` (files shipped with the package).

The CLI modules may import: `render/`, `atomic`, the engine's public API (the names in
`saliency_desktop.engine.__all__`, `engine.types`, `engine.metric_types`), and `ui.app` inside
the `gui` command only. tests/test_boundaries.py checks every package's rule.
"""

__version__ = "0.1.0"
