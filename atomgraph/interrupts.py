"""SIGTERM and SIGINT as one clean stop: the running command unwinds (its ``finally`` blocks write what is done)
instead of dying mid-write.

:func:`install` (called by the CLI) makes both signals raise :class:`Interrupted` (a ``KeyboardInterrupt``) in the
main thread. Code that must not be cut in half (writing one Parquet part of each dataset) runs inside
:func:`deferred`: a signal arriving there is held and raised when the block ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

_STATE = {"defer": 0, "pending": None}


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal; ``signum`` is the signal's number (exit status 128 + signum)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def _handler(signum: int, frame) -> None:  # noqa: ARG001 - the signal module's signature
    if _STATE["defer"]:
        _STATE["pending"] = signum
        return
    raise Interrupted(signum)


def install() -> None:
    """Make SIGTERM and SIGINT raise :class:`Interrupted` (main thread only; elsewhere nothing is changed)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGTERM/SIGINT for the ``with`` block; one that arrived meanwhile is raised at its end."""
    _STATE["defer"] += 1
    try:
        yield
    finally:
        _STATE["defer"] -= 1
        if not _STATE["defer"] and _STATE["pending"] is not None:
            signum, _STATE["pending"] = _STATE["pending"], None
            raise Interrupted(signum)
