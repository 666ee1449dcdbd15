"""Vectorized peak finding and sub-pixel refinement (no per-atom Python loops).

Positions are (x, y) pixel coordinates with pixel (row i, column j) centered at x = j, y = i.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import (
    convolve,
    gaussian_filter,
    map_coordinates,
    maximum_filter,
    minimum_filter,
)
from scipy.spatial import cKDTree


def find_peaks(heat: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima (3x3) of a heatmap above ``threshold``, refined by separable Gaussian (log-parabola) interpolation.

    Returns
    -------
    xy : (N, 2) float
        Sub-pixel x, y in heatmap pixels.
    score : (N,) float
        Heatmap value at the integer maximum.

    Examples
    --------
    A Gaussian spot centered between pixels is found at its true center:

    >>> yy, xx = np.mgrid[0:16, 0:16]
    >>> heat = np.exp(-((xx - 6.3) ** 2 + (yy - 9.6) ** 2) / 2.0)
    >>> xy, score = find_peaks(heat, threshold=0.3)
    >>> xy.round(3).tolist(), bool(score[0] > 0.8)
    ([[6.3, 9.6]], True)
    """
    h, w = heat.shape
    is_max = (heat == maximum_filter(heat, size=3, mode="nearest")) & (heat > threshold)
    iy, ix = np.nonzero(is_max)
    score = heat[iy, ix]
    ym, yp = np.clip(iy - 1, 0, h - 1), np.clip(iy + 1, 0, h - 1)
    xm, xp = np.clip(ix - 1, 0, w - 1), np.clip(ix + 1, 0, w - 1)
    c = score

    def vertex(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        # Gaussian (log-quadratic) interpolation: exact for the Gaussian-shaped heatmap peaks
        l0, c0, h0 = (np.log(np.clip(v, 1e-6, None)) for v in (lo, c, hi))
        curv = l0 - 2 * c0 + h0
        off = np.where(curv < 0, 0.5 * (l0 - h0) / np.where(curv < 0, curv, -1.0), 0.0)
        return np.clip(off, -0.5, 0.5)

    dx = vertex(heat[iy, xm], heat[iy, xp])
    dy = vertex(heat[ym, ix], heat[yp, ix])
    return np.column_stack([ix + dx, iy + dy]).astype(float), score.astype(float)


def _quadratic_design(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Disk window offsets (K, 2) and the least-squares operator (6, K) of a 2D quadratic fit."""
    r = np.arange(-radius, radius + 1)
    dx, dy = np.meshgrid(r, r)
    keep = dx**2 + dy**2 <= radius**2 + radius  # a slightly rounded disk
    dx, dy = dx[keep].astype(float), dy[keep].astype(float)
    design = np.column_stack([np.ones_like(dx), dx, dy, dx * dx, dy * dy, dx * dy])
    return np.column_stack([dx, dy]), np.linalg.pinv(design)


def refine_quadratic(image: np.ndarray, xy: np.ndarray, radius: int, iterations: int = 2) -> np.ndarray:
    """Refine peak positions on ``image`` by a least-squares 2D quadratic over a disk of ``radius`` px.

    Each iteration centers the window on the rounded current position and moves to the fitted vertex when the fit
    is a proper maximum within the window; otherwise the position is kept. Returns (N, 2) x, y in px.
    """
    xy = np.asarray(xy, float).copy()
    if len(xy) == 0:
        return xy
    radius = max(int(radius), 1)
    h, w = image.shape
    offsets, op = _quadratic_design(radius)
    for _ in range(iterations):
        cx, cy = np.rint(xy[:, 0]).astype(np.int64), np.rint(xy[:, 1]).astype(np.int64)
        cx, cy = np.clip(cx, 0, w - 1), np.clip(cy, 0, h - 1)
        px = np.clip(cx[:, None] + offsets[None, :, 0].astype(np.int64), 0, w - 1)
        py = np.clip(cy[:, None] + offsets[None, :, 1].astype(np.int64), 0, h - 1)
        values = image[py, px].astype(float)                        # (N, K)
        a = values @ op.T                                            # (N, 6): c, b_x, b_y, d_xx, d_yy, d_xy
        bx, by, dxx, dyy, dxy = a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5]
        det = 4 * dxx * dyy - dxy**2
        ok = (dxx < 0) & (dyy < 0) & (det > 0)
        safe = np.where(ok, det, 1.0)
        sx = -(2 * dyy * bx - dxy * by) / safe
        sy = -(2 * dxx * by - dxy * bx) / safe
        ok &= (np.abs(sx) <= radius) & (np.abs(sy) <= radius)
        new = np.column_stack([cx + sx, cy + sy])
        xy = np.where(ok[:, None], new, xy)
    return xy


def merge_close(xy: np.ndarray, score: np.ndarray, min_distance: float) -> np.ndarray:
    """Boolean mask that drops the lower-score peak of every pair closer than ``min_distance`` (same units as xy)."""
    keep = np.ones(len(xy), bool)
    if len(xy) < 2:
        return keep
    pairs = cKDTree(xy).query_pairs(min_distance, output_type="ndarray")
    if len(pairs) == 0:
        return keep
    # drop the weaker of each pair, strongest pairs first, so a chain keeps its best members
    order = np.argsort(-np.maximum(score[pairs[:, 0]], score[pairs[:, 1]]), kind="stable")
    for i, j in pairs[order]:  # only the (rare) close pairs are looped over
        if keep[i] and keep[j]:
            keep[j if score[j] < score[i] else i] = False
    return keep


def column_intensity(native_raw: np.ndarray, xy_native: np.ndarray, native_A: float, area_ratio: float,
                     radius_A: float = 0.6, background_window_A: float = 4.5) -> np.ndarray:
    """Integrated, background-subtracted column intensity in original image units.

    The background is a smoothed grey-level minimum over ``background_window_A`` (Å); the column signal is summed
    over a disk of ``radius_A`` (Å) on the native grid and multiplied by ``area_ratio`` (original px per native px,
    squared) so the sum is in the units of the original image summed over its pixels.
    """
    if len(xy_native) == 0:
        return np.zeros(0)
    size = max(int(round(background_window_A / native_A)), 3)
    background = gaussian_filter(minimum_filter(native_raw, size=size, mode="nearest"), size / 3.0)
    r = max(radius_A / native_A, 0.5)
    k = int(np.ceil(r))
    yy, xx = np.mgrid[-k:k + 1, -k:k + 1]
    disk = ((xx**2 + yy**2) <= r * r).astype(np.float32)
    summed = convolve(native_raw - background, disk, mode="nearest")
    values = map_coordinates(summed, [xy_native[:, 1], xy_native[:, 0]], order=1, mode="nearest")
    return values * area_ratio


def saturated_columns(image: np.ndarray, xy_px: np.ndarray, min_pixels: int = 4, min_clipped: int = 3) -> np.ndarray:
    """(N,) bool: columns whose peak is clipped: at least ``min_clipped`` of the 3x3 pixels around their position sit
    at the image's maximum value.

    A detector or an 8-bit export that saturates clips every overexposed pixel to the same maximum, and a clipped
    column is a plateau of such pixels. The image counts as clipped only when at least ``min_pixels`` pixels (not
    one hot pixel) share the maximum value and less than half of the image does. A single pixel at the maximum in
    a noisy 8-bit frame (0.1 % of the pixels of a real one) leaves the column's intensity and position usable: it
    is not masked. Columns with a clipped peak have no usable intensity; the graph stage masks them.
    """
    image = np.asarray(image)
    xy_px = np.asarray(xy_px, float).reshape(-1, 2)
    if image.size == 0 or len(xy_px) == 0:
        return np.zeros(len(xy_px), bool)
    top = image >= image.max()
    n_top = int(top.sum())
    if n_top < min_pixels or n_top > image.size // 2:
        return np.zeros(len(xy_px), bool)
    h, w = image.shape
    j = np.clip(np.rint(xy_px[:, 0]).astype(int), 0, w - 1)
    i = np.clip(np.rint(xy_px[:, 1]).astype(int), 0, h - 1)
    clipped = np.zeros(len(xy_px), int)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            clipped += top[np.clip(i + di, 0, h - 1), np.clip(j + dj, 0, w - 1)]
    return clipped >= min_clipped
