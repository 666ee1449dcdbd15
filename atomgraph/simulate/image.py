"""The image model: incoherent HAADF, one probe-blurred spot per atomic column.

Each column scatters ``dose * sigma_ref * sum((Z / Z_ref) ** n)`` electrons onto the annular detector, spread by the
probe intensity (a core Gaussian plus a wide tail Gaussian). Dopant columns may be spread over a small cloud (a
dopant that moves during the scan). Rendering is a bilinear splat of the column weights and one FFT convolution.

Units: positions in px, probe widths in Å (converted with ``pixel_size_A``), weights in scattered electrons.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft

from .settings import ImageSettings

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def column_electrons(atom_column: np.ndarray, atom_numbers: np.ndarray, n_columns: int, s: ImageSettings
                     ) -> np.ndarray:
    """Scattered electrons per column (``n_columns``,): sum over its atoms of ``(Z / Z_ref) ** n``, times the dose
    (e/Å²) and the reference cross section (Å²). ``atom_column`` maps each atom to its column."""
    ref = float(s.reference_Z) ** s.z_exponent
    electrons = np.bincount(atom_column, atom_numbers.astype(float) ** s.z_exponent, minlength=n_columns) / ref
    return electrons * (s.dose_e_per_A2 * s.cross_section_A2)


def dopant_cloud(xy_px: np.ndarray, electrons: np.ndarray, dopant: np.ndarray, s: ImageSettings,
                  rng: np.random.Generator, n_points: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Spread each dopant column over a cloud of ``n_points`` sub-points (anisotropic Gaussian, random axes up to
    ``dopant_blur_A`` rms, centroid kept at the column): a dopant that moves or flips during the scan (beam-driven
    Si dynamics, Si3 buckling up/down) looks wider, elongated and lumpy next to the host columns.
    Returns the positions and electrons to render in place of the dopant columns."""
    idx = np.flatnonzero(dopant)
    if s.dopant_blur_A <= 0 or idx.size == 0:
        return np.zeros((0, 2)), np.zeros(0)
    axes = rng.uniform(0.0, 1.0, size=(idx.size, 1, 2)) * (s.dopant_blur_A / s.pixel_size_A)
    pts = rng.normal(size=(idx.size, n_points, 2)) * axes
    pts -= pts.mean(axis=1, keepdims=True)
    ang = rng.uniform(0.0, math.pi, size=(idx.size, 1))
    c, sn = np.cos(ang), np.sin(ang)
    pts = np.stack([c * pts[..., 0] - sn * pts[..., 1], sn * pts[..., 0] + c * pts[..., 1]], axis=-1)
    xy = (xy_px[idx, None, :] + pts).reshape(-1, 2)
    return xy, np.repeat(electrons[idx] / n_points, n_points)


def splat(xy_px: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear deposit of point weights at sub-pixel positions onto a grid (preserves each point's centroid)."""
    h, w = shape
    x0 = np.floor(xy_px[:, 0]).astype(np.int64)
    y0 = np.floor(xy_px[:, 1]).astype(np.int64)
    fx = xy_px[:, 0] - x0
    fy = xy_px[:, 1] - y0
    grid = np.zeros(h * w)
    for dx, dy, f in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        grid += np.bincount(yi[ok] * w + xi[ok], weights=(weights * f)[ok], minlength=h * w)
    return grid.reshape(h, w).astype(np.float32)


def probe_transfer(shape: tuple[int, int], s: ImageSettings) -> np.ndarray:
    """Fourier transform (rfft2 layout) of the unit-sum probe: core Gaussian + tail Gaussian."""
    h, w = shape
    ky = fft.fftfreq(h)[:, None]
    kx = fft.rfftfreq(w)[None, :]
    k2 = kx**2 + ky**2
    sigma = s.probe_fwhm_A / FWHM_PER_SIGMA / s.pixel_size_A
    tail = sigma * s.probe_tail_width_factor
    f = s.probe_tail_fraction
    transfer = (1.0 - f) * np.exp(-2 * math.pi**2 * sigma**2 * k2) + f * np.exp(-2 * math.pi**2 * tail**2 * k2)
    return transfer.astype(np.float32)  # single precision halves the FFT time; plenty for Poisson-noisy images


def render(xy_px: np.ndarray, electrons: np.ndarray, shape: tuple[int, int], s: ImageSettings,
           line_shift_px: np.ndarray | None = None) -> np.ndarray:
    """Expected scattered electrons per pixel for atomic columns.

    Parameters
    ----------
    xy_px : ndarray
        (N, 2) column positions, px.
    electrons : ndarray
        (N,) electrons each column scatters onto the detector.
    shape : tuple of int
        (rows, cols) of the image, px.
    s : ImageSettings
        The image's settings (probe, pixel size in Å/px, scan lag).
    line_shift_px : ndarray, optional
        (rows,) per-row shift along the fast-scan axis, px (line jitter).

    Returns
    -------
    ndarray of float
        (rows, cols) expected electrons per pixel.
    """
    h, w = shape
    sigma = s.probe_fwhm_A / FWHM_PER_SIGMA / s.pixel_size_A
    pad = int(min(math.ceil(3.0 * sigma * max(s.probe_tail_width_factor, 1.0)) + 2, 512))
    ph, pw = fft.next_fast_len(h + 2 * pad), fft.next_fast_len(w + 2 * pad, real=True)
    grid = splat(xy_px + pad, electrons, (ph, pw))
    spectrum = fft.rfft2(grid) * probe_transfer((ph, pw), s)
    image = fft.irfft2(spectrum, s=(ph, pw))
    jitter = line_shift_px is not None and np.any(line_shift_px)
    if jitter or s.scan_lag_px > 0:
        # along the fast-scan axis (x): per-row shifts (line jitter) and detector lag (one-sided exponential blur)
        kx = fft.rfftfreq(pw)[None, :]
        rows = fft.rfft(image, axis=1)
        if jitter:
            shifts = np.zeros(ph)
            shifts[pad:pad + h] = line_shift_px
            rows *= np.exp(-2j * math.pi * kx * shifts[:, None])
        if s.scan_lag_px > 0:
            rows /= 1.0 + 2j * math.pi * kx * s.scan_lag_px
        image = fft.irfft(rows, n=pw, axis=1)
    return np.clip(image[pad:pad + h, pad:pad + w], 0.0, None)

