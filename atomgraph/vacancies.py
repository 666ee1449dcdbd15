"""Vacancy sites inferred from the lattice topology of a honeycomb (graphene, or 2H-TMDs seen along c).

In a honeycomb every site has three bonds 120° apart, so the three bond vectors of a site sum to zero. An atom that
has only two neighbors at a honeycomb-like angle therefore *predicts* its missing neighbor at
``x_i - L (b1 + b2) / |b1 + b2|`` (``L`` the mean of its two bond lengths). A vacancy node is added where

1. at least ``min_support`` such predictions (from distinct atoms; all three for an interior site) agree within
   ``consensus_radius_A``,
2. no existing node (atom or vacancy) lies within ``fill_radius_A`` of the site (a Si4 sitting in a divacancy or a
   displaced atom fills it),
3. the site is surrounded by the lattice: the number of real atoms within ``density_radius_A`` is at least
   ``min_density_rel`` times the typical count (so nothing is added along the border of the point cloud, the image
   border, or inside holes and amorphous patches),
4. the total stays below ``max_fraction`` of the real atoms (the best-agreeing sites are kept; overflow is flagged).

The site's position is the centroid of its supporting atoms when there are three (exact for an ideal honeycomb and
three times less noisy than one prediction), else the mean of the predictions. Everything is vectorized: the cost
is a few array passes plus one k-d tree on the predictions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

log = logging.getLogger(__name__)


@dataclass
class VacancySites:
    """Inferred vacancy sites.

    Attributes
    ----------
    positions_A : (M, 2) float, Å.
    support : (M,) int, number of atoms whose prediction agreed on the site.
    spread_A : (M,) float, Å, largest distance of a supporting prediction from the site.
    n_candidates : sites that passed the consensus, fill and density tests before the bound.
    n_dropped : candidates dropped by the bound (``max_fraction``).
    """

    positions_A: np.ndarray
    support: np.ndarray
    spread_A: np.ndarray
    n_candidates: int = 0
    n_dropped: int = 0
    stats: dict = field(default_factory=dict)

    @property
    def overflow(self) -> bool:
        return self.n_dropped > 0


def _empty(stats: dict | None = None) -> VacancySites:
    return VacancySites(np.empty((0, 2)), np.empty(0, int), np.empty(0), 0, 0, stats or {})


def predict_missing_neighbors(positions_A: np.ndarray, edge_index: np.ndarray, candidate: np.ndarray, bond_A: float,
                              angle_tolerance_deg: float = 30.0, length_tolerance: float = 0.3
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Predicted third-neighbor sites of two-coordinated atoms.

    Parameters
    ----------
    positions_A : (N, 2) node positions, Å.
    edge_index : (2, E) edges sorted by source, both directions.
    candidate : (N,) bool, atoms allowed to predict (real atoms).
    bond_A : nominal nearest-neighbor distance, Å.
    angle_tolerance_deg : the two bonds must be ``120 ± tol`` degrees apart.
    length_tolerance : each bond must be within ``(1 ± tol) * bond_A``.

    Returns
    -------
    sources : (M,) int, predicting atoms; predictions_A : (M, 2) float, Å.
    """
    n = len(positions_A)
    src, dst = edge_index
    degree = np.bincount(src, minlength=n)
    start = np.r_[0, np.cumsum(degree)[:-1]]
    nodes = np.flatnonzero((degree == 2) & candidate)
    if len(nodes) == 0:
        return np.empty(0, int), np.empty((0, 2))
    j1, j2 = dst[start[nodes]], dst[start[nodes] + 1]
    b1 = positions_A[j1] - positions_A[nodes]
    b2 = positions_A[j2] - positions_A[nodes]
    l1, l2 = np.hypot(*b1.T), np.hypot(*b2.T)
    cos = np.einsum("ij,ij->i", b1, b2) / np.maximum(l1 * l2, 1e-12)
    angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    lo, hi = (1.0 - length_tolerance) * bond_A, (1.0 + length_tolerance) * bond_A
    ok = ((np.abs(angle - 120.0) <= angle_tolerance_deg) & (l1 >= lo) & (l1 <= hi) & (l2 >= lo) & (l2 <= hi)
          & candidate[j1] & candidate[j2])
    nodes, b1, b2, l1, l2 = nodes[ok], b1[ok], b2[ok], l1[ok], l2[ok]
    s = b1 + b2
    length = 0.5 * (l1 + l2)
    pred = positions_A[nodes] - s / np.maximum(np.hypot(*s.T), 1e-12)[:, None] * length[:, None]
    return nodes, pred


def infer_vacancy_sites(positions_A: np.ndarray, real: np.ndarray, edge_index: np.ndarray, *, bond_A: float,
                        fill_radius_A: float, density_radius_A: float, expected_density: float,
                        tree: cKDTree | None = None, real_tree: cKDTree | None = None, min_support: int = 3, consensus_radius_A: float | None = None,
                        min_density_rel: float = 0.75, max_fraction: float = 0.05,
                        angle_tolerance_deg: float = 30.0) -> VacancySites:
    """Vacancy sites of a honeycomb point cloud (see the module docstring for the rules).

    Parameters
    ----------
    positions_A : (N, 2) existing nodes (atoms and any given vacancy nodes), Å.
    real : (N,) bool, True for atoms (False for given vacancy nodes).
    edge_index : (2, E) int, edges among the existing nodes, sorted by source, both directions.
    bond_A : nominal nearest-neighbor distance, Å.
    fill_radius_A : a site with any node closer than this (Å) is not a vacancy.
    density_radius_A : radius (Å) of the surroundings count.
    expected_density : typical number of real atoms within ``density_radius_A`` of a real atom.
    tree : k-d tree of ``positions_A`` (built when not given).
    real_tree : k-d tree of the real atoms only (built when not given; ``tree`` when every node is real).
    min_support : predictions that must agree (3: every neighbor of an interior honeycomb site).
    consensus_radius_A : predictions closer than this (Å) are the same site (default ``0.5 * bond_A``).
    min_density_rel : surroundings count over ``expected_density`` a site needs.
    max_fraction : at most this many vacancy nodes per real atom (at least 4); the rest are dropped and flagged.
    angle_tolerance_deg : the two bonds of a predicting atom must be ``120 ± tol`` degrees apart.
    """
    positions_A = np.asarray(positions_A, dtype=float)
    n_real = int(real.sum())
    consensus = 0.5 * bond_A if consensus_radius_A is None else float(consensus_radius_A)
    sources, pred = predict_missing_neighbors(positions_A, edge_index, real, bond_A, angle_tolerance_deg)
    stats = {"n_predictions": int(len(pred))}
    if len(pred) < min_support:
        return _empty(stats)
    pairs = cKDTree(pred).query_pairs(consensus, output_type="ndarray")
    m = len(pred)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    _, comp = connected_components(graph, directed=False)
    size = np.bincount(comp)
    keep = size[comp] >= min_support
    if not keep.any():
        return _empty(stats)
    comp_ids, comp_k = np.unique(comp[keep], return_inverse=True)
    k = len(comp_ids)
    cnt = np.bincount(comp_k, minlength=k).astype(float)
    p, src = pred[keep], sources[keep]
    mean_pred = np.column_stack([np.bincount(comp_k, p[:, 0], k), np.bincount(comp_k, p[:, 1], k)]) / cnt[:, None]
    centroid = np.column_stack([np.bincount(comp_k, positions_A[src, 0], k),
                                np.bincount(comp_k, positions_A[src, 1], k)]) / cnt[:, None]
    site = np.where((cnt == 3)[:, None], centroid, mean_pred)
    dev = np.hypot(*(p - site[comp_k]).T)
    spread = np.zeros(k)
    np.maximum.at(spread, comp_k, dev)
    ok = spread <= consensus * 1.5
    if tree is None:
        tree = cKDTree(positions_A)
    nearest, _ = tree.query(site, k=1, distance_upper_bound=fill_radius_A)
    ok &= ~np.isfinite(nearest)
    stats["n_consensus"] = int(k)
    if ok.any():
        if real_tree is None:
            real_tree = tree if bool(real.all()) else cKDTree(positions_A[real])
        counts = np.asarray(real_tree.query_ball_point(site[ok], density_radius_A, return_length=True), float)
        dens = np.zeros(k)
        dens[ok] = counts / max(expected_density, 1e-9)
        ok &= dens >= min_density_rel
    site, cnt, spread = site[ok], cnt[ok].astype(int), spread[ok]
    if len(site) > 1:  # two accepted sites closer than the fill radius: keep the better-agreeing one
        order = np.lexsort((spread, -cnt))
        site, cnt, spread = site[order], cnt[order], spread[order]
        close = cKDTree(site).query_pairs(fill_radius_A, output_type="ndarray")
        drop = np.zeros(len(site), bool)
        if len(close):
            drop[close.max(axis=1)] = True
        site, cnt, spread = site[~drop], cnt[~drop], spread[~drop]
    n_cand = len(site)
    limit = max(4, int(np.ceil(max_fraction * n_real)))
    n_drop = max(0, n_cand - limit)
    if n_drop:
        log.warning("vacancy inference: %d candidate sites exceed the bound of %d (%.0f%% of %d atoms); keeping the "
                    "%d best-agreeing", n_cand, limit, 100 * max_fraction, n_real, limit)
        site, cnt, spread = site[:limit], cnt[:limit], spread[:limit]
    return VacancySites(site, cnt, spread, n_cand, n_drop, stats)
