"""The graph stage's checks at the door: positions that cannot be atomic columns in Å are refused, with one line
naming the likely unit mistake, before any neighbor search (:func:`atomgraph.graph.build.build_graph` calls them)."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import AtomgraphInputError

MAX_COORDINATE_A = 1e9  # |x|, |y| beyond this (0.1 m) are not atomic coordinates in Å
SPACING_RANGE_BONDS = (0.4, 4.0)  # accepted median nearest-neighbor distance, in bonds of the material
SPACING_MIN_ATOMS = 10  # the spacing check needs at least this many real atoms
SPACING_SAMPLE = 2000  # real atoms (strided) whose nearest neighbor the spacing check measures


def check_coordinates(positions_A: np.ndarray) -> np.ndarray:
    """``positions_A`` as floats, refused when not finite or too far out.

    Parameters
    ----------
    positions_A : array_like
        (N, 2) positions, Å.

    Returns
    -------
    ndarray of float
        (N, 2) the positions, Å.

    Raises
    ------
    AtomgraphInputError
        NaN/inf, or a coordinate over 1e9 Å.
    """
    positions_A = np.asarray(positions_A, float)
    if not np.all(np.isfinite(positions_A)):
        raise AtomgraphInputError("atom positions contain NaN or infinite values")
    if positions_A.size and float(np.abs(positions_A).max()) > MAX_COORDINATE_A:
        raise AtomgraphInputError(f"atom positions reach {float(np.abs(positions_A).max()):.3g} Å: these are not "
                                  "atomic coordinates in Å (check the units)")
    return positions_A


def check_positions(positions_A: np.ndarray, real: np.ndarray, bond_A: float, material: str = "",
                    tree: cKDTree | None = None) -> None:
    """Refuse positions that cannot be atomic columns in Å before any neighbor search.

    NaN/inf, coordinates beyond :data:`MAX_COORDINATE_A`, and (with at least :data:`SPACING_MIN_ATOMS` real atoms) a
    median nearest-neighbor distance outside :data:`SPACING_RANGE_BONDS` bonds: positions in nm or pixels given as Å
    would otherwise put every atom within the cutoff of every other (a graph of N² edges, minutes and gigabytes), and
    positions in pm would give a graph without edges and confident nonsense labels.

    Parameters
    ----------
    positions_A : ndarray
        (N, 2) node positions, Å.
    real : ndarray of bool
        (N,) True for atoms (vacancy nodes are not measured).
    bond_A : float
        The material's projected bond length, Å.
    material : str, default ""
        The material's name, for the message.
    tree : scipy.spatial.cKDTree, optional
        A k-d tree of ``positions_A`` when the caller has one (built here otherwise).

    Raises
    ------
    AtomgraphInputError
        One line naming what is wrong and the likely unit mistake.
    """
    positions_A = check_coordinates(positions_A)
    pos = positions_A[np.asarray(real, bool)]
    if len(pos) < SPACING_MIN_ATOMS:
        return
    sample = pos[:: max(1, len(pos) // SPACING_SAMPLE)]
    dist, _ = (tree if tree is not None else cKDTree(positions_A)).query(sample, k=2)
    spacing = float(np.median(dist[:, 1]))
    lo, hi = SPACING_RANGE_BONDS
    if not lo * bond_A <= spacing <= hi * bond_A:
        raise AtomgraphInputError(
            f"the median nearest-neighbor distance of the atoms is {spacing:.3g} Å, but {material or 'the material'} "
            f"has {bond_A:.3g} Å bonds: are the positions in Å (not nm, pm or pixels), and is the pixel size right?")
