"""Microscope files through rosettasciio (the ``[formats]`` extra): .dm3/.dm4, .emd (Velox, NCEM), .ser, with the
calibration read from the file (nm and pm converted to Å)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError, short_error
from .image_checks import PLAUSIBLE_PIXEL_A, UNIT_TO_A, check_dtype, check_size

log = logging.getLogger(__name__)



def read_rsciio(path: Path, source: str, max_pixels: int) -> tuple[np.ndarray, float | None, bool]:
    ext = path.suffix.lower()
    try:
        if ext == ".emd":
            from rsciio.emd import file_reader
        elif ext == ".ser":
            from rsciio.tia import file_reader
        else:
            from rsciio.digitalmicrograph import file_reader
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in ("", "rsciio"):
            hint = 'the optional extra: pip install "atomgraph[formats]"'
        else:  # rosettasciio is there but one of its own optional packages (h5py for .emd) is not
            hint = f'{missing} (pip install "atomgraph[formats]" installs it)'
        raise AtomgraphInputError(f"reading {ext} needs {hint}", source=source) from None
    try:
        try:
            signals = file_reader(str(path), lazy=True)
        except TypeError:
            signals = file_reader(str(path))
    except MemoryError:
        raise AtomgraphInputError("is too large to read into memory", source=source) from None
    except Exception as exc:
        raise AtomgraphInputError(f"is not a readable {ext} file ({short_error(exc)})", source=source) from None
    signal = _pick_image_signal(signals)
    if signal is None:
        raise AtomgraphInputError(f"has no image in it (no 2D or 3D signal among {len(signals or [])})",
                                  source=source)
    data = signal["data"]
    shape = tuple(int(s) for s in np.shape(data))
    check_size(shape, max_pixels, source)
    try:
        data = np.asarray(data.compute() if hasattr(data, "compute") else data)
    except Exception as exc:
        raise AtomgraphInputError(f"is truncated or corrupt ({short_error(exc)})", source=source) from None
    if data.dtype.kind == "V" and data.dtype.names and set("RGB") <= {n.upper()[:1] for n in data.dtype.names}:
        names = data.dtype.names
        data = np.stack([data[n].astype(float) for n in names[:3]], axis=-1)
        return data, _rsciio_pixel_size_A(signal, source), True
    check_dtype(data.dtype, source)
    return data, _rsciio_pixel_size_A(signal, source), False


def _pick_image_signal(signals) -> dict | None:
    """The first signal with a 2D (or 3D) image: prefer 2D, then stacks."""
    candidates = [s for s in (signals or []) if isinstance(s, dict) and "data" in s]
    for ndim in (2, 3):
        for signal in candidates:
            if np.ndim(signal["data"]) == ndim:
                return signal
    return candidates[0] if candidates else None


def _rsciio_pixel_size_A(signal: dict, source: str) -> float | None:
    """Å per pixel from the last two axes' ``scale`` and ``units`` (nm -> Å); None if missing or unequal."""
    axes = signal.get("axes") or []
    if isinstance(axes, dict):
        axes = list(axes.values())
    spatial = [a for a in axes if isinstance(a, dict)][-2:]
    if len(spatial) < 2:
        return None
    sizes = []
    for axis in spatial:
        unit = str(axis.get("units", "") or "").strip()
        factor = UNIT_TO_A.get(unit) or UNIT_TO_A.get(unit.lower())
        try:
            scale = float(axis.get("scale", 1.0))
        except (TypeError, ValueError):
            return None
        if factor is None or not math.isfinite(scale) or scale <= 0:
            log.info("%s: no length calibration (units %r, scale %r)", source, unit, axis.get("scale"))
            return None
        sizes.append(abs(scale) * factor)
    if abs(sizes[0] - sizes[1]) > 1e-3 * max(sizes):
        log.info("%s: non-square pixels (%g, %g Å); pixel size not taken from the file", source, *sizes)
        return None
    if not (PLAUSIBLE_PIXEL_A[0] <= sizes[0] <= PLAUSIBLE_PIXEL_A[1]):
        return None
    return float(sizes[0])
