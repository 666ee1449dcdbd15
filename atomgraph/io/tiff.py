"""TIFF images and stacks (tifffile): pages and separate planes as frames, palettes, ImageJ and resolution-tag
calibration."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError, short_error
from .image_checks import (
    PLAUSIBLE_PIXEL_A,
    UNIT_TO_A,
    check_dtype,
    check_size,
    rgb_to_grey,
)
from .pictures import read_pil

log = logging.getLogger(__name__)



def read_tiff(path: Path, source: str, max_pixels: int) -> tuple[np.ndarray, float | None, bool]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.pages:
                raise AtomgraphInputError("is a TIFF file without images", source=source)
            page = tif.pages.first
            series = tif.series[0]
            shape = tuple(series.shape)
            check_size(shape, max_pixels, source)
            extra = [a for a in str(getattr(series, "axes", "")) if a not in "YXS"]
            if len(extra) > 1:  # e.g. an ImageJ hyperstack TZYX / TCYX: which axis is time is not for us to guess
                raise AtomgraphInputError(
                    f"is a hyperstack (axes {series.axes}, shape {'x'.join(map(str, shape))}); atomgraph reads one "
                    "image or one series of frames (frames, rows, cols): save a single channel/slice series",
                    source=source)
            check_dtype(series.dtype, source)
            rgb = page.photometric in (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.YCBCR) \
                and page.samplesperpixel in (3, 4)
            # planes stored one after the other ("separate"), as tifffile.imwrite writes a (3, H, W) stack, are frames
            planar = rgb and page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
            pixel_size_A = tiff_pixel_size_A(tif, page, source)
            try:
                data = series.asarray()
            except (ValueError, NotImplementedError, KeyError, RuntimeError) as exc:
                if "imagecodecs" in str(exc) or "compression" in str(exc).lower():
                    log.debug("tifffile cannot decode %s (%s); trying Pillow", source, exc)
                    data, _, rgb_pil = read_pil(path, source, max_pixels)
                    return data, pixel_size_A, rgb_pil
                raise
            if page.photometric == tifffile.PHOTOMETRIC.PALETTE and page.colormap is not None:
                data = _apply_palette(data, page.colormap, source)
            if planar and data.ndim >= 3 and data.shape[-3] in (3, 4):
                return _planes_as_frames(data, source), pixel_size_A, False
            return data, pixel_size_A, rgb
    except AtomgraphInputError:
        raise
    except MemoryError:
        raise AtomgraphInputError("is too large to read into memory", source=source) from None
    except Exception as exc:  # tifffile raises many types on corrupt files
        try:
            data, _, rgb = read_pil(path, source, max_pixels)
            log.debug("tifffile failed on %s (%s); Pillow read it", source, exc)
            return data, None, rgb
        except AtomgraphInputError:
            pass
        raise AtomgraphInputError(f"is not a readable TIFF file ({short_error(exc)})", source=source) from None


def _planes_as_frames(data: np.ndarray, source: str) -> np.ndarray:
    """A page of separate planes ``(..., 3|4, H, W)`` -> frames ``(n, H, W)``; identical planes -> one image."""
    planes = data.reshape(-1, *data.shape[-2:])
    if all(np.array_equal(planes[0], plane) for plane in planes[1:]):
        return planes[0]
    log.info("%s: %d separate planes in one TIFF page read as %d frames", source, len(planes), len(planes))
    return planes


def _apply_palette(index: np.ndarray, colormap: np.ndarray, source: str) -> np.ndarray:
    """Palette indices -> the grey value of each palette entry (a colour palette is refused, see _rgb_to_grey)."""
    colormap = np.asarray(colormap, dtype=float)
    if colormap.ndim != 2 or colormap.shape[0] != 3:
        return index
    gray = rgb_to_grey(colormap.T[None], source)[0]
    index = np.asarray(index)
    if index.dtype.kind not in "iu":
        return index
    return gray[np.clip(index, 0, len(gray) - 1)]


def tiff_pixel_size_A(tif, page, source: str) -> float | None:
    """Å per pixel from ImageJ metadata (``unit``) or resolution tags, when unambiguous; else None."""
    from tifffile import RESUNIT

    try:
        xres = page.tags.get("XResolution")
        yres = page.tags.get("YResolution")
        if xres is None:
            return None
        xr = xres.value[0] / xres.value[1] if xres.value[1] else 0.0
        yr = (yres.value[0] / yres.value[1] if yres.value[1] else 0.0) if yres is not None else xr
        if not (xr > 0 and yr > 0) or abs(xr - yr) > 1e-6 * max(xr, yr):
            return None  # non-square or missing: ambiguous
        unit_A = None
        ij = tif.imagej_metadata or {}
        unit = str(ij.get("unit", "")).strip()
        if unit:
            unit_A = UNIT_TO_A.get(unit) or UNIT_TO_A.get(unit.lower())
        elif not tif.is_imagej:
            resunit = page.tags.get("ResolutionUnit")
            if resunit is not None and resunit.value == RESUNIT.CENTIMETER:
                unit_A = 1e8
            elif resunit is not None and getattr(RESUNIT, "MILLIMETER", None) is not None \
                    and resunit.value == RESUNIT.MILLIMETER:
                unit_A = 1e7
            elif resunit is not None and getattr(RESUNIT, "MICROMETER", None) is not None \
                    and resunit.value == RESUNIT.MICROMETER:
                unit_A = 1e4
        if unit_A is None:
            return None  # inch (print dpi), none, or an unknown unit
        pixel_A = unit_A / xr
    except Exception as exc:  # odd tags: no calibration rather than failing the read
        log.debug("no usable calibration in %s (%s)", source, exc)
        return None
    if not (PLAUSIBLE_PIXEL_A[0] <= pixel_A <= PLAUSIBLE_PIXEL_A[1]):
        log.info("%s: ignoring calibration of %.3g Å per pixel (not atomic resolution)", source, pixel_A)
        return None
    return float(pixel_A)
