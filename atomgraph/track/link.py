"""Linking: give every detected site (column or vacancy node) of a frame the identity of a track.

Positions come in already registered (drift removed, Å in the first frame's coordinates). On a lattice whose sites
are at least one bond (1.42 Å in graphene, 1.90 Å in MoSe2) apart and a registration good to a few tenths of an Å,
the right partner is the nearest one, so a greedy matching by increasing cost over the candidate pairs of a k-d tree
is exact here and takes O(n log n); trackpy's linker (the field's usual one) was not used because it adds a pandas
round trip per frame and has no notion of the element or vacancy flag that decides the one ambiguous case, a Si3
becoming a Si4 halfway between its old site and the C that leaves (both ≈ 0.71 Å away). The cost is the distance
plus ``element_penalty_A`` when the elements differ (a vacancy counts as its own element), so a site keeps its
identity through a label change, and a track missed for up to ``memory`` frames is still matched.

Units: positions and costs in Å.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


class Linker:
    """Keeps the live tracks (last registered position, element, last frame seen) and links frame after frame.

    Args:
        max_cost_A: largest accepted cost (distance + element penalty), Å.
        memory: a track unseen for this many frames can still be continued (0: must be seen every frame).
        element_penalty_A: added to the distance when a detection's element differs from the track's, Å.
    """

    def __init__(self, max_cost_A: float, memory: int = 2, element_penalty_A: float = 0.5) -> None:
        self.max_cost_A = float(max_cost_A)
        self.memory = int(memory)
        self.element_penalty_A = float(element_penalty_A)
        self.positions = np.zeros((0, 2))
        self.elements = np.zeros(0, dtype=object)
        self.last_frame = np.zeros(0, dtype=int)
        self.next_id = 0
        self._tree: tuple[int, np.ndarray, cKDTree] | None = None  # (frame, live ids, tree), until the next link

    def _live(self, frame: int) -> tuple[np.ndarray, cKDTree | None]:
        """The ids of the tracks still live at ``frame`` and a k-d tree of their positions (built once per frame:
        registration asks many candidate shifts against the same tracks)."""
        if self._tree is None or self._tree[0] != frame:
            live = np.flatnonzero(self.last_frame >= frame - 1 - self.memory)
            self._tree = (frame, live, cKDTree(self.positions[live]) if len(live) else None)
        return self._tree[1], self._tree[2]

    def residuals(self, positions_A: np.ndarray, frame: int, radius_A: float) -> np.ndarray:
        """(M, 2) offsets of the detections from the nearest live track within ``radius_A`` (for refining the
        registration); detections without one are left out."""
        live, tree = self._live(frame)
        if len(live) == 0 or len(positions_A) == 0:
            return np.zeros((0, 2))
        dist, idx = tree.query(positions_A, distance_upper_bound=radius_A)
        ok = np.isfinite(dist)
        return positions_A[ok] - self.positions[live[idx[ok]]]

    def agreement(self, positions_A: np.ndarray, elements: np.ndarray, frame: int, radius_A: float,
                  rare: np.ndarray) -> tuple[float, int]:
        """How well registered detections fit the live tracks: (the share of detections with a track within
        ``3 * radius_A`` that have one within ``radius_A`` — about 1 when the lattices coincide, about 0.5 when
        they are off by a bond — and the number of ``rare`` detections (dopants, vacancies) whose nearest track
        has the same element). Used to choose between registrations that differ by a lattice vector."""
        live, tree = self._live(frame)
        if len(live) == 0 or len(positions_A) == 0:
            return 0.0, 0
        dist, idx = tree.query(positions_A, distance_upper_bound=3 * radius_A)
        near = np.isfinite(dist)
        ok = dist <= radius_A
        same = ok & rare
        same[same] = self.elements[live[idx[same]]] == elements[same]
        return float(ok.sum() / max(near.sum(), 1)), int(same.sum())

    def link(self, positions_A: np.ndarray, elements: np.ndarray, frame: int) -> np.ndarray:
        """Track ids (N,) of this frame's detections at registered ``positions_A`` (N, 2); new tracks for the
        unmatched ones. Updates the live tracks."""
        n = len(positions_A)
        ids = np.full(n, -1, dtype=int)
        live, tree = self._live(frame)
        self._tree = None  # the tracks move now
        if n and len(live):
            pairs = tree.query_ball_point(positions_A, self.max_cost_A)
            det = np.repeat(np.arange(n), [len(p) for p in pairs])
            trk = live[np.concatenate([np.asarray(p, dtype=int) for p in pairs])] if len(det) else \
                np.zeros(0, int)
            cost = np.hypot(*(positions_A[det] - self.positions[trk]).T)
            cost = cost + self.element_penalty_A * (elements[det] != self.elements[trk])
            order = np.argsort(cost, kind="stable")
            taken = np.zeros(len(self.positions), dtype=bool)
            for k in order:
                d, t = det[k], trk[k]
                if cost[k] > self.max_cost_A or ids[d] >= 0 or taken[t]:
                    continue
                ids[d], taken[t] = t, True
        new = np.flatnonzero(ids < 0)
        ids[new] = np.arange(self.next_id, self.next_id + len(new))
        self.next_id += len(new)
        if len(new):
            self.positions = np.vstack([self.positions, positions_A[new]])
            self.elements = np.concatenate([self.elements, elements[new].astype(object)])
            self.last_frame = np.concatenate([self.last_frame, np.full(len(new), frame)])
        self.positions[ids] = positions_A
        self.elements[ids] = elements
        self.last_frame[ids] = frame
        return ids
