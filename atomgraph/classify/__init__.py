"""Graph -> per-node labels: a rotation-invariant GNN over the neighbor graph of atoms and vacancy sites.

:func:`classify` is the entry point; :func:`atomgraph.classify.train.train_classifier` trains a model on simulated
data; :mod:`atomgraph.classify.baselines` holds the rule-based and scikit-learn baselines the GNN is measured
against (``benchmarks/bench_classify.py``).

Output per node: ``label`` (the material's vocabulary), ``prob`` (its probability), ``extra['prob_<label>']`` (every
label's probability) and ``extra['uncertain']`` (best probability below the threshold; the label stays the arg max).
Real atoms take a label of the vocabulary other than the vacancy label, or ``''`` when the model finds the detection
is no column of the lattice (a locator false atom: trained on unmatched detections); vacancy nodes are either the
vacancy label (``Sevac``) or ``''`` (a site the lattice suggested but that is not a vacancy; every graphene vacancy
node). ``''`` nodes are never defects.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..atoms import AtomTable, project_to_columns
from ..errors import AtomgraphInputError
from ..threads import inference_threads
from .encode import encode
from .model import NodeClassifier, load_model

log = logging.getLogger(__name__)

__all__ = ["classify", "load_classifier", "predict_proba", "Classifier"]


@dataclass
class Classifier:
    """A loaded model with what it needs to read a graph.

    ``meta`` holds ``material``, ``labels`` (vocabulary), ``vacancy_label`` (or None), ``species`` (classes of the
    species evidence), ``bond_A`` (ideal bond, Å), ``cutoff_bonds`` and ``label_elements`` (label -> element).
    """

    net: NodeClassifier
    meta: dict
    path: str

    @property
    def material(self) -> str:
        return self.meta["material"]

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Classifier:
    try:
        net, meta = load_model(path)
    except Exception as exc:  # a corrupt or foreign file is a user error
        raise AtomgraphInputError(f"cannot read classifier weights ({exc})", source=path) from None
    return Classifier(net=net, meta=meta, path=path)


def load_classifier(model: str | Path = "graphene-si") -> Classifier:
    """A bundled classifier by material name, or one from a ``.safetensors`` path (cached)."""
    from ..weights import weights_path

    path = weights_path("classifier", model)
    return _load(str(path), os.path.getmtime(path))


def predict_proba(clf: Classifier, graph) -> np.ndarray:
    """(N, L + 1) probabilities over ``clf.labels`` plus background (last), masked by node kind.

    Real atoms: every label except the vacancy label, or background (a detection that is no column of the
    lattice, e.g. a false atom of the locator). Vacancy nodes: the vacancy label or background.
    """
    atoms = graph.atoms
    n = len(atoms)
    labels = clf.labels
    if n == 0:
        return np.zeros((0, len(labels) + 1), np.float32)
    meta = clf.meta
    x, edge_index, edge_attr = encode(graph, meta)
    bad = ~np.isfinite(x)
    if bad.any():
        x[bad] = clf.net.input_mean.numpy()[np.nonzero(bad)[1]]
    with torch.inference_mode():
        logits = clf.net(torch.from_numpy(x), torch.from_numpy(edge_index), torch.from_numpy(edge_attr))
        allowed = torch.from_numpy(allowed_mask(np.asarray(atoms.vacancy, bool), labels, meta.get("vacancy_label")))
        logits = logits.masked_fill(~allowed, float("-inf"))
        return torch.softmax(logits, dim=1).numpy()


def allowed_mask(vacancy: np.ndarray, labels: list[str], vacancy_label: str | None) -> np.ndarray:
    """(N, L + 1) bool: which outputs a node may take (see :func:`predict_proba`)."""
    n_out = len(labels) + 1
    real_ok = np.ones(n_out, bool)
    vac_ok = np.zeros(n_out, bool)
    vac_ok[-1] = True
    if vacancy_label in labels:
        real_ok[labels.index(vacancy_label)] = False
        vac_ok[labels.index(vacancy_label)] = True
    return np.where(np.asarray(vacancy, bool)[:, None], vac_ok[None, :], real_ok[None, :])


def _as_graph(graph_or_atoms, material: str):
    """An AtomGraph from an AtomGraph, an AtomTable or ase.Atoms (3D atoms are projected into columns)."""
    from ..graph import build_graph

    obj = graph_or_atoms
    if hasattr(obj, "atoms") and hasattr(obj, "edge_index"):
        return copy.copy(obj)
    if isinstance(obj, AtomTable):
        return build_graph(obj, material=material)
    try:
        from ase import Atoms
    except ImportError:  # pragma: no cover - ase is a dependency
        Atoms = ()
    if isinstance(obj, Atoms):
        table = AtomTable.from_ase(obj) if "vacancy" in obj.arrays else project_to_columns(obj)
        return build_graph(table, material=material)
    raise AtomgraphInputError(f"classify needs an AtomGraph, AtomTable or ase.Atoms, got {type(obj).__name__}")


def classify(graph_or_atoms, model: str | Path = "graphene-si", *, threshold: float = 0.5):
    """Label every node of a graph with the GNN classifier.

    Parameters
    ----------
    graph_or_atoms : AtomGraph, AtomTable or ase.Atoms
        A graph from :func:`atomgraph.build_graph`, or atoms to build one from (positions in Å; ``ase.Atoms`` in 3D
        are projected along z into columns first). Only positions and elements are needed; locator species
        probabilities (``extra['p_<class>']``) and column intensities are used when present.
    model : str or Path
        Bundled model name (``graphene-si``, ``mose2-w``) or a path to classifier ``.safetensors`` weights.
    threshold : float
        Nodes whose best probability is below it get ``extra['uncertain'] = True`` (label unchanged).

    Returns
    -------
    AtomGraph
        A shallow copy of the graph whose ``atoms`` carry ``label``, ``prob``, ``extra['prob_<label>']`` and
        ``extra['uncertain']``. ``element`` is set where the label implies it (``W`` -> W, ``Si4`` -> Si);
        vacancy nodes keep ``''``.

    Examples
    --------
    >>> from atomgraph import simulate
    >>> sim = simulate("graphene-si", size=96, pixel_size=0.1, seed=0, counts={"Si3": 1, "Si4": 0})
    >>> graph = classify(sim.truth.subset(sim.truth.element != ""), "graphene-si")
    >>> sorted(set(graph.atoms.label) - {""})
    ['C', 'Si3']
    """
    if not (isinstance(threshold, (int, float)) and 0.0 <= float(threshold) <= 1.0):
        raise AtomgraphInputError(f"threshold must be a probability in [0, 1], got {threshold!r}")
    clf = load_classifier(model)
    graph = _as_graph(graph_or_atoms, clf.material)
    with inference_threads():
        probs = predict_proba(clf, graph)
    atoms = graph.atoms.copy()
    labels = clf.labels
    names = np.array(labels + [""], dtype=object)
    best = np.argmax(probs, axis=1) if len(atoms) else np.zeros(0, int)
    prob = probs[np.arange(len(atoms)), best].astype(float)
    atoms.label = names[best]
    atoms.prob = prob
    for k, label in enumerate(labels):
        atoms.extra[f"prob_{label}"] = probs[:, k].astype(float)  # p_<class> stays the locator's evidence
    atoms.extra["uncertain"] = prob < float(threshold)
    implied = clf.meta.get("label_elements", {})
    element = np.asarray(atoms.element, dtype=object).copy()
    for label, elem in implied.items():
        element[(atoms.label == label) & ~atoms.vacancy] = elem
    element[atoms.vacancy] = ""
    atoms.element = element
    graph.atoms = atoms
    n_uncertain = int(atoms.extra["uncertain"].sum())
    log.info("classified %d nodes with %s (%d uncertain)", len(atoms), Path(clf.path).name, n_uncertain)
    return graph
