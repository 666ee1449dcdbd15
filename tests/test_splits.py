"""A dopant column detected twice is one column (atomgraph.graph.splits); columns a bond apart are two."""

from __future__ import annotations

import numpy as np

from atomgraph.atoms import AtomTable
from atomgraph.graph.splits import merge_split_columns

BOND = 1.42


def _table(positions, elements, intensity) -> AtomTable:
    return AtomTable(np.asarray(positions, float), np.asarray(elements, dtype=object),
                     intensity=np.asarray(intensity, float), extra={"p_Si": np.zeros(len(elements))})


def test_a_split_dopant_becomes_one_column_at_the_middle_of_its_light():
    atoms = _table([[10.0, 10.0], [11.0, 10.0], [12.42, 10.0]], ["Si", "C", "C"], [3.0, 1.0, 1.0])
    noise = _table([[10.0, 10.0], [11.0, 10.0], [12.42, 10.0]], ["Si", "C", "C"], [1.2, 1.0, 1.0])
    assert merge_split_columns(noise, BOND, {"C"}) is None  # a "Si" no brighter than a carbon: not a split dopant
    out = merge_split_columns(atoms, BOND, {"C"})
    assert out is not None and len(out) == 2
    assert out.element[0] == "Si" and np.allclose(out.positions_A[0], [10.25, 10.0])  # intensity-weighted
    assert np.allclose(out.positions_A[1], [12.42, 10.0])                             # a bond away: kept
    assert out.extra["p_Si"].shape == (2,)


def test_columns_a_bond_apart_and_host_pairs_are_left_alone():
    bonded = _table([[10.0, 10.0], [11.42, 10.0]], ["Si", "C"], [3.0, 1.0])
    assert merge_split_columns(bonded, BOND, {"C"}) is None
    hosts = _table([[10.0, 10.0], [11.0, 10.0]], ["C", "C"], [1.0, 1.0])   # a host double detection: not ours
    assert merge_split_columns(hosts, BOND, {"C"}) is None
