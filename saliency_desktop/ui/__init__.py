"""The desktop app (PySide6). Nothing in this package imports TensorFlow or keras.

What lives here: the main window and its parts (canvas, method tree, compare grid, panels,
dialogs, menus), the session state, the one engine thread (`worker.py`) and `engine_api.py`.
The engine's model work (loading, explaining, evaluating, data sets) is reached only through
`engine_api.EngineAdapter`, called from the worker thread; tests inject a fake engine there.
May import: PySide6, numpy, Pillow, `ui.*`, `render.*`, `saliency_desktop.atomic`, and the
engine's public API for data and light helpers (the names in `saliency_desktop.engine.__all__`,
`engine.types`, `engine.metric_types`: image loading, the catalogue, face crops), with the
model work named only in `engine_api.py`. Never TensorFlow, Keras, JAX or torch.
"""

import sys


def _work_around_emit_refcount_bug() -> bool:
    """PySide6 6.12.0 returns `True` from `SignalInstance.emit()` without a new reference, so
    every emit takes one reference from `True`; after some thousand emits (a few hundred jobs)
    CPython aborts with "Fatal Python error: bool_dealloc". 6.11.3 does not. When a probe shows
    the bug, `True` gets a huge reference count: it is never freed anyway, and Python 3.12 makes
    it immortal in the same way. Returns whether the workaround was applied."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False  # True is immortal there: the lost references do no harm
    import ctypes

    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    if before - sys.getrefcount(True) < 8:
        return False
    ctypes.c_ssize_t.from_address(id(True)).value += 1 << 40
    return True


EMIT_WORKAROUND = _work_around_emit_refcount_bug()
