"""How many CPU threads torch uses for inference.

The networks are small (tens of thousands of weights): their layers are too short to pay for synchronizing
several intra-op threads, and when the cores are busy with anything else, torch's thread pool can make a call ten
times slower (measured: 1024² ``analyze`` 0.09 s on one thread vs 0.9 s on two while another job ran). Inference
therefore runs on one thread unless ``ATOMGRAPH_THREADS`` says otherwise; training sets its own count.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch


def inference_thread_count() -> int:
    """Threads for inference: ``ATOMGRAPH_THREADS`` if set to a positive integer, else 1."""
    try:
        n = int(os.environ.get("ATOMGRAPH_THREADS", "1"))
    except ValueError:
        n = 1
    return max(n, 1)


@contextlib.contextmanager
def inference_threads(n: int | None = None) -> Iterator[None]:
    """Run the body with ``n`` torch intra-op threads (default :func:`inference_thread_count`), then restore."""
    previous = torch.get_num_threads()
    wanted = inference_thread_count() if n is None else max(int(n), 1)
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


@contextlib.contextmanager
def training_threads() -> Iterator[None]:
    """Train on one thread (small graphs: one thread is faster and leaves a core to data generation or another
    job); the previous count is restored even when training fails."""
    with inference_threads(1):
        yield
