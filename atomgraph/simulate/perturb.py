"""Locator training augmentation: atoms removed and moved off their sites at random, with no label attached.

A locator trained only on complete lattices learns to complete the lattice: it put a column on the empty site of a
graphene monovacancy and pulled a rotated Stone-Wales pair back onto the ideal sites, so nothing downstream could
see what was really there. Removing and displacing random atoms in the training images (``locator:
train_empty_fraction`` / ``train_displaced_fraction`` / ``train_displacement_A`` in the config) teaches it to report
the columns that are there; the sites they leave are listed as empty sites so training can weigh a column placed
there as the error it is (:func:`atomgraph.locate.train.simulate_sample`). These are not defect classes: the truth
simply has no column (removed atom) or a column somewhere else (moved atom); the classifier's training data is
untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config.range import Range
from ..materials.structure import Structure


@dataclass(frozen=True)
class RandomPerturbation:
    """Per image: a share of the real atoms removed and a share moved in-plane by a distance in Å.

    Attributes
    ----------
    empty_fraction, displaced_fraction : shares of the atoms (each drawn uniformly per image from its range).
    displacement_A : distance of a moved atom from its site, Å (drawn per atom), in a uniform random direction.
    """

    empty_fraction: Range
    displaced_fraction: Range
    displacement_A: Range

    def __call__(self, structure: Structure, rng: np.random.Generator) -> dict[str, int]:
        """Apply to ``structure`` in place; returns how many atoms were removed and moved. The sites they leave
        are added as empty-site rows (the truth lists them as vacancies; a site a Se2 column keeps one Se of is
        listed too, on top of its Se1 column)."""
        real = np.flatnonzero(structure.keep & (structure.numbers > 0))
        n_empty = int(rng.binomial(len(real), self.empty_fraction.draw(rng)))
        n_moved = int(rng.binomial(len(real), self.displaced_fraction.draw(rng)))
        chosen = rng.choice(real, size=min(n_empty + n_moved, len(real)), replace=False)
        removed, moved = chosen[:n_empty], chosen[n_empty:]
        for i in chosen:   # the sites they leave: empty-site rows (atomic number 0) in the truth
            structure.add(structure.positions[i].copy(), 0, str(structure.labels[i]), str(structure.roles[i]))
        structure.keep[removed] = False
        angle = rng.uniform(0.0, 2.0 * math.pi, len(moved))
        distance = np.array([self.displacement_A.draw(rng) for _ in moved])
        structure.positions[moved, 0] += distance * np.cos(angle)
        structure.positions[moved, 1] += distance * np.sin(angle)
        # a moved atom is its own column (a moved Se of a Se2 column leaves a Se1 column behind)
        structure.column[moved] = structure.column.max() + 1 + np.arange(len(moved))
        structure.touched[chosen] = True
        return {"removed": len(removed), "moved": len(moved)}


def locator_perturbation(locator_config) -> RandomPerturbation | None:
    """The perturbation a config's ``locator:`` section asks for, or None when it asks for none."""
    empty, moved = locator_config.train_empty_fraction, locator_config.train_displaced_fraction
    if empty is None and moved is None:
        return None
    return RandomPerturbation(empty or Range(0.0), moved or Range(0.0), locator_config.train_displacement_A)
