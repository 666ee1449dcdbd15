"""Materials: a lattice builder, defect recipes and a label vocabulary, all from a YAML config.

A *family* (``honeycomb`` for graphene-like lattices, ``tmd`` for 2H transition-metal dichalcogenides) is code:
it knows how to build the primitive cell with ASE and which defect recipes exist. A *material* is a config
(``configs/*.yaml``) naming a family, its elements, lattice constant, labels and defect recipes, so a new material of
an existing family needs no new code (``configs/mos2.yaml`` is the proof).

Examples
--------
>>> from atomgraph.materials import get_material
>>> get_material("graphene-si").labels
['C', 'Si3', 'Si4']
"""

from __future__ import annotations

from .material import FAMILIES, Material, get_material
from .structure import Columns, Structure, neighbor_columns

__all__ = ["Material", "get_material", "Structure", "Columns", "FAMILIES", "neighbor_columns"]
