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
   coordinate input; at least 0.3 bond inside a frame), at least two anchors support it (one within 1.5 bonds of
   an image frame's edge, where the other neighbors are unseen or are edge atoms, and none is empty) and its
   second shell is occupied (so nothing is invented in holes, on amorphous patches or outside the frame).

All lengths are in Å unless a name says ``bonds`` (units of the nominal bond length). Everything is vectorized:
a few k-d tree queries and array passes, no per-atom Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from .region import Region
from .sites import Anchors, SiteRules, nearest_candidate, neighbor_site_counts, vacancy_sites
from .taken import TakenSites, taken_sites
from .strain import StrainField, fit_atom_bonds, ideal_bonds, metal_on_b, sublattice_anchors

OCCUPIED_BONDS = 0.35             # a node this close (bonds) to an expected site occupies it
N_ANCHORS = 3                     # anchors per node for its lattice coordinates
ANCHOR_RADIUS_BONDS = 3.5         # anchors farther than this do not place a node
N_OUTER_ANCHORS = 9               # anchors beyond the first shell that place a node's taken sites
OUTER_ANCHOR_MIN_BONDS = 1.5      # ... at least this far from it (bonds)
REGION_MARGIN_BONDS = 0.15        # sites this far outside the frame still count as inside (edge columns)
VACANCY_INSET_BONDS = 0.3         # a vacancy lies at least this far inside the frame (an edge site may be cut off)
FEATURE_NAMES = ["site_offset_bonds", "midpoint_offset_bonds", "lattice_consistency", "sites_occupied",
                 "sites_filled", "sites_empty", "sites_outside", "edge_distance_bonds", "sites_taken",
                 "taken_neighbors_occupied", "bond_far_end_bonds", "pair_ring_empty"]
"""Lattice-relative node features (all rotation and translation invariant):

- ``site_offset_bonds``: distance to the nearest expected site, in bonds (0 on a site, 0.5 at a bond midpoint).
- ``midpoint_offset_bonds``: distance to the nearest bond midpoint, in bonds (0 for a Si in a divacancy).
- ``lattice_consistency``: agreement of the anchors on the node's lattice position, [0, 1].
- ``sites_occupied``, ``sites_filled``, ``sites_empty``, ``sites_outside``: of the three expected neighbor sites of
  the node's nearest site, how many hold a node (within 0.35 bond), hold only a displaced node (within the fill
  radius), hold nothing, or lie outside the observed region.
- ``edge_distance_bonds``: distance to the border of the observed region, in bonds, clipped to [0, 3].
- ``sites_taken``: count, the lattice sites the node takes: of the two ends of its nearest ideal bond, those within
  0.8 bond of it that hold no *other* atom within 0.6 bond. 1 for an atom on its site (a substitutional Si, whatever
  its bond lengths, buckling or an offset up to ~0.4 bond), 2 for an atom at the center of a divacancy (Si4), 0 for a
  node whose site another atom holds (a double detection). Topology, not bond length: a carbon neighbor pushed out
  by a long Si-C bond (0.5 Å) still holds its own site.
- ``taken_neighbors_occupied``: count, the sites bonded to the taken ones (3 around one site, 4 around a pair) that
  hold an atom (within 0.6 bond): the node's lattice coordination (3 for Si3, 4 for Si4; fewer next to a vacancy
  or a missed column); 0 when no site is taken.
- ``bond_far_end_bonds``: distance to the farther end of the nearest ideal bond, in bonds (about 1 on a site, 0.5
  at a bond midpoint; 1 for an atom bonded along all three ideal directions, which is not searched); between about
  0.62 and 0.82 the node is neither on a site nor at a bond center, and ``sites_taken`` cannot settle how many sites
  it takes.
- ``pair_ring_empty``: count, of the four sites around both ends of the nearest ideal bond, those inside the
  observed region that hold no atom (within 0.6 bond): 0 around a Si4, whatever ``sites_taken`` reads; 1 for a Si
  bonded to three carbons beside an empty site. Sites outside the frame are unseen, not empty.
"""
ROLE_FEATURE_PREFIX = "on_"       # ``on_<role>`` one-hot of the nearest site's sublattice (distinct sublattices only)


@dataclass
class LatticeModel:
    """The fitted lattice: ideal bonds, the local map ``M(x)``, the anchors, and the empty expected sites.

    Attributes
    ----------
    bond_A : nominal bond length, Å.
    bond_vectors_A : (3, 2) ideal A -> B bond vectors (before the local map), Å.
    strain : the local map field (:class:`~atomgraph.graph.strain.StrainField`; None without a lattice).
    anchor_A : (K, 2) positions of the anchors (atoms whose bonds fix their sublattice), Å.
    anchor_sign : (K,) +1 on A, -1 on B.
    anchor_node : (K,) index of each anchor among the nodes given to :func:`fit_lattice`.
    anchor_inv : (K, 2, 2) inverse local maps of the anchors; ``anchor_tree`` a k-d tree of ``anchor_A``.
    node_atom : (N,) index of each node given to :func:`fit_lattice` among the atoms the strain field holds (-1
        for vacancy nodes).
    bonded : (atoms, 3) bool, which of the three ideal bond directions each atom has a good bond along.
    bond_neighbors : (atoms, 3) index of each atom's bond-range neighbors (-1 where none).
    region : where the lattice was observed; ``fill_radius_A`` (Å): an expected site with a node this close is not
        empty.
    roles : the sublattice roles (A, B); ``distinct_roles`` when the two hold different elements.
    vacancies_A : (M, 2) empty expected sites (the vacancy nodes to add), Å; ``vacancy_support`` (M,) anchors each.
    stats : ``n_anchors``, ``strain_rms_A`` (rms misfit of the bonds to the local map), ``orientation_deg``, ...
    n_vacancies_dropped : empty sites beyond the bound (``max_fraction``), not made vacancy nodes.
    """

    bond_A: float
    bond_vectors_A: np.ndarray
    strain: StrainField | None
    anchor_A: np.ndarray
    anchor_sign: np.ndarray
    anchor_node: np.ndarray
    anchor_inv: np.ndarray
    anchor_tree: cKDTree | None
    node_atom: np.ndarray
    bonded: np.ndarray
    bond_neighbors: np.ndarray
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
        """Whether the model has a lattice (at least three anchors)."""
        return len(self.anchor_A) >= 3

    def _anchors_of(self, pos: np.ndarray, atom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The :data:`N_ANCHORS` nearest anchors of each node other than itself, within 3.5 bonds: distances (Å,
        inf where none) and anchor indices (N, 3). An atom whose three bond neighbors are anchors has exactly those
        (no anchor is closer than a bond); the k-d tree is searched for the rest only."""
        n = len(pos)
        dist, idx = np.full((n, N_ANCHORS), np.inf), np.zeros((n, N_ANCHORS), int)
        atom_anchor = np.full(len(self.bonded), -1)
        atom_anchor[self.node_atom[self.anchor_node]] = np.arange(len(self.anchor_node))
        nb = self.bond_neighbors[np.maximum(atom, 0)]
        cand = np.where(nb >= 0, atom_anchor[np.maximum(nb, 0)], -1)
        quick = (atom >= 0) & (cand >= 0).all(axis=1)
        idx[quick] = cand[quick]
        dist[quick] = np.linalg.norm(self.anchor_A[cand[quick]] - pos[quick, None, :], axis=2)
        slow = np.flatnonzero(~quick)
        if len(slow):
            self_anchor = np.full(n, -1)
            self_anchor[self.anchor_node] = np.arange(len(self.anchor_node))
            kq = min(N_ANCHORS + 1, len(self.anchor_A))
            ad, ai = self.anchor_tree.query(pos[slow], k=kq, distance_upper_bound=ANCHOR_RADIUS_BONDS * self.bond_A)
            ad, ai = ad.reshape(-1, kq), ai.reshape(-1, kq)
            ad[(ai == self_anchor[slow, None]) | ~np.isfinite(ad)] = np.inf
            order = np.argsort(ad, axis=1, kind="stable")[:, :N_ANCHORS]
            ad, ai = np.take_along_axis(ad, order, 1), np.take_along_axis(ai, order, 1)
            width = ad.shape[1]
            dist[slow, :width], idx[slow, :width] = ad, np.where(np.isfinite(ad), ai, 0)
        return dist, idx

    def _ideal_position(self, pos: np.ndarray, ad: np.ndarray, ai: np.ndarray, lat: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each node's position in the ideal frame, reduced into one cell, from anchors ``ai`` at distances ``ad``
        (Å, inf: unused): the weighted circular mean of the lattice phases each anchor places it at. Returns the
        position (N, 2), whether any anchor placed it (N,) and how well they agree (``lattice_consistency``)."""
        bond, e = self.bond_A, self.bond_vectors_A
        valid = np.isfinite(ad)
        ai = np.where(valid, ai, 0)
        ideal = np.einsum("nkij,nkj->nki", self.anchor_inv[ai], pos[:, None, :] - self.anchor_A[ai])  # ideal frame
        ideal += np.where(self.anchor_sign[ai] > 0, 0.0, 1.0)[..., None] * e[0]         # from the anchor's site
        angle = (2 * np.pi * (ideal @ np.linalg.inv(lat).T)).astype(np.float32)        # (n, k, 2) phases
        w = np.where(valid, 1.0 / (ad + bond), 0.0).astype(np.float32)
        wsum = np.maximum(w.sum(1), 1e-12)
        has = w.sum(1) > 0
        cos, sin = np.cos(angle), np.sin(angle)
        mean_c, mean_s = (cos * w[..., None]).sum(1) / wsum[:, None], (sin * w[..., None]).sum(1) / wsum[:, None]
        third_c = ((cos[..., 0] * cos[..., 1] - sin[..., 0] * sin[..., 1]) * w).sum(1) / wsum  # third reciprocal
        third_s = ((sin[..., 0] * cos[..., 1] + cos[..., 0] * sin[..., 1]) * w).sum(1) / wsum  # vector b1 + b2
        consistency = np.where(has, np.minimum(np.hypot(mean_c, mean_s).min(axis=1), np.hypot(third_c, third_s)),
                               0.0)
        mean_phase = mean_c + 1j * mean_s
        r = np.mod(np.angle(mean_phase) / (2 * np.pi), 1.0) @ lat.T                       # ideal frame, in cell
        return r, has, consistency

    def _outer_anchors(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Up to :data:`N_OUTER_ANCHORS` anchors 1.5-3.5 bonds from each node (distances Å, inf where none, and
        indices): beyond the first shell, which a dopant's long or short bonds displace."""
        n = len(pos)
        k = min(N_OUTER_ANCHORS + 4, len(self.anchor_A))
        ad, ai = self.anchor_tree.query(pos, k=k, distance_upper_bound=ANCHOR_RADIUS_BONDS * self.bond_A)
        ad, ai = ad.reshape(n, k), ai.reshape(n, k)
        ad[ad < OUTER_ANCHOR_MIN_BONDS * self.bond_A] = np.inf
        order = np.argsort(ad, axis=1, kind="stable")[:, :N_OUTER_ANCHORS]
        ad, ai = np.take_along_axis(ad, order, 1), np.take_along_axis(ai, order, 1)
        return ad, np.where(np.isfinite(ad), ai, 0)

    def describe(self, positions_A: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lattice-relative features of nodes (see :data:`FEATURE_NAMES`) and each node's nearest site.

        Parameters
        ----------
        positions_A : ndarray
            (N, 2) all nodes, Å (atoms first as given to :func:`fit_lattice`, then vacancy nodes).
        real : ndarray of bool
            (N,) True for atoms: only they occupy sites.

        Returns
        -------
        features : ndarray of float32
            (N, F) features.
        sites : ndarray of float
            (N, 2) nearest site, Å (NaN where no anchor is near).
        """
        pos = np.asarray(positions_A, float).reshape(-1, 2)
        n = len(pos)
        if not self.fitted:
            return _no_lattice_features(n, len(self.feature_names), self.region, pos, self.bond_A), \
                np.full((n, 2), np.nan)
        bond, e = self.bond_A, self.bond_vectors_A
        lat, cells, mids = self._cells()  # lattice vectors (columns); cells and bond midpoints: r is in cell (0, 0)
        atom = self._atom_index(n, np.asarray(real, bool))
        ad, ai = self._anchors_of(pos, atom)
        r, has, consistency = self._ideal_position(pos, ad, ai, lat)
        sites = np.concatenate([cells[[4, 5, 7, 8]], cells + e[0]])                       # A corners, then B
        site_sign = np.r_[np.ones(4, int), -np.ones(len(cells), int)]
        near, dsite = nearest_candidate(r, sites)
        site_offset = dsite / bond
        mid_offset = nearest_candidate(r, mids)[1] / bond
        sign = np.where(has, site_sign[near], 0)
        maps = self.strain(pos, atom)
        site_pos = pos + np.einsum("nij,nj->ni", maps, sites[near] - r)
        site_pos[~has] = np.nan

        tree = self._atom_tree(pos[np.asarray(real, bool)])
        rules = SiteRules(tree, OCCUPIED_BONDS * bond,
                          max(self.fill_radius_A, OCCUPIED_BONDS * bond), self.region, REGION_MARGIN_BONDS * bond)
        # an atom bonded along all three ideal directions has its three neighbor sites occupied: no search needed
        full = (atom >= 0) & self.bonded[np.maximum(atom, 0)].all(axis=1) if len(self.bonded) else atom < -1
        todo = np.flatnonzero(~full)
        counts = neighbor_site_counts(rules, site_pos, sign, maps, e, todo, has)
        edge = np.clip(self.region.edge_distance(pos) / bond, 0.0, 3.0)
        taken, taken_nb, far, pair_empty = self._taken(pos, np.asarray(real, bool), todo, maps, tree)
        taken, taken_nb = np.where(has, taken, 0.0), np.where(has, taken_nb, 0.0)
        columns = [np.where(has, site_offset, 1.0), np.where(has, mid_offset, 1.0), consistency, *counts, edge,
                   taken, taken_nb, far, np.where(has, pair_empty, 0.0)]
        if self.distinct_roles:
            columns += [sign == 1, sign == -1]
        return np.column_stack(columns).astype(np.float32), site_pos

    def _atom_index(self, n: int, real: np.ndarray) -> np.ndarray:
        """(n,) each node's index among the strain field's atoms (-1: a vacancy node, or one not fitted)."""
        atom = np.full(n, -1)
        k0 = min(n, len(self.node_atom))
        atom[:k0] = np.where(real[:k0], self.node_atom[:k0], -1)
        return atom

    def _atom_tree(self, real_pos: np.ndarray) -> cKDTree:
        """A k-d tree of the atoms ``real_pos`` (Å): the strain field's own when it holds exactly them."""
        same = len(real_pos) == len(self.strain.tree.data) and np.array_equal(real_pos, self.strain.tree.data)
        return self.strain.tree if same else cKDTree(real_pos if len(real_pos) else np.full((1, 2), np.inf))

    def _taken(self, pos: np.ndarray, real: np.ndarray, todo: np.ndarray, maps: np.ndarray, tree: cKDTree
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``sites_taken``, ``taken_neighbors_occupied``, ``bond_far_end_bonds``, ``pair_ring_empty`` (N,); only
        ``todo`` is searched: an atom bonded along all three ideal directions takes one site and has its three."""
        n = len(pos)
        taken, taken_nb = np.ones(n, np.float32), np.full(n, 3.0, np.float32)
        far, pair_empty = np.ones(n, np.float32), np.zeros(n, np.float32)
        if len(todo):
            t = self._taken_sites(pos[todo], real[todo], maps[todo], tree)
            taken[todo], taken_nb[todo], far[todo], pair_empty[todo] = t.taken, t.ring, t.far, t.pair_empty
        return taken, taken_nb, far, pair_empty

    def _taken_sites(self, pos: np.ndarray, real: np.ndarray, maps: np.ndarray, tree: cKDTree) -> TakenSites:
        """:func:`~atomgraph.graph.taken.taken_sites` of the nodes at ``pos``, each placed in the ideal frame by the
        anchors beyond its first shell (which a dopant's bonds displace)."""
        lat, cells, mids = self._cells()
        r, has, _ = self._ideal_position(pos, *self._outer_anchors(pos), lat)
        return taken_sites(pos, r, mids, cells, self.bond_vectors_A, maps, has, real, tree, self.bond_A, self._seen)

    def ring_gaps(self, positions_A: np.ndarray, real: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """The empty sites of the rings and pair rings of ``nodes`` (:mod:`atomgraph.graph.taken`).

        Parameters
        ----------
        positions_A : ndarray
            (N, 2) all nodes as given to :meth:`describe`, Å.
        real : ndarray of bool
            (N,) True for atoms.
        nodes : ndarray of int
            (K,) the nodes asked about (indices into ``positions_A``).

        Returns
        -------
        ndarray of float
            (K, 6, 2) the gaps, Å; NaN rows where there are fewer.
        """
        pos = np.asarray(positions_A, float).reshape(-1, 2)
        nodes = np.asarray(nodes, int)
        if not self.fitted or len(nodes) == 0:
            return np.full((len(nodes), 6, 2), np.nan)
        real = np.asarray(real, bool)
        sub = pos[nodes]
        maps = self.strain(sub, self._atom_index(len(pos), real)[nodes])
        return self._taken_sites(sub, real[nodes], maps, self._atom_tree(pos[real])).gaps_A

    def _seen(self, points_A: np.ndarray) -> np.ndarray:
        """(P,) bool: sites at least ``VACANCY_INSET_BONDS`` inside the observed region (an empty site there is
        evidence of a missing atom; one nearer the border may be cut off)."""
        return self.region.inside(points_A, -VACANCY_INSET_BONDS * self.bond_A)

    def _cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lattice vectors (2, 2) as columns, the A sites of the 3x3 cells around the origin (9, 2), the midpoints of
        their bonds along ``e`` (27, 2)), ideal frame, Å."""
        e = self.bond_vectors_A
        lat = np.column_stack([e[0] - e[1], e[0] - e[2]])
        cells = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], float) @ lat.T
        return lat, cells, (cells[:, None, :] + 0.5 * e[None]).reshape(-1, 2)


def fit_lattice(positions_A: np.ndarray, real: np.ndarray, element: np.ndarray, *, bond_A: float,
                fill_radius_A: float, region: Region, element_roles: dict[str, str] | None = None,
                roles: tuple[str, str] = ("A", "B"), max_fraction: float = 0.05,
                tree: cKDTree | None = None) -> LatticeModel:
    """Fit the lattice model to nodes and find the empty expected sites.

    Steps 1-3 and 5 of the module docstring; :meth:`LatticeModel.describe` is step 4.

    Parameters
    ----------
    positions_A : ndarray
        (N, 2) node positions, Å (atoms, and any vacancy nodes given with the input).
    real : ndarray of bool
        (N,) True for atoms.
    element : ndarray of str
        (N,) element per node ('' unknown or vacancy).
    bond_A : float
        Nominal projected bond length, Å.
    fill_radius_A : float
        An expected site with a node this close (Å) is not empty.
    region : Region
        Where the lattice was observed.
    element_roles : dict of str to str, optional
        Element -> sublattice role (``{'Mo': 'metal', 'W': 'metal', 'Se': 'chalcogen'}``); None or a single role for
        both sublattices (graphene) leaves the sublattice naming arbitrary and out of the features.
    roles : tuple of str, default ("A", "B")
        The two sublattice roles, A first.
    max_fraction : float, default 0.05
        At most this many vacancies per real atom (at least 4); the best-supported are kept.
    tree : scipy.spatial.cKDTree, optional
        A k-d tree of ``positions_A`` when the caller has one and every node is an atom (built otherwise).

    Returns
    -------
    LatticeModel
        The model, with the empty sites found (``vacancies_A``).
    """
    pos = np.asarray(positions_A, float).reshape(-1, 2)
    real_idx = np.flatnonzero(np.asarray(real, bool))
    distinct = element_roles is not None and len(set(element_roles.values()) & set(roles)) == 2
    rpos = pos[real_idx]
    tree, fit = fit_atom_bonds(rpos, len(pos), tree, bond_A)
    a_idx, sign_r = sublattice_anchors(fit, len(rpos)) if fit is not None else (np.empty(0, int), None)
    if len(a_idx) < 3:  # too few bonds or anchors: no lattice
        return _unfitted(bond_A, len(pos), region, fill_radius_A, roles, distinct)
    e = fit.e
    if distinct and metal_on_b(np.asarray(element).astype(str)[real_idx[a_idx]], sign_r[a_idx], element_roles,
                                roles[0]):
        sign_r, e = -sign_r, -e  # the sublattice holding most first-role elements (metals) is A
    anchors = Anchors(rpos[a_idx], sign_r[a_idx], fit.strain.maps[a_idx], ~fit.bonded[a_idx], cKDTree(rpos[a_idx]))
    rules = SiteRules(tree if len(rpos) == len(pos) else cKDTree(pos), OCCUPIED_BONDS * bond_A,
                      max(fill_radius_A, OCCUPIED_BONDS * bond_A), region,
                      REGION_MARGIN_BONDS * bond_A, VACANCY_INSET_BONDS * bond_A)
    vac, support, dropped = vacancy_sites(anchors, e, rules, bond_A, len(real_idx), max_fraction, surrounded=distinct)
    stats = {"n_anchors": int(len(a_idx)), **fit.stats()}
    node_atom = np.full(len(pos), -1)
    node_atom[real_idx] = np.arange(len(real_idx))
    return LatticeModel(bond_A, e, fit.strain, anchors.positions_A, anchors.sign, real_idx[a_idx],
                        fit.strain.inverse_maps[a_idx], anchors.tree, node_atom, fit.bonded, fit.neighbors, region,
                        fill_radius_A, roles, distinct, vac, support, stats, dropped)


def _unfitted(bond_A: float, n: int, region: Region, fill_radius_A: float, roles: tuple[str, str],
              distinct: bool) -> LatticeModel:
    """The model of ``n`` nodes where no lattice was found (too few bonds or anchors): no anchors, no sites."""
    return LatticeModel(bond_A, ideal_bonds(0.0, bond_A), None, np.empty((0, 2)), np.empty(0, int), np.empty(0, int),
                        np.empty((0, 2, 2)), None, np.full(n, -1), np.zeros((0, 3), bool), np.zeros((0, 3), int),
                        region, fill_radius_A, roles, distinct, np.empty((0, 2)), np.empty(0, int), {"n_anchors": 0})


def _no_lattice_features(n: int, width: int, region: Region, pos: np.ndarray, bond_A: float) -> np.ndarray:
    """Features of nodes without a lattice: far from any site and midpoint, no consistency, no known sites."""
    out = np.zeros((n, width), np.float32)
    out[:, 0] = out[:, 1] = 1.0
    out[:, FEATURE_NAMES.index("sites_outside")] = 3.0
    if n:
        out[:, FEATURE_NAMES.index("edge_distance_bonds")] = np.clip(region.edge_distance(pos) / bond_A, 0.0, 3.0)
    return out
