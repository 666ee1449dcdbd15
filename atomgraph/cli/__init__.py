"""The ``atomgraph`` command.

Verbs (a contract, see ARCHITECTURE.md): simulate, locate, classify, analyze, batch, adapt, evaluate, train, models,
demo, track, watch, discover.
User mistakes (:class:`~atomgraph.errors.AtomgraphInputError`) print one line on stderr and exit 2, and so does an
output place that cannot be written (read-only, full, no permission: the message names the path); anything else is
an internal error: one line and exit 1 (``--debug`` shows the traceback).

One writer rule, here for every verb: a command with an output (``-o``) claims it for its whole run
(:func:`atomgraph.io.output_lock.claim_output`); a second run into the same output is refused (exit 2, naming the
holder), and the leftovers of killed runs there are removed. SIGTERM and SIGINT stop a command cleanly
(:mod:`atomgraph.interrupts`; exit 143 and 130).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import gc
import logging
import os
import sys

from ..errors import AtomgraphInputError
from ..interrupts import Interrupted, install
from ..io.output_lock import claim_output
from .common import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, Warnings, format_report
from .parser import build_parser

__all__ = ["main", "build_parser", "format_report"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``atomgraph`` command.

    User mistakes print one line on stderr and exit 2, an internal error one line and exit 1 (``--debug``: the
    traceback); warnings are printed on stderr after the verb's own output.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; None: ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit code: 0, 1 (internal error), 2 (usage), 128 + the signal number when stopped.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    _quick_exit()
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(message)s")
    install()
    warnings = Warnings()
    output = None
    try:
        args = build_parser().parse_args(argv)
        args.warnings = warnings  # the verb's collector, passed with its arguments
        output = getattr(args, "output", None)
        with claim_output(output) if output else contextlib.nullcontext():
            code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler, not at interpreter exit
        for line in warnings:
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
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else 2
        print(f"atomgraph: stopped by {'SIGTERM' if signum == 15 else 'SIGINT'}", file=sys.stderr)
        return 128 + signum
    except OSError as exc:
        if exc.errno not in PLACE_ERRNOS:
            if debug:
                raise
            return _internal(exc)
        where = exc.filename or output or "the output"
        print(f"atomgraph: error: {where}: {exc.strerror or os.strerror(exc.errno)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if debug:
            raise
        return _internal(exc)


def _quick_exit() -> None:
    """At interpreter exit, move every object to the garbage collector's permanent generation (:func:`gc.freeze`,
    registered once per process with :mod:`atexit`, whose handlers run before the modules are torn down).

    Python's shutdown runs several full collections while it clears the modules; after ``import torch`` (≈ 200,000
    tracked objects) they took 0.6-1.7 s of every command's wall clock (0.8-1.1 s after ``import torch`` alone),
    0.2-0.4 s when frozen. Nothing is skipped that a command needs: its outputs are closed and renamed, stdout is
    flushed, atexit handlers and weakref finalizers still run; only cyclic garbage is left to the operating system.
    """
    if not getattr(_quick_exit, "registered", False):
        atexit.register(gc.freeze)
        _quick_exit.registered = True


# errors of the place written to, not of atomgraph: exit 2 naming the path
PLACE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.ENAMETOOLONG}


def _internal(exc: BaseException) -> int:
    first = str(exc).splitlines()[0] if str(exc) else ""
    print(f"atomgraph: internal error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)",
          file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
