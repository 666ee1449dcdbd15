"""Shared helpers for defect recipes: a decorator that declares where a recipe applies."""

from __future__ import annotations

from typing import Callable


def recipe(roles: tuple[str, ...], alloy: bool = False, sites: int = 1) -> Callable:
    """Mark a function ``f(structure, column, spec, rng, material) -> bool`` as a defect recipe.

    Args:
        roles: sublattice roles (``A``/``B``, ``metal``/``chalcogen``) of the columns it may act on.
        alloy: True for random-alloy recipes placed by fraction without separation constraints.
        sites: how many lattice sites the defect's own column takes (1: a substitution or a vacancy on one site;
            2: a dopant at the center of a divacancy). The classifier's topology rule reads it: labels that imply
            the same element on the same sublattice are told apart by it (``Si3`` takes one site, ``Si4`` two).
    """

    def mark(func: Callable) -> Callable:
        func.roles = roles
        func.alloy = alloy
        func.sites = sites
        return func

    return mark
