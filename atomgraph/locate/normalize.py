"""Input checks, resampling to the network's native pixel size, and robust intensity normalization.

Units: pixel sizes in Å/px. The native grid keeps the image's field of view: an image of ``H x W`` px at
``pixel_size_A`` becomes ``round(H * pixel_size_A / native_A) x round(W * ...)`` px. A native pixel center ``i`` sits at
original pixel coordinate ``(i + 0.5) * scale - 0.5`` with ``scale = H / H_native`` (per axis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

from ..errors import AtomgraphInputError
from ..pixel_size import MAX_NATIVE_PIXELS, native_size  # noqa: F401 (MAX_NATIVE_PIXELS: re-exported)

MIN_SIZE_PX = 16          # smallest image side accepted (px)
MIN_NATIVE_PX = 8         # smallest side on the native grid (px)
BACKGROUND_SIGMA_A = 4.0  # Gaussian width of the large-scale background removed before the network (Å)


@dataclass
class NativeImage:
    """An image resampled to the network grid.

    Attributes
    ----------
    raw : (h, w) float32 resampled image in the original image units (not normalized).
    normalized : (h, w) float32 background-subtracted, robustly scaled network input.
    scale_xy : (2,) original px per native px along x (columns) and y (rows).
    native_A : native pixel size in Å/px (nominal).
    """

    raw: np.ndarray
    normalized: np.ndarray
    scale_xy: np.ndarray
    native_A: float

    def to_original(self, xy_native: np.ndarray) -> np.ndarray:
        """(N, 2) native-grid x, y -> original-image x, y in px."""
        return (np.asarray(xy_native, float) + 0.5) * self.scale_xy - 0.5

    def to_native(self, xy_px: np.ndarray) -> np.ndarray:
        """(N, 2) original-image x, y in px -> native-grid x, y."""
        return (np.asarray(xy_px, float) + 0.5) / self.scale_xy - 0.5


def check_image(image) -> np.ndarray:
    """Validate a user image and return it as a float32 2D array; raise :class:`AtomgraphInputError` otherwise."""
    try:
        arr = np.asarray(image)
    except Exception:  # noqa: BLE001 - anything unconvertible is a user error
        raise AtomgraphInputError("image could not be read as an array") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise AtomgraphInputError(f"image must be numeric, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise AtomgraphInputError("image must be real-valued, got a complex array")
    if arr.ndim != 2:
        raise AtomgraphInputError(f"image must be 2D (rows, columns), got shape {arr.shape}")
    if arr.size == 0:
        raise AtomgraphInputError("image is empty")
    if min(arr.shape) < MIN_SIZE_PX:
        raise AtomgraphInputError(f"image is too small: {arr.shape}, need at least {MIN_SIZE_PX} px per side")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise AtomgraphInputError(f"image has {int((~np.isfinite(arr)).sum())} NaN or infinite pixels")
    if float(arr.max()) == float(arr.min()):
        raise AtomgraphInputError("image is constant: no contrast to find atoms in")
    return arr


def resample(image: np.ndarray, pixel_size_A: float, native_A: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample ``image`` (Å/px ``pixel_size_A``) to ``native_A`` Å/px (antialiased bilinear).

    Returns the resampled float32 image and the per-axis scale (original px per native px, x then y).
    """
    h, w = image.shape
    hf, wf = native_size((h, w), pixel_size_A, native_A)
    hn = max(int(round(hf)), 1)
    wn = max(int(round(wf)), 1)
    if min(hn, wn) < MIN_NATIVE_PX:
        raise AtomgraphInputError(f"image is too small: {image.shape} px at {pixel_size_A:g} Å/px covers under "
                                  f"{MIN_NATIVE_PX * native_A:g} Å per side")
    if (hn, wn) == (h, w):
        out = image.astype(np.float32, copy=True)
    else:
        t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
        with torch.no_grad():
            out = F.interpolate(t, size=(hn, wn), mode="bilinear", align_corners=False,
                                antialias=hn < h or wn < w)[0, 0].numpy()
    return out, np.array([w / wn, h / hn], dtype=float)


def normalize(native: np.ndarray, native_A: float) -> np.ndarray:
    """Remove the large-scale background (Gaussian, ``BACKGROUND_SIGMA_A``) and scale robustly.

    The result has the lattice contrast at roughly unit range: (x - median) / (4 MAD), clipped to [-4, 8]; the
    median absolute deviation keeps bright contamination patches from squashing the lattice contrast.
    """
    x = native.astype(np.float32)
    x = x - gaussian_filter(x, BACKGROUND_SIGMA_A / native_A, mode="reflect", truncate=3.0)
    sample = x[:: max(1, x.shape[0] // 256), :: max(1, x.shape[1] // 256)]
    center = float(np.median(sample))
    span = 4.0 * float(np.median(np.abs(sample - center)))  # robust to bright patches covering < half the frame
    if not span > 0:
        span = float(x.std()) or 1.0
    x = (x - center) / span
    return np.clip(x, -4.0, 8.0).astype(np.float32)


def prepare(image: np.ndarray, pixel_size_A: float, native_A: float) -> NativeImage:
    """Resample to the native grid and normalize (the exact input path shared by training and inference)."""
    raw, scale = resample(image, pixel_size_A, native_A)
    return NativeImage(raw=raw, normalized=normalize(raw, native_A), scale_xy=scale, native_A=native_A)
