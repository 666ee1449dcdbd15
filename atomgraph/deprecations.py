"""Renamed keyword arguments, accepted for a while with a DeprecationWarning."""

from __future__ import annotations

import warnings

from .errors import AtomgraphInputError


def pixel_size_alias(pixel_size_A: float | None, pixel_size: float | None, where: str) -> float | None:
    """``pixel_size_A``, or the old ``pixel_size`` keyword (Å per pixel) with a DeprecationWarning."""
    if pixel_size is None:
        return pixel_size_A
    warnings.warn(f"{where}(pixel_size=...) is now {where}(pixel_size_A=...) (Å per pixel)", DeprecationWarning,
                  stacklevel=3)
    if pixel_size_A is not None and pixel_size_A != pixel_size:
        raise AtomgraphInputError(f"{where}: give pixel_size_A only (pixel_size is its old name)")
    return pixel_size
