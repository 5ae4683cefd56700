"""Saliency Desktop: see where an image classifier is looking.

What lives here: the version (only: importing the package loads nothing heavy), the command
line (`cli.py` parses and dispatches; a module per command: `explain_cmd.py`, `evaluate_cmd.py`,
`predict_cmd.py`, `cli_activations.py`, `selftest.py`; shared: `batch.py` the batch machinery
and the per-image loop, `cli_params.py` method parameters from the registry, `cli_common.py`,
`cli_boxes.py`), one image's work for a local run and a Ray worker alike (`compute.py`), and
the one atomic file writer (`atomic.py`, standard library only). Sub-packages: `engine/` (models,
methods, no Qt), `render/` (pictures and files, shared by the app and the CLI), `ui/` (the
PySide6 app), `resources/` (files shipped with the package).

The CLI modules may import: `render/`, `atomic`, `cluster/`, the engine's public API (the
names in `saliency_desktop.engine.__all__`, `engine.types`, `engine.metric_types`), and `ui.app`
inside the `gui` command only; TensorFlow, Keras, JAX, torch and Ray inside functions only. No
module but a method's own file names a method id: they ask the registry. tests/test_boundaries.py
checks every package's rule.
"""

__version__ = "0.1.0"
