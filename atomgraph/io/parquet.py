"""Per-frame results as Arrow tables, and Parquet datasets written one part file at a time.

A batch writes three Parquet *datasets* (folders of part files, the layout pyarrow, pandas, polars, DuckDB and
dask read as one table: ``pyarrow.parquet.read_table("OUT/atoms.parquet")``):

- ``atoms.parquet``: the Atoms CSV columns (``id,x_px,y_px,x_A,y_A,element,label,prob,score,intensity,vacancy``
  then the 1-D extras in name order, e.g. ``p_C``, ``uncertain``), then ``source`` (the file) and ``frame`` (0-based
  index in it). Values at full precision (the CSV rounds to 1e-4); positions in px and Å; ``prob`` NaN when unset.
- ``defects.parquet``: the Defects CSV columns (``id,label,x_px,y_px,x_A,y_A,site_ids,prob,uncertain,n_sites``;
  ``site_ids`` space-separated atom ids as in the CSV), then ``source``, ``frame``.
- ``frames.parquet``: one row per frame, see :mod:`atomgraph.batch`.

Part files are written atomically (temporary file + rename, :func:`atomgraph.io.safe_write.atomic_path`), so a
reader never sees half a part.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atoms import AtomTable
from .safe_write import atomic_path

DEFECT_FIELDS = [("id", "int64"), ("label", "string"), ("x_px", "float64"), ("y_px", "float64"),
                 ("x_A", "float64"), ("y_A", "float64"), ("site_ids", "string"), ("prob", "float64"),
                 ("uncertain", "bool_"), ("n_sites", "int64")]


def _with_source(columns: dict, n: int, source: str, frame: int) -> dict:
    columns["source"] = np.full(n, str(source), dtype=object)
    columns["frame"] = np.full(n, int(frame), dtype=np.int64)
    return columns


def atoms_table(atoms: AtomTable, source: str, frame: int):
    """The atoms of one frame as a ``pyarrow.Table`` with the Atoms CSV columns, then ``source`` and ``frame``."""
    import pyarrow as pa

    px = atoms.positions_px
    columns = {
        "id": np.asarray(atoms.ids, dtype=np.int64), "x_px": px[:, 0], "y_px": px[:, 1],
        "x_A": atoms.positions_A[:, 0], "y_A": atoms.positions_A[:, 1],
        "element": np.asarray(atoms.element, dtype=object).astype(str),
        "label": np.asarray(atoms.label, dtype=object).astype(str),
        "prob": np.asarray(atoms.prob, dtype=float), "score": np.asarray(atoms.score, dtype=float),
        "intensity": np.asarray(atoms.intensity, dtype=float), "vacancy": np.asarray(atoms.vacancy, dtype=bool),
    }
    for key in sorted(atoms.extra):
        value = np.asarray(atoms.extra[key])
        if value.ndim == 1 and key not in columns and key not in ("source", "frame"):
            columns[key] = value.astype(str) if value.dtype.kind in "OUS" else value
    _with_source(columns, len(atoms), source, frame)
    return pa.table({k: pa.array(v) for k, v in columns.items()})


def defects_table(defects: list, source: str, frame: int):
    """The defects of one frame (:class:`atomgraph.defects.Defect` list) as a ``pyarrow.Table`` with the Defects CSV
    columns, then ``source`` and ``frame`` (a fixed schema, also for a frame without defects)."""
    import pyarrow as pa

    values = {
        "id": [d.id for d in defects], "label": [d.label for d in defects],
        "x_px": [float(d.center_px[0]) for d in defects], "y_px": [float(d.center_px[1]) for d in defects],
        "x_A": [float(d.center_A[0]) for d in defects], "y_A": [float(d.center_A[1]) for d in defects],
        "site_ids": [" ".join(map(str, d.site_ids)) for d in defects], "prob": [float(d.prob) for d in defects],
        "uncertain": [bool(d.uncertain) for d in defects], "n_sites": [len(d.site_ids) for d in defects],
    }
    fields = [pa.field(name, getattr(pa, kind)()) for name, kind in DEFECT_FIELDS]
    fields += [pa.field("source", pa.string()), pa.field("frame", pa.int64())]
    values["source"] = [str(source)] * len(defects)
    values["frame"] = [int(frame)] * len(defects)
    return pa.table({f.name: pa.array(values[f.name], type=f.type) for f in fields})


def write_part(tables: list, dataset: str | Path, name: str, force: bool = False) -> Path | None:
    """Concatenate ``tables`` (schemas unified) and write them as ``dataset/name`` atomically (an existing part only
    with ``force``: it is replaced in one rename); nothing when there are no rows. Returns the path, or None."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [t for t in tables if t is not None and t.num_rows]
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    path = Path(dataset) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, force) as tmp:
        pq.write_table(table, tmp)
    return path


def read_dataset(dataset: str | Path, columns: list[str] | None = None):
    """A Parquet dataset folder (or file) as one ``pyarrow.Table``; an empty table when the folder has no parts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dataset = Path(dataset)
    if dataset.is_dir() and not any(p.suffix == ".parquet" for p in dataset.iterdir()):
        return pa.table({})
    if not dataset.exists():
        return pa.table({})
    return pq.read_table(dataset, columns=columns)
