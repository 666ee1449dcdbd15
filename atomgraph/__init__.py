"""atomgraph: atomically resolved STEM images of 2D materials -> labeled defect graphs.

The pipeline runs one way: :func:`simulate` (training data with exact truth) · :func:`locate` (image -> atoms) ·
:func:`build_graph` (atoms -> neighbor graph with vacancy sites) · :func:`classify` (graph -> labels) ·
:func:`analyze` (all of it on one image) · :func:`batch` (many files and frames on dask.distributed, to
Parquet). Stages are imported on first use, so ``import atomgraph`` is quick.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

from .errors import AtomgraphInputError

_LAZY = {
    "AtomTable": ("atomgraph.atoms", "AtomTable"),
    "simulate": ("atomgraph.simulate", "simulate"),
    "locate": ("atomgraph.locate", "locate"),
    "build_graph": ("atomgraph.graph", "build_graph"),
    "classify": ("atomgraph.classify", "classify"),
    "analyze": ("atomgraph.pipeline", "analyze"),
    "batch": ("atomgraph.batch", "batch"),
    "track": ("atomgraph.track", "track"),
    "load_model": ("atomgraph.models.model", "load_model"),
    "Model": ("atomgraph.models.model", "Model"),
    "find_defects": ("atomgraph.defects", "find_defects"),
    "read_image": ("atomgraph.io.images", "read_image"),
    "read_coordinates": ("atomgraph.io.coords", "read_coordinates"),
    "check_lattice_scale": ("atomgraph.scale", "check_lattice_scale"),
    "discover": ("atomgraph.discover", "discover"),
    "read_results": ("atomgraph.io.dataframes", "read_results"),
}

__all__ = ["AtomgraphInputError", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'atomgraph' has no attribute {name!r}")


class _Package(types.ModuleType):
    """Keeps ``atomgraph.simulate`` (and friends) the *function* even after the submodule of the same name is
    imported (the import system would otherwise rebind the attribute to the submodule)."""

    def __setattr__(self, name: str, value) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            module, attr = _LAZY[name]
            if value.__name__ == module and attr in vars(value):  # vars: a lazy stage's own __getattr__ waits
                value = getattr(value, attr)
            else:
                return  # a stage still loading: resolve lazily on first access
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
