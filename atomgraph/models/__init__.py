"""Models: what a model is and where it comes from. :class:`Model` (one object per model: its material, locator,
classifier with calibration, novelty statistics) and its loaders (:mod:`atomgraph.models.model`); the bundled weights
with their cards (``atomgraph/models/weights/``, found by :mod:`atomgraph.io.model_paths`); the training entry point
of a whole model folder (:mod:`atomgraph.models.training`, not imported here: it imports the stage trainers).
"""

from .model import Model, load_model, locator_of, resolve_model

__all__ = ["Model", "load_model", "locator_of", "resolve_model"]
