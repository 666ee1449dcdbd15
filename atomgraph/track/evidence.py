"""Per-row label evidence for the label timelines: the classifier's probabilities, a track's sublattice, the
column intensity.

Rows are one detected site in one frame (the tracker's ``probs``, ``track_id``, ``ratio``, ``sigma``,
``raw_label`` arrays). Units: ratios are dimensionless (a full chalcogen column of the same frame = 1).
"""

from __future__ import annotations

import numpy as np

from .intensity import column_evidence, single_level
from .sublattice import keep_sublattice


def label_probs(atoms, labels: list[str], vacancy_label: str | list[str] | None = None) -> np.ndarray:
    """(N, L) per-node label probabilities (``label_probs``; one-hot on ``label`` where a label has none). A node
    with no probability on the vocabulary has none (NaN row). A vacancy node of a material with a vacancy label
    that the classifier leaves unlabeled (less than half its probability on the vocabulary) gets 0.9 (shared among
    several vacancy labels) on it: the lattice model found its site empty, which is evidence for it."""
    n = len(atoms)
    cols = []
    have = list(atoms.prob_labels or ()) if atoms.label_probs is not None else []
    for label in labels:
        cols.append(atoms.label_probs[:, have.index(label)] if label in have else (atoms.label == label).astype(float))
    probs = np.stack(cols, axis=1) if n else np.zeros((0, len(labels)))
    mass = np.nansum(probs, axis=1)
    none = ~(mass > 0)
    probs[none] = np.nan
    vac = [vacancy_label] if isinstance(vacancy_label, str) else list(vacancy_label or [])
    vac = [labels.index(v) for v in vac if v in labels]
    if vac and len(labels) > len(vac):
        empty = ~(mass >= 0.5) & np.asarray(atoms.vacancy, bool)
        probs[empty] = 0.1 / (len(labels) - len(vac))
        probs[np.ix_(np.flatnonzero(empty), vac)] = 0.9 / len(vac)
    return probs


def column_labels(settings, labels: list[str]) -> tuple[int, int] | None:
    """Indices (in ``labels``) of the full chalcogen column label and of its one-atom label (recipe
    ``chalcogen_single_vacancy``), or None for a material without them (graphene)."""
    if settings.family != "tmd":
        return None
    single = [d.label for d in settings.defects if d.recipe == "chalcogen_single_vacancy"]
    full = settings.host_labels.get("chalcogen")
    if not single or full not in labels or single[0] not in labels:
        return None
    return labels.index(full), labels.index(single[0])


def row_probs(data: dict, labels: list[str], groups: list[list[int]] | None, columns: tuple[int, int] | None,
              own: np.ndarray | None = None) -> np.ndarray:
    """(N, L) label probabilities of the rows in ``data`` after the track's sublattice (``groups``; ``own``: each
    row's sublattice when known from more frames than ``data`` holds) and the chalcogen column intensity
    (``columns``: the full and one-atom label indices; the one-atom level is measured over ``data``'s rows)."""
    probs = data["probs"]
    if groups is not None:  # a track keeps its sublattice (a dim Se1 column is not a Mo now and then)
        probs = keep_sublattice(probs, data["track_id"], groups, columns, own=own)
    if columns is not None:  # chalcogen columns: one atom or two from the intensity, frame by frame
        full, single = columns
        level = single_level(data["ratio"], data["raw_label"] == labels[single])
        probs = column_evidence(probs, data["ratio"], data["sigma"], full, single, level)
    return probs


def sublattice_mass(probs: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """(N, G) probability per sublattice of each row (0 for rows without evidence): what a track accumulates to
    know its sublattice."""
    known = np.isfinite(probs).all(axis=1)
    return np.stack([np.where(known, probs[:, g].sum(axis=1), 0.0) for g in groups], axis=1)
