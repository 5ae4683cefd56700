"""Saliency methods, one small class each, registered with `@register`."""
