"""The desktop app (PySide6). Nothing in this package imports TensorFlow or keras: the engine is
reached through `engine_api.EngineAdapter`, called only from the worker thread."""
