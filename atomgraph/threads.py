"""How many CPU threads inference uses (torch's intra-op pool and the BLAS behind NumPy).

The networks are small (tens of thousands of weights): their layers are too short to pay for synchronizing
several intra-op threads, and when the cores are busy with anything else, a thread pool can make a call ten
times slower (measured: 1024² ``analyze`` 0.09 s on one thread vs 0.9 s on two while another job ran; NumPy's BLAS
threads made the novelty distances 100x slower on a busy machine). Inference therefore runs on one thread unless
``ATOMGRAPH_THREADS`` says otherwise; training sets its own count.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


def inference_thread_count() -> int:
    """Threads for inference: ``ATOMGRAPH_THREADS`` if set to a positive integer, else 1."""
    try:
        n = int(os.environ.get("ATOMGRAPH_THREADS", "1"))
    except ValueError:
        n = 1
    return max(n, 1)


@contextlib.contextmanager
def inference_threads(n: int | None = None) -> Iterator[None]:
    """Run the body with ``n`` threads (default :func:`inference_thread_count`) in the BLAS libraries NumPy and
    SciPy loaded and, when torch is already imported, in torch's intra-op pool; then restore both. The classifier
    runs in NumPy, so a body that does not use torch does not import it here (torch imported inside the body runs
    with its own default)."""
    from threadpoolctl import threadpool_limits

    wanted = inference_thread_count() if n is None else max(int(n), 1)
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None and wanted != previous:
        torch.set_num_threads(wanted)
    try:
        with threadpool_limits(limits=wanted, user_api="blas"):
            yield
    finally:
        if torch is not None and torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


@contextlib.contextmanager
def training_threads() -> Iterator[None]:
    """Train on one thread (small graphs: one thread is faster and leaves a core to data generation or another
    job); the previous count is restored even when training fails. The trainers import torch before they enter."""
    with inference_threads(1):
        yield
