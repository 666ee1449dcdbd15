"""Material configs: YAML files validated at load time by typed models.

A material (``graphene-si``, ``mose2-w``, ``mos2``) is a YAML file in ``configs/`` (installed as
``atomgraph.configs``). It names the lattice family, the lattice constant, the label vocabulary, the defect recipes
and every range the image simulator draws from. :func:`load_material_config` reads it with ``yaml.safe_load`` and
validates it with :class:`~atomgraph.config.models.MaterialConfig` (one pydantic model per section, defaults in the
models); a typo or a wrong type fails with one line naming the key and the file. :func:`load_config` returns the
same config as a plain dict (YAML types), the form the pipeline stages read.

Units: lengths in Å (keys end in ``_A``), doses in e/Å², angles in degrees, pixel sizes in Å/px.

Examples
--------
>>> cfg = load_material_config("graphene-si")
>>> cfg.lattice.a_A, cfg.labels
(2.46, ['C', 'Si3', 'Si4'])
>>> load_config("graphene-si")["image"]["pixel_size_A"]
[0.05, 0.3]
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from ..errors import AtomgraphInputError
from .models import (ClassifierConfig, DefectConfig, GraphConfig, ImageConfig, LatticeConfig, LocatorConfig,
                     MaterialConfig, MovieConfig)
from .range import Range

__all__ = ["Range", "MaterialConfig", "LatticeConfig", "DefectConfig", "ImageConfig", "GraphConfig",
           "LocatorConfig", "ClassifierConfig", "MovieConfig", "BUILTIN_MATERIALS", "load_config",
           "load_material_config", "validate_config", "config_path", "configs_dir", "draw", "draw_log"]

BUILTIN_MATERIALS = {
    "graphene-si": "graphene_si.yaml",
    "mose2-w": "mose2_w.yaml",
    "mos2": "mos2.yaml",
    "mos2-v": "mos2_v.yaml",
    "ws2-mo": "ws2_mo.yaml",
    "wse2-v": "wse2_v.yaml",
    "hbn": "hbn.yaml",
}

_SECTIONS: dict[str, type] = {"lattice": LatticeConfig, "defects": DefectConfig, "image": ImageConfig,
                              "graph": GraphConfig, "locator": LocatorConfig, "classifier": ClassifierConfig,
                              "movie": MovieConfig}
_KINDS = {"float_type": "a number", "int_type": "an integer", "int_from_float": "an integer",
          "string_type": "a string", "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
          "model_attributes_type": "a mapping", "bool_type": "true or false"}


def _key_path(loc: tuple) -> str:
    """``('defects', 0, 'count')`` -> ``defects[0].count``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _error_line(exc: ValidationError) -> str:
    """One line for the first error of a validation: the key path and what is wrong."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path, kind = _key_path(loc), err["type"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if not loc:
        if kind in ("model_type", "model_attributes_type"):
            return "a material config must be a YAML mapping"
        return err["msg"].removeprefix("Value error, ") + more
    if kind == "extra_forbidden":
        section = next((p for p in loc[:-1] if isinstance(p, str)), None)
        allowed = sorted(_SECTIONS.get(section, MaterialConfig).model_fields)
        return f"unknown key '{path}' (allowed: {', '.join(allowed)})" + more
    if kind == "missing":
        return f"missing key '{path}'" + more
    if kind in _KINDS:
        return f"key '{path}' must be {_KINDS[kind]}, got {err['input']!r}" + more
    msg = err["msg"].removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        msg = f"must be {msg.removeprefix('Input should be ')}, got {err['input']!r}"
    return f"key '{path}': {msg}" + more


def validate_config(cfg: Any, source: str = "config") -> MaterialConfig:
    """Validate a parsed config (a dict from YAML).

    Parameters
    ----------
    cfg : dict or MaterialConfig
        The parsed config (a :class:`MaterialConfig` is copied).
    source : str, default "config"
        What the config came from (a file name), named in the message of a bad key.

    Returns
    -------
    MaterialConfig
        The validated config.

    Raises
    ------
    AtomgraphInputError
        Not a mapping, or a bad key: one line naming the key and ``source``.

    Examples
    --------
    >>> validate_config({"name": "x"}, source="x.yaml")
    Traceback (most recent call last):
    ...
    atomgraph.errors.AtomgraphInputError: x.yaml: missing key 'family' (and 5 more)
    """
    if isinstance(cfg, MaterialConfig):
        return cfg.model_copy(deep=True)
    if not isinstance(cfg, dict):
        raise AtomgraphInputError("a material config must be a YAML mapping", source=source)
    try:
        return MaterialConfig.model_validate(cfg)
    except ValidationError as exc:
        raise AtomgraphInputError(_error_line(exc), source=source) from None


def config_path(material: str | Path) -> Path | None:
    """The path of a built-in material's config.

    Parameters
    ----------
    material : str or Path
        A material name (``graphene-si``) or anything else.

    Returns
    -------
    Path or None
        The YAML file of the built-in material, or ``None`` when ``material`` is not a built-in name.
    """
    filename = BUILTIN_MATERIALS.get(str(material).lower().replace("_", "-"))
    if filename is None:
        return None
    return configs_dir() / filename


def configs_dir() -> Path:
    """Where the built-in configs live.

    Returns
    -------
    Path
        The installed ``atomgraph.configs`` folder, or the checkout's ``configs/``.
    """
    try:
        spec = importlib.util.find_spec("atomgraph.configs")
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:  # installed: a data-only (namespace) package
        for location in spec.submodule_search_locations:
            if (Path(location) / "graphene_si.yaml").is_file():
                return Path(location)
    return Path(__file__).resolve().parents[2] / "configs"  # a source checkout that was not installed


def load_material_config(material: str | Path | dict | MaterialConfig) -> MaterialConfig:
    """Load and validate a material config as a typed :class:`MaterialConfig`.

    Parameters
    ----------
    material : str, Path, dict or MaterialConfig
        A built-in name (``graphene-si``, ``mose2-w``, ``mos2``), a path to a YAML file, a parsed dict or a
        :class:`MaterialConfig`.

    Returns
    -------
    MaterialConfig
        A fresh copy (safe to modify).

    Raises
    ------
    AtomgraphInputError
        Unknown material, missing file, not YAML, or a bad key (named in the one-line message with the file).
    """
    if isinstance(material, (dict, MaterialConfig)):
        return validate_config(material)
    path = config_path(material)
    if path is None:
        path = Path(material)
        if path.suffix.lower() not in (".yaml", ".yml"):
            names = ", ".join(BUILTIN_MATERIALS)
            raise AtomgraphInputError(f"unknown material '{material}' (built-in: {names}; or a .yaml config path)")
    if not path.is_file():
        raise AtomgraphInputError("config file not found", source=str(path))
    stat = path.stat()
    return _load_validated(str(path.resolve()), stat.st_mtime_ns, stat.st_size).model_copy(deep=True)


def load_config(material: str | Path | dict | MaterialConfig) -> dict:
    """Load and validate a material config; return it as a plain dict.

    Parameters
    ----------
    material : str, Path, dict or MaterialConfig
        As for :func:`load_material_config`.

    Returns
    -------
    dict
        The YAML's keys plus every default (ranges as a number or ``[low, high]``, optional keys that are unset left
        out); a fresh copy, safe to modify.

    Examples
    --------
    >>> load_config("mose2-w")["graph"]["vacancy_label"]
    'Sevac'
    """
    return load_material_config(material).to_dict()


@functools.lru_cache(maxsize=32)
def _load_validated(path: str, mtime_ns: int, size: int) -> MaterialConfig:
    """Parse and validate a config file (cached by path, modification time and size)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        # libyaml's safe loader when PyYAML has it: the same documents, ten times faster than the Python one
        cfg = yaml.load(text, Loader=yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AtomgraphInputError(f"not valid YAML ({first})", source=path) from None
    return validate_config(cfg, source=path)


def draw(value: float | list[float] | Range, rng: np.random.Generator) -> float:
    """Draw a number from a config range: a number is returned as is, ``[low, high]`` is drawn uniformly.

    Parameters
    ----------
    value : float, list of float or Range
        A number, ``[low, high]`` or a :class:`Range`, in the unit of its key.
    rng : numpy.random.Generator
        The random generator (not drawn from for a fixed number).

    Returns
    -------
    float
        The value, in the unit of its key.

    Examples
    --------
    >>> draw(0.5, np.random.default_rng(0)), draw([0.0, 1.0], np.random.default_rng(0))
    (0.5, 0.6369616873214543)
    """
    return Range.parse(value).draw(rng)


def draw_log(value: float | list[float] | Range, rng: np.random.Generator) -> float:
    """Like :func:`draw`, but log-uniform (for doses and other scale quantities).

    Parameters
    ----------
    value : float, list of float or Range
        A number, ``[low, high]`` or a :class:`Range`, in the unit of its key.
    rng : numpy.random.Generator
        The random generator.

    Returns
    -------
    float
        The value, in the unit of its key.
    """
    return Range.parse(value).draw_log(rng)
