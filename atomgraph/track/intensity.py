"""Column-intensity evidence for the label timelines of chalcogen sites (how many atoms a column holds).

In HAADF the signal of a column is the sum over its atoms, so a chalcogen column that lost one of its two atoms
(``Se1``) keeps about half the signal of a full one (``Se2``): a little more in practice, because the tails of the
probe on the neighboring metal columns add the same offset to both. Per frame, every column's integrated intensity
is divided by the median of that frame's full chalcogen columns (the ``ratio``: 1 for a full column) and the spread
of those ratios gives the frame's noise. A movie then tells one atom from two far better than the classifier does
frame by frame: the intensity is measured again in every frame, while the classifier's probabilities are nearly
0 or 1 and flip on a noisy frame (a column at ratio 0.5 called ``Se2`` with prob 0.99 was seen).

:func:`column_evidence` replaces, for every row the classifier calls a chalcogen column, the split of its
probability between the full and the single-atom label by the likelihood ratio of its intensity under the two
levels; the probability of a vacancy (or of any other label) is kept as the classifier gave it.

Units: ratios are dimensionless (a full chalcogen column of the same frame = 1).
"""

from __future__ import annotations

import numpy as np

SINGLE_LEVEL_PRIOR = 0.55  # ratio of a one-atom column when too few are seen to measure it (simulations: 0.50-0.61)
SINGLE_LEVEL_RANGE = (0.35, 0.8)  # a measured one-atom level outside this is not trusted
MIN_SIGMA = 0.04  # floor of the per-frame noise of the ratio (model error: probe tails, drift within a frame)
MIN_FULL_COLUMNS = 5  # a frame needs this many full columns for a reference intensity


def frame_ratios(intensity: np.ndarray, is_full: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-column intensity ratio to the median full chalcogen column of one frame, and that frame's noise.

    Parameters
    ----------
    intensity : (N,) integrated column intensity (image units; NaN where unknown, e.g. vacancy nodes).
    is_full : (N,) bool, the columns the classifier calls full chalcogen columns (the reference).

    Returns
    -------
    ratio : (N,) dimensionless (NaN where unknown, or all NaN when the frame has too few full columns).
    sigma : robust spread (1.4826 MAD) of the full columns' ratios, at least :data:`MIN_SIGMA` (NaN with no
        reference).
    """
    intensity = np.asarray(intensity, dtype=float)
    ref = intensity[np.asarray(is_full, bool) & np.isfinite(intensity)]
    if len(ref) < MIN_FULL_COLUMNS or not np.median(ref) > 0:
        return np.full(len(intensity), np.nan), float("nan")
    ratio = intensity / np.median(ref)
    full = ratio[np.asarray(is_full, bool) & np.isfinite(ratio)]
    sigma = 1.4826 * float(np.median(np.abs(full - np.median(full))))
    return ratio, max(sigma, MIN_SIGMA)


def single_level(ratio: np.ndarray, called_single: np.ndarray) -> float:
    """The ratio of a one-atom column in this movie: the median over the columns the classifier called so when
    there are at least :data:`MIN_FULL_COLUMNS` of them in :data:`SINGLE_LEVEL_RANGE`, else
    :data:`SINGLE_LEVEL_PRIOR`."""
    r = np.asarray(ratio, float)[np.asarray(called_single, bool)]
    r = r[np.isfinite(r) & (r > SINGLE_LEVEL_RANGE[0]) & (r < SINGLE_LEVEL_RANGE[1])]
    return float(np.median(r)) if len(r) >= MIN_FULL_COLUMNS else SINGLE_LEVEL_PRIOR


def column_evidence(probs: np.ndarray, ratio: np.ndarray, sigma: np.ndarray, full: int, single: int,
                    single_ratio: float) -> np.ndarray:
    """Label probabilities (N, L) with the full/single split of chalcogen columns taken from their intensity.

    Rows whose most probable label is ``full`` or ``single`` (column indices into L) and whose ratio and sigma are
    known get ``p_full + p_single`` shared in proportion to the Gaussian likelihoods of the ratio at 1 and at
    ``single_ratio`` (noise ``sigma`` per row); other rows are returned unchanged.

    Examples
    --------
    >>> p = np.array([[0.01, 0.99, 0.0], [0.9, 0.1, 0.0]])   # (Se1, Se2, Sevac): a half-bright column called Se2
    >>> column_evidence(p, np.array([0.52, 1.01]), np.array([0.05, 0.05]), full=1, single=0,
    ...                 single_ratio=0.55).round(3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    out = np.array(probs, dtype=float, copy=True)
    ratio, sigma = np.asarray(ratio, float), np.asarray(sigma, float)
    finite = np.isfinite(out).all(axis=1)
    best = np.where(finite, np.argmax(np.where(np.isfinite(out), out, -1.0), axis=1), -1)
    rows = np.flatnonzero(np.isin(best, (full, single)) & np.isfinite(ratio) & np.isfinite(sigma) & (sigma > 0))
    if len(rows) == 0:
        return out
    z_full = (ratio[rows] - 1.0) / sigma[rows]
    z_single = (ratio[rows] - single_ratio) / sigma[rows]
    share_full = 1.0 / (1.0 + np.exp(np.clip(0.5 * (z_full**2 - z_single**2), -700.0, 700.0)))
    mass = out[rows, full] + out[rows, single]
    out[rows, full] = mass * share_full
    out[rows, single] = mass * (1.0 - share_full)
    return out
