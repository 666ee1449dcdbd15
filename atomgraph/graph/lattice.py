"""The lattice model: where every atom of a honeycomb-type lattice should be, fitted to the located columns.

Graphene and 2H-TMDs seen along c are both honeycombs in projection: two sublattices (A/B, or metal/chalcogen),
each site bonded to three sites of the other sublattice. :func:`fit_lattice` estimates that lattice from the
columns and lets it vary smoothly over the frame, so drift, shear, scan distortion and strain do not break it:

1. **Bonds.** Neighbor vectors of 0.75-1.3 nominal bonds. Their sixfold orientation gives the ideal bond directions
   ``e_k`` (k = 0, 1, 2, A -> B); each bond is assigned to the nearest of ``±e_k``.
2. **Local linear map.** ``M(x)`` maps ideal vectors to the image: the least-squares ``sum v u^T (sum u u^T)^-1``
   of the assigned bonds within a few bonds of each atom (sums diffused along the bond graph, so the field is
   exactly rotation invariant), pulled toward the global fit where bonds are few.
3. **Sublattice.** An atom whose good bonds agree on ``+e_k`` sits on A, on ``-e_k`` on B (an *anchor*: at least
   two good bonds, at most one disagreeing). In a TMD the sublattice holding most metal elements is the metal one.
4. **Lattice coordinates of every node** from its nearest anchors (not itself): each anchor places the node in the
   ideal lattice through its own site and ``M``; the circular mean of those fractional positions gives the node's
   nearest expected site, its offset from it, its offset from the nearest bond midpoint (a fourfold Si sits there),
   and how well the anchors agree (``lattice_consistency``: 1 in a crystal, low in amorphous or grain-boundary
   regions).
5. **Expected sites and their occupancy.** Each anchor predicts its three neighbor sites. A prediction with a node
   within ``occupied`` (0.35 bond) is occupied, within the fill radius *filled* (a displaced or interstitial node
   such as Si4), else empty. Empty predictions of distinct anchors that agree form a candidate vacancy; it becomes a
   vacancy node when it lies inside the observed region (the image frame, or the convex hull of the points for
   coordinate input), at least two anchors support it (one within 1.5 bonds of an image frame's edge, where the
   other neighbors are unseen or are edge atoms, and none is empty) and its second shell is occupied (so nothing is invented in holes, on amorphous
   patches or outside the frame).

All lengths are in Å unless a name says ``bonds`` (units of the nominal bond length). Everything is vectorized:
a few k-d tree queries and array passes, no per-atom Python loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError, cKDTree

log = logging.getLogger(__name__)

BOND_RANGE = (0.75, 1.3)          # accepted bond lengths, in nominal bonds
BOND_ANGLE_TOL_DEG = 25.0         # a bond within this angle of an ideal direction is assigned to it
OCCUPIED_BONDS = 0.35             # a node this close (bonds) to an expected site occupies it
CLUSTER_BONDS = 0.4               # empty-site predictions closer than this (bonds) are the same site
N_ANCHORS = 3                     # anchors per node for its lattice coordinates
ANCHOR_RADIUS_BONDS = 3.5         # anchors farther than this do not place a node
GLOBAL_FIT_BONDS = 20000          # bonds (strided sample) for the global orientation and map
SMOOTH_HOPS = 3                   # the strain field averages the bonds within this many bonds of an atom
PRIOR_BONDS = 2.0                 # weight of the global fit in each local map, in bond-equivalents
SECOND_SHELL_MIN = 0.75           # occupied fraction of the in-region second shell a vacancy needs
EDGE_SINGLE_SUPPORT_BONDS = 1.5   # within this of the frame edge (bonds) one anchor may support a vacancy
REGION_MARGIN_BONDS = 0.15        # sites this far outside the frame still count as inside (edge columns)
FEATURE_NAMES = ["site_offset_bonds", "midpoint_offset_bonds", "lattice_consistency", "sites_occupied",
                 "sites_filled", "sites_empty", "sites_outside", "edge_distance_bonds"]
"""Lattice-relative node features (all rotation and translation invariant):

- ``site_offset_bonds``: distance to the nearest expected site, in bonds (0 on a site, 0.5 at a bond midpoint).
- ``midpoint_offset_bonds``: distance to the nearest bond midpoint, in bonds (0 for a Si in a divacancy).
- ``lattice_consistency``: agreement of the anchors on the node's lattice position, [0, 1].
- ``sites_occupied``, ``sites_filled``, ``sites_empty``, ``sites_outside``: of the three expected neighbor sites of
  the node's nearest site, how many hold a node (within 0.35 bond), hold only a displaced node (within the fill
  radius), hold nothing, or lie outside the observed region.
- ``edge_distance_bonds``: distance to the border of the observed region, in bonds, clipped to [0, 3].
"""
ROLE_FEATURE_PREFIX = "on_"       # ``on_<role>`` one-hot of the nearest site's sublattice (distinct sublattices only)


@dataclass
class Region:
    """Where the lattice was observed: an image frame (Å) or the convex hull of coordinate-file points."""

    frame_A: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1
    hull: np.ndarray | None = None  # (F, 3) facets of the convex hull: normal . x + offset <= 0 inside

    @classmethod
    def from_atoms(cls, positions_A: np.ndarray, pixel_size_A: float | None,
                   image_shape_px: tuple[int, int] | None) -> "Region":
        """The image frame when the shape and pixel size are known, else the convex hull of ``positions_A``."""
        if image_shape_px is not None and pixel_size_A:
            rows, cols = image_shape_px
            p = float(pixel_size_A)
            return cls(frame_A=(-0.5 * p, -0.5 * p, (cols - 0.5) * p, (rows - 0.5) * p))
        if len(positions_A) >= 3:
            try:
                return cls(hull=ConvexHull(positions_A).equations)
            except QhullError:  # collinear or degenerate points: no region to speak of
                pass
        return cls()

    def inside(self, points_A: np.ndarray, margin_A: float = 0.0) -> np.ndarray:
        """(M,) bool: points inside the region, grown by ``margin_A`` (frame only)."""
        points_A = np.asarray(points_A, float).reshape(-1, 2)
        if self.frame_A is not None:
            x0, y0, x1, y1 = self.frame_A
            x, y = points_A[:, 0], points_A[:, 1]
            return (x >= x0 - margin_A) & (x <= x1 + margin_A) & (y >= y0 - margin_A) & (y <= y1 + margin_A)
        if self.hull is not None:
            return np.all(points_A @ self.hull[:, :2].T + self.hull[:, 2] <= 1e-9, axis=1)
        return np.ones(len(points_A), bool)

    def edge_distance(self, points_A: np.ndarray) -> np.ndarray:
        """(M,) distance to the region border, Å (inf without a region; 0 outside it)."""
        points_A = np.asarray(points_A, float).reshape(-1, 2)
        if self.frame_A is not None:
            x0, y0, x1, y1 = self.frame_A
            d = np.minimum.reduce([points_A[:, 0] - x0, x1 - points_A[:, 0], points_A[:, 1] - y0,
                                   y1 - points_A[:, 1]])
            return np.clip(d, 0.0, None)
        if self.hull is not None:
            d = -(points_A @ self.hull[:, :2].T + self.hull[:, 2])
            return np.clip(d.min(axis=1), 0.0, None)
        return np.full(len(points_A), np.inf)


@dataclass
class LatticeModel:
    """The fitted lattice: ideal bonds, the local map ``M(x)``, the anchors, and the empty expected sites.

    Attributes
    ----------
    bond_A : nominal bond length, Å.
    bond_vectors_A : (3, 2) ideal A -> B bond vectors (before the local map), Å.
    strain : callable, points (M, 2) Å -> local maps (M, 2, 2).
    anchor_A : (K, 2) positions of the anchors (atoms whose bonds fix their sublattice), Å.
    anchor_sign : (K,) +1 on A, -1 on B.
    anchor_node : (K,) index of each anchor among the nodes given to :func:`fit_lattice`.
    anchor_inv : (K, 2, 2) inverse local maps of the anchors.
    node_atom : (N,) index of each node given to :func:`fit_lattice` among the atoms the strain field holds (-1
        for vacancy nodes).
    bonded : (atoms, 3) bool, which of the three ideal bond directions each atom has a good bond along.
    region : where the lattice was observed.
    roles : the sublattice roles (A, B); ``distinct_roles`` when the two hold different elements.
    vacancies_A : (M, 2) empty expected sites (the vacancy nodes to add), Å; ``vacancy_support`` (M,) anchors each.
    stats : ``n_anchors``, ``strain_rms_A`` (rms misfit of the bonds to the local map), ``orientation_deg``, ...
    """

    bond_A: float
    bond_vectors_A: np.ndarray
    strain: object
    anchor_A: np.ndarray
    anchor_sign: np.ndarray
    anchor_node: np.ndarray
    anchor_inv: np.ndarray
    node_atom: np.ndarray
    bonded: np.ndarray
    region: Region
    fill_radius_A: float
    roles: tuple[str, str]
    distinct_roles: bool
    vacancies_A: np.ndarray
    vacancy_support: np.ndarray
    stats: dict = field(default_factory=dict)
    n_vacancies_dropped: int = 0

    @property
    def feature_names(self) -> list[str]:
        """:data:`FEATURE_NAMES`, then ``on_<role>`` for each sublattice when the two are distinct."""
        return FEATURE_NAMES + ([f"{ROLE_FEATURE_PREFIX}{r}" for r in self.roles] if self.distinct_roles else [])

    @property
    def fitted(self) -> bool:
        return len(self.anchor_A) >= 3

    def describe(self, positions_A: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lattice-relative features of nodes (see :data:`FEATURE_NAMES`) and each node's nearest site.

        ``positions_A`` (N, 2) Å are all nodes (atoms first as given to :func:`fit_lattice`, then vacancy nodes);
        ``real`` marks atoms: only they occupy sites. Returns features (N, F) float32 and sites (N, 2) Å (NaN
        where no anchor is near).
        """
        pos = np.asarray(positions_A, float).reshape(-1, 2)
        n = len(pos)
        if not self.fitted:
            return _no_lattice_features(n, len(self.feature_names), self.region, pos, self.bond_A), \
                np.full((n, 2), np.nan)
        bond, e = self.bond_A, self.bond_vectors_A
        lat = np.column_stack([e[0] - e[1], e[0] - e[2]])  # lattice vectors (columns) in the ideal frame
        self_anchor = np.full(n, -1)
        self_anchor[self.anchor_node] = np.arange(len(self.anchor_node))
        kq = min(N_ANCHORS + 1, len(self.anchor_A))
        ad, ai = cKDTree(self.anchor_A).query(pos, k=kq, distance_upper_bound=ANCHOR_RADIUS_BONDS * bond)
        ad, ai = ad.reshape(n, kq), ai.reshape(n, kq)
        valid = np.isfinite(ad) & (ai != self_anchor[:, None])
        ai = np.where(valid, ai, 0)
        inv = self.anchor_inv
        ideal = np.einsum("nkij,nkj->nki", inv[ai], pos[:, None, :] - self.anchor_A[ai])  # ideal frame
        ideal += np.where(self.anchor_sign[ai] > 0, 0.0, 1.0)[..., None] * e[0]         # from the anchor's site
        phase = np.exp((2j * np.pi * (ideal @ np.linalg.inv(lat).T)).astype(np.complex64))
        w = np.where(valid, 1.0 / (ad + bond), 0.0)
        wsum = w.sum(1)
        has = wsum > 0
        mean_phase = (phase * w[..., None]).sum(1) / np.maximum(wsum, 1e-12)[:, None]
        third = (phase[..., 0] * phase[..., 1] * w).sum(1) / np.maximum(wsum, 1e-12)  # third reciprocal vector
        consistency = np.where(has, np.minimum(np.min(np.abs(mean_phase), axis=1), np.abs(third)), 0.0)
        r = np.mod(np.angle(mean_phase) / (2 * np.pi), 1.0) @ lat.T                       # ideal frame, in cell
        cells = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], float) @ lat.T  # r is in cell (0, 0)
        sites = np.concatenate([cells[[4, 5, 7, 8]], cells + e[0]])                       # A corners, then B
        site_sign = np.r_[np.ones(4, int), -np.ones(len(cells), int)]
        near, dsite = _nearest(r, sites)
        site_offset = dsite / bond
        mid_offset = _nearest(r, (cells[:, None, :] + 0.5 * e[None]).reshape(-1, 2))[1] / bond
        sign = np.where(has, site_sign[near], 0)
        atom = np.full(n, -1)
        k0 = min(n, len(self.node_atom))
        atom[:k0] = np.where(np.asarray(real, bool)[:k0], self.node_atom[:k0], -1)
        maps = self.strain(pos, atom)
        site_pos = pos + np.einsum("nij,nj->ni", maps, sites[near] - r)
        site_pos[~has] = np.nan

        real_pos = pos[np.asarray(real, bool)]
        tree = cKDTree(real_pos if len(real_pos) else np.zeros((1, 2)) + np.inf)
        occ_r, fill_r = OCCUPIED_BONDS * bond, max(self.fill_radius_A, OCCUPIED_BONDS * bond)
        margin = REGION_MARGIN_BONDS * bond
        # an atom bonded along all three ideal directions has its three neighbor sites occupied: no search needed
        full = (atom >= 0) & self.bonded[np.maximum(atom, 0)].all(axis=1) if len(self.bonded) else atom < -1
        todo = np.flatnonzero(~full)
        first = site_pos[todo, None, :] + sign[todo, None, None] * np.einsum("nij,kj->nki", maps[todo], e)
        status1 = np.full((n, 3), OCCUPIED, dtype=np.int8)
        status1[todo] = _site_status(first.reshape(-1, 2), tree, occ_r, fill_r, self.region, margin).reshape(-1, 3)
        counts = [np.where(has, (status1 == s).sum(1), 0) for s in (OCCUPIED, FILLED, EMPTY, OUTSIDE)]
        counts[3] = np.where(has, counts[3], 3)
        edge = np.clip(self.region.edge_distance(pos) / bond, 0.0, 3.0)
        columns = [np.where(has, site_offset, 1.0), np.where(has, mid_offset, 1.0), consistency, *counts, edge]
        if self.distinct_roles:
            columns += [sign == 1, sign == -1]
        return np.column_stack(columns).astype(np.float32), site_pos


def _nearest(points: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest of a few ``candidates`` (K, 2) for each point (N, 2), and its distance."""
    best = np.full(len(points), np.inf)
    index = np.zeros(len(points), int)
    for k, (cx, cy) in enumerate(candidates):  # K is a few dozen: loop over candidates, vectorized over points
        d2 = (points[:, 0] - cx) ** 2 + (points[:, 1] - cy) ** 2
        closer = d2 < best
        best[closer] = d2[closer]
        index[closer] = k
    return index, np.sqrt(best)


def _second_shell(maps: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """(N, 6, 2) second-neighbor offsets (± the three shortest lattice vectors) under the local maps, Å."""
    lat_img = np.einsum("nij,jk->nik", maps, lat)
    g = np.stack([lat_img[..., 0], lat_img[..., 1], lat_img[..., 0] - lat_img[..., 1]], 1)
    return np.concatenate([g, -g], 1)


# ------------------------------------------------------------------------------------------------------- helpers
def _ideal_bonds(angle_rad: float, bond_A: float) -> np.ndarray:
    """(3, 2) ideal A -> B bond vectors at ``angle_rad``, 120° apart, Å."""
    t = angle_rad + np.deg2rad([0.0, 120.0, 240.0])
    return bond_A * np.column_stack([np.cos(t), np.sin(t)])


def _assign(ideal: np.ndarray, e: np.ndarray, bond_A: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assign bond vectors (in the ideal frame: the local map undone) to the nearest ideal ``±e_k``.

    Returns (k, sign, good): direction index, +1/-1, and whether length and angle are within tolerance.
    """
    length = np.hypot(ideal[:, 0], ideal[:, 1])
    cos = ideal @ e.T / np.maximum(length[:, None] * bond_A, 1e-12)
    k = np.argmax(np.abs(cos), axis=1)
    c = cos[np.arange(len(k)), k]
    good = ((np.abs(c) >= np.cos(np.deg2rad(BOND_ANGLE_TOL_DEG))) & (length >= BOND_RANGE[0] * bond_A)
            & (length <= BOND_RANGE[1] * bond_A))
    return k, np.where(c >= 0, 1, -1), good


class _StrainField:
    """Smooth local linear map ``M(x)`` (2x2) per atom: the least-squares map of the assigned bonds within
    :data:`SMOOTH_HOPS` bonds of the atom (sums diffused along the bond graph, so exactly rotation invariant),
    pulled toward the global map where bonds are few. Elsewhere the map of the nearest atom applies."""

    def __init__(self, positions_A: np.ndarray, src: np.ndarray, dst: np.ndarray, v: np.ndarray, u: np.ndarray,
                 global_map: np.ndarray, bond_A: float, tree: cKDTree) -> None:
        n = len(positions_A)
        self.tree = tree
        sums = np.column_stack([np.einsum("ni,nj->nij", v, u).reshape(-1, 4),
                                np.einsum("ni,nj->nij", u, u).reshape(-1, 4)])
        acc = np.column_stack([np.bincount(src, w, n) for w in sums.T])
        for _ in range(SMOOTH_HOPS):  # each hop adds the neighbors' sums: a binomial-like smoothing kernel
            acc = acc + np.column_stack([np.bincount(src, acc[dst, c], n) for c in range(acc.shape[1])])
        prior_uu = PRIOR_BONDS * 1.5 * bond_A**2 * np.eye(2)  # sum of e e^T over the three bond directions
        a = acc[:, :4].reshape(n, 2, 2) + global_map @ prior_uu
        b = acc[:, 4:].reshape(n, 2, 2) + prior_uu
        self.maps = a @ np.linalg.inv(b)
        self.global_map = global_map

    def __call__(self, points_A: np.ndarray, atom: np.ndarray | None = None) -> np.ndarray:
        """(M, 2, 2) local maps at ``points_A``: those of the nearest atoms, or of the atoms ``atom`` (M,) where
        that index is given and >= 0 (the point is that atom: no search)."""
        points_A = np.asarray(points_A, float).reshape(-1, 2)
        idx = np.full(len(points_A), -1) if atom is None else np.asarray(atom, int)
        todo = idx < 0
        if todo.any():
            idx = idx.copy()
            idx[todo] = self.tree.query(points_A[todo], k=1)[1]
        return self.maps[idx]


# ---------------------------------------------------------------------------------------------------- the model
def fit_lattice(positions_A: np.ndarray, real: np.ndarray, element: np.ndarray, *, bond_A: float,
                fill_radius_A: float, region: Region, element_roles: dict[str, str] | None = None,
                roles: tuple[str, str] = ("A", "B"), max_fraction: float = 0.05) -> LatticeModel:
    """Fit the lattice model to nodes and find the empty expected sites (steps 1-3 and 5 of the module
    docstring; :meth:`LatticeModel.describe` is step 4).

    Parameters
    ----------
    positions_A : (N, 2) node positions, Å (atoms, and any vacancy nodes given with the input).
    real : (N,) bool, True for atoms.
    element : (N,) str, element per node ('' unknown or vacancy).
    bond_A : nominal projected bond length, Å.
    fill_radius_A : an expected site with a node this close (Å) is not empty.
    region : where the lattice was observed (:class:`Region`).
    element_roles : element -> sublattice role (``{'Mo': 'metal', 'W': 'metal', 'Se': 'chalcogen'}``); None or a
        single role for both sublattices (graphene) leaves the sublattice naming arbitrary and out of the features.
    roles : the two sublattice roles, A first.
    max_fraction : at most this many vacancies per real atom (at least 4); the best-supported are kept.
    """
    pos = np.asarray(positions_A, float).reshape(-1, 2)
    real = np.asarray(real, bool)
    element = np.asarray(element).astype(str)
    n = len(pos)
    real_idx = np.flatnonzero(real)
    distinct = element_roles is not None and len(set(element_roles.values()) & set(roles)) == 2
    empty = LatticeModel(bond_A, _ideal_bonds(0.0, bond_A), None, np.empty((0, 2)), np.empty(0, int),
                         np.empty(0, int), np.empty((0, 2, 2)), np.full(n, -1), np.zeros((0, 3), bool), region, fill_radius_A, roles,
                         distinct, np.empty((0, 2)), np.empty(0, int), {"n_anchors": 0})
    if len(real_idx) < 4:
        return empty

    # 1. bonds and the global orientation
    rpos = pos[real_idx]
    tree = cKDTree(rpos)
    dist, nb = tree.query(rpos, k=4, distance_upper_bound=BOND_RANGE[1] * bond_A)
    src = np.repeat(np.arange(len(rpos)), 3)
    dst, d = nb[:, 1:].ravel(), dist[:, 1:].ravel()
    ok = np.isfinite(d) & (d >= BOND_RANGE[0] * bond_A)
    src, dst = src[ok], dst[ok]
    if len(src) < 6:
        return empty
    vec = rpos[dst] - rpos[src]
    sample = vec[:: max(1, len(vec) // GLOBAL_FIT_BONDS)]  # strided: the same bonds whatever the orientation
    z6 = np.mean(np.exp(6j * np.arctan2(sample[:, 1], sample[:, 0])))
    e = _ideal_bonds(np.angle(z6) / 6.0, bond_A)

    # 2. global map (from a sample of the bonds), then the smooth local one
    k, sgn, good = _assign(sample, e, bond_A)
    global_map = np.eye(2)
    for _ in range(2):
        u = sgn[good, None] * e[k[good]]
        if len(u) < 6:
            return empty
        global_map = (sample[good].T @ u) @ np.linalg.inv(u.T @ u)
        k, sgn, good = _assign(sample @ np.linalg.inv(global_map).T, e, bond_A)
    k, sgn, good = _assign(vec @ np.linalg.inv(global_map).T, e, bond_A)
    u = sgn[good, None] * e[k[good]]
    strain = _StrainField(rpos, src[good], dst[good], vec[good], u, global_map, bond_A, tree)
    maps_real = strain.maps
    inv_real = np.linalg.inv(maps_real)
    inv_vec = inv_real[src]
    k, sgn, good = _assign(np.column_stack([inv_vec[:, 0, 0] * vec[:, 0] + inv_vec[:, 0, 1] * vec[:, 1],
                                            inv_vec[:, 1, 0] * vec[:, 0] + inv_vec[:, 1, 1] * vec[:, 1]]), e, bond_A)
    u = sgn[good, None] * e[k[good]]
    resid = vec[good] - np.einsum("nij,nj->ni", maps_real[src[good]], u)
    bonded = np.zeros((len(rpos), 3), bool)  # which ideal directions each atom has a good bond along
    bonded[src[good], k[good]] = True
    strain_rms = float(np.sqrt(np.mean(np.sum(resid**2, 1)))) if len(resid) else float("nan")

    # 3. sublattice of each real atom (anchors)
    n_good = np.bincount(src[good], minlength=len(rpos))
    net = np.bincount(src[good], sgn[good], minlength=len(rpos))
    anchor_r = (n_good >= 2) & (np.abs(net) >= 2) & ((n_good - np.abs(net)) <= 2)
    sign_r = np.sign(net).astype(int)
    a_idx = np.flatnonzero(anchor_r)
    if len(a_idx) < 3:
        return empty
    if distinct:
        el = element[real_idx[a_idx]]
        on_first = np.array([element_roles.get(x) == roles[0] for x in el])
        known = np.array([x in element_roles for x in el])
        plus = sign_r[a_idx] > 0
        if known.any() and np.sum(on_first & plus & known) < np.sum(on_first & ~plus & known):
            sign_r, e = -sign_r, -e  # the sublattice holding most first-role elements (metals) is A
    anchor_pos = rpos[a_idx]
    anchor_sign = sign_r[a_idx]
    anchor_maps = maps_real[a_idx]

    # 4. empty expected sites: predicted by two or more anchors, inside the region, in a lattice
    a_tree = cKDTree(anchor_pos)
    node_tree = cKDTree(pos)
    occ_r, fill_r = OCCUPIED_BONDS * bond_A, max(fill_radius_A, OCCUPIED_BONDS * bond_A)
    lat = np.column_stack([e[0] - e[1], e[0] - e[2]])
    vac, support, dropped = _vacancy_sites(anchor_pos, anchor_sign, anchor_maps, ~bonded[a_idx], e, lat, node_tree,
                                           occ_r, fill_r,
                                           region, REGION_MARGIN_BONDS * bond_A, bond_A, a_tree, len(real_idx),
                                           max_fraction)
    stats = {"n_anchors": int(len(a_idx)), "strain_rms_A": strain_rms,
             "orientation_deg": float(np.degrees(np.angle(z6) / 6.0)), "global_map": global_map.round(5).tolist()}
    node_atom = np.full(n, -1)
    node_atom[real_idx] = np.arange(len(real_idx))
    return LatticeModel(bond_A, e, strain, anchor_pos, anchor_sign, real_idx[a_idx], inv_real[a_idx], node_atom,
                        bonded, region, fill_radius_A, roles, distinct, vac, support, stats, dropped)


OCCUPIED, FILLED, EMPTY, OUTSIDE = 0, 1, 2, 3


def _site_status(points_A: np.ndarray, node_tree: cKDTree, occ_r: float, fill_r: float, region: Region,
                 margin_A: float) -> np.ndarray:
    """Per expected site: OCCUPIED (a node within ``occ_r``), FILLED (within ``fill_r``), EMPTY, or OUTSIDE (no
    node, and outside the region grown by ``margin_A``; NaN sites too)."""
    out = np.full(len(points_A), OUTSIDE, dtype=np.int8)
    finite = np.flatnonzero(np.all(np.isfinite(points_A), axis=1))
    if len(finite):
        d, _ = node_tree.query(points_A[finite], k=1, distance_upper_bound=fill_r)
        out[finite] = np.where(d <= occ_r, OCCUPIED, np.where(np.isfinite(d), FILLED, EMPTY))
        empty = finite[~np.isfinite(d)]
        out[empty[~region.inside(points_A[empty], margin_A)]] = OUTSIDE
    return out


def _vacancy_sites(anchor_pos, anchor_sign, anchor_maps, open_dirs, e, lat, node_tree, occ_r, fill_r, region, margin,
                   bond_A, a_tree, n_real, max_fraction) -> tuple[np.ndarray, np.ndarray, int]:
    """Empty expected sites (see the module docstring, step 5): positions (M, 2) Å, support (M,), and how many
    were dropped by the bound."""
    who, kk = np.nonzero(open_dirs)  # directions without a good bond: the only ones that can be empty
    pred = anchor_pos[who] + anchor_sign[who, None] * np.einsum("nij,nj->ni", anchor_maps[who], e[kk])
    status = _site_status(pred, node_tree, occ_r, fill_r, region, 0.0)  # vacancies only inside the frame itself
    keep = status == EMPTY
    pred, who = pred[keep], who[keep]
    if len(pred) < 2:
        return np.empty((0, 2)), np.empty(0, int), 0
    pairs = cKDTree(pred).query_pairs(CLUSTER_BONDS * bond_A, output_type="ndarray")
    m = len(pred)
    _, comp = connected_components(coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m)),
                                   directed=False)
    n_comp = comp.max() + 1
    # support = distinct anchors per cluster (an anchor predicts three different sites, so one per cluster)
    support = np.bincount(comp, minlength=n_comp)
    site = np.column_stack([np.bincount(comp, pred[:, 0], n_comp), np.bincount(comp, pred[:, 1], n_comp)])
    site /= np.maximum(support, 1)[:, None]
    sign = -np.sign(np.bincount(comp, anchor_sign[who], n_comp)).astype(int)  # the site's own sublattice
    ok = (support >= 1) & (sign != 0)
    ok &= _site_status(site, node_tree, occ_r, fill_r, region, 0.0) == EMPTY  # the agreed site, not just each guess
    single = np.flatnonzero(ok & (support == 1))
    if region.frame_A is not None:  # one anchor suffices only next to an image frame's edge (a point cloud's
        # border is no frame: there unseen and missing cannot be told apart)
        ok[single[region.edge_distance(site[single]) > EDGE_SINGLE_SUPPORT_BONDS * bond_A]] = False
        single = single[ok[single]]
    else:
        ok[single] = False
        single = single[:0]
    if len(single):  # every other first-neighbor site must hold a node (an edge atom) or lie outside the frame
        _, nearest = a_tree.query(site[single], k=1)
        first = site[single][:, None, :] + sign[single, None, None] * np.einsum("nij,kj->nki", anchor_maps[nearest],
                                                                                  e)
        st = _site_status(first.reshape(-1, 2), node_tree, occ_r, fill_r, region, margin).reshape(-1, 3)
        ok[single[(st == EMPTY).any(axis=1)]] = False
    if ok.any():  # second shell: the six same-sublattice sites around the candidate must mostly hold nodes
        _, nearest = a_tree.query(site[ok], k=1)
        second = (site[ok][:, None, :] + _second_shell(anchor_maps[nearest], lat)).reshape(-1, 2)
        st = _site_status(second, node_tree, occ_r, fill_r, region, margin).reshape(-1, 6)
        inside = (st != OUTSIDE).sum(1)
        held = ((st == OCCUPIED) | (st == FILLED)).sum(1)
        good = (inside >= 3) & (held >= SECOND_SHELL_MIN * inside)
        ok[np.flatnonzero(ok)[~good]] = False
    site, support = site[ok], support[ok]
    if len(site) > 1:  # two candidates closer than the fill radius: keep the better supported
        order = np.argsort(-support, kind="stable")
        site, support = site[order], support[order]
        close = cKDTree(site).query_pairs(fill_r, output_type="ndarray")
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


def _no_lattice_features(n: int, width: int, region: Region, pos: np.ndarray, bond_A: float) -> np.ndarray:
    """Features of nodes without a lattice: far from any site and midpoint, no consistency, no known sites."""
    out = np.zeros((n, width), np.float32)
    out[:, 0] = out[:, 1] = 1.0
    out[:, FEATURE_NAMES.index("sites_outside")] = 3.0
    if n:
        out[:, FEATURE_NAMES.index("edge_distance_bonds")] = np.clip(region.edge_distance(pos) / bond_A, 0.0, 3.0)
    return out
