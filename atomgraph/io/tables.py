"""CSV tables of the data contract: truth CSV, Atoms CSV, and reading coordinate CSVs back.

- Truth CSV (from ``simulate``): ``x_px,y_px,element,label``
- Atoms CSV (from ``locate``, ``classify``, ``analyze``): ``id,x_px,y_px,x_A,y_A,element,label,prob`` then extras
  (``score``, ``intensity``, ``vacancy``, and per-atom extras such as ``p_C``). ``label``/``prob`` are empty before
  classification; vacancy nodes have an empty ``element``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ..atoms import AtomTable
from .safe_write import atomic_output

TRUTH_COLUMNS = ["x_px", "y_px", "element", "label"]
ATOMS_COLUMNS = ["id", "x_px", "y_px", "x_A", "y_A", "element", "label", "prob"]


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(float(value)) else f"{float(value):.{digits}f}"
    return str(value)


def write_truth_csv(table: AtomTable, path: str | Path, force: bool = False) -> None:
    """Write ``x_px,y_px,element,label`` (positions to 1e-4 px)."""
    px = table.positions_px
    with atomic_output(path, force) as handle:
        writer = csv.writer(handle)
        writer.writerow(TRUTH_COLUMNS)
        for (x, y), element, label in zip(px, table.element, table.label):
            writer.writerow([_fmt(x), _fmt(y), element, label])


def atoms_rows(table: AtomTable) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows of the Atoms CSV for a table."""
    extra_1d = {k: np.asarray(v) for k, v in table.extra.items() if np.asarray(v).ndim == 1}
    header = ATOMS_COLUMNS + ["score", "intensity", "vacancy"] + sorted(extra_1d)
    px = table.positions_px
    rows = []
    for i in range(len(table)):
        row = [table.ids[i], px[i, 0], px[i, 1], table.positions_A[i, 0], table.positions_A[i, 1],
               table.element[i], table.label[i], table.prob[i], table.score[i], table.intensity[i],
               bool(table.vacancy[i])] + [extra_1d[k][i] for k in sorted(extra_1d)]
        rows.append([_fmt(v) for v in row])
    return header, rows


def write_atoms_csv(table: AtomTable, path: str | Path, force: bool = False) -> None:
    """Write the Atoms CSV of the contract (see module docstring)."""
    header, rows = atoms_rows(table)
    with atomic_output(path, force) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
