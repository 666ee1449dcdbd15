"""Rotation-invariant inputs of the classifier: per-node features and a first-shell neighbor graph.

Everything here depends only on distances, species evidence and column intensities, never on raw x/y or on
directions, so a rotated (or mirrored, or translated) copy of a structure gets exactly the same inputs.

- :func:`neighbor_edges`: every pair of nodes (atoms and vacancy sites) closer than ``cutoff_bonds`` ideal bond
  lengths, both directions. A uniform cutoff (not element-pair cutoffs) so that a wrong species guess of the locator
  does not remove an edge; the network sees the length of every edge and decides.
- :func:`edge_inputs`: Gaussian radial basis of the edge length in units of the ideal bond length.
- :func:`graph_feature_inputs`: the graph builder's own invariant node features (coordination, bond and angle
  statistics, order parameters, sublattice-relative intensity, ...), selected by the names stored with the model.
- :func:`node_inputs`: species evidence (locator probabilities ``extra['p_<class>']`` when present, else a one-hot
  of ``element``), vacancy flag, log column intensity relative to the image and to the node's species, whether the
  intensity is known, and the detection score.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.spatial import cKDTree

from ..atoms import AtomTable
from ..features import gaussian_expansion

log = logging.getLogger(__name__)

CUTOFF_BONDS = 1.55      # first neighbor shell: graphene 2.20 Å, MoSe2 2.95 Å (second shell at 1.73 bonds)
N_RBF = 12
RBF_RANGE_BONDS = (0.4, 1.6)
INTENSITY_CLIP = 3.0


def neighbor_edges(positions_A: np.ndarray, cutoff_A: float) -> tuple[np.ndarray, np.ndarray]:
    """Directed edges (both directions) between nodes closer than ``cutoff_A`` (Å).

    Returns
    -------
    edge_index : (2, E) int64, sorted by target node (row 1).
    length_A : (E,) float32 edge lengths in Å.
    """
    positions_A = np.asarray(positions_A, dtype=float).reshape(-1, 2)
    if len(positions_A) < 2:
        return np.zeros((2, 0), np.int64), np.zeros(0, np.float32)
    pairs = cKDTree(positions_A).query_pairs(cutoff_A, output_type="ndarray").astype(np.int64)
    src = np.concatenate([pairs[:, 0], pairs[:, 1]])
    dst = np.concatenate([pairs[:, 1], pairs[:, 0]])
    order = np.argsort(dst, kind="stable")
    src, dst = src[order], dst[order]
    length = np.hypot(*(positions_A[src] - positions_A[dst]).T).astype(np.float32)
    return np.stack([src, dst]), length


def edge_inputs(length_A: np.ndarray, bond_A: float, n_rbf: int = N_RBF) -> np.ndarray:
    """(E, n_rbf) float32 Gaussian radial basis of ``length_A / bond_A`` (centers 0.4 .. 1.6 bonds)."""
    lo, hi = RBF_RANGE_BONDS
    centers = np.linspace(lo, hi, n_rbf, dtype=np.float32)
    r = np.asarray(length_A, np.float32) / np.float32(bond_A)  # in bonds: centers and width are in bonds too
    return gaussian_expansion(r, centers, (hi - lo) / (n_rbf - 1))


def species_evidence(atoms: AtomTable, species: list[str]) -> np.ndarray:
    """(N, S) species probabilities: ``extra['p_<s>']`` when all are present, else a one-hot of ``element``.

    Vacancy nodes and elements outside ``species`` get all zeros.
    """
    n = len(atoms)
    keys = [f"p_{s}" for s in species]
    if all(k in atoms.extra for k in keys):
        p = np.column_stack([np.nan_to_num(np.asarray(atoms.extra[k], float)) for k in keys])
    else:
        element = np.asarray(atoms.element, dtype=object)
        p = np.column_stack([(element == s) for s in species]).astype(float) if species else np.zeros((n, 0))
    p = np.clip(p.reshape(n, len(species)), 0.0, 1.0)
    p[np.asarray(atoms.vacancy, bool)] = 0.0
    return p


def node_inputs(atoms: AtomTable, species: list[str]) -> np.ndarray:
    """(N, S + 5) float32 per-node inputs (see module docstring); S = ``len(species)``."""
    n = len(atoms)
    p = species_evidence(atoms, species)
    vacancy = np.asarray(atoms.vacancy, bool)
    intensity = np.asarray(atoms.intensity, float)
    known = np.isfinite(intensity) & (intensity > 0) & ~vacancy
    log_i = np.zeros(n)
    log_i[known] = np.log(intensity[known])
    rel_all = np.zeros(n)
    rel_species = np.zeros(n)
    if known.sum() >= 3:
        rel_all[known] = log_i[known] - np.mean(log_i[known])
        guess = np.argmax(p, axis=1) if p.shape[1] else np.zeros(n, int)
        for s in range(max(p.shape[1], 1)):
            group = known & (guess == s)
            if group.sum() >= 3:
                rel_species[group] = log_i[group] - np.median(log_i[group])
    else:
        known[:] = False
    score = np.nan_to_num(np.asarray(atoms.score, float), nan=1.0)
    score[vacancy] = 0.0
    x = np.column_stack([p, vacancy, known, np.clip(rel_all, -INTENSITY_CLIP, INTENSITY_CLIP),
                         np.clip(rel_species, -INTENSITY_CLIP, INTENSITY_CLIP), np.clip(score, 0.0, 1.0)])
    return x.astype(np.float32)


def graph_feature_inputs(graph, names: list[str]) -> np.ndarray:
    """(N, len(names)) the graph's own node features (``AtomGraph.node_features``) selected by name.

    A name the graph lacks (a newer or older graph builder) is filled with NaN, which the model's input
    standardization maps to 0 after :func:`encode` replaces it by the training mean.
    """
    n = len(graph.atoms)
    if not names:
        return np.zeros((n, 0), np.float32)
    have = list(getattr(graph, "feature_names", []) or [])
    feats = np.asarray(getattr(graph, "node_features", np.zeros((n, 0))), dtype=np.float32)
    out = np.full((n, len(names)), np.nan, np.float32)
    missing = []
    for k, name in enumerate(names):
        if name in have:
            out[:, k] = feats[:, have.index(name)]
        else:
            missing.append(name)
    if missing:
        log.warning("graph lacks node features %s; the classifier fills them with training means", missing)
    return out


def encode(graph, meta: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node inputs (N, F), edge_index (2, E) and edge inputs (E, K) of an AtomGraph for a model's ``meta``.

    Node inputs are :func:`node_inputs` followed by the graph features named in ``meta['graph_features']``
    (NaN where missing: callers replace NaN by the model's input mean).
    """
    atoms = graph.atoms
    edge_index, length_A = neighbor_edges(atoms.positions_A, meta["cutoff_bonds"] * meta["bond_A"])
    x = np.column_stack([node_inputs(atoms, meta["species"]),
                         graph_feature_inputs(graph, meta.get("graph_features", []))]).astype(np.float32)
    return x, edge_index, edge_inputs(length_A, meta["bond_A"])
