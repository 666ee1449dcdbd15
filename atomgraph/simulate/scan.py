"""Scan distortions and detector noise: what a scanning microscope does to positions and counts.

Positions are distorted as a scan distorts them (thermal jitter, affine shear/anisotropy, slow drift along the
slow-scan axis, correlated line jitter along the fast axis); the expected counts get a smooth background (contamination,
amorphous support), Poisson noise at the dose, a gain, Gaussian read noise and an offset.

Units: positions in px (x = column, y = row), lengths in Å (``_A``), counts in scattered electrons, image values in
detector units (counts x gain + offset).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft

from .settings import ImageSettings


def distort_positions(xy_px: np.ndarray, shape: tuple[int, int], s: ImageSettings, rng: np.random.Generator,
                       line_shift_px: np.ndarray) -> np.ndarray:
    """Apply thermal jitter, affine scan distortion, slow drift and line jitter to pixel positions (N, 2)."""
    h, w = shape
    out = xy_px.copy()
    if s.thermal_jitter_A > 0:
        out += rng.normal(0.0, s.thermal_jitter_A / s.pixel_size_A, size=out.shape)
    center = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    rel = out - center
    affine = np.array([[1.0 + s.scale_anisotropy, s.shear], [0.0, 1.0 - s.scale_anisotropy]])
    out = rel @ affine.T + center
    t = np.clip(out[:, 1] / max(h - 1, 1), -0.5, 1.5)  # slow-scan time, 0 at the first row
    out[:, 0] += s.drift_x_fraction * w * t**2
    out[:, 1] += s.drift_y_fraction * h * t**2
    if line_shift_px is not None:
        rows = np.arange(len(line_shift_px))
        out[:, 0] += np.interp(out[:, 1], rows, line_shift_px)
    return out


def line_jitter(n_rows: int, s: ImageSettings, rng: np.random.Generator) -> np.ndarray:
    """Per-row fast-axis shift in px: an AR(1) sequence with std ``line_jitter_px``."""
    if s.line_jitter_px <= 0:
        return np.zeros(n_rows)
    rho = s.line_jitter_correlation
    eps = rng.normal(0.0, s.line_jitter_px, size=n_rows)
    shift = np.empty(n_rows)
    shift[0] = eps[0]
    scale = math.sqrt(max(1.0 - rho * rho, 0.0))
    for i in range(1, n_rows):  # n_rows iterations of scalar work: cheap next to the FFTs
        shift[i] = rho * shift[i - 1] + scale * eps[i]
    return shift


def background(shape: tuple[int, int], s: ImageSettings, level: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth positive background (contamination, amorphous support) with mean ``level`` electrons/px."""
    h, w = shape
    if s.background_fraction <= 0 or level <= 0:
        return np.zeros(shape)
    noise = rng.standard_normal(size=shape, dtype=np.float32)
    scale_px = s.background_scale_A / s.pixel_size_A
    ky = fft.fftfreq(h)[:, None]
    kx = fft.rfftfreq(w)[None, :]
    field = fft.irfft2(fft.rfft2(noise) * np.exp(-2 * math.pi**2 * scale_px**2 * (kx**2 + ky**2)), s=shape)
    field -= field.mean()
    std = field.std()
    field = np.clip(field / std, -3.0, 3.0) if std > 1e-9 else np.zeros(shape)
    gx = rng.normal(0, 0.5) * (np.arange(w) / max(w, 1) - 0.5)
    gy = rng.normal(0, 0.5) * (np.arange(h) / max(h, 1) - 0.5)
    bg = np.exp(0.6 * field + gx[None, :] + gy[:, None])
    return s.background_fraction * level * bg / bg.mean()


def detector_signal(expected: np.ndarray, s: ImageSettings, rng: np.random.Generator) -> np.ndarray:
    """Expected scattered electrons per pixel (H, W) -> float32 detector signal: background, Poisson noise at the
    dose, gain, offset and read noise (in that order of random draws)."""
    shape = expected.shape
    expected = expected + background(shape, s, float(expected.mean()), rng)
    image = rng.poisson(expected).astype(np.float32)
    image *= np.float32(s.gain)
    image += np.float32(s.detector_offset)
    image += rng.standard_normal(size=shape, dtype=np.float32) * np.float32(s.read_noise * s.gain)
    return image


def to_eight_bit(image: np.ndarray, clip_fraction: float) -> np.ndarray:
    """An image as an 8-bit export writes it: the darkest pixel at 0, the brightest ``clip_fraction`` of the pixels
    clipped at 255, rounded to integers (returned as float32 values 0-255)."""
    lo = float(image.min())
    hi = float(np.quantile(image, 1.0 - clip_fraction)) if clip_fraction > 0 else float(image.max())
    scaled = (image - lo) * np.float32(255.0 / max(hi - lo, 1e-12))
    return np.clip(np.rint(scaled), 0, 255).astype(np.float32)

