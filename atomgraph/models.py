"""Bundled models: load a locator or a classifier by name, with its model card."""

from __future__ import annotations

from pathlib import Path

from .errors import AtomgraphInputError

KINDS = ("locator", "classifier")


def load_model(name: str | Path = "graphene-si", kind: str = "locator"):
    """Load a bundled model (``graphene-si``, ``mose2-w``) or a ``.safetensors`` path.

    Parameters
    ----------
    name
        Model name or weights path; the JSON model card must sit beside the weights.
    kind
        ``"locator"`` (image -> atoms) or ``"classifier"`` (graph -> labels).

    Returns
    -------
    The loaded model object (``Locator`` or ``Classifier``) with its ``card``. Weights are read from safetensors,
    never unpickled.
    """
    if kind == "locator":
        from .locate.infer import load_locator

        return load_locator(name)
    if kind == "classifier":
        from .classify import load_classifier

        return load_classifier(name)
    raise AtomgraphInputError(f"unknown model kind '{kind}' (known: {', '.join(KINDS)})")
