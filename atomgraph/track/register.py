"""Frame-to-frame registration: the translation (drift) between two frames of a movie, by phase correlation.

Both frames are windowed (Hann) and cross-correlated with partially whitened spectra (|F|^0.5 normalization, between
plain and phase correlation: the lattice's Bragg peaks are tamed so that what is *not* periodic — defects, dopants,
the frame's edge — decides between translations that differ by a lattice vector), band-passed in the Fourier domain
(a Gaussian difference: noise and the smooth background removed; there it costs a product, not two wide filters of
the frame). The peak is refined to sub-pixel by a parabola per axis.

Units: shifts in px, ``(dx, dy)`` = how far the content moved from the first frame to the second (x along columns).
"""

from __future__ import annotations

import numpy as np
from scipy import fft
from scipy.ndimage import maximum_filter


def prepare(image: np.ndarray, bin_px: int = 1) -> np.ndarray:
    """One frame ready for :func:`candidate_shifts`: ``bin_px`` x ``bin_px`` blocks averaged (shifts found on the
    result are in binned px), the mean removed, Hann-windowed."""
    img = np.asarray(image, dtype=np.float32)
    b = max(int(bin_px), 1)
    if b > 1:
        h, w = (img.shape[0] // b) * b, (img.shape[1] // b) * b
        img = img[:h, :w].reshape(h // b, b, w // b, b).mean(axis=(1, 3))
    wy = np.hanning(img.shape[0]).astype(np.float32)
    wx = np.hanning(img.shape[1]).astype(np.float32)
    return (img - float(img.mean())) * wy[:, None] * wx[None, :]


def _parabola(c_m: float, c_0: float, c_p: float) -> float:
    denom = c_m - 2.0 * c_0 + c_p
    return 0.0 if abs(denom) < 1e-12 else float(np.clip(0.5 * (c_m - c_p) / denom, -0.5, 0.5))


def candidate_shifts(previous: np.ndarray, current: np.ndarray, max_shift_px: float | None = None,
                     whitening: float = 0.5, n: int = 8, separation_px: float = 4.0, fine_px: float = 1.0,
                     coarse_px: float = 12.0) -> np.ndarray:
    """The ``n`` highest local maxima of the correlation surface as ``(dx, dy)`` rows in px, best first (sub-pixel):
    on a periodic lattice the true shift and its neighbors by a lattice vector all score high, so the caller
    chooses among them with other evidence (which sites keep their element). ``fine_px`` and ``coarse_px`` are the
    Gaussian sigmas (px of the prepared frames) of the band-pass."""
    raw = _correlation(previous, current, whitening, fine_px, coarse_px)
    h, w = raw.shape
    limit = max_shift_px if max_shift_px is not None else 0.25 * min(h, w)
    dy = np.fft.fftfreq(h, 1.0 / h)[:, None]
    dx = np.fft.fftfreq(w, 1.0 / w)[None, :]
    corr = np.where(dx**2 + dy**2 <= limit**2, raw, -np.inf)
    size = max(3, int(2 * separation_px) | 1)
    peaks = (corr == maximum_filter(corr, size=size, mode="wrap")) & np.isfinite(corr)
    idx = np.flatnonzero(peaks)
    idx = idx[np.argsort(corr.ravel()[idx])[::-1][:n]]
    out = []
    for flat in idx:
        i, j = np.unravel_index(int(flat), corr.shape)
        sub_y = _parabola(raw[(i - 1) % h, j], raw[i, j], raw[(i + 1) % h, j])
        sub_x = _parabola(raw[i, (j - 1) % w], raw[i, j], raw[i, (j + 1) % w])
        out.append((dx[0, j] + sub_x, dy[i, 0] + sub_y))
    return np.array(out, dtype=float).reshape(-1, 2)


def _correlation(previous: np.ndarray, current: np.ndarray, whitening: float, fine_px: float,
                 coarse_px: float) -> np.ndarray:
    fa, fb = fft.rfft2(previous), fft.rfft2(current)
    cross = fb * np.conj(fa)
    cross /= np.abs(cross) ** whitening + 1e-12
    fy = np.fft.fftfreq(previous.shape[0])[:, None]  # cycles per px
    fx = np.fft.rfftfreq(previous.shape[1])[None, :]
    f2 = 2.0 * np.pi**2 * (fx**2 + fy**2)
    cross *= np.exp(-f2 * fine_px**2) - np.exp(-f2 * coarse_px**2)  # the band-pass of both frames, once
    corr = fft.irfft2(cross, s=previous.shape)
    return np.where(np.isfinite(corr), corr, 0.0)


def frame_shift(previous: np.ndarray, current: np.ndarray, max_shift_px: float | None = None,
                whitening: float = 0.5) -> tuple[float, float]:
    """Translation ``(dx, dy)`` in px of ``current`` relative to ``previous`` (both prepared with :func:`prepare`,
    same shape). ``max_shift_px`` bounds the search (default: a quarter of the frame); ``whitening`` is the
    exponent of the spectral normalization (0: plain correlation, 1: phase correlation).

    Examples
    --------
    >>> from scipy.ndimage import gaussian_filter
    >>> rng = np.random.default_rng(0)
    >>> a = gaussian_filter(rng.normal(size=(128, 128)), 2)
    >>> b = np.roll(a, (3, -5), axis=(0, 1))
    >>> [round(v, 1) for v in frame_shift(prepare(a), prepare(b))]
    [-5.0, 3.0]
    """
    best = candidate_shifts(previous, current, max_shift_px, whitening, n=1)[0]
    return float(best[0]), float(best[1])
