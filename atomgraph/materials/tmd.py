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
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import mx2
from ase.data import atomic_numbers

from ..config import DefectConfig, MaterialConfig
from ..errors import AtomgraphInputError
from .recipes import recipe

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
    atoms = structure.atoms_in_column(column)
    if len(atoms) != 2:
        return False
    site = structure.positions[atoms].mean(axis=0)
    structure.keep[atoms] = False
    structure.touched[atoms] = True
    k = structure.add(site, 0, spec.label, "chalcogen")
    structure.column[k] = column
    return True


RECIPES = {
    "metal_substitution": metal_substitution,
    "chalcogen_single_vacancy": chalcogen_single_vacancy,
    "chalcogen_double_vacancy": chalcogen_double_vacancy,
}
