"""Rows -> smoothed label timelines and events: the Viterbi of every track and the changes it shows.

Used on every row of a movie (:meth:`~atomgraph.track.tracker.Tracker.result`) and on the last few frames of a
live session (:mod:`.live`); both read the same row arrays (``frame, track_id, xy_px, xy_reg_A, element,
raw_label, probs, edge, vacancy, ratio, sigma, novel``, one entry per detected site per frame).

Units: positions in px (``xy_px``, each frame's own pixels) and registered Å (``xy_reg_A``); frames are indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .changes import presence_events
from .events import label_changes, pair_hops
from .evidence import row_probs
from .timeline import emission_log, flicker_floor, viterbi


MIN_TRACK_ROWS = 2   # frames with evidence a track needs before its end or start pairs into an event


@dataclass(frozen=True)
class DecodeSettings:
    """What decoding needs of the material and the tracker.

    Attributes
    ----------
    labels : the label vocabulary; ``host`` its host labels.
    switch : per-frame probability that a site's label changes (the HMM's stickiness).
    bond_A : the lattice's bond length, Å (the hop radius is 1.3 bonds).
    min_event_prob : events less confident than this are left out.
    groups : label indices per sublattice (TMDs) or None; ``columns`` the full / one-atom chalcogen label indices.
    vacancy_labels : the material's vacancy labels (a change to one is ``vacancy_created``).
    memory : frames a missed site keeps its track (a track's end is sure ``memory + 1`` frames after it).
    dopant_labels : labels of a dopant element: a track that shows one keeps its full evidence however often its
        label flips (a Si hopping there and back is motion, not a faint column read both ways).
    """

    labels: list
    host: list
    switch: float
    bond_A: float
    min_event_prob: float
    groups: list | None = None
    columns: tuple | None = None
    vacancy_labels: tuple = ()
    memory: int = 2
    dopant_labels: tuple = ()


@dataclass
class Decoded:
    """The decoded rows: ``smoothed`` label (N,), ``probs`` (N, L) after sublattice and intensity, ``events``
    (dicts, sorted by frame), ``joins`` (per event: it joined one track's end to another's start, the only record
    of that label change), and the rows sorted by track then frame (``order``) with each track's ``starts`` /
    ``ends`` in that order."""

    smoothed: np.ndarray
    probs: np.ndarray
    events: list
    joins: list
    order: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @property
    def joined(self) -> list[tuple[str, str]]:
        """(from, to) label pairs of the events that joined two tracks (for the transition counts)."""
        return [(e["from_label"], e["to_label"]) for e, j in zip(self.events, self.joins) if j]


def decode_rows(data: dict, cfg: DecodeSettings, own: np.ndarray | None = None) -> Decoded:
    """Smoothed labels and events of the rows in ``data`` (``own``: each row's sublattice, when known from more
    frames than ``data`` holds)."""
    probs = row_probs(data, cfg.labels, cfg.groups, cfg.columns, own)
    smoothed, order, starts, ends, floor, changes = smooth_tracks(data, probs, cfg.labels, cfg.switch,
                                                                  np.isin(cfg.labels, cfg.dopant_labels))
    changes += _ends_and_starts(data, probs, order, smoothed, cfg.host, floor < 0.5)
    events = [c for c in changes if not c.pop("edge")]
    events = pair_hops(events, cfg.host, 1.3 * cfg.bond_A, cfg.vacancy_labels)
    events += presence_events(data, smoothed, order, starts, ends, events, cfg.host, list(cfg.vacancy_labels),
                              cfg.bond_A, cfg.memory)
    events = sorted((e for e in events if e["prob"] >= cfg.min_event_prob), key=lambda e: (e["frame"],
                                                                                         e["track_ids"]))
    joins = [bool(e.pop("joins_tracks", False)) for e in events]
    return Decoded(smoothed, probs, events, joins, order, starts, ends)


def track_table(data: dict, dec: Decoded, labels: list[str], px: float, rows: np.ndarray | None = None) -> dict:
    """The ``tracks`` columns of :class:`~atomgraph.track.result.TrackResult` for ``rows`` of ``data`` (default
    all): positions in px and Å (``px``: Å per pixel), smoothed label and its probability, the frame's own label."""
    rows = np.arange(len(data["frame"])) if rows is None else rows
    index = np.array([labels.index(lab) for lab in dec.smoothed[rows]], dtype=int)
    xy = data["xy_px"][rows]
    return {"frame": data["frame"][rows], "track_id": data["track_id"][rows], "x_px": xy[:, 0], "y_px": xy[:, 1],
            "x_A": xy[:, 0] * px, "y_A": xy[:, 1] * px, "element": data["element"][rows],
            "label": dec.smoothed[rows], "prob": dec.probs[rows, index] if len(index) else np.zeros(0),
            "raw_label": data["raw_label"][rows], "vacancy": data["vacancy"][rows]}


def smooth_tracks(data: dict, probs: np.ndarray, labels: list[str], switch: float, dopant: np.ndarray | None = None):
    """Viterbi per track: smoothed label per row, the rows' order (track, then frame), track starts and ends in
    it, each row's evidence floor (1: none), and the label changes (with ``edge`` flags). A track's frames are
    flattened by its :func:`~atomgraph.track.timeline.flicker_floor` unless its best label is ever one of the
    ``dopant`` labels ((L,) bool; None: none).

    A track whose every frame with evidence has the same most probable label needs no Viterbi: that label at every
    frame has the best emission everywhere and no switch, so it is the most probable path (most tracks, at once)."""
    order = np.lexsort((data["frame"], data["track_id"]))
    tid = data["track_id"][order]
    starts = np.flatnonzero(np.r_[True, tid[1:] != tid[:-1]]) if len(order) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(order)].astype(int)
    label_arr = np.array(labels, dtype=object)
    p = probs[order]
    has = np.isfinite(p).all(axis=1)
    best = np.where(has, np.argmax(np.where(np.isfinite(p), p, -1.0), axis=1), -1)
    if len(order) == 0:
        return np.empty(0, dtype=object), order, starts, ends, np.zeros(0), []
    hi = np.maximum.reduceat(best, starts)
    lo = np.minimum.reduceat(np.where(has, best, len(labels)), starts)
    constant = (hi == lo) | (hi < 0)
    # the weight of a frame's evidence: none at the frame edge; an unlabeled node (little probability on the
    # vocabulary: "not a lattice site") weighs as much as the probability it puts on the vocabulary
    mass = np.nansum(np.where(np.isfinite(probs), probs, 0.0), axis=1)
    floor = np.where(data["edge"], 0.8, np.clip(1.0 - 2.0 * mass, 0.01, 1.0))
    smoothed = np.empty(len(order), dtype=object)
    smoothed[order] = label_arr[np.repeat(np.maximum(hi, 0), ends - starts)]
    changes = []
    for a, b in zip(starts[~constant], ends[~constant]):
        rows = order[a:b]
        seen = best[a:b][has[a:b] & (floor[rows] < 0.5)]   # frames with evidence: their best labels
        moving = dopant is not None and bool(np.any(dopant[seen]))
        path = list(label_arr[viterbi(emission_log(probs[rows], np.maximum(floor[rows], 0.0 if moving
                                                                            else flicker_floor(seen))), switch)])
        smoothed[rows] = path
        for c in label_changes(data["frame"][rows], path, probs[rows], labels):
            at = np.searchsorted(data["frame"][rows], c["frame"])
            r, before = rows[at], rows[at - 1]
            c.update(_site(data, r), track_id=int(tid[a]), edge=bool(data["edge"][r] or data["edge"][before]))
            changes.append(c)
    return smoothed, order, starts, ends, floor, changes


def _site(data: dict, r: int) -> dict:
    """Row ``r``'s position: ``x_px, y_px`` (its frame's px) and ``x_A, y_A`` (registered Å)."""
    return {"x_px": float(data["xy_px"][r, 0]), "y_px": float(data["xy_px"][r, 1]),
            "x_A": float(data["xy_reg_A"][r, 0]), "y_A": float(data["xy_reg_A"][r, 1])}


def track_bounds(track_id: np.ndarray, frame: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first and the last of ``rows`` (indices) of every track among them, in frame order."""
    rows = rows[np.lexsort((frame[rows], track_id[rows]))]
    if len(rows) == 0:
        return rows, rows
    tid = track_id[rows]
    cut = np.flatnonzero(np.r_[True, tid[1:] != tid[:-1]])
    return rows[cut], rows[np.r_[cut[1:], len(rows)] - 1]


def _ends_and_starts(data: dict, probs: np.ndarray, order: np.ndarray, smoothed: np.ndarray, host: list[str],
                     evidence: np.ndarray) -> list[dict]:
    """Pseudo-changes for dopant tracks that end before the movie does (``to_label`` '') or start after its first
    frame (``from_label`` ''), at their last and first frames with ``evidence`` (rows, bool): when a Si3 becomes a
    Si4 the Si moves to a bond center, where the linker may give it a new track or a C's track, so the change shows
    as one track ending and another starting or changing. :func:`~atomgraph.track.events.pair_hops` pairs them with
    their partner; unpaired ones are not events."""
    if len(order) == 0:
        return []
    first_frame, last_frame = int(data["frame"].min()), int(data["frame"].max())
    seen = order[evidence[order]]
    firsts, lasts = track_bounds(data["track_id"], data["frame"], seen)
    ids, counts = np.unique(data["track_id"][seen], return_counts=True)
    rows_of = dict(zip(ids.tolist(), counts.tolist()))
    out = []
    for rows, side in ((lasts, "end"), (firsts, "start")):
        rows = rows[~np.isin(smoothed[rows], list(host) + [""])]  # dopant tracks only (a few)
        for r in rows:
            frame = int(data["frame"][r]) + (side == "end")
            if (side == "end" and frame > last_frame) or (side == "start" and frame == first_frame):
                continue
            # a track seen in one frame only is no side of a change, unless the movie's last frame is that one
            # (a faint column read as empty once, a one-frame vacancy node, made a "vacancy_created" on real texture)
            if rows_of[int(data["track_id"][r])] < MIN_TRACK_ROWS and int(data["frame"][r]) != last_frame:
                continue
            label = smoothed[r]
            out.append({"frame": frame, "from_label": label if side == "end" else "",
                        "to_label": "" if side == "end" else label, "prob": float(np.nanmax(probs[r])),
                        "track_id": int(data["track_id"][r]), **_site(data, r), "edge": bool(data["edge"][r])})
    return sorted(out, key=lambda c: (c["track_id"], c["from_label"] == ""))  # per track: its end, then its start
