"""The one check of a pixel size (Å per pixel), made where a value enters atomgraph (a public function, a CLI verb,
a batch); the stages behind the door take the checked float as it is. And :func:`native_size`: the grid an image
takes at a locator's native pixel size, checked before anything is allocated (without the locate stage and torch)."""

from __future__ import annotations

import math

from .errors import AtomgraphInputError

MAX_NATIVE_PIXELS = 2**28  # largest native grid (px), like the readers' limit: refused before allocating


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


def native_size(shape: tuple[int, int], pixel_size_A: float, native_A: float, model: str | None = None
                ) -> tuple[float, float]:
    """The (rows, cols) an image of ``shape`` px at ``pixel_size_A`` Å/px takes on the ``native_A`` Å/px grid.

    Raises :class:`AtomgraphInputError` when that grid would exceed :data:`MAX_NATIVE_PIXELS` (a wrong pixel size,
    e.g. nm typed as Å, would ask for terabytes); ``model`` only names the locator in the message.
    """
    h, w = int(shape[0]), int(shape[1])
    hf, wf = h * pixel_size_A / native_A, w * pixel_size_A / native_A
    if hf * wf > MAX_NATIVE_PIXELS:
        locator = f"the {model} locator works" if model else "the locator works"
        raise AtomgraphInputError(
            f"{h}x{w} px at {pixel_size_A:g} Å/px is a {h * pixel_size_A / 10:.4g} x {w * pixel_size_A / 10:.4g} nm "
            f"field of view; {locator} at {native_A:g} Å/px, which would need {hf:.3g} x {wf:.3g} px (more than "
            f"{MAX_NATIVE_PIXELS}): check the pixel size (Å per pixel, not nm) or crop the image")
    return hf, wf
