"""The lattice sites a node takes and the ring of sites around them: the topology that tells a dopant on one site
(graphene's ``Si3``) from one at the center of a divacancy (``Si4``).

A node takes the ends of its nearest ideal bond that lie within ``VACATED_REACH_BONDS`` of it and hold no other
atom within ``VACATED_OTHER_BONDS`` (one site for an atom on its site, two for an atom at a bond center whose two
sites are empty). The sites bonded to the taken ones form its *ring* (three around one site, four around a pair);
those holding an atom are its lattice coordination; the four sites around both ends of its nearest bond are its
*pair ring*. A site of either ring that holds no located atom is a *gap*: either the
structure lacks that atom (a Si bonded to three carbons beside a divacancy) or the locator missed it, which the
image can tell (:func:`atomgraph.graph.occupancy.add_ring_columns`).

Positions are in Å; ``bonds`` in units of the nominal bond length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .sites import nearest_candidate

VACATED_REACH_BONDS = 0.8         # a site this close (bonds) to a node may be the one it took (two at a bond midpoint)
VACATED_OTHER_BONDS = 0.6         # ... and it was vacated when no other atom lies this close (bonds) to it


@dataclass(frozen=True)
class TakenSites:
    """Per node: ``taken`` (N,) sites taken, ``ring`` (N,) ring sites holding an atom, ``pair_empty`` (N,) of the four
    sites around both ends of the nearest ideal bond, those inside the observed region that hold no atom (a node at
    the center of a divacancy has none), ``far`` (N,) distance to the farther end of the nearest ideal bond (bonds),
    ``gaps_A`` (N, 6, 2) the sites of the node's ring or pair ring inside the region that hold no atom (Å; NaN rows
    where fewer gaps). Sites outside the region are unseen: neither gaps nor empty."""

    taken: np.ndarray
    ring: np.ndarray
    pair_empty: np.ndarray
    far: np.ndarray
    gaps_A: np.ndarray


def atoms_within(tree: cKDTree, points: np.ndarray, radius: float) -> np.ndarray:
    """(P,) number of tree points within ``radius`` of each point (NaN points: 0)."""
    out = np.zeros(len(points), int)
    ok = np.all(np.isfinite(points), axis=1)
    if ok.any():
        out[ok] = tree.query_ball_point(points[ok], radius, return_length=True)
    return out


def taken_sites(pos: np.ndarray, r: np.ndarray, mids: np.ndarray, cells: np.ndarray, e: np.ndarray,
                maps: np.ndarray, has: np.ndarray, real: np.ndarray, tree: cKDTree, bond_A: float,
                seen: Callable[[np.ndarray], np.ndarray] | None = None) -> TakenSites:
    """The sites each node takes, its ring and the ring's gaps (see the module docstring).

    Parameters
    ----------
    pos : (N, 2) node positions, Å.
    r, mids, cells, e : each node's position (N, 2) in the ideal frame, reduced into the cell of ``cells`` (C, 2),
        the A sites of the cells around the origin; ``mids`` (M, 2) the midpoints of their bonds along ``e`` (3, 2).
    maps, has : (N, 2, 2) local maps from the ideal frame to the image; (N,) bool, whether anchors placed the node.
    real : (N,) bool, atoms (a vacancy node never counts as the *other* atom on a site, nor as its own neighbor).
    tree : k-d tree of the atoms (real nodes), Å.
    bond_A : nominal bond length, Å.
    seen : (P, 2) Å -> (P,) bool, whether a site lies inside the observed region (None: every site does).

    Returns
    -------
    TakenSites
    """
    n = len(pos)
    gaps = np.full((n, 6, 2), np.nan)
    if n == 0 or tree.n == 0:
        zeros = np.zeros(n, np.float32)
        return TakenSites(zeros, zeros, zeros, np.ones(n, np.float32), gaps)
    m, _ = nearest_candidate(r, mids)
    a_site = cells[m // 3]                                    # the nearest bond: A end and its B end
    b_site = a_site + e[m % 3]
    ends = np.stack([a_site, b_site], 1)                      # (N, 2, 2), ideal frame
    to_img = lambda ideal: pos[:, None, :] + np.einsum("nij,nkj->nki", maps, ideal - r[:, None, :])  # noqa: E731
    dist_ends = np.linalg.norm(to_img(ends) - pos[:, None, :], axis=2)
    far = np.where(has, dist_ends.max(axis=1) / bond_A, 1.0).astype(np.float32)
    other = VACATED_OTHER_BONDS * bond_A
    is_atom = np.asarray(real, bool)[:, None]

    def others_within(points: np.ndarray) -> np.ndarray:  # (N, K, 2) -> atoms within ``other``, not the node
        count = atoms_within(tree, points.reshape(-1, 2), other).reshape(points.shape[:2])
        return count - (is_atom & (np.linalg.norm(points - pos[:, None, :], axis=2) <= other))

    free = (dist_ends <= VACATED_REACH_BONDS * bond_A) & (others_within(to_img(ends)) == 0) & has[:, None]
    # the sites bonded to the taken ones: the A end's neighbors are A + e_k, the B end's are B - e_k; one site
    # taken: its three neighbors (the other end among them); two: the four around the pair (the ends left out)
    ring_img = np.concatenate([to_img(a_site[:, None, :] + e[None]), to_img(b_site[:, None, :] - e[None])], 1)
    occupied = others_within(ring_img) > 0                    # (N, 6)
    pair_end = np.zeros((n, 6), bool)
    pair_end[np.arange(n), m % 3] = pair_end[np.arange(n), 3 + m % 3] = True
    only_a, only_b, both = free[:, 0] & ~free[:, 1], free[:, 1] & ~free[:, 0], free[:, 0] & free[:, 1]
    counted = np.zeros((n, 6), bool)
    counted[only_a, :3] = True
    counted[only_b, 3:] = True
    counted[both] = ~pair_end[both]
    ring = (counted & occupied).sum(1)
    inside = np.ones((n, 6), bool) if seen is None else seen(ring_img.reshape(-1, 2)).reshape(n, 6)
    gap = (counted | ~pair_end) & ~occupied & inside & has[:, None]
    order = np.argsort(~gap, axis=1, kind="stable")           # the gaps first
    picked = np.take_along_axis(ring_img, order[..., None], 1)
    gaps = np.where(np.take_along_axis(gap, order, 1)[..., None], picked, np.nan)
    pair_empty = (gap & ~pair_end).sum(1)
    return TakenSites(free.sum(1).astype(np.float32), ring.astype(np.float32), pair_empty.astype(np.float32), far,
                      gaps)
