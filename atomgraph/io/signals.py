"""hyperspy signals as images: a ``Signal2D`` (one image, or a stack along one navigation axis) and its calibration.

Recognised by what it has, not by its class: ``.data`` and ``.axes_manager`` with two signal axes. hyperspy is never
imported (it stays optional and ``import atomgraph`` stays quick). The pixel size comes from the signal axes'
``scale`` and ``units`` (nm, pm, µm, Å -> Å per pixel), as for microscope files; uncalibrated axes (``<undefined>``
units, px) give None, so the caller must give the pixel size.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ..errors import AtomgraphInputError
from .image_checks import ImageData, to_float_image
from .microscope_files import _rsciio_pixel_size_A


class Signal2DLike(Protocol):
    """What atomgraph reads of a hyperspy ``Signal2D``: ``data`` (rows, cols) or (frames, rows, cols), and
    ``axes_manager.signal_axes`` (x, y) with ``scale`` and ``units``."""

    data: Any
    axes_manager: Any


def is_signal2d(obj) -> bool:
    """True for a hyperspy ``Signal2D``-like object: ``.data`` and an ``.axes_manager`` with two signal axes."""
    if isinstance(obj, (str, bytes, np.ndarray)) or not hasattr(obj, "data"):
        return False
    manager = getattr(obj, "axes_manager", None)
    axes = getattr(manager, "signal_axes", None)
    try:
        return axes is not None and len(axes) == 2
    except TypeError:
        return False


def signal_name(signal) -> str:
    """The signal's title (``metadata.General.title``) for messages, else ``<Signal2D>``."""
    try:
        title = str(signal.metadata.General.title)
    except AttributeError:
        title = ""
    return f"<Signal2D {title}>" if title else "<Signal2D>"


def signal_pixel_size_A(signal) -> float | None:
    """Å per pixel from the two signal axes (``scale`` in ``units``); None when uncalibrated, unequal or
    implausible."""
    axes = [{"scale": getattr(a, "scale", 1.0), "units": _units(getattr(a, "units", ""))}
            for a in signal.axes_manager.signal_axes]
    return _rsciio_pixel_size_A({"axes": axes}, signal_name(signal))


def _units(value) -> str:
    text = str(value or "")
    return "" if text.startswith("<") else text  # traits' <undefined>


def image_from_signal(signal, *, allow_stack: bool = False):
    """An :class:`~atomgraph.io.image_checks.ImageData` from a ``Signal2D`` (data as float32, pixel size from its axes).

    Raises
    ------
    AtomgraphInputError
        The signal is lazy and too large, not numeric, not 2D (or a stack of 2D frames when ``allow_stack``), or has
        non-finite pixels; one line naming the signal.
    """
    source = signal_name(signal)
    data = signal.data
    if hasattr(data, "compute"):  # a lazy (dask) signal
        data = data.compute()
    data = to_float_image(np.asarray(data), source, allow_stack=allow_stack, rgb=False)
    frames = 1 if data.ndim == 2 else data.shape[0]
    return ImageData(data=data, pixel_size_A=signal_pixel_size_A(signal), path=source, frames=frames)


def check_not_signal1d(obj) -> None:
    """Refuse a hyperspy signal that is not 2D (a spectrum) with one clear line."""
    manager = getattr(obj, "axes_manager", None)
    axes = getattr(manager, "signal_axes", None)
    if axes is not None and hasattr(obj, "data") and len(axes) != 2:
        raise AtomgraphInputError(f"is a signal with {len(axes)} signal axes; atomgraph analyzes images "
                                  "(Signal2D: as_signal2D() turns a stack around)", source=signal_name(obj))
