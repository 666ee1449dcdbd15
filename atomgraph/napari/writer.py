"""The napari writer: an (edited) Points layer saved as an Atoms CSV that ``atomgraph classify`` reads.

Move a misplaced column, delete a false one or add a missed one in napari, save the ``atoms`` layer as ``.csv``, then
``atomgraph classify edited.csv --model M -o graph.csv``. Columns: ``id,x_px,y_px,x_A,y_A,element,label,prob`` (the
Atoms CSV of the data contract) then ``intensity`` and ``vacancy``. Points are napari's ``(y_px, x_px)``; ``x_A, y_A``
use ``metadata["pixel_size_A"]`` (Å/px; left out when the layer has none: give ``classify --pixel-size``). ``label``
and ``prob`` are written empty: after an edit they are stale, and classify computes them again. ``element`` and
``intensity`` come from the layer's features. A point added in napari takes the features of the point selected last
(napari's behaviour; with none selected, the layer's defaults: the most common element): its element is kept (select a
Si, add a Si), its copied intensity is dropped (:func:`added_points`). The file is written through a temporary file
and renamed; an existing file is refused (napari's own dialog does not ask us), so save under a new name.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError
from ..io.safe_write import atomic_output
from ..io.tables import format_value

WRITTEN_COLUMNS = ["id", "x_px", "y_px", "x_A", "y_A", "element", "label", "prob", "intensity", "vacancy"]


def _features(attributes: dict, n: int) -> dict:
    """Per-point features from napari's layer attributes (``features`` DataFrame or the older ``properties``)."""
    for key in ("features", "properties"):
        table = attributes.get(key)
        if table is None:
            continue
        columns = {str(k): np.asarray(table[k]) for k in table.keys()}
        columns = {k: v for k, v in columns.items() if v.ndim == 1 and len(v) == n}
        if columns:
            return columns
    return {}


def points_rows(data: np.ndarray, attributes: dict) -> tuple[list[str], list[list[str]]]:
    """Header and CSV rows of :data:`WRITTEN_COLUMNS` for a Points layer's ``data`` (N, 2) ``(y_px, x_px)``.

    Raises
    ------
    AtomgraphInputError
        The points are not 2D (a frame axis: save one frame), or an element is not a chemical symbol.
    """
    data = np.asarray(data, dtype=float)
    if data.ndim != 2 or data.shape[1] != 2:
        raise AtomgraphInputError(f"points of shape {data.shape} are not one frame's (y_px, x_px); classify takes one "
                                  "image: copy one frame's points to a 2D Points layer and save that")
    n = len(data)
    meta = attributes.get("metadata") or {}
    pixel_size_A = meta.get("pixel_size_A")
    pixel_size_A = float(pixel_size_A) if pixel_size_A else None
    features = _features(attributes, n)
    element = [_element(v) for v in features.get("element", [""] * n)]
    intensity = np.asarray(features.get("intensity", np.full(n, np.nan)), dtype=float).copy()
    intensity[added_points(features.get("id"), n)] = np.nan  # copied from another column, not measured
    y_px, x_px = data[:, 0], data[:, 1]
    x_A = x_px * pixel_size_A if pixel_size_A else np.full(n, np.nan)
    y_A = y_px * pixel_size_A if pixel_size_A else np.full(n, np.nan)
    rows = [[str(i), format_value(x_px[i]), format_value(y_px[i]), format_value(x_A[i]), format_value(y_A[i]),
             element[i], "", "", format_value(intensity[i]), "0" if element[i] else "1"] for i in range(n)]
    if pixel_size_A is None:  # no Å columns at all (empty ones would be refused): classify --pixel-size A
        return [c for c in WRITTEN_COLUMNS if c not in ("x_A", "y_A")], [r[:3] + r[5:] for r in rows]
    return list(WRITTEN_COLUMNS), rows


def added_points(ids, n: int) -> np.ndarray:
    """(N,) True for points added in napari: ``id`` -1 (the layer default) or a repeat of an earlier point's id
    (napari gives a new point the features of the point selected last)."""
    if ids is None:
        return np.zeros(n, dtype=bool)
    ids = np.asarray(ids)
    seen: set = set()
    out = np.zeros(n, dtype=bool)
    for k, value in enumerate(ids.tolist()):
        out[k] = value == -1 or value in seen
        seen.add(value)
    return out


def _element(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip()
    if text and not (text[0].isupper() and text.isalpha() and len(text) <= 2):
        raise AtomgraphInputError(f"element {text!r} of a point is not a chemical symbol; fix it in the layer's "
                                  "features or leave it empty for a vacancy site")
    return text


def write_points_csv(path: str | os.PathLike, data: np.ndarray, attributes: dict, force: bool = False) -> Path:
    """Write a Points layer as an Atoms CSV (see the module docstring); refuse an existing file unless ``force``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "edited.csv")
    >>> attributes = {"metadata": {"pixel_size_A": 0.1}, "features": {"element": ["C", "Si"]}}
    >>> _ = write_points_csv(path, [[20.0, 10.0], [20.0, 12.5]], attributes)
    >>> print(open(path).read().splitlines()[2])
    1,12.5000,20.0000,1.2500,2.0000,Si,,,,0
    """
    import csv

    header, rows = points_rows(data, attributes)
    with atomic_output(path, force) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return Path(path)


def write_atoms_points(path: str, data, attributes: dict) -> list[str]:
    """napari's single-layer writer hook (``.csv``): :func:`write_points_csv`, never overwriting; returns the path."""
    return [str(write_points_csv(path, data, attributes, force=False))]
