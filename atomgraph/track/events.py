"""Events and transition statistics from smoothed label timelines.

An event is a change of a site's smoothed label; its ``frame`` is the first frame showing the new state. A dopant
leaving one site (dopant -> host label) while a neighboring site within ``hop_radius_A`` takes a dopant label
(host -> dopant) in the same frame or the next is one event (``track_ids``: departure site first, ``frame``: the
arrival's): a ``hop`` when the dopant label is the same, else a conversion ``FROM>TO`` seen on two sites (a Si3
becoming a Si4 halfway to the neighbor it displaces may be linked to either site). Every other change is an event
of type ``FROM>TO``. The confidence is the mean probability of the old label over up to two observed frames
before times that of the new label over up to two frames after.

Transition statistics count, over every track and every pair of consecutive frames it spans, the smoothed label
before and after: ``count``, ``rate_per_frame`` (count per frame interval of the movie), and the Markov transition
probability ``P(to | from)`` per frame with a 95 % Wilson score interval.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n`` (default 95 %); (0, 1) when ``n`` is 0.

    Examples
    --------
    >>> [round(v, 3) for v in wilson_interval(0, 100)]
    [0.0, 0.037]
    """
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def label_changes(frames: np.ndarray, path: list[str], probs: np.ndarray, labels: list[str]) -> list[dict]:
    """Changes of one track's smoothed ``path`` (labels per observed frame ``frames``; ``probs`` (T, L) the
    per-frame probabilities, NaN rows where there is no evidence): ``frame, from_label, to_label, prob`` per
    change. The confidence is the old label's mean probability over the last two frames with evidence before the
    change times the new label's over the first two after it, each within its own state (a frame of the state
    before the previous change is no evidence about this one)."""
    out = []
    evidence = np.flatnonzero(np.isfinite(probs).all(axis=1))
    cuts = [0] + [t for t in range(1, len(path)) if path[t] != path[t - 1]] + [len(path)]
    for k in range(1, len(cuts) - 1):
        start, t, end = cuts[k - 1], cuts[k], cuts[k + 1]
        a, b = labels.index(path[t - 1]), labels.index(path[t])
        before = probs[evidence[(evidence >= start) & (evidence < t)][-2:], a]
        after = probs[evidence[(evidence >= t) & (evidence < end)][:2], b]
        conf = float(np.nanmean(before) if np.isfinite(before).any() else 0.5) * \
            float(np.nanmean(after) if np.isfinite(after).any() else 0.5)
        out.append({"frame": int(frames[t]), "from_label": path[t - 1], "to_label": path[t], "prob": conf})
    return out


def event_type(from_label: str, to_label: str, vacancy_labels=()) -> str:
    """The ``type`` of a site's label change: ``vacancy_created`` into a vacancy label, ``vacancy_filled`` out of
    one, else ``label_change``.

    Examples
    --------
    >>> event_type("Se1", "Sevac", ["Sevac"]), event_type("Si3", "Si4")
    ('vacancy_created', 'label_change')
    """
    if to_label in vacancy_labels:
        return "vacancy_created"
    return "vacancy_filled" if from_label in vacancy_labels else "label_change"


def _positions(c: dict, o: dict) -> dict:
    """An event's place: the middle of sites ``c`` and ``o`` (px and registered Å), from ``c``'s place to
    ``o``'s."""
    return {"x_px": 0.5 * (c["x_px"] + o["x_px"]), "y_px": 0.5 * (c["y_px"] + o["y_px"]),
            "from_x_px": c["x_px"], "from_y_px": c["y_px"], "to_x_px": o["x_px"], "to_y_px": o["y_px"],
            "x_A": 0.5 * (c["x_A"] + o["x_A"]), "y_A": 0.5 * (c["y_A"] + o["y_A"])}


def pair_hops(changes: list[dict], host_labels: list[str], hop_radius_A: float,
              vacancy_labels=()) -> list[dict]:
    """Merge a dopant leaving a site and arriving at a neighbor in the same frame into one ``hop`` event.

    ``changes``: dicts with ``frame, track_id, x_A, y_A, x_px, y_px, from_label, to_label, prob``; an empty
    ``to_label`` is a track that ended, an empty ``from_label`` one that started: either pairs only with a change
    to or from another label (a Si3 track ending where a Si4 starts) and is no event alone; a hop needs both
    sites to change label (a dopant track that breaks and restarts nearby is not one). Returns the events
    (``type``: ``hop``, or :func:`event_type`; ``track_ids`` as a space-separated string; ``from_x_px,
    from_y_px, to_x_px, to_y_px``: the site left and the site reached, the same site for a change in place; a
    paired event also ``joins_tracks``: it joined one track's end to another's start, the only record of that
    label change), sorted by frame."""
    used = set()
    events = []
    by_frame: dict[int, list[int]] = {}
    for i, c in enumerate(changes):
        by_frame.setdefault(c["frame"], []).append(i)
    leaves = [c["from_label"] not in host_labels and c["from_label"] != "" and
              (c["to_label"] in host_labels or c["to_label"] == "") for c in changes]
    arrives = [(c["from_label"] in host_labels or c["from_label"] == "") and
               c["to_label"] not in host_labels and c["to_label"] != "" for c in changes]
    for i, c in enumerate(changes):
        if i in used or not leaves[i]:
            continue
        best, best_key = None, (2, hop_radius_A)
        for j in by_frame.get(c["frame"], []) + by_frame.get(c["frame"] + 1, []):
            o = changes[j]
            if j == i or j in used or not arrives[j]:
                continue
            d = math.hypot(o["x_A"] - c["x_A"], o["y_A"] - c["y_A"])
            if o["to_label"] == c["from_label"] and not (c["to_label"] and o["from_label"]):
                continue  # a track's end or start with the same label: a track that broke, not a hop
            key = (o["frame"] - c["frame"] + (o["to_label"] != c["from_label"]), d)
            if d <= hop_radius_A and key < best_key:
                best, best_key = j, key
        if best is not None:
            o = changes[best]
            used.update((i, best))
            kind = "hop" if o["to_label"] == c["from_label"] else \
                event_type(c["from_label"], o["to_label"], vacancy_labels)
            events.append({"frame": o["frame"], "type": kind, "track_ids": f"{c['track_id']} {o['track_id']}",
                           "from_label": c["from_label"], "to_label": o["to_label"],
                           "prob": math.sqrt(c["prob"] * o["prob"]),   # two views of one event
                           **_positions(c, o), "joins_tracks": not (c["to_label"] and o["from_label"])})
    for i, c in enumerate(changes):
        if i not in used and c["from_label"] and c["to_label"]:  # a track's bare end or start is no event
            events.append({"frame": c["frame"], "type": event_type(c["from_label"], c["to_label"], vacancy_labels),
                           "track_ids": str(c["track_id"]), "from_label": c["from_label"],
                           "to_label": c["to_label"], "prob": c["prob"], **_positions(c, c)})
    return sorted(events, key=lambda e: (e["frame"], e["track_ids"]))


def transition_pairs(track_id: np.ndarray, label: np.ndarray) -> Counter:
    """Counts of (label, next label) over consecutive rows of one track; rows sorted by track, then frame."""
    same = np.flatnonzero(track_id[1:] == track_id[:-1]) if len(track_id) else np.zeros(0, int)
    return Counter(zip(label[same].tolist(), label[same + 1].tolist()))


def transition_table(paths: list[list[str]], n_frames: int, joined: list[tuple[str, str]] = ()) -> list[dict]:
    """Per (from, to) label pair seen in consecutive frames of any track, or joined across two tracks by an event
    (``joined``: a Si3 track ending where a Si4 starts is one Si3 -> Si4): ``count``, ``rate_per_frame`` (count
    per frame interval), ``prob`` = P(to | from) per frame, and its Wilson 95 % interval ``prob_low, prob_high``."""
    pairs: Counter = Counter(joined)
    for path in paths:
        pairs.update(zip(path[:-1], path[1:]))
    return transition_rows(pairs, n_frames)


def transition_rows(pairs: Counter, n_frames: int) -> list[dict]:
    """The :func:`transition_table` rows of (from, to) label pair counts ``pairs`` over ``n_frames`` frames."""
    totals: Counter = Counter()
    for (a, _), k in pairs.items():
        totals[a] += k
    intervals = max(n_frames - 1, 1)
    rows = []
    for (a, b), k in sorted(pairs.items()):
        low, high = wilson_interval(k, totals[a])
        rows.append({"from_label": a, "to_label": b, "count": k, "rate_per_frame": k / intervals,
                     "prob": k / totals[a], "prob_low": low, "prob_high": high})
    return rows
