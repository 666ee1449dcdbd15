"""Labeled nodes -> defects: one row per defect, with its center and member sites.

A defect is a connected group of bonded nodes carrying the same defect label (any label that is not a host label of
the material) outside masked regions (``masked``: no lattice there, or saturated pixels; see
:func:`atomgraph.graph.build.masked_nodes`), together with their direct neighbors as member sites: a ``Si4`` and its
four C neighbors are one defect; two bonded Si3 form one defect labeled ``Si3+Si3``; a W next to an Se1 are two
defects. Connected novel nodes (outside every class seen in training) form one defect labeled ``unknown``. The
table is the Defects CSV of the contract:
``id,label,x_px,y_px,x_A,y_A,site_ids`` (``site_ids`` space-separated node ids) followed by ``prob`` (lowest
probability among the defect nodes), ``uncertain`` and ``n_sites``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .io.safe_write import atomic_output
from .io.tables import format_value
from .materials import get_material

UNKNOWN = "unknown"   # label of a defect made of connected novel nodes
MASK_REACH_BONDS = 2  # novel nodes within this many bonds of a masked node form no unknown defect
MIN_TAIL_COLUMNS = 200   # host columns of one label a frame needs before their own novelty spread is read
SCAN_ROW_MIN = 4         # this many novel host groups on one scan row are a scan-line glitch, not defects
SCAN_ROW_PX = 2.0        # ... their centers within this of one another in y (px)
EDGE_TAIL_BONDS = 1.0    # host columns this close to the frame's border (bonds) alone form no unknown defect
HOST_TAIL_NOVELTY = 1.5  # novel host columns alone form an unknown defect only beyond this novelty: a host class
#                          is flagged at its 99.5 % quantile, so a 1024² graphene frame (4 000 columns) holds a
#                          few host columns just past it; a new structure moves more than one column, is not a
#                          host label, or lies far beyond (an antisite's brightness)
DEFECTS_COLUMNS = ["id", "label", "x_px", "y_px", "x_A", "y_A", "site_ids", "prob", "uncertain", "n_sites"]


@dataclass
class Defect:
    """One defect: ``label``, center in Å and px, the ids of its defect nodes and of all member sites."""

    id: int
    label: str
    center_A: np.ndarray
    center_px: np.ndarray
    core_ids: list[int]
    site_ids: list[int]
    prob: float
    uncertain: bool


def host_tail_levels(graph, novelty: np.ndarray, labels: np.ndarray, host_labels) -> np.ndarray:
    """(N,) the novelty up to which host columns alone are the tail of their class in this frame, not a new
    structure: :data:`HOST_TAIL_NOVELTY`, raised to what the frame's own columns of that host label reach by chance
    (median plus ``sqrt(2 ln n)`` robust spreads of their novelty: the largest of ``n`` Gaussian draws, so a frame of
    30,000 columns read a little off as a whole, at a coarse pixel size, does not make a dozen lone columns
    ``unknown``), and unbounded within :data:`EDGE_TAIL_BONDS` of the observed region's border (a column the frame
    cuts off is read from half its neighborhood)."""
    level = np.full(len(labels), HOST_TAIL_NOVELTY)
    for host in host_labels:
        mine = (labels == host) & np.isfinite(novelty)
        values = novelty[mine]
        if len(values) >= MIN_TAIL_COLUMNS:
            center = float(np.median(values))
            spread = 1.4826 * float(np.median(np.abs(values - center)))
            level[mine] = max(HOST_TAIL_NOVELTY, center + np.sqrt(2.0 * np.log(len(values))) * spread)
    if "edge_distance_bonds" in graph.feature_names:
        level[graph.feature("edge_distance_bonds") < EDGE_TAIL_BONDS] = np.inf
    return level


def scan_row_groups(atoms, groups: list) -> set[int]:
    """``id``s of the groups (host columns only) that lie on one scan row of the image with at least
    :data:`SCAN_ROW_MIN` - 1 others (centers within :data:`SCAN_ROW_PX` px in y): a scan line that jumped or
    dimmed makes a row of odd columns across the frame, not defects. Empty for coordinates (no scan)."""
    if atoms.image_shape_px is None or atoms.pixel_size_A is None or len(groups) < SCAN_ROW_MIN:
        return set()
    rows = np.array([atoms.positions_px[g, 1].mean() for g in groups])
    order = np.argsort(rows)
    out = set()
    for i in range(len(order)):
        same = np.abs(rows[order] - rows[order[i]]) <= SCAN_ROW_PX
        if same.sum() >= SCAN_ROW_MIN:
            out.update(id(groups[j]) for j in order[same])
    return out


def _dopant_pairs(graph, novel: np.ndarray) -> np.ndarray:
    """(2, P) index pairs of novel dopant columns (an element that is not a host element) closer than the
    material's ``graph.dopant_pair_A``: a Si dimer on second-neighbor sites shares no edge but is one structure
    (:func:`atomgraph.classify.novelty_checks.dopant_bond_novelty` flagged it); none without that key."""
    material = get_material(graph.material)
    reach_A = material.settings.graph.dopant_pair_A
    atoms = graph.atoms
    dopant = np.flatnonzero(novel & ~np.asarray(atoms.vacancy, bool)
                            & ~np.isin(atoms.element.astype(str), list(material.host_elements)))
    if reach_A is None or len(dopant) < 2:
        return np.zeros((2, 0), np.int64)
    pairs = cKDTree(atoms.positions_A[dopant]).query_pairs(float(reach_A), output_type="ndarray")
    return dopant[pairs.T.reshape(2, -1)]


def _unknown_groups(graph, novel: np.ndarray, labels: np.ndarray, host_labels) -> list:
    """Connected groups of ``novel`` nodes (labeled columns and empty sites) that are unknown defects: with a
    labeled column among them, and not host columns alone within :func:`host_tail_levels` or along one scan row
    (:func:`scan_row_groups`)."""
    atoms = graph.atoms
    src, dst = np.concatenate([np.asarray(graph.edge_index).reshape(2, -1), _dopant_pairs(graph, novel)], axis=1)
    vacancy = np.asarray(atoms.vacancy, dtype=bool)
    unknown = _components(novel & ((labels != "") | vacancy), src, dst, np.ones(len(src), bool), len(atoms))
    unknown = [g for g in unknown if (labels[g] != "").any()]   # an empty site joins the novel columns around it
    novelty = atoms.novelty if atoms.novelty is not None else np.full(len(atoms), np.inf)
    level = host_tail_levels(graph, novelty, labels, host_labels)
    hosts_only = [not vacancy[g].any() and np.isin(labels[g], list(host_labels)).all() for g in unknown]
    glitch = scan_row_groups(atoms, [g for g, only in zip(unknown, hosts_only) if only])
    return [g for g, only in zip(unknown, hosts_only)
            if not (only and ((novelty[g] <= level[g]).all() or id(g) in glitch))]


def find_defects(graph, host_labels: list[str] | None = None) -> list[Defect]:
    """Group defect-labeled nodes of a classified :class:`~atomgraph.graph.AtomGraph` into defects.

    Nodes marked novel (``novel``, :mod:`atomgraph.classify.novelty`) keep their best known label but are
    not counted as that defect: connected novel nodes with a label (host or defect label, vacancy nodes included)
    form one defect labeled :data:`UNKNOWN`, with the novel empty sites among them even when unlabeled (the empty
    site of a graphene monovacancy, a material without a vacancy label), except near a masked region (a novel node
    within :data:`MASK_REACH_BONDS` bonds of a masked node is part of that region's fuzzy edge: no defects there),
    and except a group of host-labeled columns (no empty site among them) whose novelty is nowhere above
    :func:`host_tail_levels` (at least :data:`HOST_TAIL_NOVELTY`; they stay ``novel`` in the atoms table, but a few
    such columns in thousands, alone or side by side in a noisy or coarsely sampled patch, are the tail of their
    class, not a new structure: a new structure has a column past that, a defect label or an empty site), nor
    groups of host columns strung along one scan row (:func:`scan_row_groups`: a scan-line glitch);
    unlabeled located columns (``''``: judged no lattice column, e.g. a false detection on contamination) stay out
    of defects as before, novel or not, and appear only as member sites.

    Parameters
    ----------
    graph : AtomGraph
        An AtomGraph whose ``atoms.label`` is set (from :func:`atomgraph.classify`).
    host_labels : list of str, optional
        Labels that are *not* defects. Default: the host labels of ``graph.material``.

    Returns
    -------
    list of Defect
        One per group of connected defect nodes (and per ``unknown`` group); centers in Å and px.
    """
    atoms = graph.atoms
    if host_labels is None:
        host_labels = get_material(graph.material).host_labels
    n = len(atoms)
    labels = np.asarray(atoms.label, dtype=object)
    masked = atoms.masked if atoms.masked is not None else np.zeros(n, bool)
    novel = (atoms.novel if atoms.novel is not None else np.zeros(n, bool)) & ~masked
    is_defect = (labels != "") & ~np.isin(labels, list(host_labels)) & ~masked & ~novel
    src, dst = np.asarray(graph.edge_index)
    groups = _components(is_defect, src, dst, labels[src] == labels[dst], n)
    touches_mask = masked.copy()
    for _ in range(MASK_REACH_BONDS):   # a mask's edge is fuzzy: novel nodes this close to it belong to it
        touches_mask[src[touches_mask[dst]]] = True
    groups += _unknown_groups(graph, novel & ~touches_mask, labels, host_labels)
    groups.sort(key=lambda g: (atoms.positions_A[g, 1].mean(), atoms.positions_A[g, 0].mean()))
    uncertain = atoms.uncertain if atoms.uncertain is not None else np.zeros(n, bool)
    defects = []
    for k, core in enumerate(groups):
        core_arr = np.array(core)
        neighbors = dst[np.isin(src, core_arr)]
        sites = sorted(set(core) | set(int(j) for j in neighbors))
        label = UNKNOWN if novel[core_arr[0]] else "+".join(sorted(str(labels[i]) for i in core))
        prob = float(np.nanmin(atoms.prob[core_arr])) if np.isfinite(atoms.prob[core_arr]).any() else float("nan")
        defects.append(Defect(id=k, label=label, center_A=atoms.positions_A[core_arr].mean(axis=0),
                              center_px=atoms.positions_px[core_arr].mean(axis=0),
                              core_ids=[int(atoms.ids[i]) for i in core],
                              site_ids=[int(atoms.ids[i]) for i in sites], prob=prob,
                              uncertain=bool(uncertain[core_arr].any())))
    return defects


def _components(member: np.ndarray, src: np.ndarray, dst: np.ndarray, joins: np.ndarray, n: int) -> list[list[int]]:
    """Connected groups (node index lists) of the ``member`` nodes over the edges where ``joins`` holds."""
    idx = np.flatnonzero(member)
    if len(idx) == 0:
        return []
    both = member[src] & member[dst] & joins
    adjacency = coo_matrix((np.ones(int(both.sum())), (src[both], dst[both])), shape=(n, n))
    _, component = connected_components(adjacency, directed=False)
    groups: dict[int, list[int]] = {}
    for i in idx:
        groups.setdefault(int(component[i]), []).append(int(i))
    return list(groups.values())


def defect_counts(defects: list[Defect]) -> dict[str, int]:
    """Number of defects per label."""
    counts: dict[str, int] = {}
    for d in defects:
        counts[d.label] = counts.get(d.label, 0) + 1
    return dict(sorted(counts.items()))


def write_defects_csv(defects: list[Defect], path: str | Path, force: bool = False) -> None:
    """Write the Defects CSV (see module docstring), atomically."""
    with atomic_output(path, force) as handle:
        writer = csv.writer(handle)
        writer.writerow(DEFECTS_COLUMNS)
        for d in defects:
            writer.writerow([d.id, d.label, format_value(d.center_px[0]), format_value(d.center_px[1]),
                             format_value(d.center_A[0]), format_value(d.center_A[1]), " ".join(map(str, d.site_ids)),
                             format_value(d.prob),
                             format_value(d.uncertain), len(d.site_ids)])
