"""Graph exports round-trip through networkx, ase, csv and torch_geometric."""

from __future__ import annotations

import math

import numpy as np
import pytest

import atomgraph
from atomgraph.errors import AtomgraphInputError
from atomgraph.graph import build_graph
from atomgraph.io.graphs import (edges_csv_path, read_extxyz, read_graph_csv, read_graphml, read_json, read_npz,
                                 read_pyg, write_graph)


@pytest.fixture(scope="module")
def graph():
    sim = atomgraph.simulate("mose2-w", size=256, pixel_size_A=0.1, seed=2, noise=False, counts={"Sevac": 2})
    truth = sim.truth
    atoms = truth.subset(~truth.vacancy).with_labels(truth.label[~truth.vacancy], np.full((~truth.vacancy).sum(), .9))
    atoms.prob[::5] = np.nan
    atoms.extra["p_Mo"] = (atoms.element == "Mo").astype(float)
    g = build_graph(atoms, "mose2-w")
    assert g.flags["n_vacancies_added"] >= 1
    return g


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return a == b


def _check_networkx(g, back):
    ref = g.to_networkx()
    assert sorted(back.nodes) == sorted(ref.nodes)
    assert {frozenset(e) for e in back.edges} == {frozenset(e) for e in ref.edges}
    for n, attrs in ref.nodes(data=True):
        assert set(back.nodes[n]) == set(attrs)
        for key, value in attrs.items():
            assert _same(value, back.nodes[n][key]), (n, key, value, back.nodes[n][key])
    for i, j, attrs in ref.edges(data=True):
        assert _same(attrs["length_A"], back.edges[i, j]["length_A"])
    assert back.graph["material"] == "mose2-w"


def test_graphml_round_trip(graph, tmp_path):
    path = tmp_path / "g.graphml"
    write_graph(graph, path)
    _check_networkx(graph, read_graphml(path))


def test_npz_is_compact_plain_arrays_and_round_trips(graph, tmp_path):
    path = tmp_path / "g.npz"
    write_graph(graph, path)
    with np.load(path, allow_pickle=False) as data:  # no pickled objects inside
        edges, length = data["edges"], data["length_A"]
        assert data["label"].dtype.kind == "U" and str(data["material"]) == "mose2-w"
    assert np.all(edges[:, 0] < edges[:, 1]) and len(edges) == graph.num_edges // 2
    back, ref = read_npz(path), graph.to_networkx()
    assert sorted(back.nodes) == sorted(ref.nodes)
    assert {frozenset(e) for e in back.edges} == {frozenset(e) for e in ref.edges}
    for n, attrs in ref.nodes(data=True):
        for key in ("element", "label", "vacancy"):
            assert back.nodes[n][key] == attrs[key]
        assert back.nodes[n]["x_A"] == pytest.approx(attrs["x_A"], abs=1e-4)
        assert _same(back.nodes[n]["prob"], attrs["prob"])
    for i, j, attrs in ref.edges(data=True):
        assert back.edges[i, j]["length_A"] == pytest.approx(attrs["length_A"], abs=1e-5)
    assert length.dtype == np.float32


def test_json_round_trip_is_strict_json(graph, tmp_path):
    import json

    path = tmp_path / "g.json"
    write_graph(graph, path)
    text = path.read_text()
    assert "NaN" not in text and '"edges"' in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    _check_networkx(graph, read_json(path))


def test_extxyz_round_trip(graph, tmp_path):
    path = tmp_path / "g.extxyz"
    write_graph(graph, path)
    atoms = read_extxyz(path)
    assert len(atoms) == graph.num_nodes
    np.testing.assert_allclose(atoms.positions[:, :2], graph.atoms.positions_A, atol=1e-6)
    assert list(atoms.arrays["label"]) == list(graph.atoms.label)
    np.testing.assert_array_equal(atoms.arrays["vacancy"], graph.atoms.vacancy)
    symbols = ["" if s == "X" else s for s in atoms.get_chemical_symbols()]
    assert symbols == list(graph.atoms.element)
    for k, name in enumerate(graph.feature_names):
        np.testing.assert_allclose(atoms.arrays[name], graph.node_features[:, k], atol=1e-6)
    src, dst = graph.edge_index
    once = src < dst
    np.testing.assert_array_equal(atoms.info["edges"], np.column_stack([src[once], dst[once]]))
    np.testing.assert_allclose(atoms.info["edge_length_A"], graph.edge_length_A[once], atol=1e-6)
    rebuilt = atomgraph.atoms.AtomTable.from_ase(atoms)
    np.testing.assert_array_equal(rebuilt.vacancy, graph.atoms.vacancy)


def test_csv_round_trip(graph, tmp_path):
    path = tmp_path / "g.csv"
    written = write_graph(graph, path)
    assert written == [path, edges_csv_path(path)] and edges_csv_path(path).name == "g_edges.csv"
    nodes, edges, lengths = read_graph_csv(path)
    assert [int(r["id"]) for r in nodes] == list(range(graph.num_nodes))
    assert [r["element"] for r in nodes] == list(graph.atoms.element)
    assert [r["label"] for r in nodes] == list(graph.atoms.label)
    assert [r["vacancy"] == "1" for r in nodes] == list(graph.atoms.vacancy)
    np.testing.assert_allclose([float(r["x_A"]) for r in nodes], graph.atoms.positions_A[:, 0], atol=1e-4)
    src, dst = graph.edge_index
    once = src < dst
    np.testing.assert_array_equal(edges, np.column_stack([src[once], dst[once]]))
    np.testing.assert_allclose(lengths, graph.edge_length_A[once], atol=1e-4)


def test_pt_loads_with_weights_only_and_round_trips(graph, tmp_path):
    import torch

    path = tmp_path / "g.pt"
    write_graph(graph, path)
    raw = torch.load(path, weights_only=True)
    assert isinstance(raw, dict)
    data = read_pyg(path)
    ref = graph.to_pyg()
    for key in ("x", "edge_index", "edge_attr", "pos", "y", "vacancy", "prob"):
        assert torch.equal(torch.nan_to_num(getattr(data, key)), torch.nan_to_num(getattr(ref, key))), key
    assert data.feature_names == graph.feature_names and data.labels == list(graph.atoms.label)
    assert data.num_nodes == graph.num_nodes and data.material == "mose2-w"


def test_writers_refuse_existing_outputs_unless_forced(graph, tmp_path):
    for suffix in (".graphml", ".json", ".extxyz", ".csv", ".pt", ".npz"):
        path = tmp_path / f"g{suffix}"
        write_graph(graph, path)
        before = path.read_bytes()
        with pytest.raises(AtomgraphInputError):
            write_graph(graph, path)
        assert path.read_bytes() == before
        write_graph(graph, path, force=True)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_unknown_suffix_is_an_input_error(graph, tmp_path):
    with pytest.raises(AtomgraphInputError):
        write_graph(graph, tmp_path / "g.gexf")


def test_streamed_graphml_reads_back_as_networkx_own_file(graph, tmp_path):
    """The block-by-block writer (issue 23: 10⁶ nodes within 4 GB) gives what networkx.write_graphml gives: the same
    nodes, attributes, attribute types, edges and graph attributes once read back."""
    import networkx as nx

    ours, theirs = tmp_path / "ours.graphml", tmp_path / "theirs.graphml"
    write_graph(graph, ours)
    nx.write_graphml(graph.to_networkx(), theirs)
    a, b = read_graphml(ours), read_graphml(theirs)
    assert sorted(a.nodes) == sorted(b.nodes) and {frozenset(e) for e in a.edges} == {frozenset(e) for e in b.edges}
    for n, attrs in b.nodes(data=True):
        assert set(a.nodes[n]) == set(attrs)
        for key, value in attrs.items():
            assert type(a.nodes[n][key]) is type(value), key
            assert _same(a.nodes[n][key], value), (n, key)
    for i, j, attrs in b.edges(data=True):
        assert a.edges[i, j] == attrs
    assert set(a.graph) == set(b.graph) and all(_same(a.graph[k], b.graph[k]) for k in b.graph)


def test_streamed_json_equals_node_link_data(graph, tmp_path):
    import json

    import networkx as nx

    path = tmp_path / "g.json"
    write_graph(graph, path)
    ours = json.loads(path.read_text())
    theirs = json.loads(json.dumps(nx.node_link_data(graph.to_networkx(), edges="edges"), allow_nan=True))

    def strict(value):  # node_link_data keeps NaN; ours writes it as null
        return None if isinstance(value, float) and not math.isfinite(value) else value

    assert ours["directed"] is False and ours["multigraph"] is False
    assert ours["graph"] == {k: strict(v) for k, v in theirs["graph"].items()}
    assert ours["nodes"] == [{k: strict(v) for k, v in node.items()} for node in theirs["nodes"]]
    assert sorted((e["source"], e["target"], e["length_A"]) for e in ours["edges"]) == \
        sorted((e["source"], e["target"], e["length_A"]) for e in theirs["edges"])
