"""One writer per output: a claim (lock file) held for a whole run, and the leftovers of killed runs swept away.

Every command that writes (``analyze``, ``batch``, ``track``, ``watch``, ``discover``, ``simulate``, ...) claims its
output ``PATH`` (a folder or a file) for the whole run with :func:`claim_output`: a lock file ``.NAME.lock`` beside
it, created if needed and locked with ``flock`` (the kernel lets go of it when the process ends, ``kill -9``
included, so the lock of a dead run is simply taken over). The file names its holder (pid, host, command, start
time), so a second writer is refused (:class:`~atomgraph.errors.AtomgraphInputError`, exit 2) with a message naming
who holds it. A claim is re-entrant within a process (the CLI claims, then the library's ``batch`` claims again).

Right after a claim, the leftovers of killed runs into the same place are removed (:func:`sweep_leftovers`): the
hidden temporary folders and files that :mod:`atomgraph.io.safe_write` creates beside a target
(``.NAME.XXXXXXXX``, ``.NAME.old-*``) and hidden part temporaries inside a batch folder. Only the holder of the claim
sweeps, so nothing a live run is writing is ever removed.

Where ``fcntl`` is missing (Windows), the lock file is created with ``O_EXCL`` and a lock whose process is gone
(same host, pid not running) is taken over.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

from ..errors import AtomgraphInputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

log = logging.getLogger(__name__)

_HELD: dict[str, list] = {}  # resolved lock path -> [fd, depth]: claims of this process (re-entrant)


def lock_path(output: str | Path) -> Path:
    """The lock file of ``output``: ``.NAME.lock`` in the same folder (beside it, so that replacing the folder as a
    whole never moves the lock)."""
    output = Path(os.path.abspath(output))
    return output.parent / f".{output.name}.lock"


def _holder_text(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another process"
    command = " ".join(str(info.get("command", "")).split())
    if len(command) > 120:
        command = command[:117] + "..."
    return (f"pid {info.get('pid', '?')} on {info.get('host', '?')} since {info.get('started', '?')}"
            + (f" (`{command}`)" if command else ""))


def _refuse(output: Path, lock: Path) -> None:
    raise AtomgraphInputError(f"is being written by another atomgraph run: {_holder_text(lock)}; wait for it to "
                              f"finish or choose another output (a lock of a process that is gone is taken over; "
                              f"lock file {lock})", source=str(output))


def _describe_me() -> bytes:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return (json.dumps(info) + "\n").encode()


def _open_locked(output: Path, lock: Path) -> int:
    """A descriptor of ``lock`` holding an exclusive flock (the file may be a stale one: it is taken over)."""
    if not lock.parent.is_dir():
        raise AtomgraphInputError("parent folder does not exist", source=str(lock.parent))
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # read-only place, full disk, no permission: the place, not atomgraph
            raise AtomgraphInputError(f"cannot write there ({exc.strerror})", source=str(lock.parent)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            _refuse(output, lock)
        except OSError:  # a file system without locks: fall back to the pid rule
            os.close(fd)
            return _open_exclusive(output, lock)
        try:  # the holder before us may have removed the file between our open and our lock: lock the new one
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open_exclusive(output: Path, lock: Path) -> int:
    """Without flock: create ``lock`` with O_EXCL; a lock of a dead process on this host is removed first."""
    for _ in range(3):
        try:
            return os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        except OSError as exc:
            raise AtomgraphInputError(f"cannot write there ({exc.strerror})", source=str(lock.parent)) from None
        try:
            info = json.loads(lock.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            info = {}
        if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int) \
                and not _pid_alive(info["pid"]):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        _refuse(output, lock)
    _refuse(output, lock)
    return -1  # pragma: no cover


@contextlib.contextmanager
def claim_output(output: str | Path, sweep: bool = True) -> Iterator[Path]:
    """Hold the claim on ``output`` (folder or file) for the ``with`` block; refuse (exit 2) while another live
    process holds it. With ``sweep``, leftovers of killed runs into ``output`` are removed once the claim is held.
    Yields ``output`` as a ``Path``."""
    output = Path(output)
    lock = lock_path(output)
    key = str(lock)
    if key in _HELD:  # re-entrant: this process holds it already
        _HELD[key][1] += 1
        try:
            yield output
        finally:
            _HELD[key][1] -= 1
        return
    fd = _open_locked(output, lock) if fcntl is not None else _open_exclusive(output, lock)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, _describe_me(), 0)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            lock.unlink()
        raise AtomgraphInputError(f"cannot write there ({exc.strerror})", source=str(lock.parent)) from None
    _HELD[key] = [fd, 1]
    try:
        if sweep:
            sweep_leftovers(output)
        yield output
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            lock.unlink()  # before the close: a waiting process then locks a file nobody removes under it
        os.close(fd)


def holds_claim(output: str | Path) -> bool:
    """True when this process holds the claim on ``output``."""
    return str(lock_path(output)) in _HELD


_RANDOM = r"[a-z0-9_]{8}"  # the random part tempfile.mkstemp / mkdtemp give a name


def leftover_names(output: str | Path) -> re.Pattern:
    """The names of temporaries beside ``output`` that a run into ``output`` makes (:mod:`atomgraph.io.safe_write`):
    ``.NAME.XXXXXXXX`` (a folder being built), ``.NAME.XXXXXXXX.tmp`` and ``.STEM.XXXXXXXXSUFFIX`` (a file being
    written), ``.NAME.old-XXXXXXXX`` (a folder being replaced)."""
    path = Path(output)
    name, stem, suffix = (re.escape(x) for x in (path.name, path.stem, path.suffix))
    return re.compile(rf"^(\.{name}\.{_RANDOM}(\.tmp)?|\.{stem}\.{_RANDOM}{suffix}|\.{name}\.old-{_RANDOM})$")


def sweep_leftovers(output: str | Path) -> list[Path]:
    """Remove the temporaries of killed runs into ``output`` (see :func:`leftover_names`), and hidden temporary
    files inside ``output`` and its immediate sub-folders (``.*.tmp``, ``.part-*.parquet``: half-written files).
    Call it only while holding the claim (:func:`claim_output`). Returns what was removed."""
    output = Path(os.path.abspath(output))
    removed = []
    pattern = leftover_names(output)
    candidates = [p for p in output.parent.iterdir() if pattern.match(p.name)] if output.parent.is_dir() else []
    if output.is_dir():
        for folder in [output] + [d for d in output.iterdir() if d.is_dir() and not d.is_symlink()]:
            candidates += [p for p in folder.iterdir() if p.name.startswith(".") and p.is_file()
                           and (p.name.endswith(".tmp") or re.match(rf"^\.part-.*\.{_RANDOM}\.parquet$", p.name))]
    for path in candidates:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError as exc:
            log.warning("could not remove the leftover %s of an earlier run (%s)", path, exc.strerror)
    if removed:
        log.info("removed %d leftover(s) of killed runs: %s", len(removed), ", ".join(p.name for p in removed))
    return removed
