"""Shared checks and conversions of the image readers: sizes, dtypes, calibration units, grey float images, and
:class:`ImageData`, what every reader returns (:func:`atomgraph.io.images.read_image`, a hyperspy signal)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import AtomgraphInputError

# colour channels closer than this fraction of the image's range are "grey" (JPEG and palette rounding)
GREY_TOLERANCE = 0.02
MIN_SIDE_PX = 2
# length units found in calibrations -> Å per unit
UNIT_TO_A = {
    "a": 1.0, "å": 1.0, "Å": 1.0, "angstrom": 1.0, "angstroms": 1.0, "ang": 1.0,
    "nm": 10.0, "nanometer": 10.0, "nanometers": 10.0, "nanometre": 10.0,
    "pm": 0.01, "picometer": 0.01,
    "um": 1e4, "µm": 1e4, "μm": 1e4, "micron": 1e4, "microns": 1e4, "micrometer": 1e4, "\\u00B5m": 1e4,
    "mm": 1e7, "cm": 1e8, "m": 1e10,
}
# a calibration outside this range (Å per pixel) is not an atomic-resolution calibration (e.g. 72 dpi)
PLAUSIBLE_PIXEL_A = (1e-3, 1e3)


FRAME_SHARE = 4  # a frame may hold a quarter of ``max_pixels``: 2**26 = 8192² px (268 MB as float32) by default;
                 # analysis holds a few arrays of a frame's size, so this keeps a refused or analyzed frame near 1 GB


def check_size(shape: tuple[int, ...], max_pixels: int, source: str) -> None:
    """Refuse, from the header's ``shape`` and before any pixel is decoded, an image of more than ``max_pixels``
    pixels in all, or a frame (the last two axes, or the first two of an RGB(A) image) of more than
    ``max_pixels // FRAME_SHARE`` (a 16000² TIFF of a few hundred kB would otherwise decode into gigabytes)."""
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise AtomgraphInputError(f"has an invalid shape {shape}", source=source)
    if len(shape) in (0, 1):
        raise AtomgraphInputError(f"is a {len(shape)}D array of shape {shape}; an image is 2D", source=source)
    n = math.prod(shape)
    if n == 0:
        raise AtomgraphInputError(f"has no pixels (shape {shape})", source=source)
    if n > max_pixels:
        raise AtomgraphInputError(f"is too large ({'x'.join(map(str, shape))} = {n} pixels > {max_pixels}); "
                                  "crop or bin it first", source=source)
    frame = shape[:2] if len(shape) == 3 and shape[-1] in (3, 4) else shape[-2:]
    limit = max(max_pixels // FRAME_SHARE, 1)
    if math.prod(frame) > limit:
        raise AtomgraphInputError(f"is too large (frames of {'x'.join(map(str, frame))} = {math.prod(frame)} pixels "
                                  f"> {limit}); crop or bin it first", source=source)


def check_dtype(dtype: np.dtype, source: str) -> None:
    dtype = np.dtype(dtype)
    if dtype.kind not in "iuf" or dtype.fields is not None or dtype.subdtype is not None:
        names = {"b": "boolean", "c": "complex", "O": "object (Python objects)", "U": "string", "S": "bytes",
                 "V": "structured/void", "M": "datetime", "m": "timedelta"}
        raise AtomgraphInputError(f"has {names.get(dtype.kind, str(dtype))} pixels (dtype {dtype}); "
                                  "an image needs integer or float pixels", source=source)


def is_rgb_shape(shape: tuple[int, ...]) -> bool:
    """(H, W, 3|4) with H, W > 4 is a colour image; (3, H, W) is a stack."""
    return len(shape) == 3 and shape[2] in (3, 4) and shape[0] > 4 and shape[1] > 4


def rgb_to_grey(data: np.ndarray, source: str) -> np.ndarray:
    """Colour samples ``(..., H, W, 3|4)`` -> one grey image, only when they are grey.

    A HAADF image has one value per pixel. Channels that agree within :data:`GREY_TOLERANCE` of the image's range
    (a grey picture saved as RGB, a grey palette, JPEG rounding) are averaged; anything else (a colour map, an
    annotated picture, or a stack with the frame axis last) is refused, as is a varying alpha (transparency)
    channel.
    """
    data = np.asarray(data)
    channels = data.shape[-1]
    if channels == 4:
        alpha = data[..., 3]
        if alpha.size and alpha.min() != alpha.max():
            raise AtomgraphInputError("has a transparency (alpha) channel that varies; a HAADF image has one grey "
                                      "value per pixel: export the raw data or a grey picture", source=source)
    colour = data[..., :3].astype(np.float64)
    lo, hi = float(colour.min()), float(colour.max())
    spread = float(np.max(colour.max(axis=-1) - colour.min(axis=-1))) if colour.size else 0.0
    if spread > GREY_TOLERANCE * max(hi - lo, 1e-12):
        shape = "x".join(map(str, data.shape))
        raise AtomgraphInputError(
            f"has {channels} colour channels ({shape}) that differ (not a grey picture): a colour map, annotations, "
            f"or {channels} frames with the frame axis last? atomgraph needs the grey HAADF values: export the raw "
            "data, a grey picture, or a stack as (frames, rows, cols)", source=source)
    return colour.mean(axis=-1)


def to_float_image(data: np.ndarray, source: str, *, allow_stack: bool, rgb: bool | None) -> np.ndarray:
    data = np.asarray(data)
    check_dtype(data.dtype, source)
    if rgb is None:
        rgb = is_rgb_shape(data.shape)
    if rgb and data.ndim >= 3 and data.shape[-1] in (3, 4):
        data = rgb_to_grey(data, source)
    if data.ndim < 2:
        raise AtomgraphInputError(f"is a {data.ndim}D array of shape {data.shape}; an image is 2D", source=source)
    if data.ndim > 3:
        raise AtomgraphInputError(f"is a {data.ndim}D array of shape {data.shape}; an image is 2D "
                                  "(or a 3D stack of frames)", source=source)
    if data.ndim == 3:
        if not allow_stack:
            raise AtomgraphInputError(f"is a stack of {data.shape[0]} frames (shape {data.shape}); "
                                      "this command needs one 2D image", source=source)
        if data.shape[0] == 1:
            data = data[0]
    if min(data.shape[-2:]) < MIN_SIDE_PX:
        raise AtomgraphInputError(f"is {data.shape[-2]}x{data.shape[-1]} pixels; an image needs at least "
                                  f"{MIN_SIDE_PX} pixels on each side", source=source)
    with np.errstate(over="ignore", invalid="ignore"):
        out = data.astype(np.float32)
    bad = ~np.isfinite(out)
    if bad.any():
        n_nan = int(np.isnan(out).sum())
        n_inf = int(bad.sum()) - n_nan
        parts = [f"{n_nan} NaN" if n_nan else "", f"{n_inf} infinite" if n_inf else ""]
        raise AtomgraphInputError(f"has {' and '.join(p for p in parts if p)} pixels (of {out.size}); "
                                  "replace or crop them first", source=source)
    frames = out[None] if out.ndim == 2 else out
    for i, frame in enumerate(frames):
        lo, hi = float(frame.min()), float(frame.max())
        if lo == hi:
            where = "" if out.ndim == 2 else f"frame {i} "
            raise AtomgraphInputError(f"{where}is constant (every pixel = {lo:g}); there is nothing to find",
                                      source=source)
    return np.ascontiguousarray(out)


@dataclass
class ImageData:
    """An image read from a file.

    Attributes
    ----------
    data : ndarray of float32
        ``(H, W)`` image, or ``(frames, H, W)`` stack (only from ``read_image(..., allow_stack=True)``).
        Row i, column j is the pixel centred at ``x_px = j, y_px = i``.
    pixel_size_A : float or None
        Å per pixel from the file's calibration; ``None`` when the file has none (the user must give it).
    path : str
        The file read.
    frames : int
        Number of frames (1 for a 2D image).
    """

    data: np.ndarray
    pixel_size_A: float | None
    path: str
    frames: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of one frame, in pixels."""
        return tuple(self.data.shape[-2:])

    def frame(self, index: int) -> np.ndarray:
        """One 2D frame (the image itself when there is one frame)."""
        if self.data.ndim == 2:
            if index not in (0, -1):
                raise IndexError(f"frame {index} of a single image")
            return self.data
        return self.data[index]
