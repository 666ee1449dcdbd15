"""hBN, the two-species honeycomb: the vacancy recipe on either sublattice, two vacancy labels, sublattice roles."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from scipy.spatial import cKDTree

import atomgraph
from atomgraph.classify import allowed_mask, site_roles
from atomgraph.classify.data import match_targets, material_meta, vacancy_labels
from atomgraph.config import configs_dir, load_config
from atomgraph.errors import AtomgraphInputError
from atomgraph.materials import get_material
from atomgraph.track.tracker import _label_probs

from isolated import isolated_config


def _neighbor_elements(truth, label: str) -> list[list[str]]:
    """The elements of the three nearest real columns of each truth row labeled ``label``."""
    real = ~truth.vacancy
    tree = cKDTree(truth.positions_A[real])
    _, j = tree.query(truth.positions_A[truth.label == label], k=3)
    return [sorted(truth.element[real][row]) for row in np.atleast_2d(j)]


def test_hbn_config_has_the_contract_labels_and_two_sublattices():
    mat = get_material("hbn")
    assert mat.labels == ["B", "N", "VB", "VN"] and mat.host_labels == ["B", "N"]
    assert mat.settings.graph.all_vacancy_labels == ["VB", "VN"]
    assert mat.vacancy_roles == {"VB": "A", "VN": "B"}
    assert abs(mat.bond_A - 1.446) < 0.001


def test_hbn_simulates_all_four_labels_with_vacancy_rows():
    sim = atomgraph.simulate("hbn", size=192, pixel_size_A=0.1, seed=0)
    t = sim.truth
    assert set(t.label) == {"B", "N", "VB", "VN"}
    assert set(t.label[t.vacancy]) == {"VB", "VN"} and set(t.element[t.vacancy]) == {""}
    assert sim.counts["VB"] >= 1 and sim.counts["VN"] >= 1
    assert set(sim.atoms.get_chemical_symbols()) == {"B", "N"}  # the vacancy dummies are not atoms


@pytest.mark.parametrize("label, host, neighbor", [("VB", "B", "N"), ("VN", "N", "B")])
def test_vacancy_recipe_empties_a_site_of_its_own_sublattice(label, host, neighbor):
    counts = {"VB": 3, "VN": 0} if label == "VB" else {"VB": 0, "VN": 3}
    sim = atomgraph.simulate(isolated_config("hbn"), size=256, pixel_size_A=0.1, seed=4, counts=counts, noise=False,
                             distort=False)   # isolated vacancies inside the frame: three neighbors each
    t = sim.truth
    assert sim.counts[label] == 3 and int(np.sum(t.label == label)) == 3
    # the three nearest columns of an empty B site are N (and vice versa): the site was on the right sublattice
    assert _neighbor_elements(t, label) == [[neighbor] * 3] * 3
    assert host not in _neighbor_elements(t, label)[0]


def test_vacancy_recipe_makes_a_graphene_monovacancy(tmp_path):
    cfg = load_config("graphene-si")
    cfg.update(name="graphene-v", labels=["C", "Cvac"], defects=[{"label": "Cvac", "recipe": "vacancy",
                                                                   "count": 2}])
    cfg["graph"]["vacancy_label"] = "Cvac"
    sim = atomgraph.simulate(cfg, size=192, pixel_size_A=0.1, seed=1, noise=False, distort=False)
    t = sim.truth
    assert int(np.sum(t.label == "Cvac")) == 2 and set(t.element[t.label == "Cvac"]) == {""}
    graph = atomgraph.build_graph(t.subset(~t.vacancy), get_material(cfg))
    vac = graph.atoms.positions_A[graph.atoms.vacancy]
    d, _ = cKDTree(vac).query(t.positions_A[t.vacancy])
    assert np.all(d < 0.3)


def _write(tmp_path, cfg) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


BAD = [
    (lambda c: c["defects"][0].update(role="metal"), "defects[0].role"),
    (lambda c: c["defects"][1].update(element="C"), "defects[1].element"),
    (lambda c: c["graph"].update(vacancy_labels=["VB", "Vx"]), "graph.vacancy_labels"),
    (lambda c: c["graph"].update(vacancy_label="VB"), "graph.vacancy_label"),
]


@pytest.mark.parametrize("edit, key", BAD, ids=[k for _, k in BAD])
def test_bad_hbn_keys_are_named(tmp_path, edit, key):
    cfg = yaml.safe_load((configs_dir() / "hbn.yaml").read_text())
    edit(cfg)
    with pytest.raises(AtomgraphInputError, match=key.replace("[", r"\[").replace("]", r"\]")):
        get_material(_write(tmp_path, cfg))


@pytest.fixture(scope="module")
def hbn_graph():
    sim = atomgraph.simulate("hbn", size=256, pixel_size_A=0.1, seed=3, counts={"VB": 3, "VN": 3})
    truth = sim.truth
    return atomgraph.build_graph(truth.subset(~truth.vacancy), "hbn"), truth


def test_hbn_graph_puts_vacancy_nodes_on_the_sublattice_of_the_missing_atom(hbn_graph):
    graph, truth = hbn_graph
    atoms = graph.atoms
    roles = site_roles(graph)
    assert set(roles[atoms.element == "B"]) == {"A"} and set(roles[atoms.element == "N"]) == {"B"}
    vac = np.flatnonzero(atoms.vacancy)
    d, j = cKDTree(atoms.positions_A[vac]).query(truth.positions_A[truth.vacancy])
    assert len(vac) == 6 and np.all(d < 0.3)
    expected = {"VB": "A", "VN": "B"}
    assert [roles[vac[k]] for k in j] == [expected[x] for x in truth.label[truth.vacancy]]


def test_hbn_vacancy_nodes_may_take_only_their_sublattice_vacancy_label(hbn_graph):
    graph, truth = hbn_graph
    meta = material_meta(get_material("hbn"))
    allowed = allowed_mask(graph.atoms, meta, site_roles(graph))
    target = match_targets(graph.atoms, truth, meta["labels"], vacancy_labels(meta))
    vac = graph.atoms.vacancy
    labels = np.array(meta["labels"] + [""])
    assert sorted(labels[target[vac]]) == ["VB"] * 3 + ["VN"] * 3
    assert np.all(allowed[vac, target[vac]])  # the right vacancy label is allowed ...
    assert np.all(allowed[vac].sum(axis=1) == 2)  # ... and only it (besides background)
    assert not allowed[~vac][:, [2, 3]].any()  # given elements B/N: no vacancy label on a column


def test_tmd_metadata_keeps_a_single_vacancy_label():
    meta = material_meta(get_material("mose2-w"))
    assert meta["vacancy_label"] == "Sevac" and "vacancy_roles" not in meta
    assert vacancy_labels(meta) == ["Sevac"]


def test_tracker_shares_the_empty_site_evidence_among_vacancy_labels(hbn_graph):
    graph, _ = hbn_graph
    probs = _label_probs(graph.atoms, ["B", "N", "VB", "VN"], ["VB", "VN"])
    vac = graph.atoms.vacancy
    assert np.allclose(probs[vac][:, 2:], 0.45) and np.allclose(probs[vac][:, :2], 0.05)
