"""Saliency Desktop: see where an image classifier is looking."""

__version__ = "0.1.0"
