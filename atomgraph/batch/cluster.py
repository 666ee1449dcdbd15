"""The dask side of :func:`atomgraph.batch.batch`: a local cluster or a client of a running scheduler, its
dashboard link, and a shutdown that lets workers which imported torch exit on their own."""

from __future__ import annotations

import logging
import os

from ..errors import AtomgraphInputError


def default_workers() -> int:
    """One worker per CPU core available to this process.

    Returns
    -------
    int
        The number of cores this process may run on (at least 1).
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _connect(scheduler: str | None, workers: int | None, memory_limit: str | float | None, timeout: float):
    """(client, cluster or None): a new LocalCluster, or a client of the scheduler at ``scheduler``."""
    from distributed import Client, LocalCluster

    for name in ("distributed", "bokeh", "tornado"):  # dask's INFO chatter would drown the progress bar
        logging.getLogger(name).setLevel(logging.WARNING)
    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise AtomgraphInputError(f"cannot reach the dask scheduler at {scheduler!r} within {timeout:g} s "
                                      f"({type(exc).__name__}); is `dask scheduler` running there?") from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            client.close()
            raise AtomgraphInputError(f"the dask scheduler at {scheduler} has no workers after {timeout:g} s; start "
                                      f"some with `dask worker {scheduler}`") from None
        return client, None
    cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR,  # a free port, not always 8787
                           memory_limit=memory_limit if memory_limit is not None else "auto")
    return Client(cluster), cluster


def _dashboard(client) -> str | None:
    """The dashboard URL (with a note when bokeh, which draws its pages, is missing here), or None."""
    import importlib.util

    try:
        services = client.scheduler_info().get("services", {})
        link = client.dashboard_link if "dashboard" in services else None
    except Exception:  # noqa: BLE001 - the link is a convenience
        return None
    if link and importlib.util.find_spec("bokeh") is None:
        link += " (its plots need `pip install bokeh`)"
    return link


def _shutdown(client, cluster, timeout_s: float = 30.0) -> None:
    """Close the client, then the local cluster's workers with ``timeout_s`` each (a worker that has imported
    torch needs a few seconds to exit on a busy machine; distributed's own close gives it 4 s, then kills it with
    "Worker process still alive after 4.0 seconds, killing"), then the cluster."""
    import asyncio

    if client is not None:
        client.close()
    if cluster is None:
        return

    async def close_workers() -> None:
        await asyncio.gather(*(w.close(timeout=timeout_s) for w in list(cluster.workers.values())),
                             return_exceptions=True)

    try:
        cluster.sync(close_workers)
    except Exception:  # noqa: BLE001 - cluster.close() below still ends them
        pass
    cluster.close()
