"""Loading a node classifier from its safetensors weights: the network (NumPy, no torch import), its metadata and its
novelty statistics, checked and cached per file (path, modification time)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import AtomgraphInputError
from ..io.model_files import verify_weights
from .encode import check_compatible
from .inference import NumpyNodeClassifier, read_inference_classifier


@dataclass
class Classifier:
    """A loaded model with what it needs to read a graph.

    ``meta`` holds ``material``, ``labels`` (vocabulary), ``vacancy_label`` (or None; with several,
    ``vacancy_labels`` and ``vacancy_roles``, label -> sublattice role), ``graph_version``,
    ``node_features`` / ``edge_features`` (the graph's feature names it reads), ``label_elements`` (label ->
    element), ``intensity_labels`` (labels that need a column intensity), ``temperature`` and ``threshold``
    (calibration).
    """

    net: NumpyNodeClassifier
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
    verify_weights(path)
    try:
        net, meta = read_inference_classifier(path)  # NumPy: neither torch nor torch_geometric
    except Exception as exc:  # a corrupt or foreign file is a user error
        raise AtomgraphInputError(f"cannot read classifier weights ({exc})", source=path) from None
    check_compatible(meta, source=path)
    return Classifier(net=net, meta=meta, path=path)


def load_classifier(model: str | Path = "graphene-si") -> Classifier:
    """A bundled classifier by material name, or one from a ``.safetensors`` path (cached)."""
    from ..weights import weights_path

    path = weights_path("classifier", model)
    return _load(str(path), os.path.getmtime(path))


@functools.lru_cache(maxsize=8)
def _classifier_sha(path: str, mtime: float) -> str | None:
    from ..weights import read_card

    try:
        return read_card(Path(path)).get("sha256")
    except AtomgraphInputError:
        return None


def novelty_stats(clf: Classifier):
    """The classifier's novelty statistics (:func:`atomgraph.classify.novelty.load_novelty`), or None."""
    from .novelty import load_novelty

    return load_novelty(clf.path, _classifier_sha(clf.path, os.path.getmtime(clf.path)))
