"""Lattice checks of novelty: single physical quantities a Gaussian over ~100 numbers dilutes.

The descriptor Gaussians (:mod:`atomgraph.classify.novelty`) see one odd number among a hundred as a small step. Two
facts are better read on their own, against what each known label did on the fit simulations:

- **Brightness.** A column's integrated intensity against the reference columns around it (the most uniform host
  label), in units of the frame's own spread of those columns: a Mo on a Se site is 0.7 of a Se2 column, between
  ``Se1`` (0.5) and ``Se2`` (1), and at 1e5 e/Å² that is 5-10 spreads from both, yet well inside the pooled
  (all-dose) ``Se1`` distribution the Gaussian sees. ``z = (log(I / m_ref) - c_label) / sqrt(s_frame² + t_label²)``
  with ``m_ref`` the local mean ``log I`` of the reference columns (:func:`local_reference`), ``s_frame`` the
  frame's robust spread of reference columns about their local means, ``c_label`` the label's median and
  ``t_label`` its own spread beyond the frame noise (a W column's ratio moves with the detector's Z exponent; a
  Se1's does not). A column is novel when its brightness fits none of the labels it could be on its sublattice (a
  Se1 the classifier read as Se2 is not; a W on a Se site, read against Se2 and Se1, is). Columns within
  :data:`EDGE_BONDS` of the region border are not read.
- **Vacancy clusters.** Empty sites joined by a bond or a shared neighbor form a cluster; each node reads the size
  of the largest cluster it is part of or bonded to. Training keeps defects apart (``min_separation_A``), so no
  taught label has an empty site next to another: a line of chalcogen vacancies and the metals around it have
  clusters of 3-6.

- **Dopants beside dopants.** Every taught label holds one dopant (a Si, a W): a dopant column within the
  material's ``graph.dopant_pair_A`` of another is a structure the vocabulary lacks, whatever the Gaussians say. By
  default that reach is :data:`DOPANT_BOND_BONDS` (bonded dopants: a Si-Si bond of a dimer or trimer at 1.7-2.1 Å).
  Graphene's config reaches across a hexagon (3.1 Å): two threefold Si on second- or third-neighbor sites are a Si
  dimer of the real library (``Si2C6``); training holds such pairs so that each Si's own label is right, and the
  pair is still flagged. A TMD alloy's dopants on neighboring metal sites are no new structure: the default there.

Each check has a threshold per label: a high quantile (:data:`CHECK_QUANTILES`) of that label's own values on
held-out simulations. The novelty of a node is the largest of the Gaussian score and these checks, each divided by
its threshold. Masked nodes (no lattice there) take no part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, identity
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

#: quantile of its own label's held-out values each check's threshold sits at, by kind of label; stricter than the
#: Gaussians' (:data:`atomgraph.classify.novelty.QUANTILES`) so the three tests together keep the flag rates
CHECK_QUANTILES = {"host": 0.999, "defect": 0.99}
EDGE_BONDS = 1.5     # the brightness check skips columns nearer the border of the observed region (in bonds): their
                     # background and disc sums are cut by the frame
MIN_REFERENCE = 20   # a frame needs this many reference columns of known intensity for the brightness check
REFERENCE_SIGMA_A = 4.0   # a node's brightness is compared with the reference columns within about this (Gaussian
                          # weights; ~25 columns of graphene or MoSe2), so smooth backgrounds cancel
REFERENCE_CELL_A = 1.0    # grid cell on which those weights are summed
MAD_TO_SIGMA = 1.4826
DOPANT_BOND_BONDS = 1.5   # default reach of the dopant-pair check (bonds): bonded dopants (second neighbors: 1.73)
DOPANT_BOND_NOVELTY = 2.0  # the novelty such a pair's dopants get (novel: > 1)


@dataclass
class LatticeChecks:
    """Per-label centers, spreads and thresholds of the brightness and vacancy-cluster checks.

    Attributes
    ----------
    labels : the classifier's labels (the arrays below are in this order).
    label_roles : each label's sublattice role ('' when it has none, as in graphene).
    reference : index of the reference label (the most common host label in the fit set).
    intensity_center : (L,) median ``log(I / m_ref)`` per label (NaN: not fitted, check off for it).
    intensity_spread : (L,) the label's spread beyond the frame's noise (natural-log units).
    intensity_threshold : (L,) ``|z|`` at the label's held-out quantile.
    cluster_threshold : (L,) largest vacancy-cluster size at the label's held-out quantile.
    """

    labels: list[str]
    label_roles: list[str]
    reference: int
    intensity_center: np.ndarray
    intensity_spread: np.ndarray
    intensity_threshold: np.ndarray
    cluster_threshold: np.ndarray

    ARRAYS = ("intensity_center", "intensity_spread", "intensity_threshold", "cluster_threshold")

    def score(self, intensity: np.ndarray, positions_A: np.ndarray, label: np.ndarray, candidates: np.ndarray,
              vacancy: np.ndarray, edge_index: np.ndarray, edge_bonds: np.ndarray | None = None,
              frame: np.ndarray | None = None) -> np.ndarray:
        """(N,) the larger of the two checks' values over their thresholds for each node (> 1: novel); 0 where
        neither applies.

        ``intensity`` (N,) image units (NaN unknown); ``positions_A`` (N, 2) Å; ``label`` (N,) each node's best
        known label index (-1: none), read by the cluster check; ``candidates`` (N, L) bool, the labels the node
        could be (:func:`candidate_labels`): the brightness is novel only when it fits none of them; ``vacancy``
        (N,) bool; ``edge_index`` (2, E); ``edge_bonds`` (N,) distance to the border of the observed region in bonds
        (None: all inside); ``frame`` (N,) frame ids or None (one frame).
        """
        intensity = readable_intensity(intensity, edge_bonds)
        median, noise = local_reference(intensity, label, self.reference, positions_A, frame)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.log(intensity) - median
        return self.score_inputs(log_ratio, noise, label, candidates, vacancy_cluster_size(vacancy, edge_index))

    def score_inputs(self, log_ratio: np.ndarray, noise: np.ndarray, label: np.ndarray, candidates: np.ndarray,
                     cluster: np.ndarray) -> np.ndarray:
        """:meth:`score` from its inputs: ``log(I / m_ref)`` and the frame's reference spread per node (NaN:
        unknown), the best known label index, the candidate labels and the vacancy-cluster size."""
        label = np.asarray(label, np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (log_ratio[:, None] - self.intensity_center[None]) / np.sqrt(
                noise[:, None] ** 2 + self.intensity_spread[None] ** 2)
            ratio = np.abs(z) / self.intensity_threshold[None]
        usable = np.asarray(candidates, bool) & np.isfinite(ratio)
        out = np.where(usable.any(axis=1), np.where(usable, ratio, np.inf).min(axis=1), 0.0).astype(np.float32)
        has = (label >= 0) & (cluster > 0)
        out[has] = np.maximum(out[has], (cluster[has] + 0.5) / (self.cluster_threshold[label[has]] + 0.5))
        return out


def known_label(scores: np.ndarray, allowed: np.ndarray, n_labels: int) -> np.ndarray:
    """(N,) index of each node's best known label among those it may take (-1: it may take none, e.g. an empty
    site in a material without a vacancy label). ``scores``: logits or probabilities (N, L + 1)."""
    masked = np.where(allowed[:, :n_labels], scores[:, :n_labels], -np.inf)
    best = np.argmax(masked, axis=1) if len(masked) else np.zeros(0, np.int64)
    return np.where(allowed[:, :n_labels].any(axis=1), best, -1)


def check_labels(scores: np.ndarray, allowed: np.ndarray, masked: np.ndarray, roles: np.ndarray | None,
                 label_roles: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """What the checks read each node as, in use and in fitting alike: (N,) its best known label (:func:`known_label`;
    -1 also for a masked node: no lattice there) and (N, L) the labels it could be (:func:`candidate_labels`; none
    where it has no known label). ``scores`` and ``allowed`` (N, L + 1); ``label_roles`` (L,)."""
    n_labels = len(label_roles)
    known = np.where(np.asarray(masked, bool), -1, known_label(scores, allowed, n_labels))
    candidates = candidate_labels(allowed[:, :n_labels], roles, label_roles)
    candidates[known < 0] = False
    return known, candidates


def readable_intensity(intensity: np.ndarray, edge_bonds: np.ndarray | None = None) -> np.ndarray:
    """(N,) intensities as the brightness check reads them: NaN within :data:`EDGE_BONDS` of the region border
    (``edge_bonds`` (N,), in bonds; None: all inside)."""
    intensity = np.asarray(intensity, float)
    return intensity if edge_bonds is None else np.where(np.asarray(edge_bonds) >= EDGE_BONDS, intensity, np.nan)


def candidate_labels(allowed: np.ndarray, roles: np.ndarray | None, label_roles: list[str]) -> np.ndarray:
    """(N, L) bool: the labels a node could be for the brightness check: those the classifier allows it
    (``allowed`` (N, L)) that belong to its sublattice (``roles`` (N,) from the lattice model, '' unknown; None
    when the material has no sublattice roles). A W on a Se site is then read against Se2 and Se1 only."""
    out = np.asarray(allowed, bool).copy()
    if roles is not None:
        roles = np.asarray(roles, dtype=object).astype(str)
        for k, role in enumerate(label_roles):
            if role:
                out[:, k] &= (roles == role) | (roles == "")
    return out


def vacancy_cluster_size(vacancy: np.ndarray, edge_index: np.ndarray) -> np.ndarray:
    """(N,) int: size of the largest cluster of empty sites a node is part of or bonded to (0: none).

    Two vacancy nodes are in one cluster when they are bonded or share a bonded neighbor (two empty Se sites of one
    Mo). ``edge_index`` (2, E): graph edges (either direction suffices).
    """
    vacancy = np.asarray(vacancy, bool)
    n = len(vacancy)
    out = np.zeros(n, np.int64)
    vac = np.flatnonzero(vacancy)
    if len(vac) == 0 or edge_index.size == 0:
        out[vac] = 1
        return out
    src, dst = np.asarray(edge_index[0]), np.asarray(edge_index[1])
    adjacency = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(np.float32)
    rows = adjacency[vac]
    linked = (rows @ rows.T + rows[:, vac] + identity(len(vac), format="csr")) > 0
    _, component = connected_components(linked, directed=False)
    size = np.bincount(component)[component]
    out[vac] = size
    sel = vacancy[src]
    np.maximum.at(out, dst[sel], out[src[sel]])
    sel = vacancy[dst]
    np.maximum.at(out, src[sel], out[dst[sel]])
    return out


def local_reference(intensity: np.ndarray, label: np.ndarray, reference: int, positions_A: np.ndarray,
                    frame: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per node the local mean log intensity of the reference columns around it (Gaussian weights of
    :data:`REFERENCE_SIGMA_A`) and the robust spread of the reference columns about their own local means in its
    frame (NaN when the frame has fewer than :data:`MIN_REFERENCE` reference columns of known intensity).

    Local, not frame-wide: a smooth background or a thickness change makes one side of a frame 10-40 % brighter
    than the other, which a frame-wide median would read as odd columns. The weights are summed on a grid of
    :data:`REFERENCE_CELL_A` cells and smoothed there (a few ms for a 1024² frame, where nearest-neighbor medians
    took 15 ms).
    """
    intensity = np.asarray(intensity, float)
    positions_A = np.asarray(positions_A, float)
    frame = np.zeros(len(label), np.int64) if frame is None else np.unique(frame, return_inverse=True)[1]
    mean = np.full(len(label), np.nan)
    spread = np.full(len(label), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_i = np.log(intensity)
    for f in np.unique(frame):
        mine = np.flatnonzero(frame == f)
        ref = mine[(label[mine] == reference) & np.isfinite(log_i[mine])]
        if len(ref) < MIN_REFERENCE:
            continue
        origin = positions_A[mine].min(axis=0)
        cell = (positions_A - origin) / REFERENCE_CELL_A   # (x, y) in cells
        shape = (int(cell[mine, 1].max()) + 2, int(cell[mine, 0].max()) + 2)
        used = ref
        for _ in range(2):   # the second pass leaves out reference columns far off the first (misread columns)
            mean[mine] = _smoothed_mean(log_i[used], cell[used], cell[mine], shape)
            own = log_i[ref] - mean[ref]
            spread[mine] = max(MAD_TO_SIGMA * float(np.median(np.abs(own - np.median(own)))), 1e-3)
            used = ref[np.abs(own) <= 3.0 * spread[ref]]
    return mean, spread


def _smoothed_mean(values: np.ndarray, at: np.ndarray, query: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Gaussian-weighted mean (:data:`REFERENCE_SIGMA_A`) of ``values`` placed at ``at`` (cells, x y), read at
    ``query`` (cells): sums and counts binned on the grid, smoothed, divided, interpolated."""
    from scipy.ndimage import gaussian_filter, map_coordinates

    ij = np.floor(at).astype(int)
    total = np.zeros(shape)
    count = np.zeros(shape)
    np.add.at(total, (ij[:, 1], ij[:, 0]), values)
    np.add.at(count, (ij[:, 1], ij[:, 0]), 1.0)
    sigma = REFERENCE_SIGMA_A / REFERENCE_CELL_A
    local = gaussian_filter(total, sigma, mode="constant") / np.maximum(gaussian_filter(count, sigma, mode="constant"),
                                                                         1e-9)
    centered = query - 0.5   # cell centers sit at +0.5
    return map_coordinates(local, [centered[:, 1], centered[:, 0]], order=1, mode="nearest")


def fit_checks(labels: list[str], label_roles: list[str], kinds: list[str], fit: dict, held: dict
               ) -> LatticeChecks:
    """Fit the checks on the fit set and take their thresholds on the held-out set.

    ``fit`` and ``held``: dicts of per-node arrays over many simulated frames: ``truth`` (label index, -1 none),
    ``log_ratio`` (log intensity over the frame's reference median, NaN unknown), ``noise`` (the frame's reference
    spread), ``cluster`` (vacancy-cluster size), and ``reference`` (int, the reference label used for both).
    """
    n = len(labels)
    center = np.full(n, np.nan)
    spread = np.zeros(n)
    z_thr = np.full(n, np.inf)
    c_thr = np.zeros(n)
    for k in range(n):
        mine = (fit["truth"] == k) & np.isfinite(fit["log_ratio"]) & np.isfinite(fit["noise"])
        if mine.sum() >= 20:
            r = fit["log_ratio"][mine]
            center[k] = np.median(r)
            pooled = (MAD_TO_SIGMA * np.median(np.abs(r - center[k]))) ** 2
            spread[k] = np.sqrt(max(pooled - float(np.median(fit["noise"][mine] ** 2)), 0.0))
        q = CHECK_QUANTILES["host" if kinds[k] == "host" else "defect"]
        held_mine = held["truth"] == k
        z = np.abs((held["log_ratio"][held_mine] - center[k])
                   / np.sqrt(held["noise"][held_mine] ** 2 + spread[k] ** 2))
        z = z[np.isfinite(z)]
        if len(z) >= 20:
            z_thr[k] = max(float(np.quantile(z, q)), 1.0)
        sizes = np.concatenate([fit["cluster"][fit["truth"] == k], held["cluster"][held_mine]])
        c_thr[k] = float(np.quantile(sizes, q)) if len(sizes) else 0.0
    return LatticeChecks(list(labels), list(label_roles), int(fit["reference"]), center.astype(np.float32),
                         spread.astype(np.float32), z_thr.astype(np.float32), np.ceil(c_thr).astype(np.float32))


def dopant_pair_reach_A(graph, material) -> float | None:
    """Distance within which two dopants of ``graph`` form one structure (see the module docstring).

    Parameters
    ----------
    graph : AtomGraph
        The graph; its ``flags['bond_A']`` (the lattice model's bond, Å) sets the default.
    material : Material
        Its material; ``settings.graph.dopant_pair_A`` when set.

    Returns
    -------
    float or None
        The reach, Å: ``dopant_pair_A``, else :data:`DOPANT_BOND_BONDS` bonds; None without either (a graph built
        without a lattice model, in a material without the key).
    """
    if material.settings.graph.dopant_pair_A is not None:
        return float(material.settings.graph.dopant_pair_A)
    return DOPANT_BOND_BONDS * float(graph.flags["bond_A"]) if "bond_A" in graph.flags else None


def dopant_bond_novelty(dopant: np.ndarray, positions_A: np.ndarray, reach_A: float) -> np.ndarray:
    """(N,) :data:`DOPANT_BOND_NOVELTY` for a dopant node closer than ``reach_A`` to another dopant node, else 0
    (see the module docstring).

    Parameters
    ----------
    dopant : numpy.ndarray
        (N,) bool, the nodes read as dopant columns.
    positions_A : numpy.ndarray
        (N, 2) node positions, Å.
    reach_A : float
        Largest distance of two dopants that form one structure, Å (the material's ``graph.dopant_pair_A``).

    Returns
    -------
    numpy.ndarray
        (N,) float32 novelty of each node from this check.
    """
    dopant = np.asarray(dopant, bool)
    out = np.zeros(len(dopant), np.float32)
    index = np.flatnonzero(dopant)
    if len(index) < 2:
        return out
    pairs = cKDTree(np.asarray(positions_A, float)[index]).query_pairs(reach_A, output_type="ndarray")
    out[index[pairs.ravel()]] = DOPANT_BOND_NOVELTY
    return out
