"""Material configs: YAML files validated at load time.

A material (``graphene-si``, ``mose2-w``, ``mos2``) is a YAML file in ``configs/`` (installed as
``atomgraph.configs``). It names the lattice family, the lattice constant, the label vocabulary, the defect recipes
and every range the image simulator draws from. :func:`load_config` reads it with ``yaml.safe_load`` and checks
every key and type against :data:`SCHEMA`, so a typo fails with a message naming the key.

Units: lengths in Å (keys end in ``_A``), doses in e/Å², angles in degrees, pixel sizes in Å/px.
"""

from __future__ import annotations

import copy
import functools
import math
import importlib.util
from pathlib import Path
from typing import Any

import yaml

from .errors import AtomgraphInputError

Number = (int, float)
RANGE = "range"  # a number or a [low, high] pair of numbers

#: Allowed keys and their types. A dict value is a nested section; ``RANGE`` is a number or [low, high].
SCHEMA: dict[str, Any] = {
    "name": str,
    "family": str,
    "description": str,
    "lattice": {
        "a_A": Number,
        "host": dict,  # sublattice role -> element, e.g. {A: C, B: C} or {metal: Mo, chalcogen: Se}
        "thickness_A": Number,  # TMD: vertical distance between the two chalcogen layers
    },
    "labels": list,
    "host_labels": dict,  # sublattice role -> host label
    "defects": list,
    "min_separation_A": Number,
    "image": {
        "size_px": int,
        "pixel_size_A": RANGE,
        "dose_e_per_A2": RANGE,
        "cross_section_A2": RANGE,
        "reference_Z": int,
        "z_exponent": RANGE,
        "probe_fwhm_A": RANGE,
        "probe_tail_fraction": RANGE,
        "probe_tail_width_factor": RANGE,
        "thermal_jitter_A": RANGE,
        "rotation_deg": RANGE,
        "line_jitter_px": RANGE,
        "line_jitter_correlation": RANGE,
        "scan_lag_px": RANGE,
        "line_gain_noise": RANGE,
        "drift_fraction": RANGE,
        "shear": RANGE,
        "scale_anisotropy": RANGE,
        "background_fraction": RANGE,
        "background_scale_A": RANGE,
        "gain": RANGE,
        "read_noise": RANGE,
        "detector_offset": RANGE,
        "dopant_blur_A": RANGE,  # rms spread of dopant columns (moving/flipping dopants look wide and lumpy)
    },
    "graph": {
        "bond_A": Number,
        "cutoffs_A": dict,
        "vacancy_fill_radius_A": Number,
        "vacancy_label": str,
        "vacancy_max_fraction": Number,  # at most this many inferred vacancy nodes per real atom (overflow flagged)
    },
    "locator": {
        "pixel_size_A": Number,
        "classes": list,
        "train_dose_e_per_A2": RANGE,  # dose range of the locator's training images (default: image range)
        "train_mix": dict,             # other material -> fraction of training images drawn from its config
        "train_element_map": dict,     # element of a mixed-in material -> one of ``classes``
    },
}

DEFECT_KEYS: dict[str, Any] = {
    "label": str,
    "recipe": str,
    "element": str,
    "count": RANGE,
    "fraction": RANGE,
    "projected_bond_A": RANGE,
    "height_A": Number,
    "dopant_offset_A": RANGE,       # substitution: the dopant sits this far off its lattice site (random direction)
    "neighbor_jitter_A": RANGE,     # divacancy_center: rms displacement of the four neighbors (relaxation)
}

BUILTIN_MATERIALS = {
    "graphene-si": "graphene_si.yaml",
    "mose2-w": "mose2_w.yaml",
    "mos2": "mos2.yaml",
}


def _type_ok(value: Any, expected: Any) -> bool:
    if expected == RANGE:
        if isinstance(value, bool):
            return False
        if isinstance(value, Number):
            return True
        return (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, Number) and not isinstance(v, bool) for v in value)
            and value[0] <= value[1]
        )
    if expected is Number:
        return isinstance(value, Number) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _type_name(expected: Any) -> str:
    if expected == RANGE:
        return "a number or a [low, high] pair"
    if expected is Number:
        return "a number"
    return getattr(expected, "__name__", str(expected))


def _validate(section: dict, schema: dict, where: str, source: str) -> None:
    for key, value in section.items():
        path = f"{where}{key}"
        if key not in schema:
            raise AtomgraphInputError(f"unknown key '{path}' (allowed: {', '.join(sorted(schema))})", source=source)
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise AtomgraphInputError(f"key '{path}' must be a mapping", source=source)
            _validate(value, expected, path + ".", source)
        elif not _type_ok(value, expected):
            raise AtomgraphInputError(f"key '{path}' must be {_type_name(expected)}, got {value!r}", source=source)


def validate_config(cfg: Any, source: str = "config") -> dict:
    """Check a parsed config against :data:`SCHEMA`; return it or raise :class:`AtomgraphInputError`."""
    if not isinstance(cfg, dict):
        raise AtomgraphInputError("a material config must be a YAML mapping", source=source)
    _validate(cfg, SCHEMA, "", source)
    for required in ("name", "family", "lattice", "labels", "host_labels", "defects", "image"):
        if required not in cfg:
            raise AtomgraphInputError(f"missing key '{required}'", source=source)
    if "a_A" not in cfg["lattice"] or "host" not in cfg["lattice"]:
        raise AtomgraphInputError("key 'lattice' needs 'a_A' and 'host'", source=source)
    if cfg["lattice"]["a_A"] <= 0:
        raise AtomgraphInputError("key 'lattice.a_A' must be positive", source=source)
    labels = cfg["labels"]
    if not all(isinstance(x, str) for x in labels) or len(set(labels)) != len(labels):
        raise AtomgraphInputError("key 'labels' must be a list of distinct strings", source=source)
    for i, defect in enumerate(cfg["defects"]):
        where = f"defects[{i}]."
        if not isinstance(defect, dict):
            raise AtomgraphInputError(f"key 'defects[{i}]' must be a mapping", source=source)
        _validate(defect, DEFECT_KEYS, where, source)
        for required in ("label", "recipe"):
            if required not in defect:
                raise AtomgraphInputError(f"missing key '{where}{required}'", source=source)
        if defect["label"] not in labels:
            raise AtomgraphInputError(f"key '{where}label': '{defect['label']}' is not in 'labels'", source=source)
    for role, label in cfg["host_labels"].items():
        if label not in labels:
            raise AtomgraphInputError(f"key 'host_labels.{role}': '{label}' is not in 'labels'", source=source)
    return cfg


def config_path(material: str | Path) -> Path | None:
    """The path of a built-in material's config, or ``None`` when ``material`` is not a built-in name."""
    filename = BUILTIN_MATERIALS.get(str(material).lower().replace("_", "-"))
    if filename is None:
        return None
    return configs_dir() / filename


def configs_dir() -> Path:
    """Where the built-in configs live: the installed ``atomgraph.configs`` or the checkout's ``configs/``."""
    try:
        spec = importlib.util.find_spec("atomgraph.configs")
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:  # installed: a data-only (namespace) package
        for location in spec.submodule_search_locations:
            if (Path(location) / "graphene_si.yaml").is_file():
                return Path(location)
    return Path(__file__).resolve().parent.parent / "configs"  # a source checkout that was not installed


def load_config(material: str | Path | dict) -> dict:
    """Load and validate a material config.

    Parameters
    ----------
    material
        A built-in name (``graphene-si``, ``mose2-w``, ``mos2``), a path to a YAML file, or an already-parsed dict.

    Returns
    -------
    dict
        The validated config (a fresh copy; safe to modify).
    """
    if isinstance(material, dict):
        return validate_config(copy.deepcopy(material))
    path = config_path(material)
    if path is None:
        path = Path(material)
        if path.suffix.lower() not in (".yaml", ".yml"):
            names = ", ".join(BUILTIN_MATERIALS)
            raise AtomgraphInputError(f"unknown material '{material}' (built-in: {names}; or a .yaml config path)")
    if not path.is_file():
        raise AtomgraphInputError("config file not found", source=str(path))
    stat = path.stat()
    return copy.deepcopy(_load_validated(str(path.resolve()), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=32)
def _load_validated(path: str, mtime_ns: int, size: int) -> dict:
    """Parse and validate a config file (cached by path, modification time and size)."""
    try:
        cfg = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AtomgraphInputError(f"not valid YAML ({first})", source=path) from None
    return validate_config(cfg, source=path)


def draw(value: Any, rng) -> float:
    """Draw a number from a config RANGE: a scalar is returned as is, ``[lo, hi]`` is drawn uniformly."""
    if isinstance(value, list):
        lo, hi = value
        return float(lo) if lo == hi else float(rng.uniform(lo, hi))
    return float(value)


def draw_log(value: Any, rng) -> float:
    """Like :func:`draw`, but log-uniform (for doses and other scale quantities)."""
    if isinstance(value, list):
        lo, hi = value
        if lo == hi or lo <= 0:
            return float(lo)
        return float(10 ** rng.uniform(math.log10(lo), math.log10(hi)))
    return float(value)
