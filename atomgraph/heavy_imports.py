"""Heavy imports (torch) with Python's cyclic garbage collector paused.

``import torch`` creates about 150,000 objects that live as long as the process; while it runs, the collector
keeps starting collections that traverse them all and free nothing. Paused for the import, the same import took
1.65-1.93 s instead of 2.08-2.49 s (5 alternating runs each, 2-core machine shared with another job); the collector
resumes afterwards and the objects settle in the old generation at its next passes.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def paused_gc(freeze: bool = False) -> Iterator[None]:
    """Run the body (an import) with the cyclic garbage collector disabled, then re-enable it if it was enabled.

    Parameters
    ----------
    freeze : bool
        When the body ends normally, also move every object then alive to the collector's permanent generation
        (:func:`gc.freeze`), which its passes skip: for a short-lived process (the ``atomgraph`` command), whose
        imported modules live until it exits. Without it, the first collection after the body traverses all the
        objects the import made (0.1-0.5 s after torch's), and later passes of the older generations again.

    Yields
    ------
    None
        Nothing; the collector is paused for the body (for every thread: it is process-wide).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if freeze:
            gc.freeze()
    finally:
        if enabled:
            gc.enable()
