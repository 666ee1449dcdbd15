"""Events beyond label changes: a column appearing or vanishing, a vacancy created or filled without a vacancy
label, a node turning novel or known.

Each comes from what a track shows besides its label:

- its *occupancy* (a column, or a vacancy node of the lattice model) frame by frame, smoothed like the labels by a
  sticky two-state Viterbi, so one odd frame makes no event: column -> vacancy node is ``vacancy_created``, back
  is ``vacancy_filled`` (where the material has a vacancy label, the label change says it already);
- its *novelty* flag (``novel``: outside the vocabulary), smoothed the same way: ``novel_appeared`` /
  ``novel_vanished``, one event per cluster (same frame, within two bonds), none within two bonds and a frame of
  another event (the neighbors of a new vacancy look novel: they are part of that event); rows nearer the frame
  edge than the classifier's receptive field (``novel_edge``: layers + 1 bonds) are no evidence of it, since part
  of the neighborhood the flag reads is out of view;
- its *end and start*: a track that ends in view (not seen again for longer than the linker's memory) is a
  ``column_vanished``, one that is born in view after the first frame a ``column_appeared``; a vacancy node's
  track the same as ``vacancy_filled`` / ``vacancy_created``. An end and a start at one place (within 0.6 bond;
  up to ``memory + 3`` frames apart) are one event when the occupancy differs (a column's track ends where a
  vacancy node's starts: ``vacancy_created``) and none when it does not, however far apart (a track that broke: a column missed for longer than the memory).

A track needs ``MIN_ROWS`` frames of evidence on the side that stays (it existed before it vanished, it persists
after it appeared); rows at the frame edge are no evidence. Ends and starts beside a label event or a hop (within
1.3 bonds, one frame) are part of it (a Si3 becoming a Si4 takes a carbon's place) and make no event of their own.

Units: positions in px (each frame's own) and registered Å; frames are indices.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from .timeline import emission_log, flicker_floor, viterbi

MIN_ROWS = 3  # frames of evidence a track needs on the side that stays
FLAG_SWITCH = 0.01  # per-frame switch probability of the occupancy / novelty chains


def presence_events(data: dict, smoothed: np.ndarray, order: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                    near: list[dict], host: list[str], vacancy_labels: list[str], bond_A: float,
                    memory: int) -> list[dict]:
    """The events above for the rows in ``data`` (``order``, ``starts``, ``ends``: rows sorted by track then frame
    and each track's span in it; ``near``: the label events and hops, whose ends and starts are theirs; ``host``:
    the host labels, the only tracks whose ends and starts are events here: a dopant's pair with their partner in
    :func:`~atomgraph.track.events.pair_hops`)."""
    evidence = ~data["edge"]
    out = _flips(data, smoothed, order, starts, ends, data["vacancy"], evidence, ("vacancy_created",
                                                                                   "vacancy_filled"),
                 vacancy_labels)
    out += _ends_and_starts(data, smoothed, order, starts, ends, evidence, near, host, bond_A, memory)
    for e in out:  # the label of an empty site: none, unless the material has a vacancy label for it
        if e["type"] == "vacancy_created" and e["to_label"] not in vacancy_labels:
            e["to_label"] = ""
        if e["type"] == "vacancy_filled" and e["from_label"] not in vacancy_labels:
            e["from_label"] = ""
    novel = _flips(data, smoothed, order, starts, ends, data["novel"] & ~data["vacancy"], ~data["novel_edge"],
                   ("novel_appeared", "novel_vanished"), [])
    novel = [e for e in novel if not _part_of(e, near + out, 2.0 * bond_A)]  # the new neighbors of an event
    return out + _clusters(novel, 2.0 * bond_A)


def _event(kind: str, data: dict, a: int, b: int, track_ids: str, from_label: str, to_label: str,
           prob: float) -> dict:
    """An event dict: at row ``b``'s frame and place, from row ``a``'s place to row ``b``'s."""
    xa, xb = data["xy_px"][a], data["xy_px"][b]
    return {"frame": int(data["frame"][b]), "type": kind, "track_ids": track_ids, "x_px": float(xb[0]),
            "y_px": float(xb[1]), "from_label": from_label, "to_label": to_label, "prob": float(prob),
            "from_x_px": float(xa[0]), "from_y_px": float(xa[1]), "to_x_px": float(xb[0]), "to_y_px": float(xb[1]),
            "x_A": float(data["xy_reg_A"][b, 0]), "y_A": float(data["xy_reg_A"][b, 1])}


def _flips(data: dict, smoothed: np.ndarray, order: np.ndarray, starts: np.ndarray, ends: np.ndarray,
           flag: np.ndarray, evidence: np.ndarray, kinds: tuple[str, str], skip_labels: list[str]) -> list[dict]:
    """Changes of a per-row bool ``flag`` within a track, smoothed (``kinds``: off -> on, on -> off). A change
    where the smoothed label enters or leaves one of ``skip_labels`` is left to the label event."""
    f = np.asarray(flag, bool)[order]
    if len(f) == 0:
        return []
    mixed = np.maximum.reduceat(f.astype(int), starts) != np.minimum.reduceat(f.astype(int), starts)
    out = []
    for a, b in zip(starts[mixed], ends[mixed]):
        rows = order[a:b]
        p = np.where(f[a:b, None], [0.1, 0.9], [0.9, 0.1])
        floor = np.maximum(np.where(evidence[rows], 0.01, 1.0), flicker_floor(f[a:b][evidence[rows]]))
        path = viterbi(emission_log(p, floor), FLAG_SWITCH)
        for t in np.flatnonzero(path[1:] != path[:-1]) + 1:
            before, after = rows[:t][evidence[rows[:t]]][-2:], rows[t:][evidence[rows[t:]]][:2]
            if len(before) == 0 or len(after) == 0 or smoothed[rows[t]] in skip_labels or \
                    smoothed[rows[t - 1]] in skip_labels:
                continue
            prob = np.mean(flag[before] == bool(path[t - 1])) * np.mean(flag[after] == bool(path[t]))
            kind = kinds[0] if path[t] else kinds[1]
            out.append(_event(kind, data, rows[t - 1], rows[t], str(int(data["track_id"][rows[t]])),
                              str(smoothed[rows[t - 1]]), str(smoothed[rows[t]]), prob))
    return out


def _clusters(events: list[dict], radius_A: float) -> list[dict]:
    """One event per cluster: events of one frame and type within ``radius_A`` of each other (chained) merged
    (track ids joined, position the first one's, confidence the mean)."""
    out, used = [], set()
    for i, e in enumerate(events):
        if i in used:
            continue
        group, grow = [i], [i]
        while grow:
            k = grow.pop()
            for j, o in enumerate(events):
                if j not in used and j not in group and o["frame"] == e["frame"] and o["type"] == e["type"] and \
                        math.hypot(o["x_A"] - events[k]["x_A"], o["y_A"] - events[k]["y_A"]) <= radius_A:
                    group.append(j)
                    grow.append(j)
        used.update(group)
        merged = dict(e, track_ids=" ".join(events[j]["track_ids"] for j in group),
                      prob=float(np.mean([events[j]["prob"] for j in group])))
        out.append(merged)
    return out


def _bounds(data: dict, order: np.ndarray, starts: np.ndarray, ends: np.ndarray, evidence: np.ndarray):
    """Per track: its first and last row, and its number of rows with evidence."""
    n_ev = np.add.reduceat(evidence[order].astype(int), starts)
    return order[starts], order[ends - 1], n_ev


def _ends_and_starts(data: dict, smoothed: np.ndarray, order: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                     evidence: np.ndarray, near: list[dict], host: list[str], bond_A: float,
                     memory: int) -> list[dict]:
    """Tracks of host-labeled columns and vacancy nodes that end or are born in view (see the module's text)."""
    if len(order) == 0:
        return []
    first_frame, last_frame = int(data["frame"].min()), int(data["frame"].max())
    first, last, n_ev = _bounds(data, order, starts, ends, evidence)
    host_like = np.isin(smoothed[first], list(host)) | (smoothed[first] == "")
    ok = host_like & (n_ev >= MIN_ROWS)
    gone = last[ok & evidence[last] & (data["frame"][last] + 1 + memory <= last_frame)]
    born = first[ok & evidence[first] & (data["born"][first] == data["frame"][first]) &
                 (data["frame"][first] > first_frame)]
    out, paired = [], set()
    tree = cKDTree(data["xy_reg_A"][born]) if len(born) else None
    for r in gone:
        match = None
        if tree is not None:
            for j in tree.query_ball_point(data["xy_reg_A"][r], 0.6 * bond_A):
                gap = int(data["frame"][born[j]]) - int(data["frame"][r]) - 1
                same = bool(data["vacancy"][r]) == bool(data["vacancy"][born[j]])  # a break: whatever the gap
                if j not in paired and -1 <= gap and (same or gap <= memory + 3):
                    match = j
                    break
        if match is not None:
            paired.add(match)
            s = born[match]
            if bool(data["vacancy"][r]) != bool(data["vacancy"][s]):  # one event; else a track that broke
                kind = "vacancy_created" if data["vacancy"][s] else "vacancy_filled"
                ids = f"{int(data['track_id'][r])} {int(data['track_id'][s])}"
                out.append(_event(kind, data, r, s, ids, str(smoothed[r]), str(smoothed[s]), _prob(data, s)))
            continue
        kind = "vacancy_filled" if data["vacancy"][r] else "column_vanished"
        e = _event(kind, data, r, r, str(int(data["track_id"][r])), str(smoothed[r]), "", _prob(data, r))
        e["frame"] += 1  # the first frame without it
        out.append(e)
    for j, s in enumerate(born):
        if j not in paired:
            kind = "vacancy_created" if data["vacancy"][s] else "column_appeared"
            out.append(_event(kind, data, s, s, str(int(data["track_id"][s])), "", str(smoothed[s]),
                              _prob(data, s)))
    return [e for e in out if not _part_of(e, near, 1.3 * bond_A)]


def _prob(data: dict, r: int) -> float:
    """The confidence of an end or a start at row ``r``: its most probable label's probability (1 for a node
    without label evidence: a vacancy node)."""
    p = data["probs"][r]
    return float(np.nanmax(p)) if np.isfinite(p).any() else 1.0


def _part_of(event: dict, near: list[dict], radius_A: float) -> bool:
    """Whether ``event`` is within ``radius_A`` and one frame of one of the ``near`` events."""
    return any(abs(o["frame"] - event["frame"]) <= 1 and
               math.hypot(o["x_A"] - event["x_A"], o["y_A"] - event["y_A"]) <= radius_A for o in near)
