"""Graph -> per-node labels: a rotation-invariant GNN over exactly the graph the graph stage built.

:func:`classify` is the entry point; :func:`atomgraph.classify.train.train_classifier` trains a model on simulated
data, :func:`atomgraph.classify.adapt.adapt_classifier` self-trains it on unlabeled frames;
:mod:`atomgraph.classify.baselines` holds the rule-based and scikit-learn baselines the GNN is measured against
(``benchmarks/bench_classify.py``).

Output per node: ``label`` (the material's vocabulary), ``prob`` (its calibrated probability), ``label_probs``
(every label's probability, columns in ``prob_labels`` order) and ``uncertain`` (best probability below the
model's threshold, or a given Se column without an intensity; the label stays the arg max). Which labels a node may
take is :func:`allowed_mask`: located atoms any label, or ``''`` when the model finds the detection is no column of
the lattice (a locator false atom), or the vacancy label (a faint detection on an empty site, which then becomes a
vacancy node); atoms with given elements only labels implying that element; vacancy nodes the vacancy label
(``Sevac``) or ``''`` (every graphene vacancy node). ``''`` nodes are never defects.
"""

from __future__ import annotations

from .labeling import (_as_graph, allowed_mask, classify, given_elements, lattice_check_score, predict_proba,
                       predict_with_descriptors, site_roles, topology_decides)
from .loading import Classifier, load_classifier, novelty_stats
from .meta import ClassifierMeta

__all__ = ["classify", "load_classifier", "predict_proba", "predict_with_descriptors", "novelty_stats", "Classifier",
           "ClassifierMeta",
           "allowed_mask", "site_roles", "given_elements", "topology_decides", "lattice_check_score", "_as_graph"]
