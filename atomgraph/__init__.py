"""atomgraph: atomically resolved STEM images of 2D materials -> labeled defect graphs.

The pipeline runs one way: :func:`simulate` (training data with exact truth) · :func:`locate` (image -> atoms) ·
:func:`build_graph` (atoms -> neighbor graph with vacancy sites) · :func:`classify` (graph -> labels) ·
:func:`analyze` (all of it on one image).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import AtomgraphInputError
from .simulate import simulate

__all__ = ["AtomgraphInputError", "simulate", "__version__"]
