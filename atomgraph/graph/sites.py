"""Expected sites: their status (occupied, filled, empty, outside) and the empty ones that are vacancies.

An expected site with a node within ``occupied`` (0.35 bond) is occupied, within the fill radius *filled* (a
displaced or interstitial node such as Si4), else empty, or outside when it is also outside the observed region.
Lengths in Å.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .region import Region

log = logging.getLogger(__name__)

OCCUPIED, FILLED, EMPTY, OUTSIDE = 0, 1, 2, 3
CLUSTER_BONDS = 0.4               # empty-site predictions closer than this (bonds) are the same site
SECOND_SHELL_MIN = 0.75           # occupied fraction of the in-region second shell a vacancy needs
CLUSTER_SECOND_SHELL_MIN = 0.5    # ... when all three of its first neighbors are there (a cluster of vacancies)
EDGE_SINGLE_SUPPORT_BONDS = 1.5   # within this of the frame edge (bonds) one anchor may support a vacancy


@dataclass
class SiteRules:
    """How sites are judged: the nodes (k-d tree), the occupied and fill radii and the region (margin: sites this
    far outside the frame still count as inside, for half-seen edge columns; inset: a vacancy must lie this far
    inside the frame), all in Å."""

    nodes: cKDTree
    occupied_A: float
    fill_A: float
    region: Region
    margin_A: float
    inset_A: float = 0.0

    def status(self, points_A: np.ndarray, margin: bool = True) -> np.ndarray:
        """Per expected site: OCCUPIED, FILLED, EMPTY, or OUTSIDE (no node, outside the region; NaN sites too).
        ``margin``: grow the frame by ``margin_A`` (sites judged as neighbors); False: shrink it by ``inset_A``
        (candidate vacancies: a site at the very edge may hold a column the frame just cut off)."""
        out = np.full(len(points_A), OUTSIDE, dtype=np.int8)
        finite = np.flatnonzero(np.all(np.isfinite(points_A), axis=1))
        if len(finite):
            d, _ = self.nodes.query(points_A[finite], k=1, distance_upper_bound=self.fill_A)
            out[finite] = np.where(d <= self.occupied_A, OCCUPIED, np.where(np.isfinite(d), FILLED, EMPTY))
            empty = finite[~np.isfinite(d)]
            out[empty[~self.region.inside(points_A[empty], self.margin_A if margin else -self.inset_A)]] = OUTSIDE
        return out


def nearest_candidate(points: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest of a few ``candidates`` (K, 2) for each point (N, 2), and its distance."""
    best = np.full(len(points), np.inf)
    index = np.zeros(len(points), int)
    for k, (cx, cy) in enumerate(candidates):  # K is a few dozen: loop over candidates, vectorized over points
        d2 = (points[:, 0] - cx) ** 2 + (points[:, 1] - cy) ** 2
        closer = d2 < best
        best[closer] = d2[closer]
        index[closer] = k
    return index, np.sqrt(best)


def neighbor_site_counts(rules: SiteRules, site_pos: np.ndarray, sign: np.ndarray, maps: np.ndarray, e: np.ndarray,
                         todo: np.ndarray, has: np.ndarray) -> list[np.ndarray]:
    """How many of the three neighbor sites of each node's nearest site (``site_pos``, on sublattice ``sign``, local
    maps ``maps``) are occupied, filled, empty and outside (N,) each; nodes not in ``todo`` have all three occupied,
    nodes without a site (``has`` False) none but three outside."""
    first = site_pos[todo, None, :] + sign[todo, None, None] * np.einsum("nij,kj->nki", maps[todo], e)
    status1 = np.full((len(site_pos), 3), OCCUPIED, dtype=np.int8)
    status1[todo] = rules.status(first.reshape(-1, 2)).reshape(-1, 3)
    counts = [np.where(has, (status1 == s).sum(1), 0) for s in (OCCUPIED, FILLED, EMPTY, OUTSIDE)]
    counts[3] = np.where(has, counts[3], 3)
    return counts


def second_shell(maps: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """(N, 6, 2) second-neighbor offsets (± the three shortest lattice vectors) under the local maps, Å."""
    lat_img = np.einsum("nij,jk->nik", maps, lat)
    g = np.stack([lat_img[..., 0], lat_img[..., 1], lat_img[..., 0] - lat_img[..., 1]], 1)
    return np.concatenate([g, -g], 1)




@dataclass
class Anchors:
    """Atoms whose bonds fix their sublattice: positions (K, 2) Å, sign (K,) +1 on A / -1 on B, local maps (K, 2,
    2), which ideal directions lack a good bond (K, 3), and a k-d tree of the positions."""

    positions_A: np.ndarray
    sign: np.ndarray
    maps: np.ndarray
    open_dirs: np.ndarray
    tree: cKDTree


def _candidates(anchors: Anchors, e: np.ndarray, rules: SiteRules, bond_A: float):
    """Empty-site predictions of the anchors clustered: positions (C, 2), support (C,), own sign (C,)."""
    who, kk = np.nonzero(anchors.open_dirs)  # directions without a good bond: the only ones that can be empty
    pred = anchors.positions_A[who] + anchors.sign[who, None] * np.einsum("nij,nj->ni", anchors.maps[who], e[kk])
    keep = rules.status(pred, margin=False) == EMPTY  # vacancies only inside the frame itself
    pred, who = pred[keep], who[keep]
    m = len(pred)
    if m == 0:
        return np.empty((0, 2)), np.empty(0, int), np.empty(0, int)
    pairs = cKDTree(pred).query_pairs(CLUSTER_BONDS * bond_A, output_type="ndarray")
    _, comp = connected_components(coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m)),
                                   directed=False)
    n = comp.max() + 1
    support = np.bincount(comp, minlength=n)  # distinct anchors: an anchor predicts three different sites
    site = np.column_stack([np.bincount(comp, pred[:, 0], n), np.bincount(comp, pred[:, 1], n)])
    site /= np.maximum(support, 1)[:, None]
    sign = -np.sign(np.bincount(comp, anchors.sign[who], n)).astype(int)  # the site's own sublattice
    return site, support, sign


def _first_shell_status(site: np.ndarray, sign: np.ndarray, anchors: Anchors, e: np.ndarray,
                        rules: SiteRules) -> np.ndarray:
    """(n, 3) status (:data:`OCCUPIED` ... :data:`OUTSIDE`) of the three first-neighbor sites of each candidate,
    placed by the local map of its nearest anchor and its own sublattice ``sign``."""
    if len(site) == 0:
        return np.zeros((0, 3), int)
    _, nearest = anchors.tree.query(site, k=1)
    first = site[:, None, :] + sign[:, None, None] * np.einsum("nij,kj->nki", anchors.maps[nearest], e)
    return rules.status(first.reshape(-1, 2)).reshape(-1, 3)


def _single_support_ok(site: np.ndarray, first: np.ndarray, rules: SiteRules, bond_A: float) -> np.ndarray:
    """Which one-anchor candidates (positions, first-shell status) stand near an edge: only within 1.5 bonds of an
    image frame's edge (a point cloud's border is no frame: there unseen and missing cannot be told apart), and with
    every other first-neighbor site holding a node (an edge atom) or lying outside the frame."""
    if rules.region.frame_A is None or len(site) == 0:
        return np.zeros(len(site), bool)
    near_edge = rules.region.edge_distance(site) <= EDGE_SINGLE_SUPPORT_BONDS * bond_A
    return near_edge & ~(first == EMPTY).any(axis=1)


def _second_shell_ok(site: np.ndarray, cluster: np.ndarray, anchors: Anchors, lat: np.ndarray,
                     rules: SiteRules) -> np.ndarray:
    """Whether the six same-sublattice sites around each candidate mostly hold nodes (at least three seen):
    :data:`SECOND_SHELL_MIN` of them, or :data:`CLUSTER_SECOND_SHELL_MIN` for a ``cluster`` candidate (all three
    first neighbors hold nodes, and the lattice allows it: a vacancy in a cluster of vacancies, e.g. chalcogen
    vacancies gathering under the beam; the edge of a hole lacks first neighbors)."""
    _, nearest = anchors.tree.query(site, k=1)
    second = (site[:, None, :] + second_shell(anchors.maps[nearest], lat)).reshape(-1, 2)
    st = rules.status(second).reshape(-1, 6)
    inside = (st != OUTSIDE).sum(1)
    held = ((st == OCCUPIED) | (st == FILLED)).sum(1)
    need = np.where(cluster, CLUSTER_SECOND_SHELL_MIN, SECOND_SHELL_MIN)
    return (inside >= 3) & (held >= need * inside)


def vacancy_sites(anchors: Anchors, e: np.ndarray, rules: SiteRules, bond_A: float, n_real: int,
                  max_fraction: float, surrounded: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """Empty expected sites that are vacancies (see :mod:`atomgraph.graph.lattice`): positions (M, 2) Å, anchor
    support (M,), and how many were dropped by the bound of ``max_fraction`` per real atom (at least 4).

    ``surrounded``: a site with one anchor also stands when all three of its first neighbors hold nodes (for
    lattices whose sublattices are named by element, TMDs: there a cluster of chalcogen vacancies leaves the metal
    columns around it with one good bond, too few to be anchors)."""
    site, support, sign = _candidates(anchors, e, rules, bond_A)
    ok = (sign != 0) & (rules.status(site, margin=False) == EMPTY)  # the agreed site, not just each guess
    first = np.full((len(site), 3), EMPTY)
    first[ok] = _first_shell_status(site[ok], sign[ok], anchors, e, rules)
    # all three first neighbors there: one anchor is enough, half the second shell may be empty (a cluster of
    # chalcogen vacancies leaves the metal columns around a site with one good bond, too few to be anchors)
    cluster = surrounded & ((first == OCCUPIED) | (first == FILLED)).all(axis=1)
    single = np.flatnonzero(ok & (support == 1))
    ok[single] = _single_support_ok(site[single], first[single], rules, bond_A) | cluster[single]
    lat = np.column_stack([e[0] - e[1], e[0] - e[2]])
    if ok.any():
        ok[np.flatnonzero(ok)] = _second_shell_ok(site[ok], cluster[ok], anchors, lat, rules)
    site, support = site[ok], support[ok]
    if len(site) > 1:  # two candidates closer than the fill radius: keep the better supported
        order = np.argsort(-support, kind="stable")
        site, support = site[order], support[order]
        close = cKDTree(site).query_pairs(rules.fill_A, output_type="ndarray")
        drop = np.zeros(len(site), bool)
        if len(close):
            drop[close.max(axis=1)] = True
        site, support = site[~drop], support[~drop]
    limit = max(4, int(np.ceil(max_fraction * n_real)))
    dropped = max(0, len(site) - limit)
    if dropped:
        log.warning("lattice model: %d empty sites exceed the bound of %d (%.0f%% of %d atoms); keeping the %d "
                    "best supported", len(site), limit, 100 * max_fraction, n_real, limit)
        order = np.argsort(-support, kind="stable")[:limit]
        site, support = site[order], support[order]
    return site, support, dropped
