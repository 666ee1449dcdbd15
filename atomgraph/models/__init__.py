"""Models: one object per model (its material, locator, classifier with calibration, novelty statistics).

:class:`Model` and its loaders are defined in :mod:`atomgraph.classify.loading`, beside the classifier loader they use
(so :func:`atomgraph.classify.classify` resolves a model name without an import cycle); this is their public home.
"""

from ..classify.loading import Model, load_model, locator_of, resolve_model

__all__ = ["Model", "load_model", "locator_of", "resolve_model"]
