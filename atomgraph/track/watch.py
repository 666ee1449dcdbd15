"""Live mode: frame files as a microscope writes them into a folder, each one taken once it reads completely.

A file is a candidate when its size is above zero and has not changed over ``stable_polls`` consecutive polls
(a microscope writes a frame progressively). A candidate is then *read*; a read that fails (a writer that paused
longer than the polls, so the file is still truncated) is retried with back-off (the poll interval, doubling up to
``MAX_BACKOFF_S``) until it succeeds or the file has neither read nor changed for ``read_timeout_s``: only then is it
given up as unreadable. A frame is never dropped for being early. Files are taken in name order, each once, one
frame per file; a later file waits while an earlier one is being retried (the frames of a movie stay in order). A
file that vanishes before it is read is a warning, and the watch goes on.

Units: poll interval, back-off, timeouts and idle time in seconds.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import AtomgraphInputError

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 4.0


@dataclass
class Arrival:
    """One file taken: ``frame`` is what ``read`` returned, or None with ``error`` (unreadable after the timeout)."""

    path: Path
    frame: object = None
    error: str = ""


def _names(folder: Path, pattern: str) -> list[str]:
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    return sorted(p.name for p in entries if fnmatch.fnmatch(p.name, pattern) and not p.name.startswith(".")
                  and not p.name.endswith((".tmp", ".part")) and p.is_file())


def arrivals(folder: str | Path, read: Callable[[Path], object], pattern: str = "*", poll_s: float = 0.5,
             stable_polls: int = 2, read_timeout_s: float = 30.0, idle_exit_s: float | None = None,
             max_files: int | None = None, warn: Callable[[str], None] = log.warning) -> Iterator[Arrival]:
    """Yield an :class:`Arrival` per file of ``folder`` matching ``pattern``, once each, in name order, as each
    reads completely (``read(path)`` returns without :class:`AtomgraphInputError` or ``OSError``).

    Stops after ``max_files`` files, or when nothing new has arrived for ``idle_exit_s`` seconds (None: never;
    stop it with Ctrl-C). A file that vanishes is reported through ``warn`` and skipped. Hidden files (``.name``)
    and temporary files (``*.tmp``, ``*.part``) are ignored."""
    folder = Path(folder)
    sizes: dict[str, tuple[int, int]] = {}  # name -> (last size, polls unchanged)
    retry: dict[str, list] = {}  # name -> [next try (monotonic s), back-off s, last change (monotonic s), error]
    done: set[str] = set()
    last_new = time.monotonic()
    taken = 0
    while True:
        now = time.monotonic()
        names = _names(folder, pattern)
        for name in sorted(set(sizes) - set(names) - done):  # seen before, gone before it was taken
            _vanished(name, sizes, retry, done, warn)
        for name in names:
            if name in done:
                continue
            path = folder / name
            state = _settled(path, sizes, retry, now, stable_polls)
            if state == "gone":
                _vanished(name, sizes, retry, done, warn)
                continue
            if state == "wait":
                break  # not ready: later files wait (name order)
            try:
                frame = read(path)
            except (AtomgraphInputError, OSError) as exc:
                if not path.exists():
                    _vanished(name, sizes, retry, done, warn)
                    continue
                state = retry.setdefault(name, [now, poll_s, now, ""])
                state[3] = str(exc)
                if now - state[2] >= read_timeout_s:
                    done.add(name)
                    yield Arrival(path, None, f"unreadable after {read_timeout_s:g} s of retries: {exc}")
                    taken += 1
                    last_new = time.monotonic()
                    if max_files is not None and taken >= max_files:
                        return
                    continue
                log.info("%s does not read yet (%s); retrying in %.2g s", name, exc, state[1])
                state[0], state[1] = now + state[1], min(2 * state[1], MAX_BACKOFF_S)
                break
            done.add(name)
            retry.pop(name, None)
            taken += 1
            last_new = time.monotonic()
            yield Arrival(path, frame)
            if max_files is not None and taken >= max_files:
                return
        if idle_exit_s is not None and time.monotonic() - last_new > idle_exit_s:
            return
        time.sleep(poll_s)


def _settled(path: Path, sizes: dict, retry: dict, now: float, stable_polls: int) -> str:
    """Poll one file: ``"gone"`` (it vanished), ``"wait"`` (still growing, empty, or waiting out a retry's
    back-off) or ``"ready"`` (to be read now). Updates its (size, polls unchanged) in ``sizes`` and, when a file
    being retried grows again, restarts its read timeout (``retry[name][2]``)."""
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "gone"
    old, polls = sizes.get(name, (-1, 0))
    changed = size != old
    polls = polls + 1 if not changed and size > 0 else 0
    sizes[name] = (size, polls)
    if name in retry and changed:  # still being written: start the clock again
        retry[name][2] = now
    if polls < stable_polls or (name in retry and now < retry[name][0] and not changed):
        return "wait"
    return "ready"


def _vanished(name: str, sizes: dict, retry: dict, done: set, warn: Callable[[str], None]) -> None:
    if name in sizes:
        warn(f"{name} vanished before it could be read; skipped")
    done.add(name)
    sizes.pop(name, None)
    retry.pop(name, None)


def complete_files(folder: str | Path, pattern: str = "*", poll_s: float = 0.5, stable_polls: int = 2,
                   idle_exit_s: float | None = None, max_files: int | None = None) -> Iterator[Path]:
    """The paths of :func:`arrivals` whose size has settled (no read: every file is taken as it settles)."""
    for arrival in arrivals(folder, lambda p: None, pattern, poll_s, stable_polls, idle_exit_s=idle_exit_s,
                            max_files=max_files):
        yield arrival.path
