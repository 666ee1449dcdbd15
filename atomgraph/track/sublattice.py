"""A track stays on its sublattice: its labels come from one sublattice's vocabulary.

A site of a 2H TMD is either a metal site (host metal or a metal dopant) or a chalcogen site (full, one-atom or
empty column): the beam changes what sits on a site, not which sublattice it belongs to. Frame by frame the
classifier sometimes names a dim one-atom chalcogen column after the metal (a Se1 column is about as bright as a Mo
column), which would make two false events. :func:`keep_sublattice` gives each track the sublattice that holds most
of its probability over the movie and moves, frame by frame, the probability of the other sublattice's labels onto
its own: a row that was all "metal" on a chalcogen track becomes an even split between the full and the one-atom
column, which the column's intensity then decides (:mod:`.intensity`).
"""

from __future__ import annotations

import numpy as np


def sublattice_groups(material, labels: list[str]) -> list[list[int]] | None:
    """Label indices per sublattice (metal: host + metal dopants; chalcogen: full, one-atom and empty columns) of a
    TMD :class:`~atomgraph.materials.Material` (its :attr:`label_roles`), or None for other families or when a
    label has no single sublattice."""
    if material.settings.family != "tmd":
        return None
    roles = material.label_roles
    out = [[i for i, label in enumerate(labels) if roles.get(label) == role] for role in material.settings.host_labels]
    covered = sorted(i for g in out for i in g)
    return out if covered == list(range(len(labels))) else None


def keep_sublattice(probs: np.ndarray, track_id: np.ndarray, groups: list[list[int]],
                    columns: tuple[int, int] | None = None, own: np.ndarray | None = None) -> np.ndarray:
    """Label probabilities (N, L) with each track's rows moved onto the labels of its own sublattice.

    Parameters
    ----------
    probs : (N, L) per-row probabilities (NaN rows: no evidence, kept).
    track_id : (N,) track of each row.
    groups : label indices per sublattice (:func:`sublattice_groups`), together covering every label.
    columns : (full, one-atom) label indices: a row with less than half its mass on its track's labels is set to
        an even split between them when they belong to that sublattice (the intensity decides later); otherwise the
        other sublattice's mass is spread evenly over the track's labels.
    own : (N,) sublattice index (into ``groups``) of each row's track, when known from more rows than ``probs``
        holds (a live window); default: the sublattice with most of the track's mass over these rows.
    """
    out = np.array(probs, dtype=float, copy=True)
    known = np.isfinite(out).all(axis=1)
    if not known.any():
        return out
    mass = np.stack([np.where(known, out[:, g].sum(axis=1), 0.0) for g in groups], axis=1)  # (N, G)
    if own is None:
        uniq, inverse = np.unique(track_id, return_inverse=True)
        per_track = np.zeros((len(uniq), len(groups)))
        np.add.at(per_track, inverse, mass)
        own = np.argmax(per_track, axis=1)[inverse]  # (N,) the sublattice of each row's track
    for k, g in enumerate(groups):
        rows = np.flatnonzero(known & (own == k))
        if len(rows) == 0:
            continue
        others = [i for i in range(out.shape[1]) if i not in g]
        stray = out[np.ix_(rows, others)].sum(axis=1)
        out[np.ix_(rows, others)] = 0.0
        lost = mass[rows, k] < 0.5
        if columns is not None and set(columns) <= set(g):
            out[rows[lost][:, None], list(columns)] += 0.5 * stray[lost][:, None]
            keep = rows[~lost]
            out[keep[:, None], g] += (stray[~lost] / len(g))[:, None]
        else:
            out[rows[:, None], g] += (stray / len(g))[:, None]
    return out
