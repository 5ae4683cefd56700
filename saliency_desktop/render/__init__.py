"""Rendering shared by the app and the command line: numpy, matplotlib and Pillow; no Qt, no TF.

What lives here: colour maps and overlays (`maps.py`), the parts of every figure (`panels.py`:
a method's panel, colorbar, axes, saving), the report and the figures, the
evaluation, trust and confusion pictures, and the files written to disk (`export.py`: the
`.npz` arrays and the `.json` record).
May import: numpy, matplotlib, Pillow, `saliency_desktop.atomic`, and the engine's public API
(the names in `saliency_desktop.engine.__all__`, `engine.types`, `engine.metric_types`; no
TensorFlow is loaded by them). Never Qt, `ui/`, TensorFlow/Keras, or the CLI modules.
"""
