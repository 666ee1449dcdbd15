"""Topology decides (issue 22): geometry that keeps the lattice topology keeps the label; a change of topology
changes it.

Coordinate input (elements given, no image), so the only evidence is where the atoms are: a threefold Si takes one
lattice site and its three neighbor sites hold C; a fourfold Si sits at the center of a divacancy, takes both of its
sites, and the four sites around them hold C. Bond lengths (buckled: short; planar or relaxed: long), the dopant's
offset from its site and the frame's strain must not decide.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import graphene

import atomgraph
from atomgraph.atoms import AtomTable
from atomgraph.classify.topology import apply_topology, expected_neighbors, topology_groups
from atomgraph.graph import build_graph

BOND = 1.42


def _sheet(n: int = 8) -> np.ndarray:
    return graphene(formula="C2", a=2.46, vacuum=None).repeat((n, n, 1)).positions[:, :2].copy()


def _center(pos: np.ndarray) -> int:
    return int(np.argmin(np.linalg.norm(pos - pos.mean(0), axis=1)))


def _first_shell(pos: np.ndarray, site: np.ndarray, exclude: int) -> np.ndarray:
    d = np.linalg.norm(pos - site, axis=1)
    return np.setdiff1d(np.flatnonzero((d > 0.1) & (d < 1.6)), [exclude])


def _strain(pos: np.ndarray, strain: float, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return pos @ rot @ np.diag([1 + strain, 1 - strain]) @ rot.T


def threefold(rng: np.random.Generator, bonds=(1.42, 1.42), offset: float = 0.0, strain: float = 0.0,
              drop_neighbor: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """A Si on one site, its three C neighbors each at a projected distance drawn from ``bonds`` (Å), the Si
    ``offset`` Å off its site; ``drop_neighbor`` removes one C neighbor (a vacancy beside the Si)."""
    pos = _sheet()
    el = np.array(["C"] * len(pos), dtype=object)
    i = _center(pos)
    site = pos[i].copy()
    angle = rng.uniform(0, 2 * np.pi)
    pos[i] = site + offset * np.array([np.cos(angle), np.sin(angle)])
    nb = _first_shell(pos, site, i)
    for j in nb:
        v = pos[j] - site
        pos[j] = pos[i] + v / np.linalg.norm(v) * rng.uniform(*bonds)
    el[i] = "Si"
    keep = np.ones(len(pos), bool)
    if drop_neighbor:
        keep[nb[0]] = False
    pos = _strain(pos, strain, rng.uniform(0, np.pi))
    return pos[keep], el[keep], int(np.flatnonzero(keep).tolist().index(i))


def fourfold(rng: np.random.Generator, bonds=(1.88, 1.88), strain: float = 0.0) -> tuple[np.ndarray, np.ndarray, int]:
    """A Si at the center of a divacancy, its four C neighbors at projected distances drawn from ``bonds`` (Å)."""
    pos = _sheet()
    i = _center(pos)
    j = _first_shell(pos, pos[i], i)[0]
    center = 0.5 * (pos[i] + pos[j])
    keep = np.ones(len(pos), bool)
    keep[[i, j]] = False
    pos = pos[keep]
    for k in np.argsort(np.linalg.norm(pos - center, axis=1))[:4]:
        v = pos[k] - center
        pos[k] = center + v / np.linalg.norm(v) * rng.uniform(*bonds)
    pos = np.vstack([pos, center])
    el = np.array(["C"] * (len(pos) - 1) + ["Si"], dtype=object)
    return _strain(pos, strain, rng.uniform(0, np.pi)), el, len(pos) - 1


def _label(pos, el, i) -> tuple[str, bool]:
    atoms = atomgraph.classify(AtomTable(pos, el), model="graphene-si").atoms
    return str(atoms.label[i]), bool(atoms.uncertain[i])


def _topology(pos, el, i) -> tuple[int, int]:
    graph = build_graph(AtomTable(pos, el), material="graphene-si")
    return int(graph.feature("sites_taken")[i]), int(graph.feature("taken_neighbors_occupied")[i])


GEOMETRIES_3 = [  # (bonds Å, offset Å, strain): bond length ±0.3 Å, buckled (short) and planar (long), offsets, strain
    ((1.12, 1.30), 0.0, 0.0), ((1.40, 1.55), 0.0, 0.0), ((1.55, 1.72), 0.0, 0.0), ((1.80, 1.95), 0.0, 0.0),
    ((1.42, 1.42), 0.25, 0.0), ((1.50, 1.90), 0.25, 0.0), ((1.40, 1.95), 0.15, 0.03), ((1.60, 1.60), 0.0, -0.03),
]


@pytest.mark.parametrize("bonds,offset,strain", GEOMETRIES_3)
@pytest.mark.parametrize("seed", [0, 1])
def test_threefold_topology_holds_under_geometry(bonds, offset, strain, seed):
    pos, el, i = threefold(np.random.default_rng(seed), bonds, offset, strain)
    assert _topology(pos, el, i) == (1, 3)
    assert _label(pos, el, i)[0] == "Si3"


@pytest.mark.parametrize("bonds,strain", [((1.58, 1.70), 0.0), ((1.75, 2.0), 0.0), ((2.0, 2.18), 0.0),
                                          ((1.75, 2.0), 0.03), ((1.88, 1.88), -0.03)])
@pytest.mark.parametrize("seed", [0, 1])
def test_fourfold_topology_holds_under_geometry(bonds, strain, seed):
    pos, el, i = fourfold(np.random.default_rng(seed), bonds, strain)
    assert _topology(pos, el, i) == (2, 4)
    assert _label(pos, el, i)[0] == "Si4"


def test_opening_the_divacancy_changes_the_label():
    """The same Si with long (1.9 Å) bonds: on one site with three C it is Si3; with its neighbor removed and the
    Si moved to the center of the pair (four C at 1.9 Å), Si4."""
    rng = np.random.default_rng(3)
    pos3, el3, i3 = threefold(rng, (1.9, 1.9))
    pos4, el4, i4 = fourfold(rng, (1.9, 1.9))
    assert _label(pos3, el3, i3)[0] == "Si3"
    assert _label(pos4, el4, i4)[0] == "Si4"


def test_removing_a_neighbor_is_not_a_confident_threefold_si():
    """A Si beside a vacancy has two C neighbors: its ring is not the threefold one, so it is not a confident
    ``Si3`` (another label, or flagged uncertain)."""
    pos, el, i = threefold(np.random.default_rng(0), (1.6, 1.6), drop_neighbor=True)
    taken, ring = _topology(pos, el, i)
    assert ring == 2
    label, uncertain = _label(pos, el, i)
    assert label != "Si3" or uncertain


def test_rule_moves_group_mass_and_flags_a_broken_ring():
    labels = ["C", "Si3", "Si4"]
    sites, elements = {"C": 1, "Si3": 1, "Si4": 2}, {"C": "C", "Si3": "Si", "Si4": "Si"}
    assert topology_groups(labels, sites, elements) == [[1, 2]]
    assert [expected_neighbors(1), expected_neighbors(2)] == [3, 4]
    probs = np.array([[0.02, 0.08, 0.88, 0.02],    # one site, three neighbors: a Si3 read as Si4 by bond length
                      [0.02, 0.60, 0.36, 0.02],    # two sites, four neighbors: Si4
                      [0.02, 0.30, 0.66, 0.02],    # one site, two neighbors (a missed C): Si3, flagged
                      [0.97, 0.01, 0.01, 0.01]])   # carbon: untouched
    out, ambiguous = apply_topology(probs, labels, sites, elements, np.array([1, 2, 1, 1]), np.array([3, 4, 2, 3]),
                                    np.zeros(4, bool))
    assert np.allclose(out.sum(1), 1.0, atol=1e-6)
    assert list(np.argmax(out, 1)) == [1, 2, 1, 0]
    assert out[0, 1] == pytest.approx(0.96, abs=1e-6) and out[0, 2] == 0.0
    assert list(ambiguous) == [False, False, True, False]


def test_groups_of_one_site_count_are_left_alone():
    """Every TMD label takes one site: the rule does nothing there."""
    labels = ["Mo", "W", "Se2", "Se1", "Sevac"]
    sites = {label: 1 for label in labels}
    elements = {"Mo": "Mo", "W": "W", "Se2": "Se", "Se1": "Se", "Sevac": ""}
    assert topology_groups(labels, sites, elements) == []


def three_around_a_pair(rng: np.random.Generator, bonds=(1.88, 1.88), strain: float = 0.0
                        ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """:func:`fourfold` with one of the four C around the pair removed: a Si bonded to three C beside an empty
    site. Returns positions, elements, the Si's index and the removed C's position."""
    pos, el, i = fourfold(rng, bonds, strain)
    d = np.linalg.norm(pos - pos[i], axis=1)
    d[i] = np.inf
    drop = int(np.argmin(d))
    keep = np.arange(len(pos)) != drop
    return pos[keep], el[keep], int(np.flatnonzero(keep).tolist().index(i)), pos[drop]


@pytest.mark.parametrize("bonds,strain", [((1.58, 1.70), 0.0), ((1.75, 2.0), 0.0), ((1.88, 1.88), 0.03)])
def test_a_si_with_three_carbons_around_a_divacancy_is_not_si4(bonds, strain):
    """``Si4`` needs four C around the pair: with three, the Si is bonded like a threefold one, and the topology
    is unusual, so the label is ``Si3`` flagged uncertain (never a confident ``Si4``)."""
    pos, el, i, _ = three_around_a_pair(np.random.default_rng(5), bonds, strain)
    graph = build_graph(AtomTable(pos, el), material="graphene-si")
    assert int(graph.feature("pair_ring_empty")[i]) == 1
    assert _label(pos, el, i) == ("Si3", True)


def test_fewer_than_four_atoms_around_the_pair_read_as_one_site():
    labels = ["C", "Si3", "Si4"]
    sites, elements = {"C": 1, "Si3": 1, "Si4": 2}, {"C": "C", "Si3": "Si", "Si4": "Si"}
    probs = np.array([[0.02, 0.08, 0.88, 0.02]] * 4)
    taken, ring = np.array([2, 2, 1, 1]), np.array([3, 4, 3, 3])
    far = np.array([0.55, 0.5, 0.7, 0.7])          # the last two sit between a site and a bond center
    pair_empty = np.array([1, 0, 1, 0])
    out, ambiguous = apply_topology(probs, labels, sites, elements, taken, ring, np.zeros(4, bool), far,
                                    pair_empty=pair_empty)
    assert list(np.argmax(out, 1)) == [1, 2, 1, 2]  # three around the pair: Si3; between with four: the GNN's
    assert list(ambiguous) == [True, False, True, True]
    same, _ = apply_topology(probs, labels, sites, elements, taken, ring, np.zeros(4, bool), far)
    assert list(np.argmax(same, 1)) == [2, 2, 2, 2]  # without the pair ring: as before


def test_the_empty_site_beside_the_pair_is_the_ring_gap():
    from atomgraph.graph.build import fit_material_lattice
    from atomgraph.materials import get_material

    pos, el, i, removed = three_around_a_pair(np.random.default_rng(6))
    table = AtomTable(pos, el)
    gaps = fit_material_lattice(table, get_material("graphene-si")).ring_gaps(pos, np.ones(len(pos), bool), [i])[0]
    gaps = gaps[np.all(np.isfinite(gaps), axis=1)]
    assert len(gaps) == 1 and np.linalg.norm(gaps[0] - removed) < 0.3
