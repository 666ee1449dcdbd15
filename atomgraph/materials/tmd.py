"""2H transition-metal dichalcogenide family (MoSe2, MoS2, WS2, ...), seen along c.

In projection a 2H monolayer is a honeycomb of metal columns (one atom) and chalcogen columns (two atoms, one above
and one below the metal plane).

Recipes
-------
``metal_substitution``
    Random alloy: a fraction of metal sites takes ``element`` (W in MoSe2).
``chalcogen_single_vacancy``
    One of the two chalcogen atoms of a column removed (label e.g. ``Se1``).
``chalcogen_double_vacancy``
    Both removed; the empty site stays in the truth as a vacancy (element empty, label e.g. ``Sevac``).
``chalcogen_line_vacancy``, ``metal_antisite``
    Structures the bundled models never saw, for measuring novelty (``benchmarks/bench_novelty.py``): a row of
    3-6 empty chalcogen sites, a metal atom on a chalcogen site.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from ..config import DefectConfig, MaterialConfig, Range
from ..errors import AtomgraphInputError
from .recipes import recipe
from .structure import neighbor_columns

ROLES = ("metal", "chalcogen")


def check_config(cfg: MaterialConfig) -> None:
    """Raise :class:`AtomgraphInputError` unless the roles are metal and chalcogen and every element is known."""
    host = cfg.lattice.host
    if set(host) != set(ROLES) or set(cfg.host_labels) != set(ROLES):
        raise AtomgraphInputError("family 'tmd' needs 'lattice.host' and 'host_labels' with keys metal and "
                                  "chalcogen", source=cfg.name)
    for i, defect in enumerate(cfg.defects):
        if defect.recipe == "metal_substitution" and defect.element is None:
            raise AtomgraphInputError(f"missing key 'defects[{i}].element' (recipe metal_substitution)",
                                      source=cfg.name)
    for element in list(host.values()) + [d.element for d in cfg.defects if d.element is not None]:
        if element not in atomic_numbers:
            raise AtomgraphInputError(f"unknown element '{element}'", source=cfg.name)


def primitive(cfg: MaterialConfig) -> Atoms:
    """Three-atom 2H cell (``ase.build.mx2``) with per-atom ``role`` and ``label``."""
    from ase.build import mx2

    host = cfg.lattice.host
    atoms = mx2(formula=f"{host['metal']}{host['chalcogen']}2", kind="2H", a=float(cfg.lattice.a_A),
                thickness=float(cfg.lattice.thickness_A), vacuum=None)
    roles = np.array(["metal" if s == host["metal"] else "chalcogen" for s in atoms.get_chemical_symbols()])
    atoms.set_array("role", roles.astype("U10"))
    atoms.set_array("label", np.array([cfg.host_labels[r] for r in roles], dtype="U10"))
    return atoms


@recipe(roles=("metal",), alloy=True)
def metal_substitution(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Put ``spec.element`` on one metal site."""
    (i,) = structure.atoms_in_column(column)
    structure.numbers[i] = atomic_numbers[spec.element]
    structure.labels[i] = spec.label
    structure.touched[i] = True
    return True


@recipe(roles=("chalcogen",))
def chalcogen_single_vacancy(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Remove the top or the bottom chalcogen of a column."""
    atoms = structure.atoms_in_column(column)
    if len(atoms) != 2:
        return False
    gone = atoms[int(rng.integers(2))]
    structure.keep[gone] = False
    structure.labels[atoms] = spec.label
    structure.touched[atoms] = True
    return True


@recipe(roles=("chalcogen",))
def chalcogen_double_vacancy(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Remove both chalcogens of a column; keep a vacancy dummy (Z = 0) at the site for the truth."""
    return _refill_column(structure, column, 0, spec.label)


def _line_columns(structure, column: int, n_sites: int, rng: np.random.Generator, material) -> list[int] | None:
    """``n_sites`` full, untouched chalcogen columns in a straight row from ``column`` along a random lattice vector
    (consecutive sites one lattice constant apart), or None when the row leaves the lattice or meets a defect."""
    from scipy.spatial import cKDTree

    a = float(material.settings.lattice.a_A)
    tree = getattr(structure, "_lattice_tree", None) or cKDTree(structure.positions[:, :2].copy())
    structure._lattice_tree = tree
    start = structure.positions[structure.atoms_in_column(column), :2].mean(axis=0)
    near = [i for i in tree.query_ball_point(start, 1.05 * a) if structure.roles[i] == "chalcogen"
            and 0.95 * a < np.linalg.norm(structure.positions[i, :2] - start)]
    if not near:
        return None
    step = structure.positions[near[int(rng.integers(len(near)))], :2] - start
    out = []
    for k in range(n_sites):
        hits = [i for i in tree.query_ball_point(start + k * step, 0.3) if i < len(structure.keep)]
        cols = {int(structure.column[i]) for i in hits if structure.roles[i] == "chalcogen"}
        if len(cols) != 1:
            return None
        c = cols.pop()
        atoms = structure.atoms_in_column(c)
        if len(atoms) != 2 or structure.touched[atoms].any():
            return None
        out.append(c)
    return out


@recipe(roles=("chalcogen",))
def chalcogen_line_vacancy(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """A row of ``line_sites`` (default 3-6) consecutive empty chalcogen sites along a lattice vector (both atoms of
    each removed, a vacancy dummy labeled ``spec.label`` kept at each site); the metal columns next to the row move
    ``neighbor_shift_A`` (default 0) toward the row's axis, as the lattice contracts around real line vacancies."""
    n_sites = (spec.line_sites or Range(3, 6)).draw_int(rng)
    cols = _line_columns(structure, column, max(int(n_sites), 2), rng, material)
    if cols is None:
        return False
    sites = np.array([structure.positions[structure.atoms_in_column(c), :2].mean(axis=0) for c in cols])
    axis = (sites[-1] - sites[0]) / np.linalg.norm(sites[-1] - sites[0])
    shift = (spec.neighbor_shift_A or Range(0.0)).draw(rng)

    metals = set()
    for c in cols:
        metals.update(int(m) for m in neighbor_columns(structure, c, 1.2 * material.bond_A))
    for c in cols:
        _refill_column(structure, c, 0, spec.label)
    for m in metals:
        atoms = structure.atoms_in_column(m)
        d = structure.positions[atoms[0], :2] - sites[0]
        across = d - np.dot(d, axis) * axis
        structure.positions[atoms, :2] -= shift * across / max(np.linalg.norm(across), 1e-9)
        structure.touched[atoms] = True
    return True


@recipe(roles=("chalcogen",))
def metal_antisite(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """A metal atom (``spec.element``, default the host metal) on a chalcogen site: both chalcogens removed, one
    metal atom at the column center in the metal plane, labeled ``spec.label``."""
    element = spec.element or material.settings.lattice.host["metal"]
    return _refill_column(structure, column, atomic_numbers[element], spec.label)


def _refill_column(structure, column: int, z: int, label: str) -> bool:
    """Remove both chalcogens of a column and put one atom of atomic number ``z`` (0: a vacancy dummy for the
    truth) at its center, labeled ``label``; False when the column does not hold two atoms."""
    atoms = structure.atoms_in_column(column)
    if len(atoms) != 2:
        return False
    site = structure.positions[atoms].mean(axis=0)
    structure.keep[atoms] = False
    structure.touched[atoms] = True
    k = structure.add(site, z, label, "chalcogen")
    structure.column[k] = column
    return True


RECIPES = {
    "metal_substitution": metal_substitution,
    "chalcogen_single_vacancy": chalcogen_single_vacancy,
    "chalcogen_double_vacancy": chalcogen_double_vacancy,
    "chalcogen_line_vacancy": chalcogen_line_vacancy,
    "metal_antisite": metal_antisite,
}
