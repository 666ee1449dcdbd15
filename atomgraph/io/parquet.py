"""Per-frame results as Arrow tables, and Parquet datasets written one part file at a time.

A batch writes three Parquet *datasets* (folders of part files, the layout pyarrow, pandas, polars, DuckDB and
dask read as one table: ``pyarrow.parquet.read_table("OUT/atoms.parquet")``):

- ``atoms.parquet``: the Atoms CSV columns (``id,x_px,y_px,x_A,y_A,element,label,prob,score,intensity,vacancy``
  then the model's extras in name order, e.g. ``p_C``, ``prob_Si3``, ``uncertain``), then ``source`` (the file) and
  ``frame`` (0-based index in it); one schema per model, fixed before the first frame (:func:`atoms_schema`).
  Values at full precision (the CSV rounds to 1e-4); positions in px and Å; ``prob`` NaN when unset.
- ``defects.parquet``: the Defects CSV columns (``id,label,x_px,y_px,x_A,y_A,site_ids,prob,uncertain,n_sites``;
  ``site_ids`` space-separated atom ids as in the CSV), then ``source``, ``frame``.
- ``frames.parquet``: one row per frame, see :mod:`atomgraph.batch`.

Part files are written atomically (temporary file + rename, :func:`atomgraph.io.safe_write.atomic_path`), so a
reader never sees half a part.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..atoms import AtomTable
from .safe_write import atomic_path

log = logging.getLogger(__name__)

DEFECT_FIELDS = [("id", "int64"), ("label", "string"), ("x_px", "float64"), ("y_px", "float64"),
                 ("x_A", "float64"), ("y_A", "float64"), ("site_ids", "string"), ("prob", "float64"),
                 ("uncertain", "bool_"), ("n_sites", "int64")]


# the atoms columns every frame has (Atoms CSV order), then the per-model extras (:func:`atoms_schema`)
ATOM_FIELDS = [("id", "int64"), ("x_px", "float64"), ("y_px", "float64"), ("x_A", "float64"), ("y_A", "float64"),
               ("element", "string"), ("label", "string"), ("prob", "float64"), ("score", "float64"),
               ("intensity", "float64"), ("vacancy", "bool_")]
# extras whose name is fixed (classify and locate write them); ``p_<class>`` (locator evidence) and
# ``prob_<label>`` (calibrated probability) are float32 per class of the model
FIXED_EXTRAS = [("saturated", "bool_"), ("input_id", "int64"), ("masked", "bool_"), ("uncertain", "bool_"),
                ("recovered", "bool_"), ("novelty", "float32"), ("novel", "bool_")]


def atoms_schema(locator_classes: list[str], labels: list[str]):
    """The one ``pyarrow.Schema`` of ``atoms.parquet`` for a model, fixed before any frame is analyzed.

    Columns: :data:`ATOM_FIELDS`, ``p_<class>`` per locator class, ``prob_<label>`` per label, then
    :data:`FIXED_EXTRAS` (name order), then ``source`` and ``frame``. Positions are float64 (Å and px at full
    precision), as are the other Atoms CSV columns (``prob`` equals :func:`atomgraph.analyze`'s to the bit); the
    per-class probabilities and ``novelty`` float32 (7 significant digits, more than they carry). Every frame's table is cast to it, so any mix of frames (with or without vacancy nodes, novelty or
    none) writes into one dataset.
    """
    import pyarrow as pa

    extras = [(f"p_{c}", "float32") for c in locator_classes] + [(f"prob_{lab}", "float32") for lab in labels]
    extras += FIXED_EXTRAS
    fields = ATOM_FIELDS + sorted(extras)
    return pa.schema([pa.field(name, getattr(pa, kind)()) for name, kind in fields]
                     + [pa.field("source", pa.string()), pa.field("frame", pa.int64())])


def atoms_table(atoms: AtomTable, source: str, frame: int, schema=None):
    """The atoms of one frame as a ``pyarrow.Table`` of ``schema`` (:func:`atoms_schema`; default: the schema of
    the locator classes and labels found in the table's own columns). Columns the schema lacks are left out
    (logged); columns the table lacks are null."""
    import pyarrow as pa

    px = atoms.positions_px
    columns = {
        "id": atoms.ids, "x_px": px[:, 0], "y_px": px[:, 1],
        "x_A": atoms.positions_A[:, 0], "y_A": atoms.positions_A[:, 1],
        "element": np.asarray(atoms.element, dtype=object).astype(str),
        "label": np.asarray(atoms.label, dtype=object).astype(str),
        "prob": atoms.prob, "score": atoms.score, "intensity": atoms.intensity, "vacancy": atoms.vacancy,
    }
    extra = atoms.extra_columns()
    for key in sorted(extra):
        value = np.asarray(extra[key])
        if value.ndim == 1 and key not in columns and key not in ("source", "frame"):
            columns[key] = value
    if schema is None:
        schema = atoms_schema([k[2:] for k in columns if k.startswith("p_")],
                              [k[5:] for k in columns if k.startswith("prob_")])
    n = len(atoms)
    columns["source"] = [str(source)] * n
    columns["frame"] = np.full(n, int(frame), dtype=np.int64)
    left_out = sorted(set(columns) - set(schema.names))
    if left_out:
        log.debug("atoms columns not in the batch schema, left out: %s", ", ".join(left_out))
    arrays = []
    for field in schema:
        if field.name not in columns:
            arrays.append(pa.nulls(n, type=field.type))
            continue
        value = columns[field.name]
        if pa.types.is_string(field.type):
            arrays.append(pa.array(np.asarray(value, dtype=object).astype(str), type=field.type))
        else:
            arrays.append(pa.array(np.asarray(value, dtype=field.type.to_pandas_dtype()), type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def frames_schema(labels: list[str]):
    """The one ``pyarrow.Schema`` of ``frames.parquet`` (columns: :mod:`atomgraph.batch`): ``n_<label>`` per label
    of the model's vocabulary, pixel size in Å/px, seconds of read + analyze in the worker."""
    import pyarrow as pa

    fields = [("source", pa.string()), ("frame", pa.int64()), ("status", pa.string()), ("error", pa.string()),
              ("warnings", pa.string()), ("hash", pa.string()), ("height", pa.int64()), ("width", pa.int64()),
              ("pixel_size_A", pa.float64()), ("n_atoms", pa.int64()), ("n_vacancies", pa.int64()),
              ("n_defects", pa.int64())]
    fields += [(f"n_{label}", pa.int64()) for label in labels] + [("seconds", pa.float64())]
    return pa.schema([pa.field(name, kind) for name, kind in fields])


def frames_table(rows: list[dict], schema):
    """``rows`` (frames.parquet rows as dicts) as a ``pyarrow.Table`` of ``schema`` (:func:`frames_schema`)."""
    import pyarrow as pa

    return pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)


def defects_schema():
    """The one ``pyarrow.Schema`` of ``defects.parquet``: :data:`DEFECT_FIELDS`, then ``source``, ``frame``."""
    import pyarrow as pa

    fields = [pa.field(name, getattr(pa, kind)()) for name, kind in DEFECT_FIELDS]
    return pa.schema(fields + [pa.field("source", pa.string()), pa.field("frame", pa.int64())])


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
    fields = defects_schema()
    values["source"] = [str(source)] * len(defects)
    values["frame"] = [int(frame)] * len(defects)
    return pa.table({f.name: pa.array(values[f.name], type=f.type) for f in fields})


def write_part(tables: list, dataset: str | Path, name: str, force: bool = False, schema=None) -> Path | None:
    """Concatenate ``tables`` and write them as ``dataset/name`` atomically (an existing part only with ``force``:
    it is replaced in one rename); nothing when there are no rows. Returns the path, or None.

    ``schema``: every table is cast to it first (the batch's fixed schema, so one frame's float64 column can never
    make a part unwritable); None: the tables must already share one schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [t for t in tables if t is not None and t.num_rows]
    if not tables:
        return None
    if schema is not None:
        tables = [t if t.schema.equals(schema) else conform(t, schema) for t in tables]
    table = pa.concat_tables(tables)
    path = Path(dataset) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, force) as tmp:
        pq.write_table(table, tmp)
    return path


def conform(table, schema):
    """``table`` with exactly the columns of ``schema``, in its order and types (a missing column is null)."""
    import pyarrow as pa

    arrays = [table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
              for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


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
