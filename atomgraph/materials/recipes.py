"""Shared helpers for defect recipes: a decorator that declares where a recipe applies."""

from __future__ import annotations

from typing import Callable


def recipe(roles: tuple[str, ...], alloy: bool = False) -> Callable:
    """Mark a function ``f(structure, column, spec, rng, material) -> bool`` as a defect recipe.

    Args:
        roles: sublattice roles (``A``/``B``, ``metal``/``chalcogen``) of the columns it may act on.
        alloy: True for random-alloy recipes placed by fraction without separation constraints.
    """

    def mark(func: Callable) -> Callable:
        func.roles = roles
        func.alloy = alloy
        return func

    return mark
