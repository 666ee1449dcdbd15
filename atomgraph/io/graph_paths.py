"""Where a graph file goes, checked before any work: the formats :func:`atomgraph.io.graphs.write_graph` knows and
the files it writes for a path (standard library only, so the CLI's door checks a ``-o`` without the graph stage)."""

from __future__ import annotations

from pathlib import Path

from ..errors import AtomgraphInputError
from .safe_write import check_writable

FORMATS = (".graphml", ".json", ".extxyz", ".csv", ".pt", ".npz")


def edges_csv_path(path: str | Path) -> Path:
    """The edges file written beside a graph CSV: ``<stem>_edges.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_edges.csv")


def check_graph_output(path: str | Path, force: bool = False) -> list[Path]:
    """Before any work: the format is known and every file :func:`write_graph` would write (``.csv`` also writes
    ``<stem>_edges.csv``) is writable (exists only with ``force``, folder exists). Returns those paths."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise AtomgraphInputError(f"unknown graph format '{suffix}' (use one of {', '.join(FORMATS)})",
                                  source=str(path))
    paths = [path, edges_csv_path(path)] if suffix == ".csv" else [path]
    for p in paths:
        check_writable(p, force)
    return paths
