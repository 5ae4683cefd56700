"""Saliency methods, one file each, registered with `@register` (see `engine/registry.py`).

What lives here: a module per method (its `MethodInfo`, its parameters, its paper, and the
maths over the shared passes) and small private helpers (`_segments.py`) used by methods only.
Adding a method is adding one file; the registry imports every module here.
May import: numpy, OpenCV, SciPy/scikit-image, the engine's own modules (`types`, `registry`,
`passes`, `batched`, `graph`, ...), and TensorFlow/Keras inside functions only. Never Qt,
`render/`, `ui/` or the CLI.
"""
