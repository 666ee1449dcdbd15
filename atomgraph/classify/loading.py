"""Loading a node classifier from its safetensors weights: the network (NumPy, no torch import), its metadata and its
novelty statistics, checked and cached per file (path, modification time).

:class:`atomgraph.models.model.Model` reads its classifier and novelty statistics with these loaders.
:func:`~atomgraph.classify.labeling.classify` takes a :class:`~atomgraph.models.model.Model` or a model name:
:func:`classifier_of`, :func:`material_of` and :func:`novelty_of` read each part from the object, or load it here
for a name, as ``locate`` does with :func:`atomgraph.locate.infer.load_locator`. So the classify stage never imports
:mod:`atomgraph.models.model`, which builds on it (no import cycle); it reads the files through
:mod:`atomgraph.models.files` and :mod:`atomgraph.models.paths`, which import no stage.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AtomgraphInputError
from ..materials import Material, get_material
from ..models.files import verify_weights
from ..models.paths import model_material, read_card, weights_path
from .encode import check_compatible
from .inference import NumpyNodeClassifier, read_inference_classifier
from .meta import ClassifierMeta
from .novelty import NoveltyStats, load_novelty

if TYPE_CHECKING:
    from ..models.model import Model


@dataclass
class Classifier:
    """A loaded model with what it needs to read a graph: the network, its metadata (a frozen
    :class:`~atomgraph.classify.meta.ClassifierMeta`: material, labels, vacancy labels, feature names, label
    elements and sites, calibration) and the weights' path."""

    net: NumpyNodeClassifier
    meta: ClassifierMeta
    path: str

    @property
    def material(self) -> str:
        """The material the classifier was trained for."""
        return self.meta.material

    @property
    def labels(self) -> list[str]:
        """The label vocabulary, in output order."""
        return list(self.meta.labels)


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Classifier:
    verify_weights(path)
    try:
        net, meta = read_inference_classifier(path)  # NumPy: neither torch nor torch_geometric
    except Exception as exc:  # a corrupt or foreign file is a user error
        raise AtomgraphInputError(f"cannot read classifier weights ({exc})", source=path) from None
    meta = ClassifierMeta.from_dict(meta)
    check_compatible(meta, source=path)
    return Classifier(net=net, meta=meta, path=path)


def load_classifier(model: str | Path = "graphene-si") -> Classifier:
    """A bundled classifier by material name, or one from a ``.safetensors`` path (cached).

    Parameters
    ----------
    model : str or Path, default "graphene-si"
        A bundled model name, a model folder or a classifier ``.safetensors`` file.

    Returns
    -------
    Classifier
        The network (NumPy), its metadata and its path.
    """
    path = weights_path("classifier", model)
    return _load(str(path), os.path.getmtime(path))


@functools.lru_cache(maxsize=8)
def _classifier_sha(path: str, mtime: float) -> str | None:
    try:
        return read_card(Path(path)).get("sha256")
    except AtomgraphInputError:
        return None


def novelty_stats(clf: Classifier):
    """The classifier's novelty statistics (:func:`atomgraph.classify.novelty.load_novelty`).

    Parameters
    ----------
    clf : Classifier
        The loaded classifier.

    Returns
    -------
    NoveltyStats or None
        The statistics, or None when the model has none.
    """
    return load_novelty(clf.path, _classifier_sha(clf.path, os.path.getmtime(clf.path)))


def classifier_of(model: str | Path | Model) -> Classifier:
    """The classifier of a :class:`~atomgraph.models.model.Model`, or of a bundled name, model folder or classifier
    weights path (:func:`load_classifier`)."""
    return model.classifier if hasattr(model, "classifier") else load_classifier(model)


def material_of(model: str | Path | Model) -> Material:
    """The material of a :class:`~atomgraph.models.model.Model`, or of a name or path (as
    :attr:`atomgraph.models.model.Model.material` reads it: the bundled name, the folder's ``config.yaml`` or the
    card)."""
    return model.material if hasattr(model, "material") else get_material(model_material(model))


def novelty_of(model: str | Path | Model, clf: Classifier) -> NoveltyStats | None:
    """The novelty statistics of a :class:`~atomgraph.models.model.Model`, or of ``clf``, the classifier of a name or
    path (:func:`novelty_stats`); None when the model has none."""
    return model.novelty if hasattr(model, "novelty") else novelty_stats(clf)
