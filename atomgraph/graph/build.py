"""Atoms -> lattice model -> neighbor graph with vacancy sites and lattice-relative features.

:func:`build_graph` is the third pipeline stage. It takes the locator's :class:`~atomgraph.atoms.AtomTable` (or a
coordinate file's, or an ``ase.Atoms``) and returns an :class:`~atomgraph.graph.container.AtomGraph`:

1. Edges: one ``scipy.spatial.cKDTree.query_pairs`` at the largest cutoff, then a per-element-pair cutoff
   (config ``graph.cutoffs_A``; ``0.0`` means no edge for that pair, e.g. Mo-Mo in a TMD projection). Edges to vacancy
   nodes use, per neighbor element, the smallest non-zero cutoff involving that element (the host bond).
2. The lattice model (:mod:`atomgraph.graph.lattice`): the ideal lattice fitted to the columns with a smooth local
   strain field; its empty expected sites become vacancy nodes, appended after the input rows.
3. Node features (:mod:`atomgraph.graph.features`: species evidence, intensity, bond geometry, and the lattice
   model's site/midpoint offsets and neighbor-site occupancy) and edge features. The classifier reads exactly these
   nodes, edges and features.

Examples
--------
>>> import numpy as np
>>> from atomgraph.atoms import AtomTable
>>> a = 2.46
>>> cell = np.array([[0.0, 0.0], [a / 2, a / (2 * np.sqrt(3))]])
>>> grid = np.array([[i * a + j * a / 2, j * a * np.sqrt(3) / 2] for i in range(12) for j in range(12)])
>>> xy = (grid[:, None, :] + cell[None]).reshape(-1, 2)
>>> keep = np.ones(len(xy), bool); keep[150] = False   # one carbon missing inside the flake
>>> g = build_graph(AtomTable(xy[keep], ["C"] * int(keep.sum())), "graphene-si")
>>> vacancy_sites = g.atoms.positions_A[g.atoms.vacancy]
>>> len(vacancy_sites), bool(np.allclose(vacancy_sites, xy[150], atol=0.05))
(1, True)
"""

from __future__ import annotations

import copy
import logging

import numpy as np
from scipy.spatial import cKDTree

from ..atoms import VACANCY_ELEMENT, AtomTable, project_to_columns
from ..errors import AtomgraphInputError
from ..materials import Material, get_material
from . import features as F
from .checks import check_coordinates, check_positions
from .container import GRAPH_VERSION, AtomGraph
from .cutoffs import cutoff_matrix
from .lattice import LatticeModel, Region, fit_lattice

log = logging.getLogger(__name__)

UNKNOWN = "?"  # element key of real atoms whose element is not given
MASK_CONSISTENCY = 0.5  # atoms whose anchors agree less than this on their lattice position are masked
MASK_RADIUS_BONDS = 2.5  # a non-anchor atom is masked when, within this radius (bonds),
MASK_ANCHOR_SHARE = 0.5  # ... fewer than this share of the atoms are anchors (no lattice around it)
MASK_GROW_BONDS = 2.0    # masked regions grow by this much (bonds): their border is no lattice either


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
        if "vacancy" in atoms.arrays or "atom_id" in atoms.arrays:  # written by AtomTable.to_ase / our extxyz
            return AtomTable.from_ase(atoms)
        return project_to_columns(atoms)
    raise AtomgraphInputError(f"build_graph needs an AtomTable or ase.Atoms, got {type(atoms).__name__}")


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
    for name, value in table.extended_records(m).items():
        setattr(out, name, value)
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


def element_roles(material: Material) -> tuple[dict[str, str], tuple[str, str]]:
    """Each element's sublattice role, and the two roles.

    Parameters
    ----------
    material : Material
        The material (config ``lattice.host`` keys name the roles).

    Returns
    -------
    roles : dict of str to str
        Element -> sublattice role; dopants take their host's role.
    pair : tuple of str
        The two roles, A first.
    """
    host = material.settings.lattice.host
    roles = tuple(host)[:2]
    by_host = {el: role for role, el in host.items()}
    return {el: by_host[h] for el, h in F.element_classes(material).items() if h in by_host}, roles


def graph_bond_A(material: Material) -> float:
    """The nominal bond of the graph stage, Å: config ``graph.bond_A``, else ``lattice.a_A / sqrt(3)``."""
    return float(material.settings.graph.bond_A or material.bond_A)


def fit_material_lattice(table: AtomTable, material: Material, tree: cKDTree | None = None) -> LatticeModel:
    """The lattice model of ``material`` fitted to the nodes of ``table``.

    Parameters
    ----------
    table : AtomTable
        The nodes; the frame comes from the table's image shape (px) and pixel size (Å/px).
    material : Material
        The material (bond length, sublattice roles, vacancy fill radius).
    tree : scipy.spatial.cKDTree, optional
        A k-d tree of the table's positions, when the caller has one.

    Returns
    -------
    LatticeModel
        The fitted model, with the empty expected sites.
    """
    gcfg = material.settings.graph
    bond = graph_bond_A(material)
    roles_map, roles = element_roles(material)
    region = Region.from_atoms(table.positions_A[~table.vacancy], table.pixel_size_A, table.image_shape_px)
    return fit_lattice(table.positions_A, ~table.vacancy, table.element.astype(str), bond_A=bond,
                       fill_radius_A=gcfg.vacancy_fill_radius_A or 0.6 * bond, region=region,
                       element_roles=roles_map, roles=roles,
                       max_fraction=gcfg.vacancy_max_fraction, tree=tree)


def masked_nodes(table: AtomTable, consistency: np.ndarray, lattice: LatticeModel) -> np.ndarray:
    """(N,) bool: nodes where no lattice can be read, whose labels are not defects: atoms the lattice model cannot
    place (their anchors disagree, or they are not anchors themselves and most atoms around them are not either:
    amorphous patches, contamination, hole edges) and columns on saturated pixels (``saturated`` from the
    locator). Without a fitted lattice nothing is masked."""
    masked = np.zeros(len(table), bool)
    if lattice.fitted:
        real = ~table.vacancy
        masked |= real & (consistency < MASK_CONSISTENCY)
        anchor = np.zeros(len(table), bool)
        anchor[lattice.anchor_node] = True
        loose = np.flatnonzero(real & ~anchor)  # not fixed by its own bonds: is there a lattice around it?
        if len(loose):
            radius = MASK_RADIUS_BONDS * lattice.bond_A
            # the strain field's tree holds exactly the real atoms (vacancy nodes come after them)
            near_all = lattice.strain.tree.query_ball_point(table.positions_A[loose], radius, return_length=True)
            near_anchor = lattice.anchor_tree.query_ball_point(table.positions_A[loose], radius, return_length=True)
            masked[loose] |= near_anchor < MASK_ANCHOR_SHARE * np.maximum(near_all, 1)
    if masked.any():  # the border of a region without lattice is no lattice either: grow it by two bonds
        near = cKDTree(table.positions_A[masked]).query(table.positions_A, k=1,
                                                         distance_upper_bound=MASK_GROW_BONDS * lattice.bond_A)[0]
        masked |= np.isfinite(near)
    if table.saturated is not None:  # a clipped column alone: its neighbors' lattice is fine
        masked |= table.saturated
    return masked


def masking_warnings(atoms: AtomTable, limit: float = 0.2) -> list[str]:
    """One-line warnings when more than ``limit`` of a frame's nodes are masked (their labels are no defects),
    saying why: clipped (saturated) columns, or no readable lattice (amorphous, contamination, holes)."""
    masked = atoms.masked if atoms.masked is not None else np.zeros(len(atoms), bool)
    if len(atoms) == 0 or masked.mean() <= limit:
        return []
    saturated = masked & (atoms.saturated if atoms.saturated is not None else False)
    why = []
    if saturated.any():
        why.append(f"{int(saturated.sum())} have clipped (saturated) peaks")
    if (masked & ~saturated).any():
        why.append(f"{int((masked & ~saturated).sum())} lie where no lattice can be read (amorphous, contamination, "
                   "holes, or a wrong pixel size)")
    return [f"{100 * masked.mean():.0f} % of the {len(atoms)} nodes are masked and never become defects: "
            + "; ".join(why)]


def _edges(table: AtomTable, cut: np.ndarray, code: np.ndarray, tree: cKDTree | None) -> np.ndarray:
    """(2, E) edges among the rows of ``table`` within their element-pair cutoffs, both directions, sorted."""
    n0 = len(table)
    if n0 < 2:
        return np.empty((2, 0), np.int64)
    pos = table.positions_A
    pairs = tree.query_pairs(float(cut.max()), output_type="ndarray")
    dist = np.hypot(*(pos[pairs[:, 1]] - pos[pairs[:, 0]]).T)
    pair_cut = cut[code[pairs[:, 0]], code[pairs[:, 1]]]
    return _directed(pairs[(dist <= pair_cut) & (pair_cut > 0)], n0)


def _vacancy_pairs(sites_A: np.ndarray, tree: cKDTree, cut: np.ndarray, code: np.ndarray, vcode: int,
                   n0: int) -> np.ndarray:
    """(P, 2) undirected pairs between new vacancy nodes (numbered from ``n0``) and existing nodes / each other."""
    site_tree = cKDTree(sites_A)
    sdm = site_tree.sparse_distance_matrix(tree, float(cut[vcode].max()), output_type="ndarray")
    vk, nj, vd = sdm["i"].astype(np.int64), sdm["j"].astype(np.int64), sdm["v"]
    ok = (vd <= cut[vcode, code[nj]]) & (cut[vcode, code[nj]] > 0)
    vv = site_tree.query_pairs(cut[vcode, vcode], output_type="ndarray")
    return np.concatenate([np.column_stack([nj[ok], n0 + vk[ok]]), n0 + vv]).astype(np.int64)


def node_feature_table(table: AtomTable, edge_index: np.ndarray, material: Material, lattice: LatticeModel
                       ) -> tuple[np.ndarray, list[str]]:
    """(N, F) float32 node features and their names (see :mod:`atomgraph.graph.features`)."""
    n = len(table)
    pos, real = table.positions_A, ~table.vacancy
    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    real_dst = real[edge_index[1]]
    element = table.element.astype(str)
    species, species_names = F.species_evidence(element, table.vacancy, table.extra, F.species_classes(material))
    rel, missing = F.relative_intensity(table.intensity, F.intensity_group(element, table, material))
    geometry = F.bond_geometry(edge_index, vectors, real_dst, n)
    shell = F.shell_completeness(edge_index, real_dst, n)
    shell_ref = float(np.median(shell[real])) if real.any() else 0.0
    lattice_feats, _ = lattice.describe(pos, real)
    columns = [species, rel, missing, geometry, shell / shell_ref if shell_ref > 0 else np.zeros(n),
               table.vacancy, np.nan_to_num(table.score, nan=0.0), lattice_feats]
    names = (species_names + ["intensity_rel", "intensity_missing"] + F.GEOMETRY_NAMES
             + ["shell_completeness_rel", "is_vacancy", "detection_score"] + lattice.feature_names)
    out = np.empty((n, len(names)), dtype=np.float32)
    col = 0
    for block in columns:  # a handful of blocks, each written straight into the float32 table
        block = np.asarray(block)
        width = 1 if block.ndim == 1 else block.shape[1]
        out[:, col:col + width] = block.reshape(n, width)
        col += width
    return out, names


def build_graph(atoms: AtomTable, material: str | Material = "graphene-si", *, cutoff: str | float | dict = "config",
                vacancies: bool = True) -> AtomGraph:
    """Neighbor graph of atomic columns on the fitted lattice, with vacancy nodes and invariant features.

    Parameters
    ----------
    atoms : AtomTable or ase.Atoms
        Columns in Å (``positions_A``). Rows with ``vacancy=True`` are kept as given vacancy nodes. An ``ase.Atoms``
        is projected along z into columns (:func:`atomgraph.atoms.project_to_columns`) unless it was written from an
        AtomTable. A table from an image (``image_shape_px`` set) has its frame as the observed region; otherwise
        the convex hull of the atoms is.
    material : str or Material
        Built-in name, config path or Material: gives the lattice, cutoffs, nominal bond and vocabulary.
    cutoff : ``"config"``, ``"auto"``, float or dict
        ``"config"``: per element pair from ``graph.cutoffs_A`` (0 = no edge). ``"auto"``: one cutoff at the first
        minimum of the pair-distance histogram. float: one cutoff for all pairs (Å). dict ``{"A-B": Å}``: overrides
        of the config per pair.
    vacancies : bool
        Add vacancy nodes at the empty expected sites of the lattice model.

    Returns
    -------
    AtomGraph
        Nodes are the input rows (ids renumbered 0..N-1, the input ids in ``extra['input_id']``) followed by the
        vacancy nodes; ``flags`` holds the lattice model's statistics.

    Raises
    ------
    AtomgraphInputError
        Positions that cannot be columns in Å (:func:`check_positions`): NaN/inf, beyond 1e9 Å, or a median
        nearest-neighbor distance outside 0.4-4 bonds of the material (nm, pm or pixels given as Å).
    """
    mat = get_material(material)
    bond = graph_bond_A(mat)
    table = _numbered_table(atoms)
    n0 = len(table)
    real = ~table.vacancy
    keys, code = _element_codes(table)
    cut, named, mode = cutoff_matrix(keys, mat, cutoff, table.positions_A[real], bond)
    tree = cKDTree(table.positions_A) if n0 else None
    check_positions(table.positions_A, real, bond, mat.name, tree=tree)  # before the O(N²)-when-dense search
    edge_index = _edges(table, cut, code, tree)

    lattice = fit_material_lattice(table, mat, tree)  # the edges' tree: one k-d tree of the atoms, not two
    flags = _flags(mode, named, bond, int((~real).sum()), lattice)
    if vacancies and len(lattice.vacancies_A):
        vcode = int(np.flatnonzero(keys == VACANCY_ELEMENT)[0])
        new_pairs = _vacancy_pairs(lattice.vacancies_A, tree, cut, code, vcode, n0)
        table = _append_vacancies(table, lattice.vacancies_A)
        edge_index = _merge_edges(edge_index, new_pairs, len(table))
        flags["n_vacancies_added"] = len(lattice.vacancies_A)
    node_features, names = node_feature_table(table, edge_index, mat, lattice)
    table.masked = masked_nodes(table, node_features[:, names.index("lattice_consistency")], lattice)
    flags["n_masked"] = int(table.masked.sum())
    length, edge_feats, edge_names = _edge_table(table, edge_index, bond)
    log.debug("graph: %d nodes (%d vacancy), %d edges", len(table), int(table.vacancy.sum()), edge_index.shape[1])
    return AtomGraph(atoms=table, edge_index=edge_index, edge_length_A=length, node_features=node_features,
                     feature_names=names, edge_features=edge_feats, material=mat, flags=flags,
                     edge_feature_names=edge_names, lattice=lattice)


def _numbered_table(atoms) -> AtomTable:
    """The input as a checked AtomTable with ids 0..N-1 (the input ids kept in ``extra['input_id']``)."""
    table = as_atom_table(atoms)
    check_coordinates(table.positions_A)
    table.extra["input_id"] = table.ids.astype(np.int64)
    table.ids = np.arange(len(table))
    return table


def _element_codes(table: AtomTable) -> tuple[np.ndarray, np.ndarray]:
    """The element keys of the cutoff table (``UNKNOWN`` for a column without element, ``VACANCY_ELEMENT`` always
    present) and each row's index into them."""
    real = ~table.vacancy
    element = table.element.astype(str)
    key = np.where(real, np.where(element == "", UNKNOWN, element), VACANCY_ELEMENT)
    keys, code = np.unique(np.append(key, VACANCY_ELEMENT), return_inverse=True)
    return keys, code[:-1]


def _flags(mode: str, cutoffs_A: dict, bond_A: float, n_input_vacancies: int, lattice) -> dict:
    """The graph's ``flags``: cutoff mode and cutoffs (Å), nominal bond (Å), vacancy counts, the graph version and
    the lattice model's scalar statistics (``lattice_*``)."""
    return {"cutoff_mode": mode, "cutoff_A": cutoffs_A, "bond_A": bond_A, "n_input_vacancies": n_input_vacancies,
            "n_vacancies_added": 0, "vacancy_overflow": lattice.n_vacancies_dropped > 0,
            "n_vacancies_dropped": lattice.n_vacancies_dropped, "graph_version": GRAPH_VERSION,
            **{f"lattice_{k}": v for k, v in lattice.stats.items() if not isinstance(v, list)}}


def _edge_table(table: AtomTable, edge_index: np.ndarray, bond_A: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Edge lengths (Å), the edge feature table and its names (:func:`atomgraph.graph.features.edge_feature_table`)."""
    pos = table.positions_A
    length = np.hypot(*(pos[edge_index[1]] - pos[edge_index[0]]).T)
    to_vac = table.vacancy[edge_index[0]] | table.vacancy[edge_index[1]]
    edge_feats, edge_names = F.edge_feature_table(length, to_vac, bond_A)
    return length, edge_feats, edge_names
