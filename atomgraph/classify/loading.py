"""Loading a node classifier from its safetensors weights: the network (NumPy, no torch import), its metadata and its
novelty statistics, checked and cached per file (path, modification time); and the :class:`Model` that holds it.

One :class:`Model` per model name or folder: its material, locator, classifier and novelty statistics. A model is
named once, at the public door (``analyze(image, model="mose2-w")``, ``atomgraph analyze --model my-model/``), and
resolved there into a :class:`Model`; the stages get the object and read what they need from it (``model.material``,
``model.locator``, ``model.classifier``, ``model.novelty``) instead of resolving the name again. The parts load on
first use (a coordinate file's ``classify`` never loads a locator, so never imports the locate stage and torch) and
once per process: :func:`load_model` caches on the files' paths and modification times, so a retrained folder is read
again. The public home of these names is :mod:`atomgraph.models`; they live here, beside the classifier loader they
use, so that :func:`atomgraph.classify.classify` can resolve a model name without an import cycle.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AtomgraphInputError
from ..heavy_imports import paused_gc
from ..io.model_files import verify_weights
from .encode import check_compatible
from ..materials import Material, get_material
from ..weights import model_material, read_card, weights_path
from .inference import NumpyNodeClassifier, read_inference_classifier
from .meta import ClassifierMeta
from .novelty import NoveltyStats, load_novelty

if TYPE_CHECKING:
    from ..locate.infer import Locator


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


KINDS = ("locator", "classifier")


@dataclass(frozen=True, eq=False)
class Model:
    """A model, resolved once.

    Attributes
    ----------
    name : str
        The name it was given by: a bundled name (``graphene-si``), a model folder or a weights file. ``str(model)``
        is this name, so messages and records read as before.
    """

    name: str

    def __str__(self) -> str:
        return self.name

    def __fspath__(self) -> str:  # a model folder or weights file still opens as a path
        return self.name

    @functools.cached_property
    def material_source(self) -> str:
        """What the material comes from: a built-in material name, the model folder's ``config.yaml``, or the
        material its weights' card names."""
        return model_material(self.name)

    @functools.cached_property
    def material(self) -> Material:
        """The :class:`~atomgraph.materials.Material` the model is for (its typed config)."""
        return get_material(self.material_source)

    @functools.cached_property
    def locator(self) -> Locator:
        """The locator (network, classes, native pixel size in Å/px, card); loaded and checked on first use."""
        return _load_locator(self.name)

    @functools.cached_property
    def locator_card(self) -> dict:
        """The locator's model card (JSON), read without building its network; {} when there is none."""
        try:
            return read_card(weights_path("locator", self.name))
        except (AtomgraphInputError, OSError):  # no card, an unreadable or invalid one
            return {}

    @functools.cached_property
    def classifier(self) -> Classifier:
        """The node classifier with its calibration (``meta['temperature']``, ``meta['threshold']``)."""
        return load_classifier(self.name)

    @functools.cached_property
    def novelty(self) -> NoveltyStats | None:
        """The classifier's novelty statistics, or None when the model has none."""
        return novelty_stats(self.classifier)


def resolve_model(model: str | Path | Model) -> Model:
    """``model`` itself when it is a :class:`Model`, else :func:`load_model` of the name or path.

    Parameters
    ----------
    model : str, Path or Model
        A bundled model name, a model folder, a weights file or a :class:`Model`.

    Returns
    -------
    Model
        The resolved model.
    """
    return model if isinstance(model, Model) else load_model(model)


def locator_of(model: str | Path | Model) -> Locator:
    """The locator of a :class:`Model`, or of a name or locator weights path.

    A name or path is loaded without resolving the material, so a bare locator file with no material in its card
    still locates.

    Parameters
    ----------
    model : str, Path or Model
        A :class:`Model`, a bundled model name, a model folder or a locator ``.safetensors`` file.

    Returns
    -------
    Locator
        The locator (network, classes, native pixel size in Å/px, card).
    """
    if isinstance(model, Model):
        return model.locator
    return _load_locator(model)


def _load_locator(model: str | Path) -> Locator:
    """:func:`atomgraph.locate.infer.load_locator`, imported here on first use."""
    with paused_gc():  # torch's import, without collections that traverse its objects and free none
        from ..locate.infer import load_locator  # lazy: torch (about 2 s), never needed by a coordinate file's classify

    return load_locator(model)


def _stamp(model: str) -> tuple:
    """Paths and modification times of the files a model name stands for (the cache key of :func:`load_model`)."""
    path = Path(model)
    if not path.exists():
        return ()
    files = sorted(path.glob("*")) if path.is_dir() else [path, path.with_suffix(".json")]
    return tuple((str(p.resolve()), os.path.getmtime(p)) for p in files if p.is_file())


@functools.lru_cache(maxsize=16)
def _model(model: str, stamp: tuple) -> Model:
    if not Path(model).exists():
        weights_path("classifier", model)  # an unknown bundled name is refused here, naming the bundled ones
    return Model(name=model)


def load_model(name: str | Path | Model = "graphene-si", kind: str | None = None):
    """Load a model: a bundled name (``graphene-si``, ``mose2-w``), a model folder (``atomgraph train model``) or a
    weights file.

    Parameters
    ----------
    name : str, Path or Model
        Model name, folder or ``.safetensors`` path (its JSON card beside it); a :class:`Model` is returned as is.
    kind : str, optional
        Deprecated: ``"locator"`` or ``"classifier"`` returns that part only (``load_model(name).locator``).

    Returns
    -------
    Model
        Material, locator, classifier and novelty statistics, each loaded on first use and checked then. Weights
        are read from safetensors, never unpickled.

    Examples
    --------
    >>> from atomgraph import load_model
    >>> model = load_model("mose2-w")
    >>> model.material.name, model.classifier.labels[:2]
    ('mose2-w', ['Mo', 'W'])
    """
    if isinstance(name, Model):
        model = name
    else:
        key = str(name)
        model = _model(key, _stamp(key))
    if kind is None:
        return model
    if kind not in KINDS:
        raise AtomgraphInputError(f"unknown model kind '{kind}' (known: {', '.join(KINDS)})")
    warnings.warn(f"load_model(name, kind='{kind}') is deprecated: use load_model(name).{kind}",
                  DeprecationWarning, stacklevel=2)
    return getattr(model, kind)
