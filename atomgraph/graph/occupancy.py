"""Image evidence at empty sites: is an expected site the graph stage found empty really empty, or did the locator
miss a column there?

The lattice model places a vacancy node wherever an expected site holds no located column. The locator misses about
one column in 10⁴ (a noisy column, one cut by the frame edge), and each miss becomes a vacancy that the classifier
then reads as a defect (``Sevac``) or an ``unknown`` cluster: on defect-free simulated 1024² frames these were most
of the false defects (issue 22). The image itself says which it is.

**Measure** (:func:`site_ratios`). Around each candidate site, the image within ``FIT_RADIUS_BONDS`` is modelled as
a constant plus one Gaussian of the frame's column width per column: the site itself and every located column
within ``MODEL_RADIUS_BONDS``; the amplitudes come from one linear least-squares fit. The site's amplitude divided by
the median amplitude of its same-sublattice second shell (``√3`` bonds away in a honeycomb or 2H projection, the
columns that share its expected element) is its *occupancy ratio*: about 1 for a host column, 0.5 for a column with
half its atoms (``Se1`` in ``Se2``'s place), 0 for an empty site. Fitting the neighbors' Gaussians too keeps the
tails of bright neighbors (the metals around a chalcogen site) out of the site's amplitude, which a disk sum around
the site does not: there a true ``Svac`` of WS2 read 0.2-0.8 of an S2 column.

**Noise** (:func:`frame_ratio_spread`): the same ratio measured on located host columns (each fitted as if it were a
candidate site, itself left out of the model) spreads around 1 by the frame's noise; its robust spread ``s`` is how
far a single site's ratio can be trusted.

**Decision** (:func:`missed_columns`): a site holds a column the locator missed when its ratio is at least
``FILLED_RATIO`` (below the dimmest column a site holds, one chalcogen of two at 0.5: a threshold at 0.5 made a
missed single-atom column flip between vacancy and column from frame to frame), at least ``SIGNIFICANCE`` × ``s``
above empty, and
the light the fit gives the site is centered on it (within ``OFFSET_BONDS``; light from a column the locator
missed beside the site, such as the Si of a ``Si4`` between two empty sites, is not). In a
noisy frame (``s`` large) no site passes and every vacancy stays as the graph stage placed it. A site with a located
column within ``CLEAR_BONDS`` (a ``Si4``'s two empty sites beside its Si) is not tested: its amplitude is not
separable from that column's. Nor is a site beside a dopant (within ``DOPANT_REACH_BONDS``): a dopant column is
brighter and often wider than the frame's column width (a Si that moves during the scan), so the part of it one
Gaussian does not fit leaks into the site's amplitude (the empty center of a Si trimer read as a carbon), and an
empty site beside a dopant is a defect of its own far more often than a missed host column. The exception is a gap
in a dopant's own ring (:func:`dopant_ring_gaps`, at least ``RING_CLEAR_BONDS`` from it): whether the fourth carbon
around a ``Si4`` is there is exactly what its label turns on, and the graph stage places no vacancy node there.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..atoms import AtomTable
from .build import build_graph, graph_bond_A
from .lattice import OCCUPIED_BONDS
from .splits import merge_split_columns

FIT_RADIUS_BONDS = 2.0     # pixels within this of the site are fitted: its second shell's centers lie inside
MODEL_RADIUS_BONDS = 3.0   # located columns within this of the site get their own Gaussian
SHELL_BONDS = (1.4, 2.1)   # same-sublattice second shell (√3 ≈ 1.73 bonds): the ratio's reference
CLEAR_BONDS = 0.8          # a site with a located column closer than this is not tested
DOPANT_REACH_BONDS = 1.3   # ... nor one with a dopant (a column of no host element) this close
RING_CLEAR_BONDS = 1.0     # ... unless it is a gap in that dopant's ring at least this far from it
OFFSET_BONDS = 0.25        # a site's own signal must be centered this close to it (bonds) ...
OFFSET_RADIUS_BONDS = 0.7  # ... its centroid taken within this of the site
FILLED_RATIO = 0.3         # occupancy ratio from which a site holds a column (0 empty, 0.5 one chalcogen of two,
                           # 1 a host column; simulated empty sites measured at most 0.14)
SIGNIFICANCE = 3.0         # ... and this many of the frame's ratio spreads above empty
SIGMA_GRID_A = np.linspace(0.2, 0.9, 8)  # column widths (Gaussian sigma, Å) tried for the frame
SAMPLE_COLUMNS = 24        # located columns the noise is measured on
SIGMA_COLUMNS = 8          # ... and the column width on (the first of them)
PIXEL_STEP_A = 0.1         # fitted pixels are taken at least this far apart (Å): finer sampling adds little


def _window(image: np.ndarray, pixel_size_A: float, center_A: np.ndarray, radius_A: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x (nx,) Å, y (ny,) Å, inside (ny, nx) bool, values (M,)) of the image pixels within ``radius_A`` of
    ``center_A`` on a grid every ``PIXEL_STEP_A``, clipped to the frame; ``values`` are the ``inside`` ones."""
    h, w = image.shape
    step = max(int(round(PIXEL_STEP_A / pixel_size_A)), 1)
    c, r = np.asarray(center_A, float) / pixel_size_A, radius_A / pixel_size_A
    xs = np.arange(max(int(np.ceil(c[0] - r)), 0), min(int(np.floor(c[0] + r)), w - 1) + 1, step)
    ys = np.arange(max(int(np.ceil(c[1] - r)), 0), min(int(np.floor(c[1] + r)), h - 1) + 1, step)
    inside = (xs[None, :] - c[0]) ** 2 + (ys[:, None] - c[1]) ** 2 <= r * r
    return xs * pixel_size_A, ys * pixel_size_A, inside, image[np.ix_(ys, xs)][inside].astype(float)


def _fit(window: tuple, columns_A: np.ndarray, sigma_A: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Least-squares (coefficients (K + 1,): the constant then one amplitude per column, design matrix (M, K + 1)) of
    a constant plus Gaussians at ``columns_A`` over a :func:`_window`; None where the window holds too few pixels.
    The Gaussians are separable on the pixel grid (a product of an x and a y profile)."""
    xs, ys, inside, values = window
    k = len(columns_A)
    if len(values) <= k + 1:
        return None
    gx = np.exp(-((xs[None, :] - columns_A[:, :1]) ** 2) / (2.0 * sigma_A**2))   # (K, nx)
    gy = np.exp(-((ys[None, :] - columns_A[:, 1:]) ** 2) / (2.0 * sigma_A**2))   # (K, ny)
    design = np.empty((len(values), k + 1))
    design[:, 0] = 1.0
    design[:, 1:] = (gy[:, :, None] * gx[:, None, :])[:, inside].T
    gram = design.T @ design
    gram[np.diag_indices_from(gram)] += 1e-9 * np.trace(gram) / (k + 1)   # two columns on one spot stay solvable
    return np.linalg.solve(gram, design.T @ values), design


def _amplitudes(window: tuple, columns_A: np.ndarray, sigma_A: float) -> tuple[np.ndarray, float]:
    """(amplitudes (K,), mean squared residual) of :func:`_fit` (NaN where the window is too small)."""
    fit = _fit(window, columns_A, sigma_A)
    if fit is None:
        return np.full(len(columns_A), np.nan), np.nan
    coef, design = fit
    return coef[1:], float(np.mean((window[3] - design @ coef) ** 2))


def _signal_offset(window: tuple, coef: np.ndarray, design: np.ndarray, site_A: np.ndarray, radius_A: float
                   ) -> float:
    """Distance (Å) from ``site_A`` to the centroid of what the fit leaves to the site (the image less the
    constant and every other column, positive part, within ``radius_A``): near 0 for a column on the site, large
    for light from an unmodelled column beside it (a missed dopant)."""
    xs, ys, inside, values = window
    xx, yy = np.meshgrid(xs, ys)
    xy = np.c_[xx[inside], yy[inside]]
    own = values - design @ coef + design[:, 1] * coef[1]
    weight = np.where(np.linalg.norm(xy - site_A, axis=1) <= radius_A, np.clip(own, 0.0, None), 0.0)
    if weight.sum() <= 0:
        return float("inf")
    return float(np.linalg.norm(weight @ xy / weight.sum() - site_A))


def gaussian_amplitudes(image: np.ndarray, pixel_size_A: float, center_A: np.ndarray, columns_A: np.ndarray,
                        sigma_A: float, radius_A: float) -> tuple[np.ndarray, float]:
    """(amplitudes (K,), mean squared residual) of a constant plus one Gaussian (``sigma_A``, Å) at each of
    ``columns_A`` (K, 2) Å, fitted by linear least squares to the pixels within ``radius_A`` of ``center_A``.
    Amplitudes in image units; NaN where the window holds too few pixels."""
    window = _window(image, pixel_size_A, center_A, radius_A)
    return _amplitudes(window, np.asarray(columns_A, float).reshape(-1, 2), sigma_A)


def column_sigma(image: np.ndarray, pixel_size_A: float, columns: cKDTree, bond_A: float, sample: np.ndarray
                 ) -> float:
    """The frame's column width (Gaussian sigma, Å): the value of :data:`SIGMA_GRID_A` whose fits around the
    ``sample`` columns (indices into ``columns``, the k-d tree of the located columns in Å) leave the least
    residual."""
    tree, columns_A = columns, columns.data
    cost = np.zeros(len(SIGMA_GRID_A))
    for i in sample:
        near = tree.query_ball_point(columns_A[i], MODEL_RADIUS_BONDS * bond_A)
        window = _window(image, pixel_size_A, columns_A[i], 1.2 * bond_A)
        for k, sigma in enumerate(SIGMA_GRID_A):
            cost[k] += np.nan_to_num(_amplitudes(window, columns_A[near], sigma)[1], nan=0.0)
    return float(SIGMA_GRID_A[int(np.argmin(cost))])


def site_ratios(image: np.ndarray, pixel_size_A: float, sites_A: np.ndarray, columns: cKDTree, bond_A: float,
                sigma_A: float, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """((S,) occupancy ratio of each site: its fitted amplitude over the median of its same-sublattice second
    shell's (see the module docstring), (S,) offset of the site's own signal in bonds (:func:`_signal_offset`)).
    ``columns``: k-d tree of the K located columns (Å); ``exclude`` (S,) index into them of a column to leave out of
    each site's model (-1: none; used to measure located columns as if they were sites). NaN where fewer than two
    shell columns are seen."""
    tree, columns_A = columns, columns.data
    out = np.full(len(sites_A), np.nan)
    offset = np.full(len(sites_A), np.nan)
    for s, site in enumerate(np.asarray(sites_A, float)):
        near = np.asarray(tree.query_ball_point(site, MODEL_RADIUS_BONDS * bond_A), int)
        if exclude is not None:
            near = near[near != exclude[s]]
        dist = np.linalg.norm(columns_A[near] - site, axis=1) / bond_A
        shell = (dist > SHELL_BONDS[0]) & (dist < SHELL_BONDS[1])
        if shell.sum() < 2:
            continue
        window = _window(image, pixel_size_A, site, FIT_RADIUS_BONDS * bond_A)
        fit = _fit(window, np.r_[site[None], columns_A[near]], sigma_A)
        if fit is None:
            continue
        reference = np.median(fit[0][2:][shell])
        if np.isfinite(reference) and reference > 0:
            out[s] = fit[0][1] / reference
            offset[s] = _signal_offset(window, *fit, site, OFFSET_RADIUS_BONDS * bond_A) / bond_A
    return out, offset


def frame_ratio_spread(image: np.ndarray, pixel_size_A: float, columns: cKDTree, bond_A: float, sigma_A: float,
                       sample: np.ndarray) -> float:
    """Robust spread (1.4826 × median absolute deviation) of the occupancy ratio of located ``sample`` columns
    (indices into ``columns``, their k-d tree), each measured as a site with itself left out: the noise of one
    site's ratio in this frame (NaN: too few)."""
    ratios = site_ratios(image, pixel_size_A, columns.data[sample], columns, bond_A, sigma_A, exclude=sample)[0]
    ratios = ratios[np.isfinite(ratios)]
    if len(ratios) < SAMPLE_COLUMNS // 2:
        return float("nan")
    return float(1.4826 * np.median(np.abs(ratios - np.median(ratios))))


def missed_columns(image: np.ndarray, pixel_size_A: float, sites_A: np.ndarray, columns_A: np.ndarray,
                   bond_A: float, host: np.ndarray | None = None, seed: int = 0, ring: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(which of ``sites_A`` (S, 2) Å hold a column the locator missed (S,) bool, their occupancy ratios (S,);
    NaN where not tested) given the located ``columns_A`` (K, 2) Å of the same ``image`` (pixel size in Å/px) and
    which of them are host columns (``host`` (K,) bool; None: all). ``ring`` (S,) bool marks gaps in a dopant's
    ring (:func:`dopant_ring_gaps`): those are tested beside their dopant.

    See the module docstring for the measure and the decision. ``seed`` picks the sampled columns (the result does
    not depend on it beyond their noise)."""
    sites_A, columns_A = np.asarray(sites_A, float).reshape(-1, 2), np.asarray(columns_A, float).reshape(-1, 2)
    held = np.zeros(len(sites_A), bool)
    ratios = np.full(len(sites_A), np.nan)
    if len(sites_A) == 0 or len(columns_A) < SAMPLE_COLUMNS:
        return held, ratios
    tree = cKDTree(columns_A)
    clear = tree.query(sites_A)[0] >= CLEAR_BONDS * bond_A
    if host is not None and not np.all(host):
        dopants = np.flatnonzero(~np.asarray(host, bool))
        exempt = np.zeros(len(sites_A), bool) if ring is None else np.asarray(ring, bool)
        for s, near in enumerate(tree.query_ball_point(sites_A, DOPANT_REACH_BONDS * bond_A)):
            near = np.asarray(near, int)
            near = near[np.isin(near, dopants)]
            # a ring gap is tested beside its dopant, but not where the dopant's own light covers it
            clear[s] &= (exempt[s] and bool(np.all(np.linalg.norm(columns_A[near] - sites_A[s], axis=1)
                                                   >= RING_CLEAR_BONDS * bond_A))) or len(near) == 0
    if not clear.any():
        return held, ratios
    image = np.asarray(image, float)
    sample = np.random.default_rng(seed).choice(len(columns_A), SAMPLE_COLUMNS, replace=False)
    sigma = column_sigma(image, pixel_size_A, tree, bond_A, sample[:SIGMA_COLUMNS])
    spread = frame_ratio_spread(image, pixel_size_A, tree, bond_A, sigma, sample)
    if not np.isfinite(spread):
        return held, ratios
    offset = np.full(len(sites_A), np.nan)
    ratios[clear], offset[clear] = site_ratios(image, pixel_size_A, sites_A[clear], tree, bond_A, sigma)
    with np.errstate(invalid="ignore"):
        held = (ratios >= FILLED_RATIO) & (ratios >= SIGNIFICANCE * spread) & (offset <= OFFSET_BONDS)
    return held, ratios


def shell_elements(sites_A: np.ndarray, columns_A: np.ndarray, element: np.ndarray, bond_A: float) -> np.ndarray:
    """(S,) the most common element among each site's same-sublattice second shell (the element its lattice
    expects: C in graphene, the chalcogen or the metal in a TMD); ``''`` where the shell is empty."""
    tree = cKDTree(columns_A)
    out = np.full(len(sites_A), "", dtype=object)
    for s, site in enumerate(sites_A):
        near = np.asarray(tree.query_ball_point(site, SHELL_BONDS[1] * bond_A), int)
        near = near[np.linalg.norm(columns_A[near] - site, axis=1) > SHELL_BONDS[0] * bond_A]
        if len(near):
            names, counts = np.unique(np.asarray(element)[near].astype(str), return_counts=True)
            out[s] = names[np.argmax(counts)]
    return out


def add_missed_columns(atoms: AtomTable, graph, image: np.ndarray, host_elements: set[str] | None = None,
                       ring_gaps_A: np.ndarray | None = None) -> AtomTable | None:
    """``atoms`` (the located :class:`~atomgraph.atoms.AtomTable`) followed by the columns the locator missed at
    the empty sites of ``graph`` (built from ``atoms``), or None when there are none.

    A recovered column sits on its expected site with the element its sublattice expects (:func:`shell_elements`),
    that element's locator probability 1, the median detection score of the located columns, and an intensity of
    its occupancy ratio times its shell's median intensity; ``recovered`` marks it (False for every located
    column). Only vacancy nodes the graph stage inferred are tested, not vacancies given in the input, and the
    ``ring_gaps_A`` (G, 2) Å (:func:`dopant_ring_gaps`), beside their dopant.
    ``host_elements``: the material's host elements (the others are dopants; None: every element is a host)."""
    table = graph.atoms
    inferred = np.flatnonzero(table.vacancy & (np.asarray(table.extra.get("input_id", np.full(len(table), -1))) < 0))
    real = ~np.asarray(atoms.vacancy, bool)
    bond = float(graph.flags["bond_A"])
    sites, ring = _candidate_sites(table.positions_A[inferred], ring_gaps_A, bond)
    if len(sites) == 0 or atoms.pixel_size_A is None:
        return None
    columns = atoms.positions_A[real]
    elements = atoms.element[real].astype(str)
    host = np.ones(len(columns), bool) if host_elements is None else np.isin(elements, list(host_elements))
    held, ratios = missed_columns(image, atoms.pixel_size_A, sites, columns, bond, host, ring=ring)
    if not held.any():
        return None
    sites = sites[held]
    element = shell_elements(sites, columns[host], elements[host], bond)
    keep = element != ""
    sites, element, ratio = sites[keep], element[keep], ratios[held][keep]
    if len(sites) == 0:
        return None
    return _appended(atoms, sites, element, ratio, real, bond)


def _candidate_sites(vacancies_A: np.ndarray, ring_gaps_A: np.ndarray | None, bond_A: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(sites (S, 2) Å, which are ring gaps (S,) bool): the vacancy nodes, then the ring gaps that no vacancy node
    already stands for (within the occupied radius); a vacancy node at a ring gap is tested as a ring gap."""
    vac = np.asarray(vacancies_A, float).reshape(-1, 2)
    gaps = np.zeros((0, 2)) if ring_gaps_A is None else np.asarray(ring_gaps_A, float).reshape(-1, 2)
    ring = np.zeros(len(vac), bool)
    if len(gaps) and len(vac):
        d, k = cKDTree(gaps).query(vac, distance_upper_bound=OCCUPIED_BONDS * bond_A)
        ring = np.isfinite(d)
        gaps = np.delete(gaps, k[ring], axis=0)
    return np.concatenate([vac, gaps]), np.r_[ring, np.ones(len(gaps), bool)]


def dopant_ring_gaps(graph, host_elements: set[str]) -> np.ndarray:
    """(G, 2) Å: the empty sites in the rings of the dopant columns of ``graph`` whose ring or pair ring is
    incomplete (``taken_neighbors_occupied`` below ``sites_taken`` + 2, or ``pair_ring_empty`` above 0; see
    :mod:`atomgraph.graph.taken`; only sites inside the observed region), each once. Whether such a site
    is empty decides between a dopant bonded to three atoms and one bonded to four whose fourth the locator missed;
    the vacancy rule does not place a node there (the site is within reach of the dopant). No gaps
    without the graph's lattice model (a graph read from a file)."""
    if graph.lattice is None or "pair_ring_empty" not in graph.feature_names:
        return np.zeros((0, 2))
    table = graph.atoms
    real = ~np.asarray(table.vacancy, bool)
    taken, ring, pair = (graph.feature(n) for n in ("sites_taken", "taken_neighbors_occupied", "pair_ring_empty"))
    dopant = real & ~np.isin(table.element.astype(str), list(host_elements))
    nodes = np.flatnonzero(dopant & (taken >= 1) & ((ring < taken + 2) | (pair > 0)))
    if len(nodes) == 0:
        return np.zeros((0, 2))
    gaps = graph.lattice.ring_gaps(table.positions_A, real, nodes).reshape(-1, 2)
    gaps = gaps[np.all(np.isfinite(gaps), axis=1)]
    bond = float(graph.flags["bond_A"])
    if len(gaps) > 1:  # two dopants sharing a gap: test it once
        close = cKDTree(gaps).query_pairs(OCCUPIED_BONDS * bond, output_type="ndarray")
        gaps = np.delete(gaps, np.unique(close.max(axis=1)) if len(close) else [], axis=0)
    return gaps


def _appended(atoms: AtomTable, sites_A: np.ndarray, element: np.ndarray, ratio: np.ndarray, real: np.ndarray,
              bond_A: float) -> AtomTable:
    """``atoms`` with one row per recovered column (see :func:`add_missed_columns`), by
    :meth:`~atomgraph.atoms.AtomTable.concat`."""
    m = len(sites_A)
    tree = cKDTree(atoms.positions_A[real])
    located = atoms.intensity[real]
    shell_intensity = np.array([np.nanmedian(located[tree.query_ball_point(s, SHELL_BONDS[1] * bond_A)])
                                for s in sites_A])
    extra = {}
    for key, values in atoms.extra.items():
        values = np.asarray(values)
        extra[key] = ((element == key[2:]).astype(values.dtype) if key.startswith("p_")
                      else np.full(m, "", object) if values.dtype == object else np.zeros(m, values.dtype))
    put_back = AtomTable(positions_A=sites_A, element=element, pixel_size_A=atoms.pixel_size_A,
                         score=np.full(m, float(np.nanmedian(atoms.score[real]))),
                         intensity=ratio * shell_intensity, extra=extra, recovered=np.ones(m, bool))
    return AtomTable.concat([atoms, put_back])  # the located rows: recovered False


def build_image_graph(atoms: AtomTable, material, image: np.ndarray):
    """:func:`~atomgraph.graph.build.build_graph` of columns located in ``image``: a dopant column detected twice
    is merged first (:func:`~atomgraph.graph.splits.merge_split_columns`), then the columns the locator missed at
    empty sites and in dopant rings are put back (:func:`add_missed_columns`, :func:`dopant_ring_gaps`) and the
    graph built again when there were any. Every node has ``recovered`` (True only for a put-back column).
    ``material``: a :class:`~atomgraph.materials.Material`. ``atoms`` is not modified."""
    host = set(material.host_elements)
    merged = merge_split_columns(atoms, graph_bond_A(material), host)
    atoms = atoms if merged is None else merged
    graph = build_graph(atoms, material=material)
    with_missed = add_missed_columns(atoms, graph, image, host, dopant_ring_gaps(graph, host))
    if with_missed is not None:
        return build_graph(with_missed, material=material)
    if graph.atoms.recovered is None:  # the graph's own table (a copy): nothing was put back
        graph.atoms.recovered = np.zeros(len(graph.atoms), bool)
    return graph
