"""The one check of a pixel size (Å per pixel), made where a value enters atomgraph (a public function, a CLI verb,
a batch); the stages behind the door take the checked float as it is."""

from __future__ import annotations

import math

from .errors import AtomgraphInputError


def check_pixel_size(pixel_size_A: float | str | None, *, required: bool = True,
                     source: str | None = None) -> float | None:
    """A pixel size as a positive finite float (Å/px).

    Parameters
    ----------
    pixel_size_A : float, str or None
        The value as given (a number or its text).
    required : bool
        True: None is refused ("pixel size is needed"); False: None passes through (a file's calibration, or an
        ``x_A``/``y_A`` table, may supply it later).
    source : str, optional
        The file the value belongs to, named in the error.

    Returns
    -------
    float or None
        The pixel size in Å/px (None only when not ``required`` and not given).

    Raises
    ------
    AtomgraphInputError
        Missing (when required), not a number, zero, negative, NaN or infinite.
    """
    if pixel_size_A is None:
        if not required:
            return None
        raise AtomgraphInputError("pixel size is needed (Å/px): give pixel_size_A= or --pixel-size", source=source)
    try:
        value = float(pixel_size_A)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise AtomgraphInputError(f"pixel size must be a positive number of Å per pixel, got {pixel_size_A!r}",
                                  source=source)
    return value
