"""Reading coordinate files into an :class:`~atomgraph.atoms.AtomTable`.

Two kinds of input (see ARCHITECTURE.md, "Coordinate inputs"):

- CSV with ``x_px,y_px`` (needs a pixel size) or ``x_A,y_A`` (Å), optional ``element``, ``intensity``, ``label``,
  ``prob``, ``id`` (and ``score``, ``vacancy`` of our own Atoms CSV); other columns are ignored. Our truth CSV and
  Atoms CSV read back as they were written.
- Anything ``ase.io.read`` reads (xyz, extxyz, cif, POSCAR, ...): positions in Å, projected along z into columns
  with :func:`~atomgraph.atoms.project_to_columns`.

Every user mistake raises :class:`~atomgraph.errors.AtomgraphInputError` with one line naming the file (and the line
and column where it applies).
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import math
import os
from pathlib import Path

import numpy as np

from ..atoms import AtomTable
from ..errors import AtomgraphInputError
from ..pixel_size import check_pixel_size
from .checks import check_atom_count, check_input_file
from .structures import read_structure

log = logging.getLogger(__name__)

DUPLICATE_DISTANCE_A = 0.05
MAX_COORD_FILE_BYTES = 2 * 1024**3  # refuse before parsing
CSV_EXTENSIONS = (".csv", ".tsv")
PIXEL_COLUMNS = ("x_px", "y_px")
ANGSTROM_COLUMNS = ("x_A", "y_A")
OPTIONAL_COLUMNS = ("element", "intensity", "label", "prob", "id", "score", "vacancy")
KNOWN_COLUMNS = PIXEL_COLUMNS + ANGSTROM_COLUMNS + OPTIONAL_COLUMNS
# ASE formats that are not local files


def read_coordinates(path: str | os.PathLike, *, pixel_size_A: float | None = None) -> AtomTable:
    """Read atom positions from a CSV or any file ``ase.io.read`` reads.

    Parameters
    ----------
    path : str or path-like
        ``.csv``/``.tsv`` with a header row (``x_px,y_px`` or ``x_A,y_A``; see module docstring), or a structure
        file for ``ase.io.read`` (positions in Å, projected along z; the first frame of a multi-frame file).
    pixel_size_A : float, optional
        Å per pixel. Needed for ``x_px,y_px`` input; for Å input it sets the table's pixel size (else taken from
        ``x_A/x_px`` when the file has both, or left ``None``).

    Returns
    -------
    AtomTable
        One row per atom or column (vacancy sites have ``element == ''``), ``score`` 1 unless given.

    Raises
    ------
    AtomgraphInputError
        Missing/empty file, missing or misspelled columns, non-numeric values (line and column named), unknown
        elements, duplicate points (closer than 0.05 Å), no atoms, more than 10**6 atoms, a file ASE can't read.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "atoms.csv")
    >>> _ = open(path, "w").write("x_px,y_px,element\\n10,20,C\\n12.5,20,Si\\n")
    >>> table = read_coordinates(path, pixel_size_A=0.1)
    >>> table.positions_A.round(2).tolist(), list(table.element)
    ([[1.0, 2.0], [1.25, 2.0]], ['C', 'Si'])
    """
    path = Path(path)
    source = str(path)
    pixel_size_A = check_pixel_size(pixel_size_A, required=False, source=source)
    _check_file(path, source)
    if path.suffix.lower() in CSV_EXTENSIONS or _looks_like_csv_table(path):
        table = _read_csv(path, source, pixel_size_A)
    else:
        table = read_structure(path, source, pixel_size_A)
    _check_duplicates(table, source)
    log.debug("read %d atoms from %s", len(table), source)
    return table


def _looks_like_csv_table(path: Path) -> bool:
    """A .txt/.dat (or extension-less) file whose first line is a header with our coordinate columns."""
    if path.suffix.lower() not in (".txt", ".dat", ""):
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    first = next((line for line in head.splitlines() if line.strip()), "")
    names = {_canonical(n) for n in first.replace("\t", ",").replace(";", ",").split(",")}
    return set(PIXEL_COLUMNS) <= names or set(ANGSTROM_COLUMNS) <= names


def _check_file(path: Path, source: str) -> None:
    check_input_file(path, source, empty_hint="; no atoms", max_bytes=MAX_COORD_FILE_BYTES)


# ------------------------------------------------------------------------------------------------------------ CSV
def _read_text(path: Path, source: str) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise AtomgraphInputError("is a binary file, not a CSV text table", source=source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
            raise AtomgraphInputError("is not a text file", source=source) from None


def _canonical(name: str) -> str:
    """Header name -> our column name when it matches ignoring case and spaces; else the stripped name."""
    stripped = name.strip().strip('"').strip()
    lowered = stripped.lower()
    for known in KNOWN_COLUMNS:
        if lowered == known.lower():
            return known
    return stripped


def _missing_columns_message(found: list[str]) -> str:
    shown = ", ".join(found) if found else "(none)"
    hints = []
    for name in found:
        close = difflib.get_close_matches(name.lower(), [c.lower() for c in PIXEL_COLUMNS + ANGSTROM_COLUMNS],
                                          n=1, cutoff=0.6)
        if close:
            canonical = next(c for c in PIXEL_COLUMNS + ANGSTROM_COLUMNS if c.lower() == close[0])
            hints.append(f"'{name}' -> '{canonical}'?")
    hint = f"; did you mean {', '.join(hints)}" if hints else ""
    return (f"has no coordinate columns: found {shown}; expected x_px,y_px (pixels, with a pixel size) "
            f"or x_A,y_A (Å){hint}")


def _read_csv(path: Path, source: str, pixel_size_A: float | None) -> AtomTable:
    """A coordinate CSV (see :func:`read_coordinates`) as an AtomTable."""
    lines = _read_text(path, source).splitlines()
    first, reader, col = _csv_header(lines, source)
    has_px = all(c in col for c in PIXEL_COLUMNS)
    has_A = all(c in col for c in ANGSTROM_COLUMNS)
    if has_px and not has_A and pixel_size_A is None:
        raise AtomgraphInputError("x_px/y_px need --pixel-size (Å per pixel), or give x_A/y_A columns",
                                  source=source)
    values, line_numbers = _csv_rows(reader, first, col, source)
    n = len(line_numbers)

    def numbers(name: str, *, required: bool) -> np.ndarray:
        return _csv_numbers(values[name], name, line_numbers, required, source)

    if has_A:
        positions_A = np.column_stack([numbers("x_A", required=True), numbers("y_A", required=True)])
        if has_px:
            positions_px = np.column_stack([numbers("x_px", required=True), numbers("y_px", required=True)])
            pixel_size_A = _consistent_pixel_size(positions_A, positions_px, pixel_size_A, source)
    else:
        positions_px = np.column_stack([numbers("x_px", required=True), numbers("y_px", required=True)])
        positions_A = positions_px * pixel_size_A
    if not np.isfinite(positions_A).all() or np.abs(positions_A).max() > 1e9:
        raise AtomgraphInputError("has coordinates too large to be positions in an image", source=source)

    kwargs: dict = {}
    if "element" in values:
        element = _elements(values["element"], line_numbers, source)
    else:  # species unknown: empty element, but these are atoms, not vacancy sites
        element = np.full(n, "", dtype=object)
        kwargs["vacancy"] = np.zeros(n, dtype=bool)
        log.info("%s has no element column; species left empty (atoms, not vacancies)", source)
    if "label" in values:
        kwargs["label"] = values["label"]
    for name in ("intensity", "prob", "score"):
        if name in values:
            kwargs[name] = numbers(name, required=False)
    if "score" in kwargs:
        kwargs["score"] = np.where(np.isnan(kwargs["score"]), 1.0, kwargs["score"])
    if "vacancy" in values:
        kwargs["vacancy"] = _booleans(values["vacancy"], line_numbers, source)
    if "id" in values:
        kwargs["ids"] = _ids(values["id"], line_numbers, source)
    return AtomTable(positions_A=positions_A, element=element, pixel_size_A=pixel_size_A, **kwargs)


def _csv_header(lines: list[str], source: str):
    """(index of the header line, a csv reader positioned after it, column name -> index)."""
    first = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), None)
    if first is None:
        raise AtomgraphInputError("has no header and no atoms", source=source)
    header_line = lines[first]
    delimiter = next((d for d in (",", "\t", ";") if d in header_line), ",")
    check_atom_count(sum(1 for line in lines[first + 1:] if line.strip()), source)
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delimiter)
    try:
        header = [_canonical(h) for h in next(reader)]
    except csv.Error as exc:
        raise AtomgraphInputError(f"has an unreadable header ({exc})", source=source) from None
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise AtomgraphInputError(f"has repeated columns: {', '.join(dupes)}", source=source)
    col = {name: i for i, name in enumerate(header)}
    if not all(c in col for c in PIXEL_COLUMNS) and not all(c in col for c in ANGSTROM_COLUMNS):
        raise AtomgraphInputError(_missing_columns_message(header), source=source)
    return first, reader, col


def _csv_rows(reader, first: int, col: dict[str, int], source: str) -> tuple[dict[str, list], list[int]]:
    """The known columns' cells (stripped text) and each row's line number; blank and ``#`` rows skipped."""
    values: dict[str, list] = {name: [] for name in KNOWN_COLUMNS if name in col}
    line_numbers: list[int] = []
    try:
        for row in reader:
            line_no = first + reader.line_num
            if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if len(row) < len(col):
                raise AtomgraphInputError(f"line {line_no} has {len(row)} fields, the header has {len(col)}",
                                          source=source)
            line_numbers.append(line_no)
            for name in values:
                values[name].append(row[col[name]].strip())
    except csv.Error as exc:
        raise AtomgraphInputError(f"is not a readable CSV ({exc})", source=source) from None
    if not line_numbers:
        raise AtomgraphInputError("has a header but no atoms", source=source)
    check_atom_count(len(line_numbers), source)
    return values, line_numbers


def _csv_numbers(cells: list[str], name: str, line_numbers: list[int], required: bool, source: str) -> np.ndarray:
    """One column as floats: NaN for empty optional cells; a non-number (or, when required, a non-finite number)
    is an error naming the line."""
    out = np.empty(len(cells))
    for k, cell in enumerate(cells):
        if cell == "" and not required:
            out[k] = np.nan
            continue
        try:
            out[k] = float(cell)
        except ValueError:
            raise AtomgraphInputError(f"line {line_numbers[k]}, column {name}: {cell!r} is not a number",
                                      source=source) from None
        if required and not math.isfinite(out[k]):
            raise AtomgraphInputError(f"line {line_numbers[k]}, column {name}: {cell!r} is not a finite number",
                                      source=source)
    return out


def _consistent_pixel_size(positions_A: np.ndarray, positions_px: np.ndarray, pixel_size_A: float | None,
                           source: str) -> float | None:
    """The pixel size the file's x_A/x_px imply (least squares), checked against a given one."""
    denom = float((positions_px**2).sum())
    if denom <= 0:
        return pixel_size_A
    implied = float((positions_A * positions_px).sum() / denom)
    if pixel_size_A is None:
        return implied if implied > 0 else None
    if abs(implied - pixel_size_A) > 0.01 * pixel_size_A:
        raise AtomgraphInputError(f"pixel size {pixel_size_A:g} Å given, but the file's x_A/x_px columns imply "
                                  f"{implied:.4g} Å", source=source)
    return pixel_size_A


def _elements(cells: list[str], line_numbers: list[int], source: str) -> np.ndarray:
    from ase.data import chemical_symbols

    valid = set(chemical_symbols[1:])
    out = np.empty(len(cells), dtype=object)
    for k, cell in enumerate(cells):
        if cell in ("", "X"):
            out[k] = ""
        elif cell in valid:
            out[k] = cell
        else:
            guess = cell[:1].upper() + cell[1:].lower()
            hint = f" (did you mean '{guess}'?)" if guess in valid else ""
            raise AtomgraphInputError(f"line {line_numbers[k]}: unknown element {cell!r}{hint}; use chemical "
                                      "symbols, or leave it empty for a vacancy", source=source)
    return out


def _booleans(cells: list[str], line_numbers: list[int], source: str) -> np.ndarray:
    true, false = {"1", "true", "yes", "t", "y"}, {"0", "false", "no", "f", "n", ""}
    out = np.zeros(len(cells), dtype=bool)
    for k, cell in enumerate(cells):
        low = cell.lower()
        if low in true:
            out[k] = True
        elif low not in false:
            raise AtomgraphInputError(f"line {line_numbers[k]}, column vacancy: {cell!r} is not 0/1",
                                      source=source)
    return out


def _ids(cells: list[str], line_numbers: list[int], source: str) -> np.ndarray:
    out = np.empty(len(cells), dtype=np.int64)
    for k, cell in enumerate(cells):
        try:
            value = float(cell)
            if not value.is_integer() or abs(value) > 2**62:
                raise ValueError
            out[k] = int(value)
        except ValueError:
            raise AtomgraphInputError(f"line {line_numbers[k]}, column id: {cell!r} is not an integer",
                                      source=source) from None
    uniq, counts = np.unique(out, return_counts=True)
    if (counts > 1).any():
        raise AtomgraphInputError(f"column id: id {int(uniq[counts > 1][0])} appears {int(counts.max())} times",
                                  source=source)
    return out


# ---------------------------------------------------------------------------------------------------- duplicates
def _check_duplicates(table: AtomTable, source: str) -> None:
    """Refuse points closer than DUPLICATE_DISTANCE_A (Å): duplicates, not neighbours. A file whose points are all
    far apart is passed by :func:`_close_pair_possible` (numpy); scipy's tree (0.5 s to import) names the pairs."""
    if len(table) < 2 or not _close_pair_possible(table.positions_A, DUPLICATE_DISTANCE_A):
        return
    from scipy.spatial import cKDTree

    pairs = cKDTree(table.positions_A).query_pairs(DUPLICATE_DISTANCE_A, output_type="ndarray")
    if len(pairs):
        i, j = sorted(pairs[0])
        raise AtomgraphInputError(f"has {len(pairs)} duplicate point pair(s) closer than {DUPLICATE_DISTANCE_A} Å "
                                  f"(first: atoms {i} and {j} at x={table.positions_A[i, 0]:.3f} Å, "
                                  f"y={table.positions_A[i, 1]:.3f} Å); remove them", source=source)


def _close_pair_possible(positions_A: np.ndarray, distance_A: float) -> bool:
    """False when no two of ``positions_A`` (N, 2) are within ``distance_A``, True when two may be.

    Each point falls in a cell of a grid of side ``distance_A``, so two points that close share a cell or sit in
    neighbouring ones: with every cell holding one point, only the neighbours are measured. True also when the grid
    would be too large to index exactly (points spread over more than 2**26 cells a side).
    """
    cells = np.floor(np.asarray(positions_A, dtype=float)[:, :2] / distance_A)
    if not np.isfinite(cells).all():
        return True
    cells -= cells.min(axis=0) - 1  # from 1: the neighbour at -1 keeps a key of its own
    if cells.max() >= 2**26:
        return True
    rows = int(cells[:, 1].max()) + 2
    keys = cells[:, 0].astype(np.int64) * rows + cells[:, 1].astype(np.int64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    if (np.diff(sorted_keys) == 0).any():
        return True
    for step in (rows, 1, rows + 1, rows - 1):  # the right, upper, upper-right and lower-right neighbouring cells
        at = np.minimum(np.searchsorted(sorted_keys, keys + step), len(keys) - 1)
        found = sorted_keys[at] == keys + step
        gaps = positions_A[found, :2] - positions_A[order[at[found]], :2]
        if (np.hypot(gaps[:, 0], gaps[:, 1]) <= distance_A * (1 + 1e-9)).any():
            return True
    return False
