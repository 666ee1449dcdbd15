"""The classifier's inputs are the graph stage's graph: its nodes, edges, node features and edge features.

There is no second neighbor search and no second set of node inputs: :func:`encode` selects the graph's feature
columns by the names stored with the model and refuses a graph of another version, so what ``classify`` and
``analyze`` export is exactly the graph the model saw. What a model stores about its material to read such a graph
is :func:`material_meta`.
"""

from __future__ import annotations

import numpy as np

from ..errors import AtomgraphInputError
from ..graph import GRAPH_VERSION
from ..materials import Material
from .meta import ClassifierMeta


def check_compatible(meta: ClassifierMeta | dict, source: str = "") -> None:
    """Refuse classifier weights written for another graph version (features or vacancy rules differ).

    Parameters
    ----------
    meta : ClassifierMeta or dict
        The classifier's metadata.
    source : str, default ''
        The weights' file, named in the error.
    """
    version = ClassifierMeta.coerce(meta).graph_version
    if version != GRAPH_VERSION:
        raise AtomgraphInputError(
            f"classifier weights were trained on graph version {version}, this atomgraph builds version "
            f"{GRAPH_VERSION}: retrain them with 'atomgraph train classifier --config CONFIG'", source=source)


def encode(graph, meta: ClassifierMeta | dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node inputs (N, F) float32, edge_index (2, E) int64 and edge inputs (E, K) float32 of an AtomGraph.

    Node inputs are the graph's node features named in ``meta['node_features']`` (in that order), edge inputs the
    graph's edge features named in ``meta['edge_features']``.
    """
    meta = ClassifierMeta.coerce(meta)
    check_compatible(meta)
    x = _select(graph.node_features, list(graph.feature_names), list(meta.node_features), "node")
    edge_attr = _select(graph.edge_features, list(graph.edge_feature_names), list(meta.edge_features), "edge")
    return x, np.ascontiguousarray(graph.edge_index, dtype=np.int64), edge_attr


def _select(table: np.ndarray, have: list[str], names: list[str], kind: str) -> np.ndarray:
    missing = [name for name in names if name not in have]
    if missing:
        raise AtomgraphInputError(f"the graph lacks the {kind} features {missing} the classifier was trained on "
                                  "(a graph built for another material or model?)")
    index = [have.index(name) for name in names]
    return np.ascontiguousarray(np.asarray(table, dtype=np.float32)[:, index])


def vacancy_labels(meta: ClassifierMeta | dict) -> list[str]:
    """The vacancy labels of a model's metadata (:attr:`ClassifierMeta.vacancy_labels`), as a list."""
    return list(ClassifierMeta.coerce(meta).vacancy_labels)


def material_meta(mat: Material) -> dict:
    """What a model needs to read a graph of ``mat`` (stored in the weights' metadata); the feature names are
    added from the first graph built (:func:`train_classifier`)."""
    intensity_labels = [d.label for d in mat.settings.defects if d.recipe.endswith("single_vacancy")]
    vacancy_labels = mat.settings.graph.all_vacancy_labels
    meta = {"material": mat.name, "labels": mat.labels, "vacancy_label": mat.settings.graph.vacancy_label,
            "graph_version": GRAPH_VERSION, "bond_A": float(mat.bond_A), "label_elements": label_elements(mat),
            "intensity_labels": intensity_labels, "label_sites": mat.label_sites}
    if len(vacancy_labels) > 1:  # the node's sublattice decides among them (see allowed_mask)
        meta["vacancy_labels"] = vacancy_labels
        meta["vacancy_roles"] = mat.vacancy_roles
    return meta


def label_elements(mat: Material) -> dict:
    """Label -> element it implies (host labels by sublattice, defect labels by recipe element); vacancy -> ''."""
    out = {}
    host = mat.settings.lattice.host
    for role, label in mat.settings.host_labels.items():
        out[label] = host[role]
    for defect in mat.settings.defects:
        if defect.element is not None:
            out[defect.label] = defect.element
        elif defect.recipe.endswith("single_vacancy"):
            out[defect.label] = host.get("chalcogen", "")
        else:
            out[defect.label] = ""
    return out
