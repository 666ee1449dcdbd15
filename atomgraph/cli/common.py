"""What every ``atomgraph`` verb shares: exit codes and the warnings collector (and :func:`format_report`,
``evaluate``'s table, here so that ``atomgraph.cli`` re-exports it without importing a verb's stages).

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


def format_report(report: dict) -> str:
    """The evaluate dict as a small text table: detection, RMS error, then per label and per element.

    Parameters
    ----------
    report : dict
        What :func:`atomgraph.evaluate.evaluate` returns (tolerance and border in Å, RMS error in pm).

    Returns
    -------
    str
        The table, one line per row.
    """
    f = lambda v: "  -  " if v != v else f"{v:.3f}"  # noqa: E731 (NaN-safe)
    lines = [f"detection (tolerance {report['tolerance_A']:g} Å, border {report['border_A']:g} Å): "
             f"precision {f(report['precision'])}  recall {f(report['recall'])}  F1 {f(report['f1'])}  "
             f"(pred {report['n_pred']}, truth {report['n_truth']}, matched {report['tp']})",
             f"RMS position error: {report['rms_error_pm']:.1f} pm"]
    for key in ("per_label", "per_element"):
        if key not in report:
            continue
        lines.append(f"{key.replace('_', ' ')}:")
        lines.append(f"  {'name':<8}{'truth':>7}{'pred':>7}{'precision':>11}{'recall':>8}{'F1':>7}")
        for name, r in report[key].items():
            lines.append(f"  {name:<8}{r['n_truth']:>7}{r['n_pred']:>7}{f(r['precision']):>11}{f(r['recall']):>8}"
                         f"{f(r['f1']):>7}")
    return "\n".join(lines)
