"""CLI verbs on real files: locate, evaluate, classify (coordinates only), models, demo."""

from __future__ import annotations

import csv

import networkx as nx
import numpy as np
import pytest
from ase.build import graphene, make_supercell
from ase.io import write

import atomgraph
from atomgraph.cli import main


@pytest.fixture(scope="module")
def sim():
    return atomgraph.simulate("graphene-si", size=192, pixel_size_A=0.1, dose=5e5, seed=4242)


def test_locate_then_evaluate(sim, tmp_path, capsys):
    image, truth, atoms = tmp_path / "img.npy", tmp_path / "truth.csv", tmp_path / "atoms.csv"
    np.save(image, sim.image)
    from atomgraph.io.tables import write_truth_csv

    write_truth_csv(sim.truth, truth)
    assert main(["locate", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(atoms)]) == 0
    with open(atoms, newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:8] == ["id", "x_px", "y_px", "x_A", "y_A", "element", "label", "prob"]
    capsys.readouterr()
    assert main(["evaluate", str(atoms), str(truth), "--pixel-size", "0.1", "--tolerance", "0.5"]) == 0
    report = capsys.readouterr().out
    assert "F1" in report and "RMS" in report
    f1 = float(report.split("F1")[1].split()[0])
    assert f1 > 0.95


def _si4_structure():
    prim = graphene(a=2.46, vacuum=None)
    atoms = make_supercell(prim, [[1, 0, 0], [1, 2, 0], [0, 0, 1]]).repeat((8, 5, 1))
    center = atoms.positions[:, :2].mean(axis=0)
    d = np.linalg.norm(atoms.positions[:, :2] - center, axis=1)
    i = int(np.argmin(d))
    dj = np.linalg.norm(atoms.positions - atoms.positions[i], axis=1)
    dj[i] = np.inf
    j = int(np.argmin(dj))
    mid = 0.5 * (atoms.positions[i] + atoms.positions[j])
    del atoms[[i, j]]
    atoms.append("Si")
    atoms.positions[-1] = mid
    return atoms, mid


def test_classify_an_ase_si4_structure_from_xyz(tmp_path, capsys):
    atoms, mid = _si4_structure()
    path = tmp_path / "si4.xyz"
    write(path, atoms)
    out = tmp_path / "graph.graphml"
    assert main(["classify", str(path), "--model", "graphene-si", "-o", str(out)]) == 0
    g = nx.read_graphml(out)
    si = [d for _, d in g.nodes(data=True) if d.get("element") == "Si"]
    assert len(si) == 1 and si[0]["label"] == "Si4"
    assert "Si4" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".json", ".csv", ".extxyz", ".pt"])
def test_classify_writes_every_graph_format(tmp_path, suffix):
    atoms, _ = _si4_structure()
    path = tmp_path / "si4.xyz"
    write(path, atoms)
    out = tmp_path / f"graph{suffix}"
    assert main(["classify", str(path), "--model", "graphene-si", "-o", str(out)]) == 0
    assert out.is_file() and out.stat().st_size > 0
    assert main(["classify", str(path), "--model", "graphene-si", "-o", str(out)]) == 2


def test_models_lists_the_bundled_models(capsys):
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    for kind in ("locator", "classifier"):
        for name in ("graphene-si", "mose2-w"):
            assert any(kind in line and name in line for line in text.splitlines()), (kind, name)


def test_unknown_model_is_a_clear_error(tmp_path, capsys):
    atoms, _ = _si4_structure()
    path = tmp_path / "si4.xyz"
    write(path, atoms)
    assert main(["classify", str(path), "--model", "nope", "-o", str(tmp_path / "g.json")]) == 2
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()


def test_demo_runs_and_writes_the_overlay(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out)]) == 0
    assert (out / "overlay.png").is_file() and (out / "atoms.csv").is_file()
    text = capsys.readouterr().out
    assert "truth" in text and "Si4" in text
    assert main(["demo", "-o", str(out)]) == 2
