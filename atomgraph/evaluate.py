"""Match predicted atoms to truth and score detection, position error and labels.

Matching is mutual-nearest-neighbour within ``tolerance_A`` (Å), done separately for real atoms and for vacancy
sites (a vacancy site in the truth only matches a vacancy node in the prediction). Scoring excludes a border: truth
sites within ``border_A`` of the image edge are ignored, and so are unmatched predictions there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .atoms import AtomTable
from .errors import AtomgraphInputError


@dataclass
class Match:
    """Result of :func:`match_atoms`.

    Attributes
    ----------
    pred_index, truth_index : (M,) int rows of matched pairs (only pairs whose truth site is scored).
    distance_A : (M,) distance of each pair in Å.
    pred_scored, truth_scored : bool masks of the rows inside the scored region.
    """

    pred_index: np.ndarray
    truth_index: np.ndarray
    distance_A: np.ndarray
    pred_scored: np.ndarray
    truth_scored: np.ndarray


def nearest(points: np.ndarray, queries: np.ndarray, tolerance: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Per query point (M, 2) the distance to the nearest of ``points`` (N, 2) and its index (same units); beyond
    ``tolerance`` the distance is inf and the index N."""
    return cKDTree(points).query(queries, distance_upper_bound=tolerance)


def mutual_nearest(a: np.ndarray, b: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i in a, j in b) of points (N, 2) that are each other's nearest neighbour within ``tolerance`` (same
    units), and their distances."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    d_ab, j = nearest(b, a, tolerance)
    _, i_back = nearest(a, b, tolerance)
    i = np.arange(len(a))
    ok = np.isfinite(d_ab)
    ok[ok] &= i_back[j[ok]] == i[ok]
    return i[ok], j[ok], d_ab[ok]


def _region(pred: AtomTable, truth: AtomTable, border_A: float, image_shape) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners (x, y in Å) of the scored region."""
    if image_shape is not None:
        px = truth.pixel_size_A or pred.pixel_size_A
        if px is None:
            raise AtomgraphInputError("image_shape needs a pixel size on the truth or prediction table")
        h, w = image_shape[:2]
        lo, hi = np.array([-0.5, -0.5]) * px, np.array([w - 0.5, h - 0.5]) * px
    else:
        pts = truth.positions_A if len(truth) else pred.positions_A
        if len(pts) == 0:
            return np.zeros(2), np.zeros(2)
        lo, hi = pts.min(0), pts.max(0)
    return lo + border_A, hi - border_A


def match_atoms(pred: AtomTable, truth: AtomTable, tolerance_A: float = 0.5, border_A: float = 1.0,
                image_shape: tuple[int, int] | None = None) -> Match:
    """Mutual-nearest matching of predicted to true sites within ``tolerance_A`` (Å).

    Real atoms match real atoms, vacancy sites match vacancy nodes. ``image_shape`` (rows, columns; px) sets the
    frame for the ``border_A`` (Å) exclusion; without it the frame is the truth's bounding box.
    """
    if not tolerance_A > 0:
        raise AtomgraphInputError(f"tolerance must be positive, got {tolerance_A!r}")
    lo, hi = _region(pred, truth, border_A, image_shape)
    inside = lambda p: np.all((p >= lo) & (p <= hi), axis=1)  # noqa: E731
    pi_all, ti_all, d_all = [], [], []
    for vac in (False, True):
        pi = np.flatnonzero(pred.vacancy == vac)
        ti = np.flatnonzero(truth.vacancy == vac)
        i, j, d = mutual_nearest(pred.positions_A[pi], truth.positions_A[ti], tolerance_A)
        pi_all.append(pi[i])
        ti_all.append(ti[j])
        d_all.append(d)
    p_idx, t_idx, dist = (np.concatenate(v) for v in (pi_all, ti_all, d_all))
    truth_scored = inside(truth.positions_A)
    keep = truth_scored[t_idx]
    pred_scored = inside(pred.positions_A)
    pred_scored[p_idx[keep]] = True          # a prediction matched to a scored site is scored
    pred_scored[p_idx[~keep]] = False        # one matched to a border site is not
    return Match(p_idx[keep], t_idx[keep], dist[keep], pred_scored, truth_scored)


def _prf(tp: int, n_pred: int, n_truth: int) -> dict:
    precision = tp / n_pred if n_pred else float("nan")
    recall = tp / n_truth if n_truth else float("nan")
    f1 = 2 * tp / (n_pred + n_truth) if (n_pred + n_truth) else float("nan")
    return {"n_pred": int(n_pred), "n_truth": int(n_truth), "tp": int(tp), "precision": precision,
            "recall": recall, "f1": f1}


def _per_key(pred_keys: np.ndarray, truth_keys: np.ndarray, m: Match) -> dict:
    out = {}
    keys = sorted(set(truth_keys[m.truth_scored]) | set(pred_keys[m.pred_scored]) - {""})
    for key in keys:
        if key == "":
            continue
        tp = int(np.sum((pred_keys[m.pred_index] == key) & (truth_keys[m.truth_index] == key)))
        out[str(key)] = _prf(tp, int(np.sum(m.pred_scored & (pred_keys == key))),
                        int(np.sum(m.truth_scored & (truth_keys == key))))
    return out


def evaluate(pred: AtomTable, truth: AtomTable, tolerance_A: float = 0.5, border_A: float = 1.0,
             image_shape: tuple[int, int] | None = None) -> dict:
    """Detection precision/recall/F1, RMS position error and per-label/per-element scores.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``tp``, ``n_pred``, ``n_truth`` over real atoms (vacancy nodes excluded);
        ``rms_error_pm`` and ``rms_error_A`` (matched real atoms; picometres and Å); ``mean_offset_A`` (x, y mean of
        pred - truth, Å) and ``rms_error_pm_centered`` (RMS after removing that global offset, pm: a whole-image
        translation, e.g. from detector lag, changes no bond or label); ``per_label`` (labels present in
        both tables: a match counts for label L when both carry L; vacancy sites included); ``per_element``
        (real atoms by element); ``tolerance_A``, ``border_A``.

    Examples
    --------
    Three of four atoms found, one of them 0.1 Å off, and one false detection inside the scored region (without
    ``image_shape``, the truth's bounding box shrunk by ``border_A``):

    >>> truth = AtomTable([[5.0, 5.0], [7.0, 5.0], [5.0, 7.0], [7.0, 7.0]], ["C"] * 4)
    >>> pred = AtomTable([[5.0, 5.1], [7.0, 5.0], [5.0, 7.0], [6.0, 6.0]], ["C"] * 4)
    >>> r = evaluate(pred, truth, tolerance_A=0.5, border_A=0.0)
    >>> r["tp"], r["precision"], r["recall"], round(r["rms_error_pm"], 1)
    (3, 0.75, 0.75, 5.8)
    """
    m = match_atoms(pred, truth, tolerance_A, border_A, image_shape)
    real = ~truth.vacancy[m.truth_index] & ~pred.vacancy[m.pred_index]
    det = _prf(int(real.sum()), int(np.sum(m.pred_scored & ~pred.vacancy)),
               int(np.sum(m.truth_scored & ~truth.vacancy)))
    d = m.distance_A[real]
    rms = float(np.sqrt(np.mean(d**2))) if len(d) else float("nan")
    delta = pred.positions_A[m.pred_index[real]] - truth.positions_A[m.truth_index[real]]
    offset = delta.mean(0) if len(delta) else np.full(2, np.nan)
    rms_c = float(np.sqrt(np.mean(np.sum((delta - offset) ** 2, 1)))) if len(delta) else float("nan")
    result = {"tolerance_A": float(tolerance_A), "border_A": float(border_A), **det,
              "rms_error_A": rms, "rms_error_pm": 100.0 * rms,
              "mean_offset_A": [float(v) for v in offset], "rms_error_pm_centered": 100.0 * rms_c}
    if np.any(pred.label != "") and np.any(truth.label != ""):
        result["per_label"] = _per_key(pred.label, truth.label, m)
    if np.any(pred.element != "") and np.any(truth.element != ""):
        real_pred = np.where(pred.vacancy, "", pred.element)
        real_truth = np.where(truth.vacancy, "", truth.element)
        result["per_element"] = _per_key(real_pred.astype(str), real_truth.astype(str), m)
    return result
