"""The :class:`Model`: one object per model name or folder, its material, locator, classifier and novelty statistics.

A model is named once, at the public door (``analyze(image, model="mose2-w")``, ``atomgraph analyze --model
my-model/``), and resolved there into a :class:`Model`; the stages get the object and read what they need from it
(``model.material``, ``model.locator``, ``model.classifier``, ``model.novelty``) instead of resolving the name again.
The parts load on first use (a coordinate file's ``classify`` never loads a locator, so never imports the locate stage
and torch) and once per process: :func:`load_model` caches on the files' paths and modification times, so a retrained
folder is read again.

The parts are read by the stages' own loaders (:func:`atomgraph.locate.infer.load_locator`,
:func:`atomgraph.classify.loading.load_classifier`): this module builds on the stages, never the reverse. The stage
doors (``locate(image, model)``, ``classify(graph, model)``) take a :class:`Model` or a name without importing this
module, so there is no import cycle.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..classify.loading import Classifier, load_classifier, novelty_stats
from ..classify.novelty import NoveltyStats
from ..errors import AtomgraphInputError
from ..heavy_imports import paused_gc
from ..materials import Material, get_material
from .paths import model_material, read_card, weights_path

if TYPE_CHECKING:
    from ..locate.infer import Locator

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
