"""What every ``atomgraph`` verb shares: exit codes and the warnings collector.

:func:`atomgraph.cli.main` makes one :class:`Warnings` per run and hands it to the verb as ``args.warnings``; the
verb adds one-line warnings to it, and ``main`` prints them on stderr after the verb's own output (so they are the
last lines a user sees). No module-level state: two runs in one process (tests, notebooks) never share warnings.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


def display_path(path: str | Path) -> Path:
    """``path`` as given, without doubled or trailing separators (``r/`` -> ``r``), for messages."""
    return Path(str(path))


class Warnings(list):
    """One-line warnings of one command run, in the order they arose (``atomgraph: warning: ...``)."""

    def add(self, message: str, source: str | None = None) -> None:
        """Add ``atomgraph: warning: [source: ]message``."""
        self.append(f"atomgraph: warning: {source + ': ' if source else ''}{message}")
