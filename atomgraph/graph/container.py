"""The graph container: :class:`AtomGraph` and its conversions (networkx, torch_geometric fields)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..atoms import AtomTable
from ..errors import AtomgraphInputError
from ..materials import Material, get_material
from .lattice import LatticeModel

GRAPH_VERSION = 2
"""Version of the graph a classifier reads (nodes, edges, feature definitions). 1: distance-rule vacancies and the
classifier's own neighbor search; 2: the lattice model's vacancies and features, one graph for export and model."""


@dataclass
class AtomGraph:
    """A neighbor graph of atomic columns and vacancy sites.

    Attributes
    ----------
    atoms : nodes: real atoms (input order) then vacancy nodes (``vacancy=True``, element ``''``); ids 0..N-1;
        ``extra['input_id']`` holds the input row's id (-1 for inferred vacancy nodes).
    edge_index : (2, E) int64, both directions, sorted by source then target.
    edge_length_A : (E,) float, Å.
    node_features : (N, F) float32, rotation/translation invariant (names and units: :mod:`atomgraph.graph.features`).
    feature_names : F names.
    edge_features : (E, K) float32.
    material : the :class:`~atomgraph.materials.Material` the graph was built for (its typed config: labels,
        lattice, vocabulary); a graph read back from a file carries the name it was saved with. ``str(material)``
        is the name either way (:attr:`material_name`).
    flags : ``vacancy_overflow`` (bool), ``n_vacancies_dropped``, ``n_vacancies_added``, ``cutoff_mode``,
        ``cutoff_A`` (pair -> Å), ``bond_A``, ``expected_density`` (typical real atoms within 2.3 bonds).
    edge_feature_names : K names (``length_rbf_<center>_A``: Gaussian of the length centered at that many Å;
        ``length_rel``: length / nominal bond; ``to_vacancy``: 1 when either end is a vacancy node).
    lattice : the :class:`~atomgraph.graph.lattice.LatticeModel` the graph was built on (None for graphs read
        from files); not exported.
    """

    atoms: AtomTable
    edge_index: np.ndarray
    edge_length_A: np.ndarray
    node_features: np.ndarray
    feature_names: list[str]
    edge_features: np.ndarray
    material: Material | str
    flags: dict
    edge_feature_names: list[str] = field(default_factory=list)
    lattice: LatticeModel | None = field(default=None, repr=False, compare=False)

    @property
    def material_name(self) -> str:
        """The material's name (``str(material)``)."""
        return str(self.material)

    @property
    def num_nodes(self) -> int:
        """Number of nodes (atoms and vacancy nodes)."""
        return len(self.atoms)

    @property
    def num_edges(self) -> int:
        """Number of directed edges (each undirected edge counts twice)."""
        return int(self.edge_index.shape[1])

    def feature(self, name: str) -> np.ndarray:
        """One node feature column by name.

        Parameters
        ----------
        name : str
            A name of :attr:`feature_names`.

        Returns
        -------
        ndarray
            (N,) the column.
        """
        return self.node_features[:, self.feature_names.index(name)]

    def edges_once(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each undirected edge once (``i < j``), as the exports write them (``edge_index`` holds both directions).

        Returns
        -------
        source : ndarray of int
            (E,) source rows.
        target : ndarray of int
            (E,) target rows.
        length_A : ndarray of float
            (E,) edge lengths, Å.
        """
        src, dst = np.asarray(self.edge_index)
        once = src < dst
        return src[once], dst[once], np.asarray(self.edge_length_A)[once]

    def node_attributes(self) -> dict[str, np.ndarray]:
        """Per-node scalar columns, as exported.

        Returns
        -------
        dict of str to ndarray
            id, x_px, y_px, x_A, y_A, element, label, prob, vacancy, score, intensity, then 1-D extras (e.g. ``p_C``,
            ``input_id``), then the node features.
        """
        a = self.atoms
        px = a.positions_px
        cols: dict[str, np.ndarray] = {
            "id": a.ids.astype(int), "x_px": px[:, 0], "y_px": px[:, 1],
            "x_A": a.positions_A[:, 0], "y_A": a.positions_A[:, 1],
            "element": a.element.astype(str), "label": a.label.astype(str), "prob": a.prob,
            "vacancy": a.vacancy.astype(bool), "score": a.score, "intensity": a.intensity,
        }
        extra = a.extra_columns()
        for key in sorted(extra):
            value = np.asarray(extra[key])
            if value.ndim == 1 and key not in cols and value.dtype.kind in "biuf":
                cols[key] = value
        for k, name in enumerate(self.feature_names):
            if name in cols:
                raise ValueError(f"feature name '{name}' clashes with a node attribute")
            cols[name] = self.node_features[:, k]
        return cols

    def graph_attributes(self) -> dict:
        """Graph-level scalars.

        Returns
        -------
        dict
            Material, pixel size (Å/px, NaN when unknown) and the scalar flags.
        """
        out = {"material": self.material_name,
               "pixel_size_A": float("nan") if self.atoms.pixel_size_A is None else self.atoms.pixel_size_A}
        for key, value in self.flags.items():
            if isinstance(value, (bool, int, float, str, np.integer, np.floating, np.bool_)):
                out[key] = value.item() if hasattr(value, "item") else value
        return out

    def to_networkx(self):
        """The graph as an undirected ``networkx.Graph``.

        Returns
        -------
        networkx.Graph
            Node ``i`` with the attributes of :meth:`node_attributes` (Python scalars), edge attribute ``length_A`` (Å),
            graph attributes :meth:`graph_attributes`.
        """
        import networkx as nx

        g = nx.Graph(**self.graph_attributes())
        cols = self.node_attributes()
        names = list(cols)
        lists = [cols[k].tolist() for k in names]
        g.add_nodes_from((i, dict(zip(names, row))) for i, row in enumerate(zip(*lists)))
        g.add_edges_from((int(i), int(j), {"length_A": float(d)}) for i, j, d in zip(*self.edges_once()))
        return g

    def to_pyg(self):
        """The graph as a ``torch_geometric.data.Data`` (imports torch_geometric).

        Returns
        -------
        torch_geometric.data.Data
            ``x`` (N, F) float32, ``edge_index`` (2, E) int64, ``edge_attr`` (E, K) float32, ``pos`` (N, 2) float32 Å,
            ``vacancy`` (N,) bool, ``y`` (N,) int64 index into ``label_names`` (-1 unlabeled) and ``labels`` (str list)
            when any label is set, plus ``feature_names``, ``edge_feature_names``, ``label_names``, ``element``,
            ``material``.
        """
        from torch_geometric.data import Data

        return Data(**pyg_dict(self))


def pyg_dict(graph: AtomGraph) -> dict:
    """The PyG fields of ``graph`` as plain tensors, lists and strings (imports torch).

    Parameters
    ----------
    graph : AtomGraph
        The graph.

    Returns
    -------
    dict
        The fields of :meth:`AtomGraph.to_pyg`, safe for ``torch.load(weights_only=True)``.
    """
    import torch

    a = graph.atoms
    try:
        label_names = get_material(graph.material).labels  # a Material as it is; a name read from a file
    except AtomgraphInputError:
        label_names = sorted(set(a.label.astype(str)) - {""})
    out = {
        "x": torch.from_numpy(np.ascontiguousarray(graph.node_features, dtype=np.float32)),
        "edge_index": torch.from_numpy(np.ascontiguousarray(graph.edge_index, dtype=np.int64)),
        "edge_attr": torch.from_numpy(np.ascontiguousarray(graph.edge_features, dtype=np.float32)),
        "pos": torch.from_numpy(np.ascontiguousarray(a.positions_A, dtype=np.float32)),
        "vacancy": torch.from_numpy(a.vacancy.astype(bool)),
        "prob": torch.from_numpy(a.prob.astype(np.float32)),
        "node_id": torch.from_numpy(a.ids.astype(np.int64)),
        "edge_length_A": torch.from_numpy(graph.edge_length_A.astype(np.float32)),
        "feature_names": list(graph.feature_names),
        "edge_feature_names": list(graph.edge_feature_names),
        "label_names": list(label_names),
        "element": [str(e) for e in a.element],
        "material": graph.material_name,
        "pixel_size_A": float("nan") if a.pixel_size_A is None else float(a.pixel_size_A),
    }
    labels = [str(x) for x in a.label]
    if any(labels):
        index = {name: k for k, name in enumerate(label_names)}
        out["y"] = torch.tensor([index.get(x, -1) for x in labels], dtype=torch.int64)
        out["labels"] = labels
    return out
