"""Node and edge features of the atom graph, as small pure NumPy functions.

Every function takes arrays and returns arrays; none keeps state. All features are invariant under rotation and
translation of the input positions (they use distances, angle *differences* and moduli of bond-orientational order
parameters only), so the classifier sees the same numbers whatever the image orientation.

Edge conventions: ``edge_index`` is (2, E) with both directions present; ``src = edge_index[0]`` is the node the
statistic is aggregated on, ``dst = edge_index[1]`` its neighbor, and ``vectors_A = pos[dst] - pos[src]`` (Å).
Geometric statistics use only edges to *real* neighbors (``real_dst``), i.e. measured positions, never inferred
vacancy sites; vacancy neighbors are counted separately.

Node features built by :func:`node_features` (name: unit, meaning)

- ``species_<X>``: probability in [0, 1] that the column is element X: the locator's ``p_<X>`` when present, else the
  one-hot of the given element; all zero for vacancy nodes.
- ``species_other``: 1 when a real column's element is outside the material's vocabulary (coordinate files).
- ``intensity_rel``: dimensionless, column intensity divided by the median intensity of its sublattice class in the
  same image (e.g. W / median of metal columns, Se1 / median of chalcogen columns); 0 when unknown.
- ``intensity_missing``: 1 when the intensity is unknown (NaN, e.g. coordinate files, vacancy nodes), else 0.
- ``coordination``: count, number of real neighbors.
- ``n_vacancy_neighbors``: count, number of vacancy-node neighbors.
- ``bond_mean_A``, ``bond_min_A``, ``bond_max_A``, ``bond_std_A``: Å, statistics of the lengths to real neighbors.
- ``angle_gap_min_deg``, ``angle_gap_max_deg``, ``angle_gap_std_deg``: degrees, statistics of the angular gaps
  between consecutive bonds around the node (gaps sum to 360; one neighbor gives a single gap of 360).
- ``psi3``, ``psi4``, ``psi6``: dimensionless in [0, 1], bond-orientational order ``|mean_j exp(i k theta_j)|``.
- ``offcenter_A``: Å, distance from the node to the centroid of its real neighbors.
- ``shell_completeness_rel``: dimensionless, :func:`shell_completeness` (bonds within two hops) divided by its
  median over real atoms: 1 inside the lattice, about 0.5-0.8 at the border of the point cloud, in holes and next
  to vacancies.
- ``is_vacancy``: 1 for vacancy nodes, else 0.
- ``detection_score``: detection score in [0, 1] (1 for coordinates given by a user, and for vacancy nodes).
- the lattice model's features (:data:`atomgraph.graph.lattice.FEATURE_NAMES`): offsets from the nearest expected
  site and bond midpoint, anchor agreement, occupancy of the expected neighbor sites, distance to the region border.

Edge features (:func:`edge_feature_table`): a Gaussian radial basis of the length, the length over the nominal bond,
and a vacancy-edge flag.
"""

from __future__ import annotations

import numpy as np

from ..atoms import AtomTable
from ..materials import Material

N_RBF = 16
RBF_RANGE_BONDS = (0.6, 1.7)

GEOMETRY_NAMES = ["coordination", "n_vacancy_neighbors", "bond_mean_A", "bond_min_A", "bond_max_A", "bond_std_A",
                  "angle_gap_min_deg", "angle_gap_max_deg", "angle_gap_std_deg", "psi3", "psi4", "psi6",
                  "offcenter_A"]


def species_evidence(element: np.ndarray, vacancy: np.ndarray, extra: dict, classes: list[str]
                     ) -> tuple[np.ndarray, list[str]]:
    """Per-node species probabilities over ``classes``, plus ``species_other``.

    Uses ``extra['p_<class>']`` (the locator's class probabilities; NaN read as 0) when any is present, otherwise the
    one-hot of ``element``. Vacancy nodes get zeros. Returns (N, len(classes) + 1) float and the names.
    """
    n = len(element)
    out = np.zeros((n, len(classes) + 1))
    have_probs = any(f"p_{c}" in extra for c in classes)
    for k, c in enumerate(classes):
        if have_probs:
            if f"p_{c}" in extra:
                out[:, k] = np.nan_to_num(np.asarray(extra[f"p_{c}"], dtype=float), nan=0.0)
        else:
            out[:, k] = element == c
    known = np.isin(element.astype(str), np.array(classes, dtype=str)) if classes else np.zeros(n, bool)
    out[:, -1] = ~known & ~vacancy
    out[vacancy] = 0.0
    return out, [f"species_{c}" for c in classes] + ["species_other"]


def relative_intensity(intensity: np.ndarray, group: np.ndarray, min_group: int = 3
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Intensity divided by the median of its group (sublattice class within one image).

    Parameters
    ----------
    intensity : (N,) float, image units, NaN when unknown.
    group : (N,) int, group code per node (e.g. ``frame * n_classes + class``); negative codes are not normalized.
    min_group : groups with fewer known intensities than this use the median over all known intensities.

    Returns
    -------
    rel : (N,) float, dimensionless (0 where unknown); missing : (N,) float, 1 where the intensity is unknown.
    """
    intensity = np.asarray(intensity, dtype=float)
    known = np.isfinite(intensity) & (group >= 0)
    rel = np.zeros(len(intensity))
    if known.any():
        overall = np.median(intensity[known])
        codes = np.unique(group[known])
        for g in codes:  # one iteration per sublattice class: a handful
            sel = known & (group == g)
            med = np.median(intensity[sel]) if sel.sum() >= min_group else overall
            rel[sel] = intensity[sel] / med if med != 0 else 0.0
    missing = (~known).astype(float)
    return rel, missing


def _segment_minmax(values: np.ndarray, src_sorted: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-node min and max of ``values`` for edges sorted by ``src_sorted`` (0 for nodes without edges)."""
    vmin = np.zeros(n)
    vmax = np.zeros(n)
    if len(values) == 0:
        return vmin, vmax
    starts = np.flatnonzero(np.r_[True, src_sorted[1:] != src_sorted[:-1]])
    nodes = src_sorted[starts]
    vmin[nodes] = np.minimum.reduceat(values, starts)
    vmax[nodes] = np.maximum.reduceat(values, starts)
    return vmin, vmax


def _segment_sum_complex(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(index, values.real, n) + 1j * np.bincount(index, values.imag, n)


def bond_geometry(edge_index: np.ndarray, vectors_A: np.ndarray, real_dst: np.ndarray, n: int) -> np.ndarray:
    """The :data:`GEOMETRY_NAMES` features, (N, 13) float (see the module docstring for units).

    ``edge_index`` must be sorted by source node (as :func:`atomgraph.graph.build_graph` returns it).
    """
    src_all = edge_index[0]
    n_vac = np.bincount(src_all[~real_dst], minlength=n).astype(float)
    src = src_all[real_dst]
    vec = vectors_A[real_dst]
    length = np.hypot(vec[:, 0], vec[:, 1])
    coord = np.bincount(src, minlength=n).astype(float)
    safe = np.maximum(coord, 1.0)
    mean = np.bincount(src, length, n) / safe
    var = np.bincount(src, length**2, n) / safe - mean**2
    std = np.sqrt(np.clip(var, 0.0, None))
    lmin, lmax = _segment_minmax(length, src, n)

    z = (vec[:, 0] + 1j * vec[:, 1]) / np.maximum(length, 1e-12)  # unit bond directions exp(i theta)
    z2 = z * z
    z3 = z2 * z
    psi = [np.abs(_segment_sum_complex(zk, src, n) / safe) for zk in (z3, z2 * z2, z3 * z3)]
    cx = np.bincount(src, vec[:, 0], n) / safe
    cy = np.bincount(src, vec[:, 1], n) / safe
    offcenter = np.hypot(cx, cy)

    # angular gaps between consecutive bonds around each node (cyclic); one float sort key: node + angle fraction
    theta = np.arctan2(vec[:, 1], vec[:, 0])
    order = np.argsort(src + (theta + np.pi) / (2 * np.pi + 1e-9))
    s_sorted, t_sorted = src[order], theta[order]
    gmin = np.zeros(n)
    gmax = np.zeros(n)
    gstd = np.zeros(n)
    if len(s_sorted):
        m = len(s_sorted)
        nxt = np.arange(1, m + 1)
        last = np.r_[s_sorted[1:] != s_sorted[:-1], True]
        starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
        first_of = np.repeat(starts, np.diff(np.r_[starts, m]))
        nxt[last] = first_of[last]
        gap = np.degrees(np.mod(t_sorted[nxt] - t_sorted, 2 * np.pi))
        gap[last & (nxt == np.arange(m))] = 360.0  # a single neighbor: one full-circle gap
        gmin, gmax = _segment_minmax(gap, s_sorted, n)
        gmean = np.bincount(s_sorted, gap, n) / safe
        gstd = np.sqrt(np.clip(np.bincount(s_sorted, gap**2, n) / safe - gmean**2, 0.0, None))
    return np.column_stack([coord, n_vac, mean, lmin, lmax, std, gmin, gmax, gstd, *psi, offcenter])


def shell_completeness(edge_index: np.ndarray, real_dst: np.ndarray, n: int) -> np.ndarray:
    """Bonds within two hops of each node: its real coordination plus the real coordinations of its real
    neighbors (12 inside an ideal honeycomb; fewer at borders, holes and next to vacancies), (N,) float."""
    src, dst = edge_index[0][real_dst], edge_index[1][real_dst]
    coord = np.bincount(src, minlength=n).astype(float)
    return coord + np.bincount(src, coord[dst], n)


def gaussian_expansion(lengths_A: np.ndarray, centers_A: np.ndarray, width_A: float) -> np.ndarray:
    """Radial basis ``exp(-((d - c) / width)^2 / 2)`` of edge lengths (Å) at ``centers_A``; (E, K) float32."""
    d = np.asarray(lengths_A, dtype=np.float32)[:, None]
    x = (d - np.asarray(centers_A, dtype=np.float32)[None, :]) * np.float32(1.0 / float(width_A))
    return np.exp(np.float32(-0.5) * x * x)


def element_classes(material: Material) -> dict[str, str]:
    """Element -> sublattice class for intensity normalization: the host element of the sublattice it sits on
    (graphene: C and Si -> C; MoSe2: Mo and W -> Mo, Se -> Se)."""
    host = material.settings.lattice.host
    classes = {el: el for el in host.values()}
    for defect in material.settings.defects:
        element = defect.element
        recipe = material.family.RECIPES.get(defect.recipe)
        if element and recipe is not None:
            roles = [r for r in ([defect.role] if defect.role else recipe.roles) if r in host]
            if roles:
                classes.setdefault(element, host[roles[0]])
    return classes


def species_classes(material: Material) -> list[str]:
    """The species vocabulary: the locator's classes when the config names them, else the elements."""
    classes = material.settings.locator.classes
    return list(classes) if classes else sorted(element_classes(material))


def intensity_group(element: np.ndarray, table: AtomTable, material: Material) -> np.ndarray:
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
    table[:, :N_RBF] = gaussian_expansion(lengths_A, centers, width)
    table[:, N_RBF] = lengths_A / bond_A
    table[:, N_RBF + 1] = to_vacancy
    names = [f"length_rbf_{c:.2f}_A" for c in centers] + ["length_rel", "to_vacancy"]
    return table, names
