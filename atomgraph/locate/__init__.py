"""Image -> atoms: a small FCN (center heatmap + species channels), tiled inference and sub-pixel peak finding.

:func:`locate` is the entry point; :func:`atomgraph.locate.train.train_locator` trains a model on simulated images.
Both names are imported on first use, so the light submodules (:mod:`~atomgraph.locate.lattice_fft`, the pixel
size check) do not pull in torch.
"""

from __future__ import annotations

from ..heavy_imports import paused_gc

__all__ = ["locate", "load_locator"]


def __getattr__(name: str):
    if name in __all__:
        with paused_gc():  # torch's import, without collections that traverse its objects and free none
            from . import infer  # lazy: torch (about 2 s); lattice_fft and the other light submodules stay torch-free

        value = getattr(infer, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'atomgraph.locate' has no attribute {name!r}")
