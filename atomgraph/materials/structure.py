"""A lattice being decorated with defects, and its projection onto atomic columns.

:class:`Structure` holds plain NumPy arrays (positions in Å, atomic numbers, labels, column ids) so that defect
recipes can delete, move and add atoms cheaply; :meth:`Structure.to_atoms` turns it into an ``ase.Atoms`` and
:meth:`Structure.columns` projects it along z into the columns a STEM image sees. Vacancy sites are kept as dummy
atoms (atomic number 0, ASE's ``X``) so that the truth can list them; they never reach ``to_atoms``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

COLUMN_TOLERANCE_A = 0.2  # atoms closer than this in projection share a column


@dataclass
class Columns:
    """Projected atomic columns.

    Attributes
    ----------
    positions_A : (M, 2) float array, x and y of each column in Å.
    atom_numbers, atom_column : (K,) int arrays, atomic number of every atom and the column it belongs to
        (vacancy dummies excluded).
    element : (M,) str array, the column's element ('' for a vacancy site).
    label : (M,) str array, the truth label of the column.
    """

    positions_A: np.ndarray
    atom_numbers: np.ndarray
    atom_column: np.ndarray
    element: np.ndarray
    label: np.ndarray


class Structure:
    """Mutable atoms of a lattice: positions (N, 3) in Å, atomic numbers, per-atom labels and sublattice roles.

    Parameters
    ----------
    positions : ndarray
        (N, 3) positions, Å (copied).
    numbers : ndarray of int
        (N,) atomic numbers (0: a vacancy site).
    labels : ndarray of str
        (N,) labels.
    roles : ndarray of str
        (N,) sublattice roles.
    cell : ndarray
        (3, 3) cell, Å.
    """

    def __init__(self, positions: np.ndarray, numbers: np.ndarray, labels: np.ndarray, roles: np.ndarray,
                 cell: np.ndarray) -> None:
        self.positions = np.asarray(positions, dtype=float).copy()
        self.numbers = np.asarray(numbers, dtype=int).copy()
        self.labels = np.asarray(labels, dtype=object).copy()
        self.roles = np.asarray(roles, dtype=object).copy()
        self.cell = np.asarray(cell, dtype=float)
        self.keep = np.ones(len(self.numbers), dtype=bool)
        self.touched = np.zeros(len(self.numbers), dtype=bool)
        self.column = self._column_ids()

    def _column_ids(self) -> np.ndarray:
        xy = self.positions[:, :2]
        pairs = cKDTree(xy).query_pairs(COLUMN_TOLERANCE_A, output_type="ndarray")
        from scipy.sparse import coo_matrix

        n = len(xy)
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        return connected_components(graph, directed=False)[1]

    def add(self, position: np.ndarray, number: int, label: str, role: str) -> int:
        """Append one atom.

        Parameters
        ----------
        position : ndarray
            (3,) position, Å.
        number : int
            Atomic number (0 marks a vacancy site).
        label : str
            Its label.
        role : str
            Its sublattice role.

        Returns
        -------
        int
            The new atom's index.
        """
        self.positions = np.vstack([self.positions, np.asarray(position, dtype=float)[None, :]])
        self.numbers = np.append(self.numbers, int(number))
        self.labels = np.append(self.labels, np.array([label], dtype=object))
        self.roles = np.append(self.roles, np.array([role], dtype=object))
        self.keep = np.append(self.keep, True)
        self.touched = np.append(self.touched, True)
        self.column = np.append(self.column, self.column.max() + 1 if len(self.column) else 0)
        return len(self.numbers) - 1

    def atoms_in_column(self, column: int) -> np.ndarray:
        """Indices of the kept atoms in one column.

        Parameters
        ----------
        column : int
            The column id.

        Returns
        -------
        ndarray of int
            The atoms' indices.
        """
        return np.flatnonzero((self.column == column) & self.keep)

    def column_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per column: its id, mean xy and role, over kept atoms (vacancy dummies count).

        Returns
        -------
        ids : ndarray of int
            (C,) column ids.
        xy_A : ndarray
            (C, 2) mean positions, Å.
        roles : ndarray of str
            (C,) sublattice roles.
        """
        ids = np.unique(self.column[self.keep])
        kept = np.flatnonzero(self.keep)
        order = np.argsort(self.column[kept], kind="stable")
        kept = kept[order]
        starts = np.searchsorted(self.column[kept], ids)
        counts = np.diff(np.append(starts, len(kept)))
        xy = np.add.reduceat(self.positions[kept, :2], starts, axis=0) / counts[:, None]
        roles = self.roles[kept[starts]]
        return ids, xy, roles

    def to_atoms(self) -> Atoms:
        """The real atoms (vacancy dummies dropped) as ``ase.Atoms``.

        Returns
        -------
        ase.Atoms
            Positions in Å, with a per-atom ``label`` array.
        """
        mask = self.keep & (self.numbers > 0)
        atoms = Atoms(numbers=self.numbers[mask], positions=self.positions[mask], cell=self.cell, pbc=False)
        atoms.set_array("label", np.array([str(x) for x in self.labels[mask]], dtype="U8"))
        return atoms

    def columns(self) -> Columns:
        """Project the kept atoms along z into columns (vacancy dummies become empty vacancy sites).

        Returns
        -------
        Columns
            Position (Å), element and label per column, and the atoms' numbers and columns.
        """
        from ase.data import chemical_symbols

        kept = np.flatnonzero(self.keep)
        order = kept[np.argsort(self.column[kept], kind="stable")]
        col = self.column[order]
        starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
        counts = np.diff(np.append(starts, len(order)))
        xy = np.add.reduceat(self.positions[order, :2], starts, axis=0) / counts[:, None]
        z = self.numbers[order]
        member = np.repeat(np.arange(len(starts)), counts)
        real = z > 0
        heaviest = np.zeros(len(starts), dtype=int)
        np.maximum.at(heaviest, member, z)
        symbols = np.array(chemical_symbols, dtype=object)
        element = np.where(heaviest > 0, symbols[heaviest], "")
        label = np.array([str(x) for x in self.labels[order[starts]]], dtype=object)
        return Columns(positions_A=xy, atom_numbers=z[real], atom_column=member[real], element=element, label=label)


def neighbor_columns(structure: Structure, column: int, radius_A: float) -> np.ndarray:
    """Ids of the columns with a kept atom within ``radius_A`` (Å) of ``column``'s center (itself excluded).

    Uses a KD-tree of the lattice as built (cached on the structure); recipes move atoms by a fraction of an Å at
    most, far less than the gap between first (1 bond) and second (sqrt(3) bonds) neighbors.

    Parameters
    ----------
    structure : Structure
        The lattice.
    column : int
        The column id.
    radius_A : float
        The search radius, Å.

    Returns
    -------
    ndarray of int
        The neighbor column ids.
    """
    tree = getattr(structure, "_lattice_tree", None)
    if tree is None:
        tree = structure._lattice_tree = cKDTree(structure.positions[:, :2].copy())
    members = structure.atoms_in_column(column)
    if len(members) == 0:
        return np.zeros(0, dtype=int)
    center = structure.positions[members, :2].mean(axis=0)
    near = np.asarray(tree.query_ball_point(center, radius_A), dtype=int)
    near = near[near < len(structure.keep)]
    near = near[structure.keep[near]]
    cols = np.unique(structure.column[near])
    return cols[cols != column].astype(int)
