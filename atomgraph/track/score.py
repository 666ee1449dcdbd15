"""Scoring a tracking result against a simulated movie's truth: linking accuracy and event precision / recall.

Units: match distances in Å.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from .events import event_type


def _match(pred_xy: np.ndarray, truth_xy: np.ndarray, tol: float) -> np.ndarray:
    """For each truth row the matched prediction row (-1 when none within ``tol``), one-to-one by distance."""
    out = np.full(len(truth_xy), -1)
    if len(pred_xy) == 0 or len(truth_xy) == 0:
        return out
    pairs = cKDTree(truth_xy).query_ball_point(pred_xy, tol)
    p_idx = np.repeat(np.arange(len(pred_xy)), [len(p) for p in pairs])
    t_idx = np.concatenate([np.asarray(p, int) for p in pairs]) if len(p_idx) else np.zeros(0, int)
    if len(p_idx) == 0:
        return out
    up, ip = np.unique(p_idx, return_inverse=True)
    ut, it = np.unique(t_idx, return_inverse=True)
    cost = np.full((len(ut), len(up)), 1e6)
    cost[it, ip] = np.hypot(*(pred_xy[p_idx] - truth_xy[t_idx]).T)
    r, c = linear_sum_assignment(cost)
    ok = cost[r, c] <= tol
    out[ut[r[ok]]] = up[c[ok]]
    return out


def linking_accuracy(result, movie, tol_A: float = 0.5) -> float:
    """Share of consecutive-frame truth links (a truth site seen and detected in frames k and k + 1) whose two
    detections carry the same track id."""
    tracks = result.tracks
    px = movie.pixel_size_A
    ids_per_frame = []
    for k, truth in enumerate(movie.truth):
        rows = np.flatnonzero(tracks["frame"] == k)
        m = _match(np.c_[tracks["x_px"][rows], tracks["y_px"][rows]] * px, truth.positions_A, tol_A)
        pred_id = np.where(m >= 0, tracks["track_id"][rows][np.maximum(m, 0)], -1)
        ids_per_frame.append(dict(zip(truth.extra["track_id"].tolist(), pred_id.tolist())))
    good = total = 0
    for a, b in zip(ids_per_frame[:-1], ids_per_frame[1:]):
        for tid, pa in a.items():
            pb = b.get(tid, -1)
            if pa >= 0 and pb >= 0:
                total += 1
                good += pa == pb
    return good / total if total else float("nan")


SAME_KIND = {"column_vanished": "vacancy_created", "column_appeared": "vacancy_filled"}


def event_kind(event: dict, vacancy_labels=()) -> str:
    """The tracker's ``type`` vocabulary for an event of either side: a simulator's ``FROM>TO`` becomes
    ``label_change`` (``vacancy_created`` / ``vacancy_filled`` into or out of one of ``vacancy_labels``); a column
    vanishing counts as a vacancy created and one appearing as a vacancy filled (whether the lattice model puts a
    vacancy node on the empty site decides which the tracker says)."""
    kind = event["type"]
    if ">" in kind:
        kind = event_type(event["from_label"], event["to_label"], vacancy_labels)
    return SAME_KIND.get(kind, kind)


LABEL_KINDS = ("label_change", "vacancy_created", "vacancy_filled")


def _same_kind(kind: str, truth: dict, vacancy_labels) -> bool:
    """Whether a predicted event of ``kind`` is of the truth event's kind; a simulator's ``FROM>TO`` without
    ``vacancy_labels`` is any of :data:`LABEL_KINDS` (its labels, compared too, decide)."""
    if vacancy_labels is None and ">" in truth["type"]:
        return kind in LABEL_KINDS
    return kind == event_kind(truth, vacancy_labels or ())


def event_scores(pred_events: list[dict], truth_events: list[dict], pixel_size_A: float, tol_A: float,
                 vacancy_labels: list[str] | None = None) -> dict:
    """Precision and recall of events: same frame, same kind (:func:`event_kind`; ``vacancy_labels`` None: a
    simulator's ``FROM>TO`` matches any label kind), same from label, same to label (a vanished column's may be
    empty), positions within ``tol_A``. Returns ``precision, recall, matched, predicted, truth``."""
    used = set()
    matched = 0
    for p in pred_events:
        kind = event_kind(p, vacancy_labels or ())
        for j, t in enumerate(truth_events):
            if j in used or p["frame"] != t["frame"] or p["from_label"] != t["from_label"] or \
                    not _same_kind(kind, t, vacancy_labels) or \
                    (p["to_label"] != t["to_label"] and not (kind == "vacancy_created" and t["to_label"] == "")):
                continue
            if np.hypot(p["x_px"] - t["x_px"], p["y_px"] - t["y_px"]) * pixel_size_A <= tol_A:
                used.add(j)
                matched += 1
                break
    n_p, n_t = len(pred_events), len(truth_events)
    return {"precision": matched / n_p if n_p else 1.0, "recall": matched / n_t if n_t else 1.0,
            "matched": matched, "predicted": n_p, "truth": n_t}
