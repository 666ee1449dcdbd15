"""Checks shared by the readers: the path names a readable, non-empty file."""

from __future__ import annotations

from pathlib import Path

from ..errors import AtomgraphInputError

MAX_ATOMS = 1_000_000  # atoms a coordinate file may hold (read at call time, so tests can lower it)


def check_input_file(path: Path, source: str, *, empty_hint: str = "", max_bytes: int | None = None) -> int:
    """Raise :class:`AtomgraphInputError` unless ``path`` is a readable file with content; return its size in bytes.

    ``empty_hint`` is appended to the empty-file message (e.g. ``"; no atoms"``); ``max_bytes`` refuses larger files.
    """
    if not path.exists():
        raise AtomgraphInputError("file not found", source=source)
    if path.is_dir():
        raise AtomgraphInputError("is a folder, not a file", source=source)
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise AtomgraphInputError(f"cannot be read ({exc.strerror or exc})", source=source) from None
    if size == 0:
        raise AtomgraphInputError(f"is empty (0 bytes){empty_hint}", source=source)
    if max_bytes is not None and size > max_bytes:
        raise AtomgraphInputError(f"is too large for a coordinate file ({size} bytes)", source=source)
    return size


def check_atom_count(n: int, source: str) -> None:
    """Refuse more than :data:`MAX_ATOMS` atoms (a field of view to split, not one file)."""
    if n > MAX_ATOMS:
        raise AtomgraphInputError(f"too many atoms ({n} > {MAX_ATOMS}); split the field of view", source=source)
