"""Graph -> per-node labels: :func:`classify` and what it is made of (see the package docstring)."""

from __future__ import annotations

import copy
import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..atoms import AtomTable, project_to_columns
from ..errors import AtomgraphInputError
from ..graph import build_graph
from ..graph.lattice import ROLE_FEATURE_PREFIX
from ..materials import get_material
from ..threads import inference_threads
from ..thresholds import check_threshold
from .encode import encode
from .loading import Classifier, classifier_of, material_of, novelty_of
from .meta import ClassifierMeta
from .novelty import context_features, node_descriptors
from .novelty_checks import check_labels, dopant_bond_novelty, dopant_pair_reach_A
from .topology import PAIR_RING_FEATURE, TOPOLOGY_FEATURES, apply_topology

if TYPE_CHECKING:
    from ..models.model import Model

log = logging.getLogger("atomgraph.classify")


def predict_proba(clf: Classifier, graph, *, calibrated: bool = True) -> np.ndarray:
    """Class probabilities of every node, masked by :func:`allowed_mask`.

    Parameters
    ----------
    clf : Classifier
        The loaded classifier (:func:`load_classifier`).
    graph : AtomGraph
        A graph built for the classifier's material (:func:`atomgraph.build_graph`).
    calibrated : bool, default True
        Divide the logits by the model's temperature (fitted on held-out simulations), so a probability of 0.9 is right
        about nine times in ten on data like those.

    Returns
    -------
    ndarray of float
        (N, L + 1) probabilities over ``clf.labels`` plus background (last); each row sums to 1.
    """
    return predict_with_descriptors(clf, graph, calibrated=calibrated)[0]


def predict_with_descriptors(clf: Classifier, graph, *, calibrated: bool = True
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities as :func:`predict_proba` and the nodes' novelty descriptors, from one forward pass.

    Parameters
    ----------
    clf : Classifier
        The loaded classifier.
    graph : AtomGraph
        A graph built for the classifier's material.
    calibrated : bool, default True
        Divide the logits by the model's temperature.

    Returns
    -------
    probs : ndarray of float
        (N, L + 1) probabilities, as :func:`predict_proba`.
    descriptors : ndarray of float
        (N, D) node descriptors of :func:`atomgraph.classify.novelty.node_descriptors`.
    """
    atoms = graph.atoms
    labels = clf.labels
    if len(atoms) == 0:
        return np.zeros((0, len(labels) + 1), np.float32), np.zeros((0, 0), np.float32)
    x, edge_index, edge_attr = encode(graph, clf.meta)
    allowed = allowed_mask(atoms, clf.meta, site_roles(graph))
    temperature = clf.meta.temperature if calibrated else 1.0
    logits, descriptors = node_descriptors(clf.net, x, edge_index, edge_attr, context_features(clf.meta))
    return masked_softmax(logits / np.float32(temperature), allowed), descriptors


def masked_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """(N, K) row-wise softmax of ``logits`` over the ``allowed`` (N, K) bool outputs (the others get 0); float32."""
    masked = np.where(allowed, logits, -np.inf).astype(np.float32)
    masked -= masked.max(axis=1, keepdims=True)
    np.exp(masked, out=masked)
    masked /= masked.sum(axis=1, keepdims=True)
    return masked


def lattice_check_score(checks, graph, known: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The lattice checks' novelty (:mod:`atomgraph.classify.novelty_checks`) of a graph's nodes.

    Parameters
    ----------
    checks : LatticeChecks
        The checks of the model's novelty statistics.
    graph : AtomGraph
        The graph.
    known : ndarray of int
        (N,) each node's best known label (-1: none), as :func:`~atomgraph.classify.novelty_checks.check_labels` gives
        it.
    candidates : ndarray of bool
        (N, L) the labels each node could be, as :func:`~atomgraph.classify.novelty_checks.check_labels` gives them.

    Returns
    -------
    ndarray of float
        (N,) novelty per node (> 1: outside what the checks saw).
    """
    atoms = graph.atoms
    frame = atoms.extra.get("frame")
    edge = graph.feature("edge_distance_bonds") if "edge_distance_bonds" in graph.feature_names else None
    return checks.score(np.asarray(atoms.intensity, float), atoms.positions_A, known, candidates,
                        np.asarray(atoms.vacancy, bool), np.asarray(graph.edge_index), edge,
                        None if frame is None else np.asarray(frame))


@functools.lru_cache(maxsize=16)
def _material_label_sites(material: str) -> dict[str, int]:
    """:attr:`Material.label_sites` of a material name or config path, read once (not on every classify call)."""
    return get_material(material).label_sites


def topology_decides(clf: Classifier, graph, probs: np.ndarray, material=None) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities after :func:`atomgraph.classify.topology.apply_topology`, and the nodes it leaves undecided.

    Labels of one element are told apart by the lattice sites the node takes; the probabilities are returned
    unchanged when the graph lacks the topology features.

    Parameters
    ----------
    clf : Classifier
        The loaded classifier.
    graph : AtomGraph
        The graph.
    probs : ndarray of float
        (N, L + 1) probabilities from :func:`predict_proba`.
    material : Material or str, optional
        The model's material (a Material, or a name or config path), for when the weights' metadata does not list
        ``label_sites`` (models trained before it did).

    Returns
    -------
    probs : ndarray of float
        (N, L + 1) the probabilities after the topology rule.
    ambiguous : ndarray of bool
        (N,) nodes whose topology does not settle which label of their element they are.
    """
    names = list(graph.feature_names)
    if len(probs) == 0 or not all(f in names for f in TOPOLOGY_FEATURES):
        return probs, np.zeros(len(probs), bool)
    label_sites = dict(clf.meta.label_sites)
    if not label_sites:
        label_sites = material.label_sites if hasattr(material, "label_sites") else \
            _material_label_sites(str(material or graph.material))
    return apply_topology(probs, clf.labels, label_sites, dict(clf.meta.label_elements),
                          graph.feature("sites_taken"), graph.feature("taken_neighbors_occupied"),
                          graph.atoms.vacancy, graph.feature("bond_far_end_bonds"),
                          columns_given=given_elements(graph.atoms),
                          pair_empty=graph.feature(PAIR_RING_FEATURE) if PAIR_RING_FEATURE in names else None)


def given_elements(atoms: AtomTable) -> bool:
    """Whether the elements are facts (a coordinate file or a user) rather than a locator's guess.

    Parameters
    ----------
    atoms : AtomTable
        The atoms; a locator's table carries its per-class probabilities ``extra['p_<class>']``.

    Returns
    -------
    bool
        True when no ``p_<class>`` column is there.
    """
    return not any(str(k).startswith("p_") for k in atoms.extra)


def site_roles(graph) -> np.ndarray | None:
    """Each node's sublattice role, from the graph's ``on_<role>`` features.

    Parameters
    ----------
    graph : AtomGraph
        The graph.

    Returns
    -------
    ndarray of str or None
        (N,) role per node ('' where the lattice model places no site); None when the graph has no such features (one
        element on both sublattices, as in graphene).
    """
    names = [n for n in graph.feature_names if n.startswith(ROLE_FEATURE_PREFIX)]
    if not names:
        return None
    out = np.full(graph.num_nodes, "", dtype=object)
    for name in names:
        out[np.asarray(graph.feature(name)) > 0.5] = name[len(ROLE_FEATURE_PREFIX):]
    return out


def allowed_mask(atoms: AtomTable, meta: dict, roles: np.ndarray | None = None) -> np.ndarray:
    """Which outputs each node may take: the labels of ``meta['labels']``, then background.

    - Vacancy nodes: a vacancy label (``Sevac``; ``VB`` or ``VN`` in hBN) or background.
    - Located atoms: every label, or background (a detection that is no column of the lattice). The vacancy label
      too: a faint detection on an empty chalcogen site is an empty site (the node becomes a vacancy node).
    - Atoms whose element is given (:func:`given_elements`): only labels that imply that element (``W`` -> ``W``;
      ``Si`` -> ``Si3``/``Si4``), or background; labels that need a column intensity (``Se1``) only where the
      intensity is known.
    - With several vacancy labels (``meta['vacancy_roles']``, label -> sublattice role) and ``roles``: a vacancy label
      only on nodes of its sublattice (``VB`` on A, ``VN`` on B); nodes without a known sublattice ('') keep them all.

    Parameters
    ----------
    atoms : AtomTable
        The graph's nodes.
    meta : ClassifierMeta or dict
        The classifier's metadata (a dict while a model is trained).
    roles : ndarray of str, optional
        (N,) the nodes' sublattice roles (:func:`site_roles`).

    Returns
    -------
    ndarray of bool
        (N, L + 1) True where the node may take that output.
    """
    meta = ClassifierMeta.coerce(meta)
    labels = list(meta.labels)
    n_out = len(labels) + 1
    vacancy = np.asarray(atoms.vacancy, bool)
    vac_ok = np.zeros(n_out, bool)
    vac_ok[-1] = True
    for label in meta.vacancy_labels:
        if label in labels:
            vac_ok[labels.index(label)] = True
    out = np.ones((len(atoms), n_out), bool)
    if given_elements(atoms):
        implied = meta.label_elements
        element = np.asarray(atoms.element, dtype=object).astype(str)
        known_intensity = np.isfinite(np.asarray(atoms.intensity, float))
        for k, label in enumerate(labels):
            out[:, k] = element == implied.get(label, "")
            if label in meta.intensity_labels:
                out[:, k] &= known_intensity
    out[vacancy] = vac_ok
    if roles is not None and meta.vacancy_roles:
        roles = np.asarray(roles, dtype=object)
        for label, role in meta.vacancy_roles.items():
            if label in labels:
                out[:, labels.index(label)] &= (roles == role) | (roles == "")
    return out


def _as_graph(graph_or_atoms, material, material_name: str):
    """An AtomGraph from an AtomGraph (built for ``material_name``), an AtomTable or ase.Atoms (3D atoms are
    projected into columns; the graph is built for ``material``, a Material, name or config path)."""
    obj = graph_or_atoms
    if hasattr(obj, "atoms") and hasattr(obj, "edge_index"):
        if str(obj.material) != material_name:
            raise AtomgraphInputError(f"the graph was built for material '{obj.material}' but the model is for "
                                      f"'{material_name}': build it with that material (or pass the atoms)")
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


def classify(graph_or_atoms, model: str | Path | Model = "graphene-si", *, threshold: float | None = None):
    """Label every node of a graph with the GNN classifier.

    Parameters
    ----------
    graph_or_atoms : AtomGraph, AtomTable or ase.Atoms
        A graph from :func:`atomgraph.build_graph`, or atoms to build one from (positions in Å; ``ase.Atoms`` in 3D
        are projected along z into columns first). Only positions and elements are needed; locator species
        probabilities (``extra['p_<class>']``) and column intensities are used when present.
    model : str, Path or Model
        Bundled model name (``graphene-si``, ``mose2-w``), a model folder, a path to classifier ``.safetensors``
        weights, or a :class:`~atomgraph.models.model.Model`.
    threshold : float or None
        Nodes whose best (calibrated) probability is below it get ``uncertain = True`` (label unchanged).
        None: the model's threshold, chosen on held-out simulations.

    Returns
    -------
    AtomGraph
        A shallow copy of the graph whose ``atoms`` carry ``label``, ``prob``, ``label_probs`` (with ``prob_labels``)
        and ``uncertain`` (below the threshold, or ``extra['topology_ambiguous']``: a node whose lattice topology does
        not settle which label of its element it is, :mod:`atomgraph.classify.topology`), ``novelty`` (float: > 1 means
        outside every known class; NaN when the model has no novelty statistics) and ``novel`` (novelty > 1; the label
        stays the best known one, see :mod:`atomgraph.classify.novelty`). Given elements (coordinate input) are kept; a
        locator's element guess is replaced where the label implies one (``W`` -> W, ``Si4`` -> Si). A located node
        labeled as the vacancy label becomes a vacancy node (element ``''``).

    Examples
    --------
    >>> from atomgraph import simulate
    >>> sim = simulate("graphene-si", size=96, pixel_size_A=0.1, seed=0, counts={"Si3": 1, "Si4": 0})
    >>> graph = classify(sim.truth.subset(sim.truth.element != ""), "graphene-si")
    >>> sorted(set(graph.atoms.label) - {""}), sorted(set(graph.atoms.element))
    (['C', 'Si3'], ['C', 'Si'])
    """
    clf = classifier_of(model)  # a Model's parts read from the object, a name's loaded here (no Model resolved)
    threshold = clf.meta.threshold if threshold is None else check_threshold(threshold)
    material = material_of(model)
    graph = _as_graph(graph_or_atoms, material, clf.material)  # a model folder's own config
    with inference_threads():
        probs, ambiguous, novelty = _score(clf, graph, material, novelty_of(model, clf))
    atoms = _labeled(graph.atoms, clf, probs, ambiguous, novelty, float(threshold))
    graph.atoms = atoms
    log.info("classified %d nodes with %s (%d uncertain, %d located columns read as empty sites)", len(atoms),
             Path(clf.path).name, int(atoms.uncertain.sum()), int(atoms.extra["emptied"].sum()))
    del atoms.extra["emptied"]
    return graph


def _score(clf: Classifier, graph, material, stats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities (N, L + 1) after the topology, topology-ambiguous (N,) bool, novelty (N,) float; NaN without
    novelty statistics ``stats``) of one graph for the model's ``material``, from one forward pass."""
    probs, descriptors = predict_with_descriptors(clf, graph)
    probs, ambiguous = topology_decides(clf, graph, probs, material)
    if stats is not None and len(graph.atoms) and stats.center.shape[0] != descriptors.shape[1]:
        log.warning("novelty statistics of %s describe %d numbers per node, this atomgraph %d: refit them "
                    "with 'atomgraph train novelty'", clf.path, stats.center.shape[0], descriptors.shape[1])
        stats = None
    if stats is None:
        return probs, ambiguous, np.full(len(probs), np.nan, np.float32)
    masked = graph.atoms.masked if graph.atoms.masked is not None else np.zeros(len(probs), bool)
    roles = stats.checks.label_roles if stats.checks is not None else [""] * len(clf.labels)
    known, candidates = check_labels(probs, probs > 0, masked, site_roles(graph), roles)
    best_known = np.array(clf.labels + [""], dtype=object)[known]
    novelty = stats.score(descriptors, given=given_elements(graph.atoms), labels=best_known)
    if stats.checks is not None and len(graph.atoms):
        novelty = np.maximum(novelty, lattice_check_score(stats.checks, graph, known, candidates))
    reach_A = dopant_pair_reach_A(graph, material)
    if len(graph.atoms) and reach_A is not None:
        novelty = np.maximum(novelty, dopant_bond_novelty(dopant_nodes(clf, graph, known, material),
                                                          graph.atoms.positions_A, reach_A))
    return probs, ambiguous, novelty


def dopant_nodes(clf: Classifier, graph, known: np.ndarray, material) -> np.ndarray:
    """(N,) bool: real nodes whose best known label implies an element that is not a host element of ``material``
    (a Material; labels without an element: the node's own element), unmasked."""
    atoms = graph.atoms
    host = list(material.host_elements)
    implied = clf.meta.label_elements
    names = clf.labels + [""]
    element = np.array([implied.get(names[k], "") for k in known], dtype=object)
    element = np.where(element == "", atoms.element.astype(str), element).astype(str)
    masked = atoms.masked if atoms.masked is not None else np.zeros(len(atoms), bool)
    return ~np.asarray(atoms.vacancy, bool) & ~masked & (element != "") & ~np.isin(element, host)


def _labeled(atoms: AtomTable, clf: Classifier, probs: np.ndarray, ambiguous: np.ndarray, novelty: np.ndarray,
             threshold: float) -> AtomTable:
    """A copy of ``atoms`` with labels, probabilities, the uncertain / novel flags, located columns read as empty
    sites turned into vacancy nodes (``extra['emptied']``, for the log) and elements rewritten where a label
    implies one (given elements are kept)."""
    atoms = atoms.copy()
    labels = clf.labels
    given = given_elements(atoms)
    names = np.array(labels + [""], dtype=object)
    best = np.argmax(probs, axis=1) if len(atoms) else np.zeros(0, int)
    prob = probs[np.arange(len(atoms)), best].astype(float)
    atoms.label = names[best]
    atoms.prob = prob
    atoms.label_probs = np.asarray(probs[:, :len(labels)], float)  # p_<class> stays the locator's evidence
    atoms.prob_labels = tuple(labels)
    uncertain = (prob < threshold) | ambiguous
    intensity_labels = set(clf.meta.intensity_labels)
    if given and intensity_labels:  # e.g. a Se column without intensity: Se2 is the guess, not a finding
        uncertain |= ~np.isfinite(atoms.intensity) & ~atoms.vacancy & np.isin(
            atoms.element.astype(str), [clf.meta.label_elements.get(x, "") for x in intensity_labels])
    atoms.uncertain = np.asarray(uncertain, bool)
    atoms.extra["topology_ambiguous"] = ambiguous  # the lattice does not settle which of one element's labels
    atoms.novelty = novelty.astype(float)
    atoms.novel = np.nan_to_num(novelty, nan=0.0) > 1.0
    emptied = np.isin(atoms.label.astype(str), list(clf.meta.vacancy_labels)) & ~atoms.vacancy
    atoms.extra["emptied"] = emptied
    atoms.vacancy = atoms.vacancy | emptied
    element = np.asarray(atoms.element, dtype=object).copy()
    if not given:
        for label, elem in clf.meta.label_elements.items():
            element[(atoms.label == label) & ~atoms.vacancy] = elem
    element[atoms.vacancy] = ""
    atoms.element = element
    return atoms
