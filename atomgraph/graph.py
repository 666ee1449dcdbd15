"""Atoms -> neighbor graph with vacancy sites, node/edge features, and conversions (networkx, torch_geometric).

:func:`build_graph` is the third pipeline stage. It takes the locator's :class:`~atomgraph.atoms.AtomTable` (or a
coordinate file's, or an ``ase.Atoms``) and returns an :class:`AtomGraph`:

1. Edges: one ``scipy.spatial.cKDTree.query_pairs`` at the largest cutoff, then a per-element-pair cutoff
   (config ``graph.cutoffs_A``; ``0.0`` means no edge for that pair, e.g. Mo-Mo in a TMD projection). Edges to vacancy
   nodes use, per neighbor element, the smallest non-zero cutoff involving that element (the host bond).
2. Vacancy nodes from the lattice topology (:mod:`atomgraph.vacancies`), appended after the input rows.
3. Node features (:mod:`atomgraph.features`; names and units in its docstring) and edge features (a Gaussian
   expansion of the length, the length over the nominal bond, and a vacancy-edge flag).

Everything is vectorized NumPy/SciPy; no per-atom Python loop runs in :func:`build_graph`.

Example
-------
>>> import numpy as np
>>> from atomgraph.atoms import AtomTable
>>> a = 2.46
>>> cell = np.array([[0.0, 0.0], [a / 2, a / (2 * np.sqrt(3))]])
>>> grid = np.array([[i * a + j * a / 2, j * a * np.sqrt(3) / 2] for i in range(12) for j in range(12)])
>>> xy = (grid[:, None, :] + cell[None]).reshape(-1, 2)
>>> g = build_graph(AtomTable(xy, ["C"] * len(xy)), "graphene-si")
>>> int(np.max(g.node_features[:, g.feature_names.index("coordination")]))
3
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from . import features as F
from .atoms import VACANCY_ELEMENT, AtomTable
from .errors import AtomgraphInputError
from .materials import Material, get_material
from .vacancies import infer_vacancy_sites

log = logging.getLogger(__name__)

UNKNOWN = "?"  # element key of real atoms whose element is not given
DENSITY_RADIUS_BONDS = 2.3  # surroundings radius in bonds: 12 neighbors (1st, 2nd, 3rd shells) in a honeycomb
DENSITY_SAMPLE = 4000  # real atoms (strided) whose surroundings count sets the typical count
UNKNOWN_PAIR_CUTOFF_BONDS = 1.3  # cutoff for element pairs the config does not name, in bonds
MAX_COORDINATE_A = 1e9  # |x|, |y| beyond this (0.1 m) are not atomic coordinates in Å
SPACING_RANGE_BONDS = (0.4, 4.0)  # accepted median nearest-neighbor distance, in bonds of the material
SPACING_MIN_ATOMS = 10  # the spacing check needs at least this many real atoms
SPACING_SAMPLE = 2000  # real atoms (strided) whose nearest neighbor the spacing check measures
N_RBF = 16
RBF_RANGE_BONDS = (0.6, 1.7)


@dataclass
class AtomGraph:
    """A neighbor graph of atomic columns and vacancy sites.

    Attributes
    ----------
    atoms : nodes: real atoms (input order) then vacancy nodes (``vacancy=True``, element ``''``); ids 0..N-1;
        ``extra['input_id']`` holds the input row's id (-1 for inferred vacancy nodes).
    edge_index : (2, E) int64, both directions, sorted by source then target.
    edge_length_A : (E,) float, Å.
    node_features : (N, F) float32, rotation/translation invariant (names and units: :mod:`atomgraph.features`).
    feature_names : F names.
    edge_features : (E, K) float32.
    material : material name.
    flags : ``vacancy_overflow`` (bool), ``n_vacancies_dropped``, ``n_vacancies_added``, ``cutoff_mode``,
        ``cutoff_A`` (pair -> Å), ``bond_A``, ``expected_density`` (typical real atoms within 2.3 bonds).
    edge_feature_names : K names (``length_rbf_<center>_A``: Gaussian of the length centered at that many Å;
        ``length_rel``: length / nominal bond; ``to_vacancy``: 1 when either end is a vacancy node).
    """

    atoms: AtomTable
    edge_index: np.ndarray
    edge_length_A: np.ndarray
    node_features: np.ndarray
    feature_names: list[str]
    edge_features: np.ndarray
    material: str
    flags: dict
    edge_feature_names: list[str] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        return len(self.atoms)

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])

    def feature(self, name: str) -> np.ndarray:
        """One node feature column by name."""
        return self.node_features[:, self.feature_names.index(name)]

    def node_attributes(self) -> dict[str, np.ndarray]:
        """Per-node scalar columns, as exported: id, x_px, y_px, x_A, y_A, element, label, prob, vacancy, score,
        intensity, then 1-D extras (e.g. ``p_C``, ``input_id``), then the node features."""
        a = self.atoms
        px = a.positions_px
        cols: dict[str, np.ndarray] = {
            "id": a.ids.astype(int), "x_px": px[:, 0], "y_px": px[:, 1],
            "x_A": a.positions_A[:, 0], "y_A": a.positions_A[:, 1],
            "element": a.element.astype(str), "label": a.label.astype(str), "prob": a.prob,
            "vacancy": a.vacancy.astype(bool), "score": a.score, "intensity": a.intensity,
        }
        for key in sorted(a.extra):
            value = np.asarray(a.extra[key])
            if value.ndim == 1 and key not in cols and value.dtype.kind in "biuf":
                cols[key] = value
        for k, name in enumerate(self.feature_names):
            if name in cols:
                raise ValueError(f"feature name '{name}' clashes with a node attribute")
            cols[name] = self.node_features[:, k]
        return cols

    def graph_attributes(self) -> dict:
        """Graph-level scalars: material, pixel size (Å/px, NaN when unknown) and the scalar flags."""
        out = {"material": self.material,
               "pixel_size_A": float("nan") if self.atoms.pixel_size_A is None else self.atoms.pixel_size_A}
        for key, value in self.flags.items():
            if isinstance(value, (bool, int, float, str, np.integer, np.floating, np.bool_)):
                out[key] = value.item() if hasattr(value, "item") else value
        return out

    def to_networkx(self):
        """An undirected ``networkx.Graph``: node ``i`` with the attributes of :meth:`node_attributes` (Python
        scalars), edge attribute ``length_A`` (Å), graph attributes :meth:`graph_attributes`."""
        import networkx as nx

        g = nx.Graph(**self.graph_attributes())
        cols = self.node_attributes()
        names = list(cols)
        lists = [cols[k].tolist() for k in names]
        g.add_nodes_from((i, dict(zip(names, row))) for i, row in enumerate(zip(*lists)))
        src, dst = self.edge_index
        once = src < dst
        g.add_edges_from((int(i), int(j), {"length_A": float(d)})
                         for i, j, d in zip(src[once], dst[once], self.edge_length_A[once]))
        return g

    def to_pyg(self):
        """A ``torch_geometric.data.Data``: ``x`` (N, F) float32, ``edge_index`` (2, E) int64, ``edge_attr``
        (E, K) float32, ``pos`` (N, 2) float32 Å, ``vacancy`` (N,) bool, ``y`` (N,) int64 index into
        ``label_names`` (-1 unlabeled) and ``labels`` (str list) when any label is set, plus ``feature_names``,
        ``edge_feature_names``, ``label_names``, ``element``, ``material``."""
        from torch_geometric.data import Data

        return Data(**pyg_dict(self))


def pyg_dict(graph: AtomGraph) -> dict:
    """The PyG fields of ``graph`` as plain tensors, lists and strings (safe for ``torch.load(weights_only=True)``)."""
    import torch

    a = graph.atoms
    try:
        label_names = get_material(graph.material).labels
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
        "material": str(graph.material),
        "pixel_size_A": float("nan") if a.pixel_size_A is None else float(a.pixel_size_A),
    }
    labels = [str(x) for x in a.label]
    if any(labels):
        index = {name: k for k, name in enumerate(label_names)}
        out["y"] = torch.tensor([index.get(x, -1) for x in labels], dtype=torch.int64)
        out["labels"] = labels
    return out


# ----------------------------------------------------------------------------------------------------------- input
def as_atom_table(atoms) -> AtomTable:
    """An :class:`AtomTable` copy from an AtomTable or ``ase.Atoms`` (3D structures are projected into columns)."""
    if isinstance(atoms, AtomTable):
        out = copy.copy(atoms)  # arrays are shared and never modified in place; extra is a new dict
        out.extra = dict(atoms.extra)
        return out
    try:
        from ase import Atoms
    except ImportError:  # pragma: no cover - ase is a dependency
        Atoms = ()
    if isinstance(atoms, Atoms):
        from .atoms import project_to_columns

        if "vacancy" in atoms.arrays or "atom_id" in atoms.arrays:  # written by AtomTable.to_ase / our extxyz
            return AtomTable.from_ase(atoms)
        return project_to_columns(atoms)
    raise AtomgraphInputError(f"build_graph needs an AtomTable or ase.Atoms, got {type(atoms).__name__}")


# --------------------------------------------------------------------------------------------------------- cutoffs
def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _config_cutoffs(graph_cfg: dict) -> dict[tuple[str, str], float]:
    out = {}
    for key, value in (graph_cfg.get("cutoffs_A") or {}).items():
        parts = str(key).split("-")
        if len(parts) != 2 or not all(parts):
            raise AtomgraphInputError(f"cutoff key '{key}' must look like 'A-B' (two element symbols)")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise AtomgraphInputError(f"cutoff for '{key}' must be a number, got {value!r}") from None
        if not math.isfinite(value) or value < 0:
            raise AtomgraphInputError(f"cutoff for '{key}' must be >= 0 Å, got {value!r}")
        out[_pair(*parts)] = value
    return out


def estimate_cutoff(positions_A: np.ndarray, bin_A: float = 0.02, max_points: int = 20000) -> float:
    """Cutoff (Å) at the first minimum of the pair-distance histogram after its first peak.

    Uses up to ``max_points`` atoms (an evenly strided subset). The first peak is the nearest-neighbor distance
    ``d1`` (median nearest-neighbor distance); the minimum is searched in ``[d1, 1.75 d1]`` (the second shell of a
    honeycomb is at ``sqrt(3) d1``), and the middle of the lowest bins is returned.
    """
    pos = np.asarray(positions_A, dtype=float)
    if len(pos) < 3:
        raise AtomgraphInputError("cutoff='auto' needs at least 3 atoms")
    sub = pos[:: max(1, len(pos) // max_points)]
    tree = cKDTree(pos)
    d, _ = tree.query(sub, k=2)
    d1 = float(np.median(d[:, 1]))
    if not d1 > 0:
        raise AtomgraphInputError("cutoff='auto': atoms coincide (zero nearest-neighbor distance)")
    pairs = cKDTree(sub).sparse_distance_matrix(tree, 1.8 * d1, output_type="ndarray")
    dist = pairs["v"][pairs["v"] > 0]
    edges = np.arange(0.0, 1.8 * d1 + bin_A, bin_A)
    hist, _ = np.histogram(dist, edges)
    smooth = np.convolve(hist, np.ones(5) / 5.0, mode="same")
    centers = 0.5 * (edges[1:] + edges[:-1])
    window = (centers >= d1) & (centers <= 1.75 * d1)
    idx = np.flatnonzero(window)
    low = idx[smooth[idx] <= smooth[idx].min() + 1e-9]
    return float(centers[int(np.median(low))])


def cutoff_matrix(keys: np.ndarray, material: Material, cutoff: str | float | dict, positions_A: np.ndarray,
                  bond_A: float) -> tuple[np.ndarray, dict, str]:
    """(K, K) cutoffs (Å) between the element keys (``''`` vacancy, ``'?'`` unknown), the named pairs, the mode.

    ``cutoff``: ``"config"`` (config ``graph.cutoffs_A``, pairs it does not name get ``1.3 * bond_A``), ``"auto"``
    (one cutoff from :func:`estimate_cutoff`), a float (one cutoff for all pairs, Å) or a dict ``{"A-B": Å}``
    overriding the config per pair.
    """
    table = _config_cutoffs(material.config.get("graph", {}))
    single = None
    if isinstance(cutoff, str):
        if cutoff == "auto":
            single, mode = estimate_cutoff(positions_A), "auto"
        elif cutoff == "config":
            mode = "config"
        else:
            raise AtomgraphInputError(f"cutoff must be 'config', 'auto', a number (Å) or a dict, got '{cutoff}'")
    elif isinstance(cutoff, dict):
        table.update(_config_cutoffs({"cutoffs_A": cutoff}))
        mode = "dict"
    elif isinstance(cutoff, (int, float, np.integer, np.floating)) and not isinstance(cutoff, bool):
        single, mode = float(cutoff), "float"
        if not (math.isfinite(single) and single > 0):
            raise AtomgraphInputError(f"cutoff must be a positive number of Å, got {cutoff!r}")
    else:
        raise AtomgraphInputError(f"cutoff must be 'config', 'auto', a number (Å) or a dict, got {cutoff!r}")
    keys = [str(k) for k in keys]
    k = len(keys)
    mat = np.zeros((k, k))
    default = UNKNOWN_PAIR_CUTOFF_BONDS * bond_A
    nonzero = [v for v in table.values() if v > 0]
    for a in range(k):
        for b in range(k):  # K is the number of distinct elements: a handful
            ea, eb = keys[a], keys[b]
            if single is not None:
                mat[a, b] = single
            elif VACANCY_ELEMENT in (ea, eb):
                other = eb if ea == VACANCY_ELEMENT else ea
                if other == VACANCY_ELEMENT:
                    mat[a, b] = min(nonzero) if nonzero else default
                else:
                    with_other = [v for p, v in table.items() if other in p and v > 0]
                    mat[a, b] = min(with_other) if with_other else default
            else:
                mat[a, b] = table.get(_pair(ea, eb), default)
    named = {f"{keys[a] or 'vacancy'}-{keys[b] or 'vacancy'}": float(mat[a, b])
             for a in range(k) for b in range(a, k)}
    return mat, named, mode


# -------------------------------------------------------------------------------------------------------- features
def element_classes(material: Material) -> dict[str, str]:
    """Element -> sublattice class for intensity normalization: the host element of the sublattice it sits on
    (graphene: C and Si -> C; MoSe2: Mo and W -> Mo, Se -> Se)."""
    host = material.config["lattice"]["host"]
    classes = {el: el for el in host.values()}
    for defect in material.config.get("defects", []):
        element = defect.get("element")
        recipe = material.family.RECIPES.get(defect.get("recipe"))
        if element and recipe is not None:
            roles = [r for r in recipe.roles if r in host]
            if roles:
                classes.setdefault(element, host[roles[0]])
    return classes


def species_classes(material: Material) -> list[str]:
    """The species vocabulary: the locator's classes when the config names them, else the elements."""
    classes = material.config.get("locator", {}).get("classes")
    return list(classes) if classes else sorted(element_classes(material))


def _intensity_group(element: np.ndarray, table: AtomTable, material: Material) -> np.ndarray:
    cls = element_classes(material)
    uniq, inv = np.unique(element, return_inverse=True)
    mapped = np.array([cls.get(e, e) for e in uniq], dtype=str)
    group = np.unique(mapped, return_inverse=True)[1][inv].astype(np.int64)
    if "frame" in table.extra:
        frame = np.unique(np.asarray(table.extra["frame"]), return_inverse=True)[1]
        group = frame.astype(np.int64) * (group.max(initial=0) + 1) + group
    group[table.vacancy] = -1
    return group


def edge_feature_table(lengths_A: np.ndarray, to_vacancy: np.ndarray, bond_A: float
                       ) -> tuple[np.ndarray, list[str]]:
    """Edge features: ``N_RBF`` Gaussians of the length (centers ``0.6..1.7 * bond_A``, width one spacing),
    ``length_rel`` (length / bond), ``to_vacancy`` (0/1). Returns (E, N_RBF + 2) float32 and the names."""
    centers = np.linspace(*RBF_RANGE_BONDS, N_RBF) * bond_A
    width = float(centers[1] - centers[0])
    table = np.empty((len(lengths_A), N_RBF + 2), dtype=np.float32)
    table[:, :N_RBF] = F.gaussian_expansion(lengths_A, centers, width)
    table[:, N_RBF] = lengths_A / bond_A
    table[:, N_RBF + 1] = to_vacancy
    names = [f"length_rbf_{c:.2f}_A" for c in centers] + ["length_rel", "to_vacancy"]
    return table, names


# ----------------------------------------------------------------------------------------------------------- build
def _directed(pairs: np.ndarray, n: int) -> np.ndarray:
    """(P, 2) undirected pairs -> (2, 2P) both directions, sorted by source then target."""
    src = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int64)
    dst = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int64)
    order = np.argsort(src * n + dst, kind="stable")
    return np.vstack([src[order], dst[order]])


def _merge_edges(edge_index: np.ndarray, pairs: np.ndarray, n: int) -> np.ndarray:
    """Sorted (2, E) edges plus new undirected ``pairs`` (both directions), sorted (a merge of two sorted runs)."""
    new = _directed(pairs, n)
    key = np.concatenate([edge_index[0] * n + edge_index[1], new[0] * n + new[1]])
    order = np.argsort(key, kind="stable")
    return np.hstack([edge_index, new])[:, order]


def _append_vacancies(table: AtomTable, positions_A: np.ndarray) -> AtomTable:
    """``table`` followed by vacancy nodes at ``positions_A`` (a new table; ``table`` is not modified)."""
    m = len(positions_A)
    out = copy.copy(table)  # field by field below: no per-row string conversion
    out.positions_A = np.concatenate([table.positions_A, positions_A])
    out.element = np.concatenate([table.element, np.full(m, VACANCY_ELEMENT, dtype=object)])
    out.label = np.concatenate([table.label, np.full(m, "", dtype=object)])
    out.prob = np.r_[table.prob, np.full(m, np.nan)]
    out.score = np.r_[table.score, np.ones(m)]
    out.intensity = np.r_[table.intensity, np.full(m, np.nan)]
    out.vacancy = np.r_[table.vacancy, np.ones(m, bool)]
    out.ids = np.arange(len(table) + m)
    out.extra = {}
    for key, value in table.extra.items():
        value = np.asarray(value)
        shape = (m,) + value.shape[1:]
        if value.dtype.kind == "f":
            fill = np.zeros(shape) if key.startswith("p_") else np.full(shape, np.nan)
        elif value.dtype.kind in "iu":
            fill = np.full(shape, -1 if key == "input_id" else 0, dtype=value.dtype)
        elif value.dtype.kind == "b":
            fill = np.zeros(shape, bool)
        else:
            fill = np.full(shape, "", dtype=object)
        out.extra[key] = np.concatenate([value, fill])
    return out


def _real_count(tree: cKDTree, points_A: np.ndarray, radius_A: float) -> np.ndarray:
    """Number of tree points within ``radius_A`` of each point (vectorized inside the k-d tree)."""
    if len(points_A) == 0:
        return np.zeros(0)
    return np.asarray(tree.query_ball_point(points_A, radius_A, return_length=True), dtype=float)


def check_coordinates(positions_A: np.ndarray) -> np.ndarray:
    """``positions_A`` as floats; :class:`AtomgraphInputError` for NaN/inf or a coordinate over 1e9 Å."""
    positions_A = np.asarray(positions_A, float)
    if not np.all(np.isfinite(positions_A)):
        raise AtomgraphInputError("atom positions contain NaN or infinite values")
    if positions_A.size and float(np.abs(positions_A).max()) > MAX_COORDINATE_A:
        raise AtomgraphInputError(f"atom positions reach {float(np.abs(positions_A).max()):.3g} Å: these are not "
                                  "atomic coordinates in Å (check the units)")
    return positions_A


def check_positions(positions_A: np.ndarray, real: np.ndarray, bond_A: float, material: str = "",
                    tree: cKDTree | None = None) -> None:
    """Refuse positions that cannot be atomic columns in Å before any neighbor search.

    NaN/inf, coordinates beyond :data:`MAX_COORDINATE_A`, and (with at least :data:`SPACING_MIN_ATOMS` real atoms)
    a median nearest-neighbor distance outside :data:`SPACING_RANGE_BONDS` bonds: positions in nm or pixels given
    as Å would otherwise put every atom within the cutoff of every other (a graph of N² edges, minutes and
    gigabytes), and positions in pm would give a graph without edges and confident nonsense labels. ``tree`` is a
    cKDTree of ``positions_A`` when the caller has one (built here otherwise).
    """
    positions_A = check_coordinates(positions_A)
    pos = positions_A[np.asarray(real, bool)]
    if len(pos) < SPACING_MIN_ATOMS:
        return
    sample = pos[:: max(1, len(pos) // SPACING_SAMPLE)]
    dist, _ = (tree if tree is not None else cKDTree(positions_A)).query(sample, k=2)
    spacing = float(np.median(dist[:, 1]))
    lo, hi = SPACING_RANGE_BONDS
    if not lo * bond_A <= spacing <= hi * bond_A:
        raise AtomgraphInputError(
            f"the median nearest-neighbor distance of the atoms is {spacing:.3g} Å, but {material or 'the material'} "
            f"has {bond_A:.3g} Å bonds: are the positions in Å (not nm, pm or pixels), and is the pixel size right?")


def build_graph(atoms: AtomTable, material: str | Material = "graphene-si", *, cutoff: str | float | dict = "config",
                vacancies: bool = True) -> AtomGraph:
    """Neighbor graph of atomic columns with inferred vacancy sites and invariant features.

    Parameters
    ----------
    atoms : AtomTable or ase.Atoms
        Columns in Å (``positions_A``). Rows with ``vacancy=True`` are kept as given vacancy nodes. An ``ase.Atoms``
        is projected along z into columns (:func:`atomgraph.atoms.project_to_columns`) unless it was written from an
        AtomTable.
    material : str or Material
        Built-in name, config path or Material: gives the cutoffs, nominal bond, vacancy fill radius and vocabulary.
    cutoff : ``"config"``, ``"auto"``, float or dict
        ``"config"``: per element pair from ``graph.cutoffs_A`` (0 = no edge). ``"auto"``: one cutoff at the first
        minimum of the pair-distance histogram. float: one cutoff for all pairs (Å). dict ``{"A-B": Å}``: overrides
        of the config per pair.
    vacancies : bool
        Infer vacancy nodes from the lattice (:mod:`atomgraph.vacancies`).

    Returns
    -------
    AtomGraph
        Nodes are the input rows (ids renumbered 0..N-1, the input ids in ``extra['input_id']``) followed by the
        inferred vacancy nodes.

    Raises
    ------
    AtomgraphInputError
        Positions that cannot be columns in Å (:func:`check_positions`): NaN/inf, beyond 1e9 Å, or a median
        nearest-neighbor distance outside 0.4-4 bonds of the material (nm, pm or pixels given as Å).
    """
    mat = get_material(material)
    gcfg = mat.config.get("graph", {})
    bond = float(gcfg.get("bond_A", mat.bond_A))
    fill = float(gcfg.get("vacancy_fill_radius_A", 0.6 * bond))
    max_fraction = float(gcfg.get("vacancy_max_fraction", 0.05))
    table = as_atom_table(atoms)
    check_coordinates(table.positions_A)
    table.extra["input_id"] = table.ids.astype(np.int64)
    table.ids = np.arange(len(table))
    n0 = len(table)

    real = ~table.vacancy
    element = table.element.astype(str)
    key = np.where(real, np.where(element == "", UNKNOWN, element), VACANCY_ELEMENT)
    keys, code = np.unique(np.append(key, VACANCY_ELEMENT), return_inverse=True)
    code = code[:-1]
    cut, named, mode = cutoff_matrix(keys, mat, cutoff, table.positions_A[real], bond)
    density_radius = DENSITY_RADIUS_BONDS * bond

    pos = table.positions_A
    tree = cKDTree(pos) if n0 else None
    check_positions(pos, real, bond, mat.name, tree=tree)  # before the neighbor search, which is O(N²) when dense
    if n0 > 1:
        pairs = tree.query_pairs(float(cut.max()), output_type="ndarray")
    else:
        pairs = np.empty((0, 2), np.int64)
    diff = pos[pairs[:, 1]] - pos[pairs[:, 0]]
    dist = np.hypot(diff[:, 0], diff[:, 1])
    pair_cut = cut[code[pairs[:, 0]], code[pairs[:, 1]]]
    keep = (dist <= pair_cut) & (pair_cut > 0)
    edge_index = _directed(pairs[keep], max(n0, 1))

    flags = {"vacancy_overflow": False, "n_vacancies_dropped": 0, "n_vacancies_added": 0, "cutoff_mode": mode,
             "cutoff_A": named, "bond_A": bond, "n_input_vacancies": int((~real).sum())}
    if vacancies and real.sum() >= 3:
        real_idx = np.flatnonzero(real)
        real_tree = tree if len(real_idx) == n0 else cKDTree(pos[real_idx])
        sample = pos[real_idx[:: max(1, len(real_idx) // DENSITY_SAMPLE)]]  # strided: rotation invariant
        expected = float(np.median(_real_count(real_tree, sample, density_radius))) - 1.0  # minus the atom itself
        flags["expected_density"] = expected
        sites = infer_vacancy_sites(pos, real, edge_index, bond_A=bond, fill_radius_A=fill,
                                    density_radius_A=density_radius, expected_density=expected, tree=tree,
                                    real_tree=real_tree, max_fraction=max_fraction)
        flags.update(vacancy_overflow=sites.overflow, n_vacancies_dropped=sites.n_dropped,
                     n_vacancies_added=len(sites.positions_A))
        if len(sites.positions_A):
            m = len(sites.positions_A)
            vcode = int(np.flatnonzero(keys == VACANCY_ELEMENT)[0])
            site_tree = cKDTree(sites.positions_A)
            sdm = site_tree.sparse_distance_matrix(tree, float(cut[vcode].max()), output_type="ndarray")
            vk, nj, vd = sdm["i"].astype(np.int64), sdm["j"].astype(np.int64), sdm["v"]
            ok = (vd <= cut[vcode, code[nj]]) & (cut[vcode, code[nj]] > 0)
            vv = site_tree.query_pairs(cut[vcode, vcode], output_type="ndarray")
            new_pairs = np.concatenate([np.column_stack([nj[ok], n0 + vk[ok]]), n0 + vv]).astype(np.int64)
            table = _append_vacancies(table, sites.positions_A)
            pos = table.positions_A
            edge_index = _merge_edges(edge_index, new_pairs, len(table))
            real = ~table.vacancy
    n = len(table)
    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    length = np.hypot(vectors[:, 0], vectors[:, 1])
    real_dst = real[edge_index[1]]

    element = table.element.astype(str)
    species, species_names = F.species_evidence(element, table.vacancy, table.extra, species_classes(mat))
    rel, missing = F.relative_intensity(table.intensity, _intensity_group(element, table, mat))
    geometry = F.bond_geometry(edge_index, vectors, real_dst, n)
    shell = F.shell_completeness(edge_index, real_dst, n)
    shell_ref = float(np.median(shell[real])) if real.any() else 0.0
    columns = [species, rel, missing, geometry, shell / shell_ref if shell_ref > 0 else np.zeros(n),
               table.vacancy, np.nan_to_num(table.score, nan=0.0)]
    names = (species_names + ["intensity_rel", "intensity_missing"] + F.GEOMETRY_NAMES
             + ["shell_completeness_rel", "is_vacancy", "detection_score"])
    node_features = np.empty((n, len(names)), dtype=np.float32)
    col = 0
    for block in columns:  # a handful of blocks, each written straight into the float32 table
        block = np.asarray(block)
        width = 1 if block.ndim == 1 else block.shape[1]
        node_features[:, col:col + width] = block.reshape(n, width)
        col += width
    to_vac = ~real[edge_index[0]] | ~real_dst
    edge_feats, edge_names = edge_feature_table(length, to_vac, bond)
    log.debug("graph: %d nodes (%d vacancy), %d edges", n, int((~real).sum()), edge_index.shape[1])
    return AtomGraph(atoms=table, edge_index=edge_index, edge_length_A=length, node_features=node_features,
                     feature_names=names, edge_features=edge_feats, material=mat.name, flags=flags,
                     edge_feature_names=edge_names)
