"""Docstrings of the public API in numpydoc form, checked by numpydoc's own validator (``numpydoc.validate``).

Public: every name in the ``__all__`` of ``atomgraph`` and of each of its packages (what users import), and the
public methods and properties of those classes. Not tests, not benchmarks, not private helpers.

The checks (numpydoc's codes):

- GL08: there is a docstring.
- PR01: every parameter of the signature is documented; PR02: no documented parameter is missing from it; PR03:
  in the signature's order.
- PR04: each parameter has a type (``name : type``); PR06: types named as Python names them (``int``, ``bool``,
  ``str``, not ``integer``, ``boolean``, ``string``); PR07: each has an indented description; PR10: a space on both
  sides of the colon.
- RT01: a function that returns something has a Returns section.

Parameters are checked on functions, methods and classes with a hand-written ``__init__``; dataclasses and
pydantic models list their fields under ``Attributes`` instead (one place, rendered by the API reference), so for
them only GL08 applies. Units go in the descriptions (Å, px, e/Å², s), which no validator checks.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import atomgraph

numpydoc_validate = pytest.importorskip("numpydoc.validate")

CHECKS = {"GL08", "PR01", "PR02", "PR03", "PR04", "PR06", "PR07", "PR10", "RT01"}
CLASS_CHECKS = {"GL08"}  # dataclasses and pydantic models: fields under Attributes


def _packages() -> list[str]:
    return ["atomgraph"] + sorted(info.name for info in pkgutil.walk_packages(atomgraph.__path__, "atomgraph.")
                                  if info.ispkg)


def _hand_written_init(cls: type) -> bool:
    return "__init__" in vars(cls) and not dataclasses.is_dataclass(cls)


def _public() -> dict[str, set[str]]:
    """Qualified name -> the checks it gets, for every public function, class, method and property."""
    out: dict[str, set[str]] = {}
    for package in _packages():
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            qualified = f"{obj.__module__}.{obj.__qualname__}"
            if inspect.isfunction(obj):
                out[qualified] = CHECKS
                continue
            out[qualified] = CHECKS if _hand_written_init(obj) else CLASS_CHECKS
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, property):
                    out[f"{qualified}.{attr}"] = {"GL08"}
                elif inspect.isfunction(member) or isinstance(member, (classmethod, staticmethod)):
                    out[f"{qualified}.{attr}"] = CHECKS
    return out


PUBLIC = _public()


def test_the_public_api_is_found():
    for name in ("atomgraph.pipeline.analyze", "atomgraph.classify.labeling.classify", "atomgraph.atoms.AtomTable",
                 "atomgraph.atoms.AtomTable.subset", "atomgraph.io.images.read_image"):
        assert name in PUBLIC, name


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_docstring_follows_numpydoc(name):
    errors = [f"{code}: {message}" for code, message in numpydoc_validate.validate(name)["errors"]
              if code in PUBLIC[name]]
    assert errors == []
