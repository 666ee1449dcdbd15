"""Regions without lattice painted into a simulated image: an amorphous patch (contamination, amorphous carbon)."""

from __future__ import annotations

import numpy as np

AMORPHOUS_DENSITY_PER_A2 = 0.38  # columns per Å², about graphene's areal density


def add_amorphous_patch(image: np.ndarray, center_px: tuple[float, float], radius_px: float, pixel_size_A: float,
                        seed: int = 0, probe_sigma_A: float = 0.45) -> np.ndarray:
    """A copy of ``image`` with a disk (center (x, y) and radius in px) replaced by randomly placed columns.

    The columns are Gaussians of ``probe_sigma_A`` (Å) at random positions and carbon-like density, scaled to the
    image's own contrast, over a dimmed background with Gaussian noise: what a patch of amorphous carbon or
    contamination looks like, with no lattice for the lattice model to find.
    """
    rng = np.random.default_rng(seed)
    h, w = image.shape
    center = np.asarray(center_px, float)
    yy, xx = np.mgrid[:h, :w]
    disk = (xx - center[0]) ** 2 + (yy - center[1]) ** 2 < radius_px**2
    n = int(disk.sum() * pixel_size_A**2 * AMORPHOUS_DENSITY_PER_A2)
    points = center + rng.uniform(-radius_px, radius_px, (3 * n + 3, 2))
    points = points[np.hypot(*(points - center).T) < radius_px][:n]
    sigma = probe_sigma_A / pixel_size_A
    blobs = np.zeros(image.shape, np.float32)
    for x, y in points:  # a few hundred columns: one Gaussian each
        blobs += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)).astype(np.float32)
    out = np.array(image, dtype=np.float32, copy=True)
    base = float(np.median(image))
    out[disk] = 0.6 * base + 0.5 * (float(image.max()) - base) * blobs[disk] + rng.normal(0, 0.3 * float(image.std()),
                                                                                          int(disk.sum()))
    return out
