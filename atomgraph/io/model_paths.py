"""Which files a model name stands for: bundled weights, a model folder or a weights file, and the card beside them.

The bundled pretrained weights are ``atomgraph/models/weights/<kind>-<model>.safetensors`` with a model card
``<kind>-<model>.json``: ``kind`` is ``locator``, ``classifier`` or ``novelty``; ``model`` a material name
(``graphene-si``, ``mose2-w``). The files live in :mod:`atomgraph.models`, the home of what a model is; this lookup
lives here, beside the file format (:mod:`atomgraph.io.model_files`), because the stages' loaders use it and
:mod:`atomgraph.models` builds on those loaders.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import AtomgraphInputError

#: the bundled weights and their cards (package data of :mod:`atomgraph.models`)
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "models" / "weights"


def weights_path(kind: str, model: str | Path) -> Path:
    """The safetensors file of a bundled model, ``model`` itself when it is a path to one, or the ``<kind>-*``
    file in ``model`` when it is a model folder (as :func:`atomgraph.classify.adapt.adapt_classifier` writes)."""
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
    """The model card (JSON) that sits beside a weights file."""
    card = Path(weights).with_suffix(".json")
    if not card.is_file():
        raise AtomgraphInputError("model card (.json beside the weights) not found", source=str(card))
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AtomgraphInputError("model card is not valid JSON", source=str(card)) from None


def bundled_models() -> list[dict]:
    """Every bundled model: kind, name, path and card."""
    out = []
    for path in sorted(WEIGHTS_DIR.glob("*.safetensors")):
        kind, name = path.stem.split("-", 1)
        out.append({"kind": kind, "name": name, "path": str(path), "card": read_card(path)})
    return out


def model_material(model: str | Path) -> str:
    """The material a model is for: a bundled name is its own; a model folder's ``config.yaml`` when it has one;
    else the card of its weights says it (classifier ``material``, else locator ``name``)."""
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
