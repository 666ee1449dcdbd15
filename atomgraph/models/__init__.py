"""Models: one object per model (its material, locator, classifier with calibration, novelty statistics)."""

from .model import Model, load_model, locator_of, resolve_model

__all__ = ["Model", "load_model", "locator_of", "resolve_model"]
