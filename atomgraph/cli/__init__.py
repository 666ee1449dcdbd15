"""The ``atomgraph`` command.

Verbs (a contract, see ARCHITECTURE.md): simulate, locate, classify, analyze, batch, adapt, evaluate, train, models,
demo, track, watch, discover.
User mistakes (:class:`~atomgraph.errors.AtomgraphInputError`) print one line on stderr and exit 2; anything else is
an internal error: one line and exit 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import logging
import os
import sys

from ..errors import AtomgraphInputError
from .commands import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, WARNINGS, format_report
from .parser import build_parser

__all__ = ["main", "build_parser", "format_report"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(message)s")
    WARNINGS.clear()
    try:
        args = build_parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler, not at interpreter exit
        for line in WARNINGS:
            print(line, file=sys.stderr)
        return code
    except BrokenPipeError:
        # the reader went away (`atomgraph evaluate ... | head -1`): stop quietly, as the Python docs recommend,
        # pointing stdout at devnull so the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except AtomgraphInputError as exc:
        if debug:
            raise
        print(f"atomgraph: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("atomgraph: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"atomgraph: internal error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
