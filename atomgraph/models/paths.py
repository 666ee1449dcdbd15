"""Which files a model name stands for: bundled weights, a model folder or a weights file, and the card beside them.

The bundled pretrained weights are ``atomgraph/models/weights/<kind>-<model>.safetensors`` with a model card
``<kind>-<model>.json``: ``kind`` is ``locator``, ``classifier`` or ``novelty``; ``model`` a material name
(``graphene-si``, ``mose2-w``). This lookup, like the file format (:mod:`atomgraph.models.files`), imports no stage
and no torch: the stages' loaders use it, and :mod:`atomgraph.models.model` builds on those loaders.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import AtomgraphInputError

#: the bundled weights and their cards (package data ``atomgraph.models.weights``, beside this module)
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def weights_path(kind: str, model: str | Path) -> Path:
    """The safetensors file a model name stands for.

    Parameters
    ----------
    kind : str
        ``"locator"``, ``"classifier"`` or ``"novelty"``: which part of the model.
    model : str or Path
        A bundled model name (``graphene-si``, ``mose2-w``), a path to a ``.safetensors`` file, or a model folder
        holding exactly one ``<kind>-*.safetensors`` (as :func:`atomgraph.classify.adapt.adapt_classifier` writes).

    Returns
    -------
    Path
        The bundled ``<kind>-<model>.safetensors``, ``model`` itself, or the folder's ``<kind>-*`` file.

    Raises
    ------
    AtomgraphInputError
        An unknown bundled name (the bundled ones are named), a missing file, or a folder without exactly one
        weights file of that kind.
    """
    candidate = Path(str(model))
    if candidate.is_dir():
        found = sorted(candidate.glob(f"{kind}-*.safetensors"))
        if len(found) != 1:
            raise AtomgraphInputError(f"model folder needs exactly one {kind}-*.safetensors, found {len(found)}",
                                      source=str(candidate))
        return found[0]
    if candidate.suffix == ".safetensors":
        if not candidate.is_file():
            raise AtomgraphInputError("weights file not found", source=str(candidate))
        return candidate
    path = WEIGHTS_DIR / f"{kind}-{model}.safetensors"
    if not path.is_file():
        known = sorted(p.stem.split("-", 1)[1] for p in WEIGHTS_DIR.glob(f"{kind}-*.safetensors"))
        raise AtomgraphInputError(f"unknown {kind} model '{model}' (bundled: {', '.join(known) or 'none'}; "
                                  "or a path to a .safetensors file)")
    return path


def read_card(weights: Path) -> dict:
    """The model card (JSON) that sits beside a weights file.

    Parameters
    ----------
    weights : Path
        The ``.safetensors`` file; its card is the ``.json`` of the same name.

    Returns
    -------
    dict
        The card, JSON-decoded.

    Raises
    ------
    AtomgraphInputError
        The card is missing or not valid JSON.
    """
    card = Path(weights).with_suffix(".json")
    if not card.is_file():
        raise AtomgraphInputError("model card (.json beside the weights) not found", source=str(card))
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AtomgraphInputError("model card is not valid JSON", source=str(card)) from None


def bundled_models() -> list[dict]:
    """Every bundled model file (what ``atomgraph models`` lists).

    Returns
    -------
    list of dict
        One per ``.safetensors`` in :data:`WEIGHTS_DIR`, sorted by file name: ``kind``, ``name``, ``path`` (str)
        and ``card`` (the JSON card beside it).
    """
    out = []
    for path in sorted(WEIGHTS_DIR.glob("*.safetensors")):
        kind, name = path.stem.split("-", 1)
        out.append({"kind": kind, "name": name, "path": str(path), "card": read_card(path)})
    return out


def model_material(model: str | Path) -> str:
    """The material a model is for.

    Parameters
    ----------
    model : str or Path
        A bundled model name, a model folder or a weights file.

    Returns
    -------
    str
        A bundled name is its own material; a model folder with a ``config.yaml`` (``atomgraph train model``) gives
        that file's path; else the card of its weights names it (classifier ``material``, else locator ``name``).

    Raises
    ------
    AtomgraphInputError
        No card of the model names a material.
    """
    if not Path(str(model)).exists():
        return str(model)
    if (Path(str(model)) / "config.yaml").is_file():  # a model folder of `atomgraph train model`
        return str(Path(str(model)) / "config.yaml")
    for kind, key in (("classifier", "material"), ("locator", "name")):
        try:
            card = read_card(weights_path(kind, model))
        except AtomgraphInputError:
            continue
        if card.get(key):
            return str(card[key])
    raise AtomgraphInputError("the model card names no material", source=str(model))
