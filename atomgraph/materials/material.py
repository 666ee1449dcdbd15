"""A material: its typed config, family (lattice builder and defect recipes) and label vocabulary."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ..config import MaterialConfig, load_material_config
from ..errors import AtomgraphInputError
from . import honeycomb, tmd
from .structure import Structure

FAMILIES = {"honeycomb": honeycomb, "tmd": tmd}

@dataclass(eq=False)
class Material:
    """A material described by a validated config (see :mod:`atomgraph.config`).

    Attributes
    ----------
    settings : MaterialConfig
        The typed config: the one source of every material fact (``settings.lattice.a_A``,
        ``settings.graph.vacancy_label``, ``settings.defects[k].recipe``, ...).
    """

    settings: MaterialConfig = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.settings, MaterialConfig):
            self.settings = load_material_config(self.settings)
        cfg = self.settings
        if cfg.family not in FAMILIES:
            raise AtomgraphInputError(f"key 'family': unknown family '{cfg.family}' (known: {', '.join(FAMILIES)})",
                                      source=cfg.name)
        self.family = FAMILIES[cfg.family]
        for i, defect in enumerate(cfg.defects):
            if defect.recipe not in self.family.RECIPES:
                known = ", ".join(self.family.RECIPES)
                raise AtomgraphInputError(f"key 'defects[{i}].recipe': unknown recipe '{defect.recipe}' for "
                                          f"family '{cfg.family}' (known: {known})", source=cfg.name)
            allowed = self.family.RECIPES[defect.recipe].roles
            if defect.role is not None and defect.role not in allowed:
                raise AtomgraphInputError(f"key 'defects[{i}].role': recipe '{defect.recipe}' acts on roles "
                                          f"{', '.join(allowed)}, not '{defect.role}'", source=cfg.name)
        self.family.check_config(cfg)

    @functools.cached_property
    def config(self) -> dict[str, Any]:
        """The config as a plain dict (YAML types, defaults filled in), derived from :attr:`settings` once: for
        writing it out (a model folder's ``config.yaml``) and for variants built as dicts (benchmarks); code reads
        :attr:`settings`."""
        return self.settings.to_dict()

    @property
    def name(self) -> str:
        """The material's name (config ``name``)."""
        return self.settings.name

    def __str__(self) -> str:
        return self.name

    def __reduce__(self):
        """Pickled as its typed config (the family, a module, is looked up again): graphs carry their Material to
        worker processes."""
        return (Material, (self.settings,))

    @property
    def labels(self) -> list[str]:
        """The label vocabulary, host labels first as listed in the config."""
        return list(self.settings.labels)

    @property
    def host_labels(self) -> list[str]:
        """The labels of undisturbed lattice sites, in vocabulary order."""
        return sorted(set(self.settings.host_labels.values()), key=self.labels.index)

    @property
    def host_elements(self) -> frozenset[str]:
        """The elements of the undisturbed lattice (config ``lattice.host``); a column of any other is a dopant."""
        return frozenset(self.settings.lattice.host.values())

    @property
    def defect_labels(self) -> list[str]:
        """The labels that are not host labels."""
        return [label for label in self.labels if label not in self.host_labels]

    @property
    def bond_A(self) -> float:
        """Projected nearest-neighbor distance of the ideal lattice, Å."""
        return float(self.settings.lattice.a_A) / np.sqrt(3.0)

    def primitive(self) -> Atoms:
        """The primitive cell of the lattice.

        Returns
        -------
        ase.Atoms
            The cell (Å) with per-atom ``role`` (sublattice) and ``label`` arrays.
        """
        return self.family.primitive(self.settings)

    def build_lattice(self, width_A: float, height_A: float) -> Structure:
        """A pristine orthogonal supercell covering at least ``[0, width_A] x [0, height_A]`` (Å).

        Parameters
        ----------
        width_A : float
            Width to cover, Å.
        height_A : float
            Height to cover, Å.

        Returns
        -------
        Structure
            The supercell's atoms.
        """
        from ase.build import make_supercell  # ase.build costs ~0.4 s of imports: only where a lattice is built

        prim = self.primitive()
        ortho = make_supercell(prim, [[1, 0, 0], [1, 2, 0], [0, 0, 1]])
        cell = ortho.cell.array
        nx = max(1, int(np.ceil(width_A / cell[0, 0])))
        ny = max(1, int(np.ceil(height_A / cell[1, 1])))
        big = ortho.repeat((nx, ny, 1))
        return Structure(big.positions, big.numbers, big.get_array("label"), big.get_array("role"), big.cell.array)

    def defect_counts(self, rng: np.random.Generator, counts: dict[str, int] | None = None) -> dict[str, float]:
        """How many defects of each label to place: the config's draw, or ``counts``.

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator of the config's draws.
        counts : dict of str to int, optional
            Label -> count (or fraction, for alloy recipes), overriding the config.

        Returns
        -------
        dict of str to float
            Per defect label: a count (int) or, for alloy recipes, a fraction.
        """
        counts = dict(counts or {})
        unknown = set(counts) - set(self.defect_labels)
        if unknown:
            raise AtomgraphInputError(f"unknown defect label(s) {sorted(unknown)} for {self.name} "
                                      f"(defect labels: {', '.join(self.defect_labels)})")
        out: dict[str, float] = {}
        for defect in self.settings.defects:
            label = defect.label
            if label in counts:
                value = counts[label]
                if value < 0:
                    raise AtomgraphInputError(f"defect count for {label} must be >= 0, got {value}")
                out[label] = value
            elif defect.fraction is not None:
                out[label] = defect.fraction.draw(rng)
            else:
                out[label] = defect.count.draw_int(rng)
        return out

    def add_defects(self, structure: Structure, inside: np.ndarray, rng: np.random.Generator,
                    counts: dict[str, float]) -> dict[str, int]:
        """Place defects at random sites whose column center satisfies ``inside``.

        Count-based defects keep ``min_separation_A`` from each other, except the share ``cluster_fraction`` placed
        ``cluster_distance_A`` from an earlier one; alloy recipes (``fraction``) are random over all eligible sites.

        Parameters
        ----------
        structure : Structure
            The lattice, modified in place.
        inside : callable
            xy (M, 2) in Å -> (M,) bool: where a defect may go.
        rng : numpy.random.Generator
            The random generator.
        counts : dict of str to float
            Label -> count (or fraction), as :meth:`defect_counts` gives them.

        Returns
        -------
        dict of str to int
            The number actually placed per label (fewer than asked when space runs out).
        """
        cluster_p = self.settings.cluster_fraction.draw(rng) if self.settings.cluster_fraction is not None else 0.0
        centers: list[np.ndarray] = []
        placed: dict[str, int] = {}
        for defect in self.settings.defects:
            recipe = self.family.RECIPES[defect.recipe]
            want = counts.get(defect.label, 0)
            ids, xy, roles = structure.column_table()
            ok = inside(xy) & np.isin(roles, self.defect_roles(defect)) & self._untouched(structure, ids)
            if recipe.alloy:
                placed[defect.label] = self._place_alloy(structure, ids[ok], defect, recipe, want, rng)
            else:
                placed[defect.label] = self._place_apart(structure, ids[ok], xy[ok], defect, recipe, want, rng,
                                                         centers, cluster_p)
        return placed

    def _place_alloy(self, structure: Structure, candidates: np.ndarray, defect, recipe, want: float,
                     rng: np.random.Generator) -> int:
        """Apply an alloy ``recipe`` to random ``candidates``: a fraction ``want`` (< 1) of them, or ``want`` sites
        when it is an int >= 1. Returns how many."""
        n = int(rng.binomial(len(candidates), want)) if want < 1 else min(int(want), len(candidates))
        for c in candidates[rng.permutation(len(candidates))[:n]]:
            recipe(structure, int(c), defect, rng, self)
        return n

    def _place_apart(self, structure: Structure, candidates: np.ndarray, cand_xy: np.ndarray, defect, recipe,
                     want: float, rng: np.random.Generator, centers: list[np.ndarray], cluster_p: float) -> int:
        """Apply a count-based ``recipe`` to up to ``want`` of ``candidates`` (column ids, ``cand_xy`` in Å) in random
        order, each ``min_separation_A`` from the defect ``centers`` placed before it, or (with probability
        ``cluster_p``) ``cluster_distance_A`` from one of them on unchanged columns. Appends the centers it places to
        ``centers``; returns how many."""
        min_sep = self.settings.min_separation_A
        near_lo, near_hi = self.settings.cluster_distance_A.low, self.settings.cluster_distance_A.high
        n = 0
        order = rng.permutation(len(candidates))
        tree_points = np.array(centers) if centers else np.empty((0, 2))
        cluster = cluster_p > 0 and len(tree_points) > 0 and rng.random() < cluster_p
        for k in order:
            if n >= int(want):
                break
            p = cand_xy[k]
            if len(tree_points):
                d = np.hypot(*(tree_points - p).T)
                if cluster:  # next to one earlier defect, on columns no recipe has changed yet
                    fresh = self._untouched(structure, candidates[k:k + 1])[0]
                    if not (near_lo <= np.min(d) <= near_hi and fresh):
                        continue
                elif np.min(d) < min_sep:
                    continue
            if recipe(structure, int(candidates[k]), defect, rng, self):
                n += 1
                tree_points = np.vstack([tree_points, p[None, :]])
                centers.append(p)
                cluster = cluster_p > 0 and rng.random() < cluster_p
        return n

    def defect_roles(self, defect) -> tuple[str, ...]:
        """The sublattice roles a defect entry may sit on.

        Parameters
        ----------
        defect : DefectConfig
            A defect entry of the config.

        Returns
        -------
        tuple of str
            Its ``role`` when given, else every role of its recipe.
        """
        return (defect.role,) if defect.role is not None else tuple(self.family.RECIPES[defect.recipe].roles)

    @property
    def label_roles(self) -> dict[str, str]:
        """Label -> the sublattice role it sits on, for the host labels and every defect label whose entries all
        act on one role (``{'Mo': 'metal', 'Se2': 'chalcogen', 'W': 'metal', 'Se1': 'chalcogen', ...}``); a label
        that may sit on either role (graphene's Si3) is left out, and so is a host label shared by both roles."""
        host = self.settings.host_labels
        out = {label: role for role, label in host.items() if list(host.values()).count(label) == 1}
        ambiguous: set[str] = set()
        for defect in self.settings.defects:
            roles = self.defect_roles(defect)
            if len(roles) != 1 or out.get(defect.label, roles[0]) != roles[0]:
                ambiguous.add(defect.label)
            else:
                out[defect.label] = roles[0]
        return {label: role for label, role in out.items() if label not in ambiguous}

    @property
    def label_sites(self) -> dict[str, int]:
        """Label -> how many lattice sites its column takes (the recipe's ``sites``: graphene ``{'C': 1, 'Si3': 1,
        'Si4': 2}``); host labels take one. A label made by recipes that disagree is left out."""
        out = {label: 1 for label in self.settings.host_labels.values()}
        mixed: set[str] = set()
        for defect in self.settings.defects:
            sites = int(getattr(self.family.RECIPES[defect.recipe], "sites", 1))
            if out.setdefault(defect.label, sites) != sites:
                mixed.add(defect.label)
        return {label: n for label, n in out.items() if label not in mixed}

    @property
    def vacancy_roles(self) -> dict[str, str]:
        """Vacancy label -> the sublattice role of its empty site (``{'VB': 'A', 'VN': 'B'}`` in hBN,
        ``{'Sevac': 'chalcogen'}`` in MoSe2); a label whose defects may sit on either role is left out."""
        vacancy = set(self.settings.graph.all_vacancy_labels)
        return {label: role for label, role in self.label_roles.items() if label in vacancy}

    @staticmethod
    def _untouched(structure: Structure, ids: np.ndarray) -> np.ndarray:
        """Columns none of whose atoms a recipe has changed yet."""
        return ~np.isin(ids, structure.column[structure.touched])


def get_material(material: str | Path | dict | MaterialConfig | Material) -> Material:
    """A :class:`Material` from a built-in name, a config path, a config dict or a typed config.

    Parameters
    ----------
    material : str, Path, dict, MaterialConfig or Material
        The material (a Material is returned as is).

    Returns
    -------
    Material
        The material: its family's lattice builder and recipes, and the validated config.

    Examples
    --------
    >>> get_material("mose2-w").settings.graph.vacancy_label
    'Sevac'
    """
    if isinstance(material, Material):
        return material
    settings = load_material_config(material)
    return Material(settings)
