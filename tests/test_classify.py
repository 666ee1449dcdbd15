"""Classifier contract: invariance, coordinate files, pristine lattices, uncertainty, input errors (shipped weights)."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atom
from ase.build import graphene
from ase.io import read, write

from atomgraph import simulate
from atomgraph.atoms import AtomTable, project_to_columns
from atomgraph.classify import classify
from atomgraph.errors import AtomgraphInputError
from atomgraph.materials import get_material


def _coordinates(sim, noise_A: float = 0.05, seed: int = 0) -> AtomTable:
    """Truth columns as a coordinate file gives them: real atoms + noise, elements, intensities."""
    real = sim.truth.subset(~sim.truth.vacancy)
    rng = np.random.default_rng(seed)
    return AtomTable(real.positions_A + rng.normal(0, noise_A, real.positions_A.shape), real.element,
                     pixel_size_A=real.pixel_size_A, intensity=real.intensity)


def _si4_structure(n: int = 8):
    """A graphene supercell with two adjacent C near the middle replaced by one Si at their center."""
    atoms = graphene(formula="C2", a=2.46, size=(n, n, 1), vacuum=5.0)
    atoms.pbc = False
    middle = atoms.positions[:, :2].mean(axis=0)
    i = int(np.argmin(np.linalg.norm(atoms.positions[:, :2] - middle, axis=1)))
    d = np.linalg.norm(atoms.positions - atoms.positions[i], axis=1)
    d[i] = np.inf
    j = int(np.argmin(d))
    center = 0.5 * (atoms.positions[i] + atoms.positions[j])
    del atoms[[i, j]]
    atoms.append(Atom("Si", center))
    return atoms, center[:2]


def test_rotated_copy_gets_the_same_labels():
    sim = simulate("mose2-w", size=160, pixel_size_A=0.1, seed=11, counts={"W": 0.05, "Se1": 3, "Sevac": 2})
    table = _coordinates(sim)
    theta = np.radians(37.0)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    rotated = table.copy()
    rotated.positions_A = table.positions_A @ rot.T + np.array([50.0, -20.0])
    a = classify(table, "mose2-w").atoms
    b = classify(rotated, "mose2-w").atoms
    n = len(table)  # input rows come first, in order; vacancy nodes follow
    assert list(a.label[:n]) == list(b.label[:n])
    assert np.allclose(a.prob[:n], b.prob[:n], atol=1e-4)
    assert sorted(a.label[a.vacancy]) == sorted(b.label[b.vacancy])


def test_si4_from_an_xyz_file_is_classified_si4(tmp_path):
    atoms, center = _si4_structure()
    path = tmp_path / "si4.xyz"
    write(path, atoms)
    graph = classify(read(path), "graphene-si")
    nodes = graph.atoms
    si = int(np.argmin(np.linalg.norm(nodes.positions_A - center, axis=1)))
    assert nodes.label[si] == "Si4"
    assert nodes.element[si] == "Si"
    others = np.delete(np.arange(len(nodes)), si)
    assert set(nodes.label[others]) <= {"C", ""}  # the four C neighbors stay C


def test_si4_read_through_the_coordinate_reader(tmp_path):
    from atomgraph.io import coords

    atoms, center = _si4_structure()
    path = tmp_path / "si4.xyz"
    write(path, atoms)
    nodes = classify(coords.read_coordinates(path), "graphene-si").atoms
    si = int(np.argmin(np.linalg.norm(nodes.positions_A - center, axis=1)))
    assert nodes.label[si] == "Si4"


@pytest.mark.parametrize("model", ["graphene-si", "mose2-w"])
def test_pristine_lattice_has_no_defect_labels(model):
    mat = get_material(model)
    lattice = mat.build_lattice(40.0, 40.0).to_atoms()
    graph = classify(project_to_columns(lattice), model)
    labels = set(graph.atoms.label[~graph.atoms.vacancy])
    assert labels <= set(mat.host_labels)
    assert set(graph.atoms.label[graph.atoms.vacancy]) <= {""}


def test_3d_atoms_with_a_single_se_vacancy_are_projected_and_labeled_se1():
    mat = get_material("mose2-w")
    lattice = mat.build_lattice(30.0, 30.0).to_atoms()
    xy = lattice.positions[:, :2]
    se = np.flatnonzero(lattice.numbers == 34)
    middle = se[np.argmin(np.linalg.norm(xy[se] - xy.mean(axis=0), axis=1))]
    site = xy[middle].copy()
    del lattice[[int(middle)]]
    nodes = classify(lattice, "mose2-w").atoms
    k = int(np.argmin(np.linalg.norm(nodes.positions_A - site, axis=1)))
    assert nodes.label[k] == "Se1"
    assert nodes.element[k] == "Se"
    assert set(nodes.label[~nodes.vacancy]) - {"Se1"} <= {"Mo", "Se2"}


def test_outputs_probabilities_and_uncertain_flag():
    sim = simulate("graphene-si", size=128, pixel_size_A=0.1, seed=3, counts={"Si3": 2, "Si4": 1})
    graph = classify(_coordinates(sim), "graphene-si", threshold=0.9)
    nodes = graph.atoms
    p = nodes.label_probs[:, [list(nodes.prob_labels).index(k) for k in ("C", "Si3", "Si4")]]
    real = ~nodes.vacancy
    assert np.all(p[real].sum(axis=1) <= 1.0 + 1e-6)  # the rest is the background ("no lattice column")
    labeled = real & (nodes.label != "")
    assert labeled.sum() > 0.95 * real.sum()
    assert list(nodes.label[labeled]) == list(np.array(["C", "Si3", "Si4"])[p[labeled].argmax(axis=1)])
    assert np.allclose(nodes.prob[labeled], p[labeled].max(axis=1))
    ambiguous = nodes.extra["topology_ambiguous"]  # the lattice does not settle Si3 vs Si4: flagged too
    assert np.array_equal(nodes.uncertain, (nodes.prob < 0.9) | ambiguous)
    everything = classify(_coordinates(sim), "graphene-si", threshold=1.0).atoms
    assert everything.uncertain[everything.prob < 1.0].all()
    assert list(everything.label) == list(nodes.label)  # the flag never changes the label
    none = classify(_coordinates(sim), "graphene-si", threshold=0.0).atoms
    assert np.array_equal(none.uncertain, none.extra["topology_ambiguous"])


def test_bad_threshold_and_unknown_model_are_input_errors():
    table = AtomTable(np.zeros((1, 2)), ["C"])
    with pytest.raises(AtomgraphInputError):
        classify(table, "graphene-si", threshold=1.5)
    with pytest.raises(AtomgraphInputError):
        classify(table, "no-such-material")


def test_a_graph_built_for_another_material_is_refused_with_the_material_named():
    from atomgraph.graph import build_graph

    sim = simulate("graphene-si", size=96, pixel_size_A=0.1, seed=1)
    graph = build_graph(sim.truth.subset(sim.truth.element != ""), material="graphene-si")
    with pytest.raises(AtomgraphInputError, match="built for material 'graphene-si'.*'mose2-w'"):
        classify(graph, "mose2-w")
    assert classify(graph, "graphene-si").atoms.label is not None


def test_given_elements_are_kept_and_se_without_intensity_is_an_uncertain_se2():
    sim = simulate("mose2-w", size=320, pixel_size_A=0.1, seed=21, counts={"W": 0.06, "Se1": 4, "Sevac": 2})
    table = _coordinates(sim)
    nodes = classify(table, "mose2-w").atoms
    n = len(table)
    assert list(nodes.element[:n]) == list(table.element)  # every input atom keeps its element
    w = table.element == "W"
    assert w.sum() >= 2 and set(nodes.label[:n][w]) == {"W"}
    no_intensity = AtomTable(table.positions_A, table.element)  # a 2D CSV without an intensity column
    bare = classify(no_intensity, "mose2-w").atoms
    se = np.flatnonzero(no_intensity.element == "Se")
    assert set(bare.label[se]) == {"Se2"} and bare.uncertain[se].all()
    assert not bare.uncertain[np.flatnonzero(no_intensity.element == "Mo")].any()


def test_weights_of_another_graph_version_are_refused(tmp_path):
    from atomgraph.classify.model import read_classifier, save_model
    from atomgraph.models.paths import weights_path

    net, meta = read_classifier(weights_path("classifier", "graphene-si"))
    old = tmp_path / "old.safetensors"
    save_model(net, old, {**meta, "graph_version": 1})
    table = AtomTable(np.array([[0.0, 0.0], [1.42, 0.0], [2.13, 1.23]]), ["C"] * 3)
    with pytest.raises(AtomgraphInputError, match="retrain"):
        classify(table, old)


def test_a_faint_detection_on_an_empty_chalcogen_site_becomes_a_vacancy():
    sim = simulate("mose2-w", size=200, pixel_size_A=0.1, seed=5, counts={"W": 0.0, "Se1": 0, "Sevac": 1})
    truth = sim.truth
    site = truth.positions_A[truth.label == "Sevac"][0]
    real = truth.subset(~truth.vacancy)
    se = real.element == "Se"
    med = float(np.median(real.intensity[se]))
    xy = np.vstack([real.positions_A, site + 0.05])  # the locator's faint false column on the empty site
    element = np.r_[real.element, ["Se"]]
    p_se = np.r_[se.astype(float), 0.9]
    located = AtomTable(xy, element, pixel_size_A=0.1, intensity=np.r_[real.intensity, 0.2 * med],
                        score=np.r_[np.full(len(real), 0.95), 0.4], image_shape_px=sim.image.shape,
                        extra={"p_Se": p_se, "p_Mo": 1.0 - p_se, "p_W": np.zeros(len(xy))})
    nodes = classify(located, "mose2-w").atoms
    k = len(real)
    assert nodes.label[k] == "Sevac" and nodes.vacancy[k] and nodes.element[k] == ""
