"""Bonds of a honeycomb-type lattice and the smooth local linear map (strain field) fitted to them.

The ideal A -> B bond vectors ``e_k`` (k = 0, 1, 2, 120° apart) come from the sixfold orientation of the
neighbor vectors; each bond is assigned to the nearest of ``±e_k``; a global affine map, then a local one per atom
(least squares over the bonds within :data:`SMOOTH_HOPS` bonds, diffused along the bond graph, so exactly
rotation invariant) map ideal vectors onto the image. Lengths in Å.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

BOND_RANGE = (0.75, 1.3)          # accepted bond lengths, in nominal bonds
BOND_ANGLE_TOL_DEG = 25.0         # a bond within this angle of an ideal direction is assigned to it
GLOBAL_FIT_BONDS = 20000          # bonds (strided sample) for the global orientation and map
SMOOTH_HOPS = 3                   # the strain field averages the bonds within this many bonds of an atom
PRIOR_BONDS = 2.0                 # weight of the global fit in each local map, in bond-equivalents


def ideal_bonds(angle_rad: float, bond_A: float) -> np.ndarray:
    """(3, 2) ideal A -> B bond vectors at ``angle_rad``, 120° apart, Å."""
    t = angle_rad + np.deg2rad([0.0, 120.0, 240.0])
    return bond_A * np.column_stack([np.cos(t), np.sin(t)])


def inverse_2x2(m: np.ndarray) -> np.ndarray:
    """Inverses of a stack of 2x2 matrices (..., 2, 2), written out (faster than ``np.linalg.inv`` for many)."""
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    return np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2) / det[..., None, None]


def apply_2x2(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``m @ v`` for stacks of 2x2 matrices (N, 2, 2) and vectors (N, 2)."""
    return np.column_stack([m[:, 0, 0] * v[:, 0] + m[:, 0, 1] * v[:, 1], m[:, 1, 0] * v[:, 0] + m[:, 1, 1] * v[:, 1]])


def assign_bonds(ideal: np.ndarray, e: np.ndarray, bond_A: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


class StrainField:
    """Smooth local linear map ``M(x)`` (2x2) per atom: the least-squares map of the assigned bonds within
    :data:`SMOOTH_HOPS` bonds of the atom (sums diffused along the bond graph, so exactly rotation invariant),
    pulled toward the global map where bonds are few. Elsewhere the map of the nearest atom applies."""

    def __init__(self, positions_A: np.ndarray, src: np.ndarray, dst: np.ndarray, v: np.ndarray, u: np.ndarray,
                 global_map: np.ndarray, bond_A: float, tree: cKDTree) -> None:
        n = len(positions_A)
        self.tree = tree
        sums = np.column_stack([np.einsum("ni,nj->nij", v, u).reshape(-1, 4),
                                np.einsum("ni,nj->nij", u, u).reshape(-1, 4)])
        adjacency = csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
        acc = np.column_stack([np.bincount(src, w, n) for w in sums.T])
        for _ in range(SMOOTH_HOPS):  # each hop adds the neighbors' sums: a binomial-like smoothing kernel
            acc = acc + adjacency @ acc
        prior_uu = PRIOR_BONDS * 1.5 * bond_A**2 * np.eye(2)  # sum of e e^T over the three bond directions
        a = acc[:, :4].reshape(n, 2, 2) + global_map @ prior_uu
        b = acc[:, 4:].reshape(n, 2, 2) + prior_uu
        self.maps = a @ inverse_2x2(b)
        self.inverse_maps = inverse_2x2(self.maps)
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


@dataclass
class BondFit:
    """The lattice's bonds as fitted: ideal bond vectors, the global and local maps, and each atom's bonds.

    ``src``/``dst`` index the atoms of one bond (both directions), ``k`` its ideal direction, ``sign`` +1 along
    ``+e_k`` (``src`` on A), ``good`` whether it fits the lattice; ``bonded`` (atoms, 3) which ideal directions each
    atom has a good bond along; ``strain_rms_A`` the rms misfit of the good bonds to the local maps (Å).
    """

    e: np.ndarray
    global_map: np.ndarray
    strain: StrainField
    src: np.ndarray
    dst: np.ndarray
    k: np.ndarray
    sign: np.ndarray
    good: np.ndarray
    bonded: np.ndarray
    strain_rms_A: float
    orientation_deg: float
    neighbors: np.ndarray  # (atoms, 3) index of each atom's bond-range neighbors, -1 where none

    def stats(self) -> dict:
        """``strain_rms_A``, ``orientation_deg`` and ``global_map`` (rounded to 5 decimals, nested lists)."""
        return {"strain_rms_A": self.strain_rms_A, "orientation_deg": self.orientation_deg,
                "global_map": self.global_map.round(5).tolist()}


def fit_bonds(positions_A: np.ndarray, tree: cKDTree, bond_A: float) -> BondFit | None:
    """Fit ideal bonds, global and local maps to the atoms at ``positions_A`` (None: too few bonds)."""
    n = len(positions_A)
    dist, nb = tree.query(positions_A, k=4, distance_upper_bound=BOND_RANGE[1] * bond_A)
    src = np.repeat(np.arange(n), 3)
    dst, d = nb[:, 1:].ravel(), dist[:, 1:].ravel()
    ok = np.isfinite(d) & (d >= BOND_RANGE[0] * bond_A)
    src, dst = src[ok], dst[ok]
    if len(src) < 6:
        return None
    vec = positions_A[dst] - positions_A[src]
    sample = vec[:: max(1, len(vec) // GLOBAL_FIT_BONDS)]  # strided: the same bonds whatever the orientation
    z6 = np.mean(np.exp(6j * np.arctan2(sample[:, 1], sample[:, 0])))
    e = ideal_bonds(np.angle(z6) / 6.0, bond_A)
    k, sgn, good = assign_bonds(sample, e, bond_A)
    global_map = np.eye(2)
    for _ in range(2):
        u = sgn[good, None] * e[k[good]]
        if len(u) < 6:
            return None
        global_map = (sample[good].T @ u) @ np.linalg.inv(u.T @ u)
        k, sgn, good = assign_bonds(sample @ np.linalg.inv(global_map).T, e, bond_A)
    k, sgn, good = assign_bonds(vec @ np.linalg.inv(global_map).T, e, bond_A)
    strain = StrainField(positions_A, src[good], dst[good], vec[good], sgn[good, None] * e[k[good]], global_map,
                         bond_A, tree)
    k, sgn, good = assign_bonds(apply_2x2(strain.inverse_maps[src], vec), e, bond_A)
    resid = vec[good] - apply_2x2(strain.maps[src[good]], sgn[good, None] * e[k[good]])
    bonded = np.zeros((n, 3), bool)
    bonded[src[good], k[good]] = True
    rms = float(np.sqrt(np.mean(np.sum(resid**2, 1)))) if len(resid) else float("nan")
    neighbors = np.where(np.isfinite(dist[:, 1:]) & (dist[:, 1:] >= BOND_RANGE[0] * bond_A), nb[:, 1:], -1)
    return BondFit(e, global_map, strain, src, dst, k, sgn, good, bonded, rms, float(np.degrees(np.angle(z6) / 6)),
                   neighbors)


def fit_atom_bonds(positions_A: np.ndarray, n_nodes: int, tree: cKDTree | None, bond_A: float
                   ) -> tuple[cKDTree | None, BondFit | None]:
    """:func:`fit_bonds` of the atoms at ``positions_A`` (of ``n_nodes`` nodes) and their k-d tree: ``tree`` when
    given and every node is an atom, else built; (None, None) for fewer than four atoms."""
    if len(positions_A) < 4:
        return None, None
    if tree is None or len(positions_A) != n_nodes:
        tree = cKDTree(positions_A)
    return tree, fit_bonds(positions_A, tree, bond_A)


def sublattice_anchors(fit: BondFit, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Anchor atoms (at least two good bonds, at most one disagreeing on the sublattice) and every atom's sign."""
    src, good = fit.src[fit.good], fit.good
    n_good = np.bincount(src, minlength=n)
    net = np.bincount(src, fit.sign[good], minlength=n)
    anchor = (n_good >= 2) & (np.abs(net) >= 2) & ((n_good - np.abs(net)) <= 2)
    return np.flatnonzero(anchor), np.sign(net).astype(int)


def metal_on_b(element: np.ndarray, sign: np.ndarray, element_roles: dict[str, str], first_role: str) -> bool:
    """Whether more anchors of the first role (metals) sit on B than on A (then the naming flips)."""
    first = np.array([element_roles.get(x) == first_role for x in element], dtype=bool)
    return bool(np.sum(first & (sign < 0)) > np.sum(first & (sign > 0)))
