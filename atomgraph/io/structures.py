"""Structure files through ``ase.io.read`` (xyz, extxyz, cif, POSCAR, ...): positions in Å, projected along z into
columns (:func:`~atomgraph.atoms.project_to_columns`)."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np

from ..atoms import AtomTable, project_to_columns
from ..errors import AtomgraphInputError, short_error
from .checks import check_atom_count

log = logging.getLogger(__name__)

_REFUSED_ASE_FORMATS = {"postgresql", "mysql"}


def read_structure(path: Path, source: str, pixel_size_A: float | None) -> AtomTable:
    import ase.io
    from ase.io.formats import filetype

    try:
        fmt = filetype(str(path), guess=True)
    except Exception as exc:
        raise AtomgraphInputError(f"is not a coordinate file atomgraph can read: use a CSV with x_px,y_px or "
                                  f"x_A,y_A, or a format ase.io.read knows ({short_error(exc)})",
                                  source=source) from None
    from ase.io.formats import ioformats

    if fmt not in ioformats or not ioformats[fmt].can_read:
        raise AtomgraphInputError(f"unknown coordinate format {path.suffix or fmt!r}: use a CSV with x_px,y_px or "
                                  "x_A,y_A, or a format ase.io.read knows (xyz, extxyz, cif, vasp/POSCAR, pdb, ...)",
                                  source=source)
    if fmt in _REFUSED_ASE_FORMATS:
        raise AtomgraphInputError(f"format {fmt!r} is not read from files", source=source)
    if fmt in ("xyz", "extxyz"):
        _precheck_xyz(path, source)
    try:
        # slice(0, 1): ASE's xyz reader scans every frame header for index=0 (slice(0, None)), one past it here
        frames = ase.io.read(str(path), index=slice(0, 1), format=fmt, do_not_split_by_at_sign=True)
    except MemoryError:
        raise AtomgraphInputError("is too large to read into memory", source=source) from None
    except Exception as exc:  # ASE parsers raise many types on bad input
        raise AtomgraphInputError(f"could not be read as {fmt} by ase.io.read ({short_error(exc)})",
                                  source=source) from None
    atoms = frames[0] if isinstance(frames, list) and frames else (frames or None)
    if atoms is None or len(atoms) == 0:
        raise AtomgraphInputError("has no atoms", source=source)
    check_atom_count(len(atoms), source)
    positions = np.asarray(atoms.positions, dtype=float)
    if not np.isfinite(positions).all():
        raise AtomgraphInputError(f"has {int((~np.isfinite(positions)).any(axis=1).sum())} atoms with NaN/inf "
                                  "positions", source=source)
    if np.abs(positions).max() > 1e9:
        raise AtomgraphInputError("has coordinates too large to be positions in an image", source=source)
    table = project_to_columns(atoms, pixel_size_A=pixel_size_A)
    if len(table) < len(atoms):
        log.info("%s: %d atoms projected along z into %d columns", source, len(atoms), len(table))
    return table


def _precheck_xyz(path: Path, source: str, frames: int = 2) -> None:
    """Check the atom-count lines of the first frames of an xyz file before ASE loops over them.

    ASE reads as many lines as a frame header says (a count of 10**10 would never end) and scans one frame past the
    one asked for, so the first ``frames`` headers are checked here.
    """
    with open(path, encoding="utf-8", errors="replace") as handle:
        for frame in range(frames):
            header = handle.readline()
            if header.strip() == "":
                return
            try:
                n = int(header)
            except ValueError:
                return  # ASE reports the bad header
            where = "" if frame == 0 else f" (frame {frame})"
            if n < 0:
                raise AtomgraphInputError(f"xyz header{where} declares {n} atoms", source=source)
            check_atom_count(n, source)
            lines = sum(1 for _ in itertools.islice(handle, n + 1))
            if lines < n + 1 and frame == 0:
                raise AtomgraphInputError(f"xyz header declares {n} atoms but the file has only "
                                          f"{max(lines - 1, 0)} atom lines (truncated?)", source=source)
