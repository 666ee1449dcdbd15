"""The classifier's inputs are the graph stage's graph: its nodes, edges, node features and edge features.

There is no second neighbor search and no second set of node inputs: :func:`encode` selects the graph's feature
columns by the names stored with the model and refuses a graph of another version, so what ``classify`` and
``analyze`` export is exactly the graph the model saw.
"""

from __future__ import annotations

import numpy as np

from ..errors import AtomgraphInputError
from ..graph import GRAPH_VERSION


def check_compatible(meta: dict, source: str = "") -> None:
    """Refuse classifier weights written for another graph version (features or vacancy rules differ)."""
    version = int(meta.get("graph_version", 1))
    if version != GRAPH_VERSION:
        raise AtomgraphInputError(
            f"classifier weights were trained on graph version {version}, this atomgraph builds version "
            f"{GRAPH_VERSION}: retrain them with 'atomgraph train classifier --config CONFIG'", source=source)


def encode(graph, meta: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node inputs (N, F) float32, edge_index (2, E) int64 and edge inputs (E, K) float32 of an AtomGraph.

    Node inputs are the graph's node features named in ``meta['node_features']`` (in that order), edge inputs the
    graph's edge features named in ``meta['edge_features']``.
    """
    check_compatible(meta)
    x = _select(graph.node_features, list(graph.feature_names), meta["node_features"], "node")
    edge_attr = _select(graph.edge_features, list(graph.edge_feature_names), meta["edge_features"], "edge")
    return x, np.ascontiguousarray(graph.edge_index, dtype=np.int64), edge_attr


def _select(table: np.ndarray, have: list[str], names: list[str], kind: str) -> np.ndarray:
    missing = [name for name in names if name not in have]
    if missing:
        raise AtomgraphInputError(f"the graph lacks the {kind} features {missing} the classifier was trained on "
                                  "(a graph built for another material or model?)")
    index = [have.index(name) for name in names]
    return np.ascontiguousarray(np.asarray(table, dtype=np.float32)[:, index])


def vacancy_labels(meta: dict) -> list[str]:
    """The vacancy labels of a model's metadata: ``vacancy_labels``, else ``[vacancy_label]``, else ``[]``."""
    if meta.get("vacancy_labels"):
        return list(meta["vacancy_labels"])
    return [meta["vacancy_label"]] if meta.get("vacancy_label") else []
