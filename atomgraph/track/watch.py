"""Live mode: frame files as a microscope writes them into a folder, each one taken when it is complete.

A file counts as complete when its size is above zero and has not changed over ``stable_polls`` consecutive polls
(a microscope writes a frame progressively). Files are taken in name order, each once, one frame per file.

Units: poll interval and idle time in seconds.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterator
from pathlib import Path


def complete_files(folder: str | Path, pattern: str = "*", poll_s: float = 0.5, stable_polls: int = 2,
                   idle_exit_s: float | None = None, max_files: int | None = None) -> Iterator[Path]:
    """Yield the files of ``folder`` matching ``pattern`` once each, in name order, as each becomes complete.

    Stops after ``max_files`` files, or when nothing new has completed for ``idle_exit_s`` seconds (None: never;
    stop it with Ctrl-C). Hidden files (``.name``) and temporary files (``*.tmp``, ``*.part``) are ignored."""
    folder = Path(folder)
    sizes: dict[str, tuple[int, int]] = {}  # name -> (last size, polls unchanged)
    done: set[str] = set()
    last_new = time.monotonic()
    taken = 0
    while True:
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and fnmatch.fnmatch(p.name, pattern)
                       and not p.name.startswith(".") and not p.name.endswith((".tmp", ".part")))
        for name in names:
            if name in done:
                continue
            try:
                size = (folder / name).stat().st_size
            except OSError:
                continue
            old, polls = sizes.get(name, (-1, 0))
            polls = polls + 1 if size == old and size > 0 else 0
            sizes[name] = (size, polls)
            if polls >= stable_polls:
                done.add(name)
                taken += 1
                last_new = time.monotonic()
                yield folder / name
                if max_files is not None and taken >= max_files:
                    return
        if idle_exit_s is not None and time.monotonic() - last_new > idle_exit_s:
            return
        time.sleep(poll_s)
