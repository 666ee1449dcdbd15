"""Graph writers and readers: GraphML, node-link JSON, extxyz, CSV and PyG ``.pt``. Every write is atomic.

:func:`write_graph` picks the format from the suffix:

- ``.graphml``: networkx GraphML, streamed (:mod:`atomgraph.io.graph_streams`); scalar attributes only (positions
  split into ``x_px, y_px, x_A, y_A``); every node carries id, positions, element, label, prob, vacancy, score,
  intensity, extras and the node features; every edge ``length_A`` (Å). Read back with :func:`read_graphml`
  (``networkx.read_graphml`` with integer node ids).
- ``.json``: networkx node-link data with ``edges="edges"``, streamed; NaN written as ``null`` (strict JSON) and
  read back as NaN by :func:`read_json`.
- ``.extxyz``: ``ase.io`` extended XYZ of the nodes (vacancy nodes as ``X``) with per-atom arrays (``label``,
  ``prob``, ``score``, ``intensity``, ``vacancy``, ``atom_id``, one array per node feature) and the undirected edges
  in ``info['edges']`` (flat ``i0 j0 i1 j1 ...``) and ``info['edge_length_A']``. Empty strings are stored as ``_``
  (extxyz cannot hold empty fields); :func:`read_extxyz` restores them.
- ``.csv``: the Atoms CSV of the nodes (:func:`atomgraph.io.tables.write_atoms_csv`) plus ``<stem>_edges.csv`` with
  ``source,target,length_A`` (each undirected edge once).
- ``.pt``: a dict of plain tensors, lists and strings (:func:`atomgraph.graph.pyg_dict`), so
  ``torch.load(path, weights_only=True)`` loads it; :func:`read_pyg` returns a ``torch_geometric.data.Data``.
- ``.npz``: the compact graph ``analyze`` writes by default (4.5 MB written in 0.02 s for a 64k-node 4096² frame,
  where GraphML is 117.5 MB and took most of a minute with JSON): NumPy arrays, loadable with ``np.load(path, allow_pickle=False)`` — ``edges`` (E, 2) int64 node
  ids, each undirected edge once with ``i < j``; ``length_A`` (E,) float32 Å; ``node_id`` (N,) int64; ``pos_A``
  (N, 2) float32 Å; ``element``, ``label`` (N,) unicode; ``prob`` (N,) float32; ``vacancy`` (N,) bool; and 0-d
  ``material`` (str), ``pixel_size_A`` (float, NaN when unknown). Node rows are the atoms CSV's rows (same order
  and ids), which hold every other node column. :func:`read_npz` returns a ``networkx.Graph`` like the others.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AtomgraphInputError
from ..graph import pyg_dict
from .graph_paths import FORMATS, check_graph_output, edges_csv_path  # noqa: F401 (FORMATS re-exported)
from .graph_streams import write_graphml_stream, write_json_stream
from .safe_write import atomic_output, atomic_path, check_writable
from .tables import write_atoms_csv

if TYPE_CHECKING:  # the graph stage (scipy, materials) is imported where a graph is built or read, not here
    from ..graph import AtomGraph

EMPTY = "_"  # stand-in for empty strings in extxyz


def write_graph(graph: AtomGraph, path: str | Path, force: bool = False) -> list[Path]:
    """Write ``graph`` in the format its suffix names (see the module docstring); return the paths written."""
    path = Path(path)
    check_graph_output(path, force)
    return _WRITERS[path.suffix.lower()](graph, path, force=force)


def write_graphml(graph: AtomGraph, path: str | Path, force: bool = False) -> list[Path]:
    """GraphML as ``networkx.write_graphml`` writes it (scalar attributes only), streamed block by block
    (:mod:`atomgraph.io.graph_streams`): 10⁶ nodes without a ``networkx.Graph`` in memory."""
    with atomic_output(path, force) as handle:
        write_graphml_stream(graph, handle)
    return [Path(path)]


def read_graphml(path: str | Path):
    """A ``networkx.Graph`` from GraphML, node ids as ints."""
    import networkx as nx

    return nx.read_graphml(path, node_type=int)


def write_json(graph: AtomGraph, path: str | Path, force: bool = False) -> list[Path]:
    """Node-link JSON (``networkx.node_link_data(G, edges="edges")``); NaN and inf written as ``null``; streamed
    block by block (:mod:`atomgraph.io.graph_streams`)."""
    with atomic_output(path, force) as handle:
        write_json_stream(graph, handle)
    return [Path(path)]


def read_json(path: str | Path):
    """A ``networkx.Graph`` from node-link JSON (``edges="edges"``); ``null`` values come back as NaN and the node
    key (``"id"`` in the file, equal to the node's id) is also restored as the ``id`` attribute."""
    import networkx as nx

    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    data["graph"] = {k: (float("nan") if v is None else v) for k, v in data.get("graph", {}).items()}
    data["nodes"] = [{k: (float("nan") if v is None else v) for k, v in node.items()} for node in data["nodes"]]
    g = nx.node_link_graph(data, edges="edges")
    for node, attrs in g.nodes(data=True):  # node-link keeps the node attribute 'id' as the node key itself
        attrs.setdefault("id", node)
    return g


def write_extxyz(graph: AtomGraph, path: str | Path, force: bool = False) -> list[Path]:
    """Extended XYZ via ``ase.io.write`` with per-atom arrays and the edges in ``info``."""
    import ase.io

    atoms = graph.atoms.to_ase()
    atoms.set_array("label", np.array([x if x else EMPTY for x in graph.atoms.label.astype(str)], dtype="U16"))
    for key, value in graph.atoms.extra_columns().items():
        value = np.asarray(value)
        if value.ndim == 1 and value.dtype.kind in "biuf" and key not in atoms.arrays:
            atoms.set_array(key, value)
    for k, name in enumerate(graph.feature_names):
        atoms.set_array(name, graph.node_features[:, k].astype(float))
    src, dst, length = graph.edges_once()
    atoms.info["edges"] = np.column_stack([src, dst]).ravel().astype(int)
    atoms.info["edge_length_A"] = length.astype(float)
    for key, value in graph.graph_attributes().items():
        atoms.info[key] = value
    with atomic_path(path, force) as tmp:
        ase.io.write(tmp, atoms, format="extxyz")
    return [Path(path)]


def read_extxyz(path: str | Path):
    """``ase.Atoms`` from our extxyz, with ``_`` strings restored to ``''`` and ``info['edges']`` as (E, 2) ints."""
    import ase.io

    atoms = ase.io.read(path, format="extxyz")
    if "label" in atoms.arrays:
        atoms.set_array("label", np.array(["" if x == EMPTY else x for x in atoms.arrays["label"]], dtype="U16"))
    edges = np.atleast_1d(np.asarray(atoms.info.get("edges", np.empty(0)), dtype=int))
    atoms.info["edges"] = edges.reshape(-1, 2)
    atoms.info["edge_length_A"] = np.atleast_1d(np.asarray(atoms.info.get("edge_length_A", np.empty(0)), float))
    return atoms


def write_csv(graph: AtomGraph, path: str | Path, force: bool = False) -> list[Path]:
    """Atoms CSV of the nodes plus ``<stem>_edges.csv`` (``source,target,length_A``, each edge once)."""
    edges_path = edges_csv_path(path)
    check_writable(path, force)
    check_writable(edges_path, force)
    src, dst, length = graph.edges_once()
    # both files go to temporaries first: a failure in either leaves neither behind
    with atomic_path(path, force) as nodes_tmp, atomic_output(edges_path, force) as handle:
        write_atoms_csv(graph.atoms, nodes_tmp, force=True)
        writer = csv.writer(handle)
        writer.writerow(["source", "target", "length_A"])
        writer.writerows(zip(src.tolist(), dst.tolist(), (f"{d:.4f}" for d in length)))
    return [Path(path), edges_path]


def read_graph_csv(path: str | Path) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray]:
    """Nodes (rows of the Atoms CSV as dicts of strings), edges (E, 2) int and lengths (E,) Å."""
    with open(path, encoding="utf-8", newline="") as handle:
        nodes = list(csv.DictReader(handle))
    with open(edges_csv_path(path), encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    edges = np.array([[int(r["source"]), int(r["target"])] for r in rows], dtype=int).reshape(-1, 2)
    lengths = np.array([float(r["length_A"]) for r in rows], dtype=float)
    return nodes, edges, lengths


def write_pt(graph: AtomGraph, path: str | Path, force: bool = False) -> list[Path]:
    """PyG fields as a dict of plain tensors/lists/strings (loads with ``torch.load(weights_only=True)``)."""
    import torch

    with atomic_path(path, force) as tmp:
        torch.save(pyg_dict(graph), tmp)
    return [Path(path)]


def read_pyg(path: str | Path):
    """A ``torch_geometric.data.Data`` from a ``.pt`` written by :func:`write_pt` (``weights_only=True``)."""
    import torch
    from torch_geometric.data import Data

    if not Path(path).is_file():
        raise AtomgraphInputError("file not found", source=str(path))
    try:
        data = torch.load(path, weights_only=True)  # never unpickles arbitrary objects
    except Exception as exc:  # noqa: BLE001 - a foreign, corrupt or malicious file is a user error
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise AtomgraphInputError(f"is not a readable atomgraph .pt graph (torch.load with weights_only=True: "
                                  f"{first})", source=str(path)) from None
    if not isinstance(data, dict) or "x" not in data or "edge_index" not in data:
        raise AtomgraphInputError("not an atomgraph .pt graph (expected a dict with x and edge_index)",
                                  source=str(path))
    return Data(**data)


def write_npz(graph: AtomGraph, path: str | Path, force: bool = False) -> list[Path]:
    """The compact graph (see the module docstring): plain arrays, no pickled objects, uncompressed (fast)."""
    a = graph.atoms
    src, dst, length = graph.edges_once()
    arrays = {
        "edges": np.column_stack([src, dst]).astype(np.int64).reshape(-1, 2),
        "length_A": length.astype(np.float32),
        "node_id": np.asarray(a.ids, dtype=np.int64),
        "pos_A": np.asarray(a.positions_A, dtype=np.float32),
        "element": np.asarray(a.element, dtype=str),
        "label": np.asarray(a.label, dtype=str),
        "prob": np.asarray(a.prob, dtype=np.float32),
        "vacancy": np.asarray(a.vacancy, dtype=bool),
        "material": np.array(str(graph.material)),
        "pixel_size_A": np.array(np.nan if a.pixel_size_A is None else float(a.pixel_size_A)),
    }
    with atomic_output(path, force, mode="wb") as handle:
        np.savez(handle, **arrays)
    return [Path(path)]


def read_npz(path: str | Path):
    """A ``networkx.Graph`` from the compact ``.npz`` (``np.load(allow_pickle=False)``): node ``i`` (its id) with
    ``x_A, y_A, element, label, prob, vacancy``; edges with ``length_A`` (Å); graph attributes ``material`` and
    ``pixel_size_A``."""
    import networkx as nx

    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    g = nx.Graph(material=str(arrays["material"]), pixel_size_A=float(arrays["pixel_size_A"]))
    for i, (x, y), element, label, prob, vacancy in zip(arrays["node_id"].tolist(), arrays["pos_A"].tolist(),
                                                       arrays["element"].tolist(), arrays["label"].tolist(),
                                                       arrays["prob"].tolist(), arrays["vacancy"].tolist()):
        g.add_node(i, id=i, x_A=x, y_A=y, element=element, label=label, prob=prob, vacancy=vacancy)
    g.add_edges_from((int(i), int(j), {"length_A": float(d)})
                     for (i, j), d in zip(arrays["edges"].tolist(), arrays["length_A"].tolist()))
    return g


_WRITERS = {".graphml": write_graphml, ".json": write_json, ".extxyz": write_extxyz, ".csv": write_csv,
            ".pt": write_pt, ".npz": write_npz}
