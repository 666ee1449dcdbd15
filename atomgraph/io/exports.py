"""The graph exports ``analyze`` writes on request (``--export graphml,json`` / ``save(export=...)``): their names and
files, and the parse of the option (standard library only, so the CLI's door refuses an unknown name before any
stage is imported)."""

from __future__ import annotations

from ..errors import AtomgraphInputError

#: Graph exports written on request: name -> file.
EXPORTS = {"graphml": "graph.graphml", "json": "graph.json", "extxyz": "graph.extxyz", "pt": "graph.pt"}


def parse_exports(exports: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validated export names from ``"graphml,json"`` or a sequence (``"all"``: every one); unknown -> input error."""
    if not exports:
        return ()
    items = exports.split(",") if isinstance(exports, str) else list(exports)
    names = [str(x).strip().lower() for x in items if str(x).strip()]
    if "all" in names:
        return tuple(EXPORTS)
    unknown = [n for n in names if n not in EXPORTS]
    if unknown:
        raise AtomgraphInputError(f"unknown export {', '.join(repr(u) for u in unknown)}; choose from "
                                  f"{', '.join(EXPORTS)} or all (comma-separated)")
    return tuple(dict.fromkeys(names))
