"""Checks shared by the readers: the path names a readable, non-empty file."""

from __future__ import annotations

from pathlib import Path

from ..errors import AtomgraphInputError


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
