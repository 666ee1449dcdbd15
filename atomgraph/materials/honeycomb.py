"""Honeycomb family: graphene-like lattices with one element on both sublattices (graphene) or two (hBN: B on A,
N on B), with Si-type point defects and vacancies.

Recipes
-------
``substitution``
    A dopant replaces one host atom (``Si3``). It sits ``height_A`` out of plane and ``dopant_offset_A`` off its
    site in the plane (random direction); each of its three neighbors is moved along its direction from the site so
    that its *projected* distance to the dopant is ``projected_bond_A``, drawn per bond (relaxed geometries have
    unequal bonds: real Si1C3 frames show projected Si-C 1.61 ± 0.16 Å).
``divacancy_center``
    Two adjacent host atoms are removed and the dopant sits at the center of the pair (``Si4``), bonded to the four
    remaining neighbors at a projected ≈ 1.88 Å in graphene; the four are displaced by ``neighbor_jitter_A`` (rms,
    per axis) to mimic relaxation, then, when ``projected_bond_A`` is given, moved along their direction from the
    dopant to that projected distance (drawn per bond), so Si4 and Si3 bond lengths overlap as in real frames.
``vacancy``
    One host atom removed (graphene C monovacancy, hBN ``VB``/``VN``); a vacancy dummy (Z = 0) stays at the site so
    the truth has an empty site with the defect label. ``role: A`` or ``role: B`` on the defect entry restricts it
    to one sublattice (in hBN: A holds B, B holds N). The three neighbors are displaced by ``neighbor_jitter_A``
    (rms, per axis, Å) when given.
``stone_wales``, ``dopant_dimer``, ``dopant_trimer``
    Structures the bundled models never saw, for measuring novelty (``benchmarks/bench_novelty.py``): a 55-77 bond
    rotation, two adjacent dopants (a Si dimer in a divacancy), three dopants around an empty site (a Si trimer).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from ..config import DefectConfig, MaterialConfig, Range
from ..errors import AtomgraphInputError
from .recipes import recipe
from .structure import neighbor_columns

ROLES = ("A", "B")


def check_config(cfg: MaterialConfig) -> None:
    """Raise :class:`AtomgraphInputError` unless the config's roles are A and B and every element is known."""
    host = cfg.lattice.host
    if set(host) != set(ROLES) or set(cfg.host_labels) != set(ROLES):
        raise AtomgraphInputError("family 'honeycomb' needs 'lattice.host' and 'host_labels' with keys A and B",
                                  source=cfg.name)
    for i, defect in enumerate(cfg.defects):
        if defect.recipe == "vacancy" and defect.element is not None:
            raise AtomgraphInputError(f"key 'defects[{i}].element': recipe vacancy puts no element in",
                                      source=cfg.name)
    for element in list(host.values()) + [d.element or host["A"] for d in cfg.defects]:
        if element not in atomic_numbers:
            raise AtomgraphInputError(f"unknown element '{element}'", source=cfg.name)


def primitive(cfg: MaterialConfig) -> Atoms:
    """Two-atom honeycomb cell (``ase.build.graphene``) with per-atom ``role`` and ``label``."""
    from ase.build import graphene

    host = cfg.lattice.host
    atoms = graphene(formula=host["A"] + host["B"] if host["A"] != host["B"] else host["A"] + "2",
                     a=float(cfg.lattice.a_A), vacuum=None)
    atoms.set_array("role", np.array(["A", "B"], dtype="U10"))
    atoms.set_array("label", np.array([cfg.host_labels["A"], cfg.host_labels["B"]], dtype="U10"))
    return atoms


def _neighbors(structure, column: int, bond_A: float) -> np.ndarray:
    return neighbor_columns(structure, column, 1.2 * bond_A)


def _next_to_other_dopant(structure, atom: int, dopant: int, material) -> bool:
    """Whether a (kept) dopant other than ``dopant`` lies within 1.2 bonds of ``atom``: a neighbor two dopants share
    (a Si pair 2.3-3 Å apart) stays where the first one put it instead of being pulled twice."""
    host = {atomic_numbers[e] for e in material.host_elements}
    other = structure.keep & ~np.isin(structure.numbers, list(host)) & (structure.numbers > 0)
    other[[atom] + ([dopant] if dopant >= 0 else [])] = False
    if not other.any():
        return False
    d = np.linalg.norm(structure.positions[other, :2] - structure.positions[atom, :2], axis=1)
    return bool(np.any(d < 1.2 * material.bond_A))


@recipe(roles=ROLES)
def substitution(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Replace one host atom by ``spec.element`` (default Si); see the module docstring."""
    bond = material.bond_A
    neighbors = _neighbors(structure, column, bond)
    if len(neighbors) != 3:
        return False
    (i,) = structure.atoms_in_column(column)
    structure.numbers[i] = atomic_numbers[spec.element or "Si"]
    structure.positions[i, 2] = float(spec.height_A)
    structure.labels[i] = spec.label
    structure.touched[i] = True
    site = structure.positions[i, :2].copy()
    angle = rng.uniform(0.0, 2.0 * np.pi)
    offset = (spec.dopant_offset_A or Range(0.0)).draw(rng)
    structure.positions[i, :2] = site + offset * np.array([np.cos(angle), np.sin(angle)])
    for c in neighbors:
        (j,) = structure.atoms_in_column(c)
        if _next_to_other_dopant(structure, j, i, material):  # shared with a dopant next door (a Si pair):
            continue                                            # it stays where that one put it
        d = structure.positions[j, :2] - site
        target = (spec.projected_bond_A or Range(bond)).draw(rng)  # per bond: relaxed geometries are not symmetric
        structure.positions[j, :2] = structure.positions[i, :2] + d / np.linalg.norm(d) * target
        structure.touched[j] = True
    return True


@recipe(roles=ROLES, sites=2)
def divacancy_center(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Remove a host atom and one random neighbor; put ``spec.element`` (default Si) at the center of the pair."""
    bond = material.bond_A
    pair = _pair(structure, column, rng, bond)
    if pair is None:
        return False
    i, j = pair
    partner = int(structure.column[j])
    neighbors = _neighbors(structure, column, bond)
    center = 0.5 * (structure.positions[i] + structure.positions[j])
    if spec.dopant_offset_A is not None:  # the dopant off the pair's center, in a random in-plane direction
        angle = rng.uniform(0.0, 2.0 * np.pi)
        center[:2] += spec.dopant_offset_A.draw(rng) * np.array([np.cos(angle), np.sin(angle)])
    structure.keep[[i, j]] = False
    structure.touched[[i, j]] = True
    structure.add(center, atomic_numbers[spec.element or "Si"], spec.label, "A")
    jitter = (spec.neighbor_jitter_A or Range(0.0)).draw(rng)
    for c in np.setdiff1d(np.union1d(neighbors, _neighbors(structure, partner, bond)), [column, partner]):
        atoms = structure.atoms_in_column(int(c))
        if any(_next_to_other_dopant(structure, int(a), -1, material) for a in atoms):  # shared with a dopant
            continue                                                                    # next door
        structure.touched[atoms] = True
        structure.positions[atoms, :2] += rng.normal(0.0, jitter, 2) if jitter > 0 else 0.0
        if spec.projected_bond_A is not None:  # relaxed: each neighbor at its own projected Si-C distance
            d = structure.positions[atoms, :2] - center[:2]
            length = np.linalg.norm(d, axis=1, keepdims=True)
            structure.positions[atoms, :2] = center[:2] + d / length * spec.projected_bond_A.draw(rng)
    return True


@recipe(roles=ROLES)
def vacancy(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Empty one host site: its atom becomes a vacancy dummy (Z = 0, label ``spec.label``); see the module
    docstring."""
    bond = material.bond_A
    neighbors = _neighbors(structure, column, bond)
    if len(neighbors) != 3:
        return False
    (i,) = structure.atoms_in_column(column)
    structure.numbers[i] = 0  # kept as the column's vacancy dummy: the truth gets an empty site with the label
    structure.positions[i, 2] = 0.0
    structure.labels[i] = spec.label
    structure.touched[i] = True
    jitter = (spec.neighbor_jitter_A or Range(0.0)).draw(rng)
    for c in neighbors:
        atoms = structure.atoms_in_column(int(c))
        structure.touched[atoms] = True
        structure.positions[atoms, :2] += rng.normal(0.0, jitter, 2) if jitter > 0 else 0.0
    return True


def _pair(structure, column: int, rng: np.random.Generator, bond_A: float) -> tuple[int, int] | None:
    """A column and one random neighbor, both threefold and untouched (atom indices), or None."""
    neighbors = _neighbors(structure, column, bond_A)
    if len(neighbors) != 3:
        return None
    partner = int(rng.choice(neighbors))
    if len(_neighbors(structure, partner, bond_A)) != 3:
        return None
    (i,) = structure.atoms_in_column(column)
    (j,) = structure.atoms_in_column(partner)
    if structure.touched[[i, j]].any():
        return None
    return int(i), int(j)


def _set_pair(structure, pair: tuple[int, int], column: int, label: str, bond_A: float, distance_A: float,
              turn: bool) -> None:
    """Place a pair of atoms ``distance_A`` apart about their midpoint, along their bond or turned 90° from it
    (``turn``), label them and keep their first neighbors apart from other defects."""
    i, j = pair
    mid = 0.5 * (structure.positions[i, :2] + structure.positions[j, :2])
    d = structure.positions[j, :2] - structure.positions[i, :2]
    u = d / np.linalg.norm(d)
    if turn:
        u = np.array([-u[1], u[0]])
    structure.positions[i, :2], structure.positions[j, :2] = mid - 0.5 * distance_A * u, mid + 0.5 * distance_A * u
    structure.labels[[i, j]] = label
    structure.touched[[i, j]] = True
    _mark_shell(structure, np.union1d(_neighbors(structure, column, bond_A),
                                      _neighbors(structure, int(structure.column[j]), bond_A)))


def _mark_shell(structure, columns: np.ndarray) -> None:
    """Mark the atoms of ``columns`` touched (kept apart from other defects; labels unchanged)."""
    for c in columns:
        structure.touched[structure.atoms_in_column(int(c))] = True


@recipe(roles=ROLES)
def stone_wales(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Stone-Wales (55-77) defect: one bond rotated by 90° about its midpoint; the two rotated atoms get
    ``spec.label`` and sit ``projected_bond_A`` apart (default 1.32 Å, the relaxed central bond)."""
    bond = material.bond_A
    pair = _pair(structure, column, rng, bond)
    if pair is None:
        return False
    _set_pair(structure, pair, column, spec.label, bond, (spec.projected_bond_A or Range(1.32)).draw(rng), turn=True)
    return True


@recipe(roles=ROLES)
def dopant_dimer(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Two adjacent host atoms replaced by ``spec.element`` (default Si), pushed apart along their bond to a
    projected distance ``projected_bond_A`` (default 2.2 Å) and ``height_A`` out of plane; both get ``spec.label``."""
    bond = material.bond_A
    pair = _pair(structure, column, rng, bond)
    if pair is None:
        return False
    _set_pair(structure, pair, column, spec.label, bond, (spec.projected_bond_A or Range(2.2)).draw(rng), turn=False)
    structure.numbers[list(pair)] = atomic_numbers[spec.element or "Si"]
    structure.positions[list(pair), 2] = float(spec.height_A)
    return True


@recipe(roles=ROLES)
def dopant_trimer(structure, column: int, spec: DefectConfig, rng: np.random.Generator, material) -> bool:
    """Three dopants around an empty site: the host atom of ``column`` removed (a vacancy dummy with
    ``spec.label`` kept at the site), its three neighbors replaced by ``spec.element`` (default Si) and pulled in
    to a triangle of side ``projected_bond_A`` (default 2.3 Å; the lattice's is 2.46 Å), ``height_A`` out of plane."""
    bond = material.bond_A
    neighbors = _neighbors(structure, column, bond)
    if len(neighbors) != 3:
        return False
    (c,) = structure.atoms_in_column(column)
    ring = np.concatenate([structure.atoms_in_column(int(n)) for n in neighbors])
    if len(ring) != 3 or structure.touched[np.r_[c, ring]].any():
        return False
    site = structure.positions[c].copy()
    radius = (spec.projected_bond_A or Range(2.3)).draw(rng) / np.sqrt(3.0)
    for k in ring:
        d = structure.positions[k, :2] - site[:2]
        structure.positions[k, :2] = site[:2] + radius * d / np.linalg.norm(d)
    structure.numbers[ring] = atomic_numbers[spec.element or "Si"]
    structure.positions[ring, 2] = float(spec.height_A)
    structure.labels[ring] = spec.label
    structure.touched[ring] = True
    structure.keep[c] = False
    structure.touched[c] = True
    k = structure.add(site, 0, spec.label, str(structure.roles[c]))
    structure.column[k] = column
    for n in neighbors:
        _mark_shell(structure, _neighbors(structure, int(n), bond))
    return True


RECIPES = {"substitution": substitution, "divacancy_center": divacancy_center, "vacancy": vacancy,
           "stone_wales": stone_wales, "dopant_dimer": dopant_dimer, "dopant_trimer": dopant_trimer}
