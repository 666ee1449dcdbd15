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
from scipy.ndimage import binary_dilation, maximum_filter, uniform_filter

BRAGG_CONTRAST = 8.0   # a frequency whose cross power is this many times its 9x9 neighborhood's (geometric mean)
                       # belongs to a Bragg peak of the lattice: notched out of the aperiodic correlation
APERIODIC_REACH_PX = 2      # the aperiodic peak is looked for this far (px of its surface) around each candidate
APERIODIC_HALVE_FROM = 512   # frames this large (prepared px) get their aperiodic correlation from the lower half of
                             # the frequencies (what is not periodic there is defects and contamination, not noise)


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


def spectrum(prepared: np.ndarray) -> np.ndarray:
    """The real FFT of a prepared frame (a live tracker keeps the last one instead of transforming it twice)."""
    return fft.rfft2(prepared)


def candidate_shifts(previous: np.ndarray, current: np.ndarray, max_shift_px: float | None = None,
                     whitening: float = 0.5, n: int = 8, separation_px: float = 4.0, fine_px: float = 1.0,
                     coarse_px: float = 12.0, shape: tuple[int, int] | None = None,
                     heights: bool = False) -> np.ndarray:
    """The ``n`` highest local maxima of the correlation surface as ``(dx, dy)`` rows in px, best first (sub-pixel):
    on a periodic lattice the true shift and its neighbors by a lattice vector all score high, so the caller
    chooses among them with other evidence (which sites keep their element). ``previous`` and ``current`` are
    prepared frames, or their :func:`spectrum` with the frames' ``shape`` given. ``fine_px`` and ``coarse_px`` are
    the Gaussian sigmas (px of the prepared frames) of the band-pass. ``heights``: a third column with each peak's
    height over the highest one's (1 for the first row)."""
    if shape is None:
        shape = previous.shape
        previous, current = spectrum(previous), spectrum(current)
    raw = _correlation(current * np.conj(previous), shape, whitening, fine_px, coarse_px)
    h, w = raw.shape
    limit = max_shift_px if max_shift_px is not None else 0.25 * min(h, w)
    size = max(3, int(2 * separation_px) | 1)
    # only shifts within the limit (plus the filter's reach) are searched: a window around zero shift, unwrapped
    ry, rx = (min(int(np.ceil(limit)) + size, (m - 1) // 2) for m in (h, w))
    rows, cols = np.arange(-ry, ry + 1), np.arange(-rx, rx + 1)
    win = raw[np.ix_(rows % h, cols % w)]
    corr = np.where(cols[None, :] ** 2 + rows[:, None] ** 2 <= limit**2, win, -np.inf)
    peaks = (corr == maximum_filter(corr, size=size, mode="nearest")) & np.isfinite(corr)
    idx = np.flatnonzero(peaks)
    idx = idx[np.argsort(corr.ravel()[idx])[::-1][:n]]
    out = []
    for flat in idx:
        a, b = np.unravel_index(int(flat), corr.shape)
        i, j = rows[a] % h, cols[b] % w
        sub_y = _parabola(raw[(i - 1) % h, j], raw[i, j], raw[(i + 1) % h, j])
        sub_x = _parabola(raw[i, (j - 1) % w], raw[i, j], raw[i, (j + 1) % w])
        out.append((cols[b] + sub_x, rows[a] + sub_y, raw[i, j]))
    out = np.array(out, dtype=float).reshape(-1, 3)
    if heights:
        out[:, 2] /= out[0, 2] if len(out) and out[0, 2] != 0 else 1.0
        return out
    return out[:, :2]


def aperiodic_scores(previous: np.ndarray, current: np.ndarray, shape: tuple[int, int], shifts_px: np.ndarray,
                     whitening: float = 0.5, fine_px: float = 1.0, coarse_px: float = 12.0) -> np.ndarray:
    """(K,) how strongly what is *not* periodic in two frames correlates at each of ``shifts_px`` (K, 2) ``(dx,
    dy)``: the correlation with the lattice's Bragg peaks notched out (frequencies whose cross power stands
    :data:`BRAGG_CONTRAST` times above their neighborhood, and their immediate neighbors), as a robust z-score
    over the whole surface. Shifts that differ by a lattice vector score alike in the full correlation; here only
    the true one lines up the defects, dopants, contamination and background of the two frames. ``previous`` and
    ``current`` are the frames' :func:`spectrum` of the given prepared ``shape``; shifts in px of those frames.
    Frames of :data:`APERIODIC_HALVE_FROM` px or more are read at half resolution (a quarter of the cost)."""
    shifts_px = np.asarray(shifts_px, float).reshape(-1, 2)
    if min(shape) >= APERIODIC_HALVE_FROM:   # the low half of the frequencies: a correlation surface binned 2x
        h, w = shape
        shape = (h // 2, w // 2)
        keep = np.r_[0:shape[0] // 2, h - (shape[0] - shape[0] // 2):h]
        previous, current = previous[keep, : shape[1] // 2 + 1], current[keep, : shape[1] // 2 + 1]
        shifts_px, fine_px, coarse_px = shifts_px / 2.0, fine_px / 2.0, coarse_px / 2.0
    cross = current * np.conj(previous)
    log_power = np.log(np.abs(cross) + 1e-30)
    bragg = binary_dilation(log_power - uniform_filter(log_power, size=9, mode="wrap") > np.log(BRAGG_CONTRAST))
    bragg[0, 0] = True
    corr = _correlation(cross, shape, whitening, fine_px, coarse_px, notch=bragg)
    center = float(np.median(corr))
    spread = 1.4826 * float(np.median(np.abs(corr - center))) or 1.0
    h, w = shape
    rows = np.rint(shifts_px[:, 1]).astype(int) % h
    cols = np.rint(shifts_px[:, 0]).astype(int) % w
    reach = maximum_filter(corr, size=2 * APERIODIC_REACH_PX + 1, mode="wrap")  # the full correlation's peak
    return (reach[rows, cols] - center) / spread                                  # may sit a few px off


def _correlation(cross: np.ndarray, shape: tuple[int, int], whitening: float, fine_px: float, coarse_px: float,
                 notch: np.ndarray | None = None) -> np.ndarray:
    """The band-passed, partially whitened cross-correlation of two frames from their cross spectrum
    ``F_current * conj(F_previous)`` (modified in place; ``notch``: entries set to zero first)."""
    cross /= np.abs(cross) ** whitening + 1e-12
    if notch is not None:
        cross[notch] = 0.0
    fy = np.fft.fftfreq(shape[0])[:, None]  # cycles per px
    fx = np.fft.rfftfreq(shape[1])[None, :]
    f2 = 2.0 * np.pi**2 * (fx**2 + fy**2)
    cross *= np.exp(-f2 * fine_px**2) - np.exp(-f2 * coarse_px**2)  # the band-pass of both frames, once
    corr = fft.irfft2(cross, s=shape)
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
