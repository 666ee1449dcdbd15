"""One dopant column, two detections: merge a located column split in two.

A dopant column is brighter and often wider than a host column: a Si in a divacancy (``Si4``) that moves between
equivalent positions during the scan shows as an elongated blob, which the locator can read as two peaks about one
Å apart (two detections of one column, one of them often called a host element). No two columns of a honeycomb-type
projection lie closer than a bond (projected Si-C bonds of a buckled ``Si3`` are the shortest, about 0.98 bond), so
two detections closer than :data:`SPLIT_BONDS` bonds of which one is a dopant are one column, when the brighter
of them carries a dopant's light (at least :data:`SPLIT_BRIGHTNESS` times the frame's median host column: half of
a Si column is about twice a carbon's; a noise "Si" at low dose beside its carbon neighbor is not, and merging it
would put a false Si at a bond center). Left apart, the second detection takes one of the divacancy's sites in the
graph stage, and a ``Si4`` reads as a ``Si3`` beside a carbon.

Only located columns are merged (an image's detections): the columns of a coordinate file are facts.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..atoms import AtomTable

SPLIT_BONDS = 0.8   # two detections closer than this (bonds), one of them a dopant, are one column ...
SPLIT_BRIGHTNESS = 1.7  # ... when the brighter has at least this times the median host column's intensity


def merge_split_columns(atoms: AtomTable, bond_A: float, host_elements: set[str]) -> AtomTable | None:
    """``atoms`` with every dopant column found twice merged into one, or None when there is none.

    Parameters
    ----------
    atoms : AtomTable
        Located columns (vacancy rows, if any, are left as they are).
    bond_A : float
        The material's nominal projected bond, Å.
    host_elements : set of str
        The material's host elements; a column of any other element is a dopant.

    Returns
    -------
    AtomTable or None
        Only pairs whose brighter detection has at least :data:`SPLIT_BRIGHTNESS` times the median intensity of the host
        columns are merged. The merged column keeps the brighter detection's element, probabilities and intensity and
        sits at the intensity-weighted mean of the two positions (the middle of the blob); the other detection is
        dropped. Pairs are merged closest first, each detection at most once.
    """
    real = np.flatnonzero(~np.asarray(atoms.vacancy, bool))
    if len(real) < 2:
        return None
    pos = atoms.positions_A[real]
    pairs = cKDTree(pos).query_pairs(SPLIT_BONDS * bond_A, output_type="ndarray")
    if len(pairs) == 0:
        return None
    dopant = ~np.isin(atoms.element[real].astype(str), list(host_elements))
    weight = np.clip(np.nan_to_num(atoms.intensity[real].astype(float)), 0.0, None)
    host_level = np.median(weight[~dopant]) if (~dopant).any() else np.nan
    bright = weight[pairs].max(axis=1) >= SPLIT_BRIGHTNESS * host_level
    pairs = pairs[dopant[pairs].any(axis=1) & bright]
    if len(pairs) == 0:
        return None
    pairs = pairs[np.argsort(np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1), kind="stable")]
    keep = np.ones(len(atoms), bool)
    merged = atoms.positions_A.astype(float).copy()
    for i, j in pairs:
        a, b = real[i], real[j]
        if not (keep[a] and keep[b]):
            continue
        bright, dim = (i, j) if weight[i] >= weight[j] else (j, i)
        total = weight[i] + weight[j]
        centre = (weight[i] * pos[i] + weight[j] * pos[j]) / total if total > 0 else 0.5 * (pos[i] + pos[j])
        merged[real[bright]] = centre
        keep[real[dim]] = False
    out = atoms.copy()
    out.positions_A = merged
    return out.subset(keep)
