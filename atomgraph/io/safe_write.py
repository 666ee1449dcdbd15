"""Atomic, no-clobber output files.

Every writer goes through :func:`atomic_output`: the data is written to a temporary file in the target folder and
renamed over the target only when writing succeeded, so a crash never leaves a half-written file; an existing target
is refused unless ``force=True``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import AtomgraphInputError
from ..interrupts import deferred


def current_umask() -> int:
    """The process umask (read from /proc where possible, so no other thread ever sees a changed umask)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path, folder: bool = False) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would: ``0o666`` (files) or ``0o777`` (folders) less the
    umask. ``tempfile.mkstemp``/``mkdtemp`` create 0600/0700, which would keep colleagues on a shared drive out."""
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


def check_writable(path: str | Path, force: bool = False) -> Path:
    """Refuse an existing output (unless ``force``) or a missing parent folder, before any work is done."""
    path = Path(path)
    if path.exists() and not force:
        raise AtomgraphInputError("output exists; use --force (force=True) to overwrite", source=str(path))
    if path.is_dir():
        raise AtomgraphInputError("output is a folder, expected a file path", source=str(path))
    if not path.parent.exists():
        raise AtomgraphInputError("output folder does not exist", source=str(path.parent))
    return path


def safe_child(folder: str | Path, name: str, what: str = "file name") -> Path:
    """``folder / name`` for a ``name`` that came from a file (a config's ``name``, a manifest entry): refuse a name
    that is absolute, contains a path separator or ``..``, or would land outside ``folder`` (also through a symlink),
    so content read from a file can never make atomgraph write outside the output folder."""
    text = plain_name(name, what)
    root = Path(folder).resolve()
    if (root / text).resolve().parent != root:  # an existing symlink pointing elsewhere
        raise AtomgraphInputError(f"{what} {text!r} leads outside the output folder (a link?); refusing to write")
    return Path(folder) / text


def plain_name(name: str, what: str = "file name", source: str | None = None) -> str:
    """``name`` itself when it is a plain file name: not empty, no path separator, no ``..``, not absolute, no
    control characters; else :class:`AtomgraphInputError` naming ``what`` (e.g. ``"config key 'name'"``)."""
    text = str(name)
    if (not text or text in (".", "..") or "/" in text or "\\" in text or any(ord(c) < 32 for c in text)
            or Path(text).is_absolute()):
        raise AtomgraphInputError(f"{what} {text!r} is not a plain file name (no folders, '..' or absolute paths); "
                                  "refusing to write outside the output folder", source=source)
    return text


@contextlib.contextmanager
def atomic_output(path: str | Path, force: bool = False, mode: str = "w") -> Iterator:
    """Open a temporary file beside ``path`` for writing; rename it to ``path`` on success, delete it on error.

    ``mode`` is ``"w"`` (text, UTF-8) or ``"wb"``. Yields the open file object; use ``handle.name`` for libraries
    that want a path (then ignore the handle).
    """
    path = check_writable(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": ""} if "b" not in mode else {})) as handle:
            yield handle
        apply_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Like :func:`atomic_output` but yields a temporary *path* (keeping the suffix) for libraries that write
    files themselves (ase.io.write, torch.save, networkx.write_graphml, matplotlib savefig)."""
    path = check_writable(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        apply_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------------------------------------- output folders
def check_output_folder(path: Path, force: bool) -> None:
    """Refuse an output folder that is a file, not empty (without ``force``), or whose parent is missing, before
    any work is done."""
    if path.exists() and not path.is_dir():
        raise AtomgraphInputError("output exists and is not a folder", source=str(path))
    if path.is_dir() and any(path.iterdir()) and not force:
        raise AtomgraphInputError("output folder is not empty; use --force to overwrite", source=str(path))
    parent = path.resolve().parent
    if not parent.is_dir():
        raise AtomgraphInputError("parent folder does not exist", source=str(parent))


def _prepare_outdir(path: Path, force: bool) -> Path:
    """A fresh temporary folder beside ``path``; refuses a non-empty ``path`` without ``force``."""
    check_output_folder(path, force)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.resolve().parent))
    apply_umask(tmp, folder=True)  # mkdtemp makes it 0700; the moved-in folder should be like any mkdir's
    return tmp


def remove_folder(path: Path) -> None:
    """Remove the folder ``path`` as a whole: first renamed to a hidden ``.NAME.old-XXXXXXXX`` beside it (so the
    name is free at once, and a run killed while deleting leaves only a leftover the next run sweeps), then
    deleted."""
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.resolve().parent))
    os.replace(path, old)  # onto the empty folder mkdtemp made: one rename
    shutil.rmtree(old, ignore_errors=True)


def _commit_outdir(tmp: Path, path: Path, force: bool) -> None:
    """Put the finished folder ``tmp`` in place of ``path``: an existing ``path`` (``force``, or an empty one) is
    replaced as a whole, never merged with. A folder that became non-empty meanwhile is refused without
    ``force``."""
    if path.is_dir() and not force and any(path.iterdir()):
        raise AtomgraphInputError("output folder was filled by someone else while this run worked; nothing "
                                  "replaced (use --force to replace it)", source=str(path))
    remove_folder(path)
    os.replace(tmp, path)


class OutputFolder:
    """Context manager: write into a temporary folder, move it into place only when everything succeeded (with
    ``force``, replacing an existing folder as a whole: no file of the old one is kept)."""

    def __init__(self, path: str | Path, force: bool) -> None:
        self.path = Path(path)
        self.force = bool(force)
        check_output_folder(self.path, self.force)  # refused before any work
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        try:  # a SIGTERM between creating the folder and entering the block would leave it behind: held meanwhile
            with deferred():
                self.tmp = _prepare_outdir(self.path, self.force)
        except BaseException:
            if self.tmp is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                _commit_outdir(self.tmp, self.path, self.force)
            except BaseException:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
