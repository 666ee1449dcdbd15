"""Neighbor cutoffs per element pair: from the config, one for all pairs, or estimated from the pair distances."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from ..atoms import VACANCY_ELEMENT
from ..errors import AtomgraphInputError
from ..materials import Material

UNKNOWN_PAIR_CUTOFF_BONDS = 1.3  # cutoff for element pairs the config does not name, in bonds

def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _config_cutoffs(cutoffs_A: dict[str, float]) -> dict[tuple[str, str], float]:
    out = {}
    for key, value in (cutoffs_A or {}).items():
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

    The first peak is the nearest-neighbor distance ``d1`` (median nearest-neighbor distance); the minimum is
    searched in ``[d1, 1.75 d1]`` (the second shell of a honeycomb is at ``sqrt(3) d1``), and the middle of the
    lowest bins is returned.

    Parameters
    ----------
    positions_A : ndarray
        (N, 2) atom positions, Å.
    bin_A : float, default 0.02
        Histogram bin width, Å.
    max_points : int, default 20000
        Atoms used at most (an evenly strided subset).

    Returns
    -------
    float
        The cutoff, Å.
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
    """Cutoffs between element keys, the pairs named, and the mode used.

    Parameters
    ----------
    keys : ndarray of str
        (K,) element keys (``''`` vacancy, ``'?'`` unknown).
    material : Material
        The material (config ``graph.cutoffs_A``).
    cutoff : str, float or dict
        ``"config"`` (config ``graph.cutoffs_A``, pairs it does not name get ``1.3 * bond_A``), ``"auto"`` (one cutoff
        from :func:`estimate_cutoff`), a float (one cutoff for all pairs, Å) or a dict ``{"A-B": Å}`` overriding the
        config per pair.
    positions_A : ndarray
        (N, 2) positions, Å (for ``"auto"``).
    bond_A : float
        The projected bond length, Å.

    Returns
    -------
    matrix : ndarray of float
        (K, K) cutoffs, Å.
    pairs : dict
        The named pairs and their cutoffs, Å.
    mode : str
        How the cutoffs were chosen.
    """
    table = _config_cutoffs(material.settings.graph.cutoffs_A)
    single, mode = _cutoff_mode(cutoff, table, positions_A)
    keys = [str(k) for k in keys]
    k = len(keys)
    mat = np.zeros((k, k))
    default = UNKNOWN_PAIR_CUTOFF_BONDS * bond_A
    for a in range(k):
        for b in range(k):  # K is the number of distinct elements: a handful
            mat[a, b] = single if single is not None else _pair_cutoff(keys[a], keys[b], table, default)
    named = {f"{keys[a] or 'vacancy'}-{keys[b] or 'vacancy'}": float(mat[a, b])
             for a in range(k) for b in range(a, k)}
    return mat, named, mode


def _cutoff_mode(cutoff: str | float | dict, table: dict, positions_A: np.ndarray) -> tuple[float | None, str]:
    """(one cutoff for every pair in Å, or None; the mode's name) of :func:`cutoff_matrix`'s ``cutoff``; a dict
    updates the config's ``table`` in place. Anything else is an input error."""
    single = None
    if isinstance(cutoff, str):
        if cutoff == "auto":
            single, mode = estimate_cutoff(positions_A), "auto"
        elif cutoff == "config":
            mode = "config"
        else:
            raise AtomgraphInputError(f"cutoff must be 'config', 'auto', a number (Å) or a dict, got '{cutoff}'")
    elif isinstance(cutoff, dict):
        table.update(_config_cutoffs(cutoff))
        mode = "dict"
    elif isinstance(cutoff, (int, float, np.integer, np.floating)) and not isinstance(cutoff, bool):
        single, mode = float(cutoff), "float"
        if not (math.isfinite(single) and single > 0):
            raise AtomgraphInputError(f"cutoff must be a positive number of Å, got {cutoff!r}")
    else:
        raise AtomgraphInputError(f"cutoff must be 'config', 'auto', a number (Å) or a dict, got {cutoff!r}")
    return single, mode


def _pair_cutoff(ea: str, eb: str, table: dict, default: float) -> float:
    """The cutoff (Å) between element keys ``ea`` and ``eb`` from ``table`` (pair -> Å), else ``default``. A vacancy
    takes the smallest cutoff of the element beside it (of any pair, between two vacancies)."""
    if VACANCY_ELEMENT not in (ea, eb):
        return table.get(_pair(ea, eb), default)
    other = eb if ea == VACANCY_ELEMENT else ea
    if other == VACANCY_ELEMENT:
        nonzero = [v for v in table.values() if v > 0]
        return min(nonzero) if nonzero else default
    with_other = [v for p, v in table.items() if other in p and v > 0]
    return min(with_other) if with_other else default
