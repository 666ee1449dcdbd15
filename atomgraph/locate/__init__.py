"""Image -> atoms: a small FCN (center heatmap + species channels), tiled inference and sub-pixel peak finding.

:func:`locate` is the entry point; :func:`atomgraph.locate.train.train_locator` trains a model on simulated images.
"""

from __future__ import annotations

from .infer import load_locator, locate

__all__ = ["locate", "load_locator"]
