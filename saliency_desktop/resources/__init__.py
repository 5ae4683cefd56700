"""Runtime files shipped in the wheel and the bundle: icons, label lists, sample images and the
JSON schemas of the records. Read with `importlib.resources`.

What lives here: data files only; this `__init__` holds no code. May import: nothing.
"""
