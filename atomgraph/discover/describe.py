"""A rotation-invariant vector per novel group (connected novel nodes) for clustering, and a crop to show it.

The vector (:func:`group_vector`) joins, for the group's core nodes: the mean and the maximum of their GNN
embeddings (invariant by construction), the mean of their standardized node inputs (lattice residuals, bond
statistics, species evidence), the group size and share of vacancy nodes, and two histograms over the group and its
bonded neighbors: bond lengths in units of the lattice bond, and the angular gaps between consecutive bonds around
each core node. Nothing depends on the frame's orientation, position or pixel size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOND_BINS = np.linspace(0.6, 1.7, 12)        # bond length / lattice bond
ANGLE_BINS = np.linspace(0.0, 180.0, 10)     # degrees between consecutive bonds around a node
CROP_RADIUS_A = 7.0                          # half side of a gallery crop, Å


@dataclass
class Crop:
    """What a gallery shows of one group: the image patch and the graph inside it (patch pixel coordinates).

    ``image`` (h, w); ``xy_px`` (M, 2) node positions; ``edges`` (E, 2) indices into them; ``label``, ``element``
    (M,); ``core`` (M,) bool, the group's own nodes; ``vacancy`` (M,) bool.
    """

    image: np.ndarray
    xy_px: np.ndarray
    edges: np.ndarray
    label: np.ndarray
    element: np.ndarray
    core: np.ndarray
    vacancy: np.ndarray


def _neighbors(src: np.ndarray, dst: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    return np.union1d(nodes, dst[np.isin(src, nodes)])


def _angle_gaps(positions: np.ndarray, src: np.ndarray, dst: np.ndarray, core: np.ndarray) -> np.ndarray:
    gaps = []
    for i in core:
        nb = dst[src == i]
        if len(nb) < 2:
            continue
        d = positions[nb] - positions[i]
        ang = np.sort(np.degrees(np.arctan2(d[:, 1], d[:, 0])))
        gap = np.diff(np.r_[ang, ang[0] + 360.0])
        gaps.append(np.minimum(gap, 360.0 - gap))
    return np.concatenate(gaps) if gaps else np.zeros(0)


def _histogram(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    h, _ = np.histogram(np.clip(values, bins[0], bins[-1]), bins=bins)
    return h / max(len(values), 1)


def group_vector(graph, descriptors: np.ndarray, hidden: int, core: np.ndarray, bond_A: float) -> np.ndarray:
    """The rotation-invariant vector of one group (see module docstring).

    Parameters
    ----------
    graph : the classified AtomGraph.
    descriptors : (N, hidden + F) node descriptors (:func:`atomgraph.classify.predict_with_descriptors`).
    hidden : width of the GNN embedding at the start of each descriptor.
    core : node indices of the group.
    bond_A : the lattice's projected bond, Å.
    """
    src, dst = np.asarray(graph.edge_index)
    pos = graph.atoms.positions_A
    emb = descriptors[core, :hidden]
    raw = descriptors[core, hidden:]
    near = _neighbors(src, dst, core)
    sel = np.isin(src, core) & np.isin(dst, near)
    lengths = np.linalg.norm(pos[src[sel]] - pos[dst[sel]], axis=1) / bond_A
    vacancy = np.asarray(graph.atoms.vacancy, bool)[core]
    size = np.array([np.log1p(len(core)), vacancy.mean()])
    return np.concatenate([emb.mean(0), emb.max(0), raw.mean(0), size, _histogram(lengths, BOND_BINS),
                           _histogram(_angle_gaps(pos, src, dst, core), ANGLE_BINS)]).astype(np.float32)


def group_crop(graph, image: np.ndarray, core: np.ndarray, pixel_size_A: float) -> Crop:
    """The image patch (:data:`CROP_RADIUS_A` around the group's center) and the graph nodes inside it."""
    atoms = graph.atoms
    center = atoms.positions_px[core].mean(axis=0)
    r = int(np.ceil(CROP_RADIUS_A / pixel_size_A))
    x0, y0 = int(round(center[0])) - r, int(round(center[1])) - r
    h, w = image.shape
    patch = np.asarray(image[max(y0, 0):min(y0 + 2 * r + 1, h), max(x0, 0):min(x0 + 2 * r + 1, w)], np.float32)
    inside = np.flatnonzero(np.all(np.abs(atoms.positions_px - center) <= r, axis=1))
    local = {int(i): k for k, i in enumerate(inside)}
    src, dst = np.asarray(graph.edge_index)
    keep = np.isin(src, inside) & np.isin(dst, inside) & (src < dst)
    edges = np.array([[local[int(a)], local[int(b)]] for a, b in zip(src[keep], dst[keep])], int).reshape(-1, 2)
    return Crop(image=patch, xy_px=atoms.positions_px[inside] - [max(x0, 0), max(y0, 0)], edges=edges,
                label=np.asarray(atoms.label, dtype=object)[inside].astype(str),
                element=np.asarray(atoms.element, dtype=object)[inside].astype(str),
                core=np.isin(inside, core), vacancy=np.asarray(atoms.vacancy, bool)[inside])
