"""Results as ``pandas.DataFrame``: an analysis's atoms and defects, and every table an output folder holds.

The columns are those of the files (ARCHITECTURE.md, "Files"), at full precision: positions in px (``x_px, y_px``:
column and row, pixel centres at integers) and Å (``x_A, y_A``). pandas is imported when a function is called,
never with ``import atomgraph``.

:func:`read_results` reads any output folder in one call: ``analyze`` (``atoms``, ``defects``; a stack's folder has
a ``frame`` column), ``track``/``watch`` (``tracks``, ``events``, ``transitions``, ``drift``) and ``batch``
(``atoms``, ``defects``, ``frames`` from the Parquet datasets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atoms import AtomTable
from ..errors import AtomgraphInputError
from .parquet import read_dataset

#: Text columns of the CSVs: an empty cell is ``""`` in the frame, not NaN.
TEXT_COLUMNS = ("element", "label", "site_ids", "type", "track_ids", "from_label", "to_label", "raw_label",
                "source", "status", "error")
#: 0/1 columns of the CSVs, read back as booleans (as :func:`atoms_frame` gives them).
FLAG_COLUMNS = ("vacancy", "uncertain", "masked", "novel", "saturated", "recovered")
DEFECT_COLUMNS = ["id", "label", "x_px", "y_px", "x_A", "y_A", "site_ids", "prob", "uncertain", "n_sites"]
#: Table name -> file name, per kind of output folder, in the order :func:`read_results` returns them.
ANALYZE_TABLES = {"atoms": "atoms.csv", "defects": "defects.csv"}
TRACK_TABLES = {"tracks": "tracks.csv", "events": "events.csv", "transitions": "transitions.csv",
                "drift": "drift.csv"}
BATCH_TABLES = {"atoms": "atoms.parquet", "defects": "defects.parquet", "frames": "frames.parquet"}


def atoms_columns(atoms: AtomTable) -> dict[str, np.ndarray]:
    """The Atoms CSV columns of ``atoms`` as arrays (``id, x_px, y_px, x_A, y_A, element, label, prob, score,
    intensity, vacancy``, then the 1-D extras in name order), unrounded."""
    px = atoms.positions_px
    columns = {
        "id": np.asarray(atoms.ids, dtype=np.int64), "x_px": px[:, 0], "y_px": px[:, 1],
        "x_A": atoms.positions_A[:, 0], "y_A": atoms.positions_A[:, 1],
        "element": np.asarray(atoms.element, dtype=object).astype(str),
        "label": np.asarray(atoms.label, dtype=object).astype(str),
        "prob": np.asarray(atoms.prob, dtype=float), "score": np.asarray(atoms.score, dtype=float),
        "intensity": np.asarray(atoms.intensity, dtype=float), "vacancy": np.asarray(atoms.vacancy, dtype=bool),
    }
    extra = atoms.extra_columns()
    for key in sorted(extra):
        value = np.asarray(extra[key])
        if value.ndim == 1 and len(value) == len(atoms) and key not in columns:
            columns[key] = value.astype(str) if value.dtype.kind in "OUS" else value
    return columns


def atoms_frame(atoms: AtomTable):
    """One row per node of ``atoms`` with :func:`atoms_columns` (``pandas.DataFrame``)."""
    import pandas as pd

    return pd.DataFrame(atoms_columns(atoms))


def defects_frame(defects: list):
    """One row per :class:`atomgraph.defects.Defect` with the Defects CSV columns (``site_ids`` space-separated
    node ids, as in the CSV); an empty frame with those columns when there are none."""
    import pandas as pd

    rows = {
        "id": [int(d.id) for d in defects], "label": [str(d.label) for d in defects],
        "x_px": [float(d.center_px[0]) for d in defects], "y_px": [float(d.center_px[1]) for d in defects],
        "x_A": [float(d.center_A[0]) for d in defects], "y_A": [float(d.center_A[1]) for d in defects],
        "site_ids": [" ".join(map(str, d.site_ids)) for d in defects], "prob": [float(d.prob) for d in defects],
        "uncertain": [bool(d.uncertain) for d in defects], "n_sites": [len(d.site_ids) for d in defects],
    }
    frame = pd.DataFrame(rows, columns=DEFECT_COLUMNS)
    return frame.astype({"id": "int64", "x_px": float, "y_px": float, "x_A": float, "y_A": float,
                         "prob": float, "uncertain": bool, "n_sites": "int64"})


def read_csv_frame(path: str | Path):
    """A results CSV as a DataFrame: text columns keep ``""`` for empty cells (object dtype), empty numbers are NaN,
    0/1 flags (:data:`FLAG_COLUMNS`) are booleans."""
    import pandas as pd

    text = {c: str for c in TEXT_COLUMNS}
    frame = pd.read_csv(path, dtype=text, keep_default_na=False, na_values={})
    for column in frame.columns:
        if column in TEXT_COLUMNS:
            frame[column] = frame[column].astype(object)
        elif not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = pd.to_numeric(frame[column].replace("", np.nan))
        if column in FLAG_COLUMNS and frame[column].isin([0, 1]).all():
            frame[column] = frame[column].astype(bool)
    return frame


def results_kind(folder: str | Path) -> str | None:
    """``"track"``, ``"batch"`` or ``"analyze"`` from the files in ``folder``; None when it holds none of them."""
    folder = Path(folder)
    if (folder / "tracks.csv").is_file():
        return "track"
    if (folder / "frames.parquet").exists() or (folder / "atoms.parquet").exists():
        return "batch"
    if (folder / "atoms.csv").is_file():
        return "analyze"
    return None


def read_results(folder: str | Path) -> dict:
    """Every table of an atomgraph output folder as ``{name: pandas.DataFrame}``, in one call.

    Parameters
    ----------
    folder : str or Path
        An ``analyze`` output folder (``atoms``, ``defects``), a ``track``/``watch`` folder (``tracks``,
        ``events``, ``transitions``, ``drift``) or a ``batch`` folder (``atoms``, ``defects``, ``frames``).
        A table whose file is missing is left out.

    Returns
    -------
    dict of str to pandas.DataFrame
        Columns as in the files; positions in px and Å.

    Raises
    ------
    AtomgraphInputError
        ``folder`` is not a folder, or holds no atomgraph results.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "atoms.csv").write_text("id,x_px,y_px,x_A,y_A,element,label,prob\\n0,1,2,0.1,0.2,C,C,0.99\\n"
    ...                                       "1,5,2,0.5,0.2,,,\\n")
    >>> tables = read_results(folder)
    >>> list(tables), tables["atoms"]["element"].tolist(), tables["atoms"]["prob"].isna().tolist()
    (['atoms'], ['C', ''], [False, True])
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AtomgraphInputError("not a folder of atomgraph results", source=str(folder))
    kind = results_kind(folder)
    if kind is None:
        raise AtomgraphInputError("holds no atomgraph results (atoms.csv, tracks.csv or *.parquet)",
                                  source=str(folder))
    if kind == "batch":
        return {name: read_dataset(folder / file).to_pandas() for name, file in BATCH_TABLES.items()
                if (folder / file).exists()}
    names = TRACK_TABLES if kind == "track" else ANALYZE_TABLES
    return {name: read_csv_frame(folder / file) for name, file in names.items() if (folder / file).is_file()}
