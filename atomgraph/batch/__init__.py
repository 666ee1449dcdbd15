"""Many frames on dask.distributed: :func:`batch` (``atomgraph batch PATTERN... --model M -o OUT``).

By default an embedded ``LocalCluster`` (one worker process per core, one thread each, torch on one thread);
``scheduler="tcp://host:8786"`` runs on an existing cluster instead (``dask scheduler`` + ``dask worker`` on each
node, atomgraph installed there and the files at the same paths). One task per frame, ``(file, frame index)``: the
worker reads only that frame, analyzes it with :func:`atomgraph.analyze` (unchanged: the same numbers as
``atomgraph analyze``), and sends back Arrow tables, which the client writes to Parquet datasets as they arrive
(layout and resume rules: :mod:`atomgraph.batch.store`; columns: :mod:`atomgraph.io.parquet`).

``frames.parquet`` has one row per frame: ``source, frame, status ("ok" | "error"), error, warnings (the checks
``atomgraph analyze`` makes: a pixel size that disagrees with the frame's lattice, a lattice of another material;
'' when none), hash (sha256 of the
pixels: the resume key), height, width (px), pixel_size_A, n_atoms (real columns), n_vacancies (vacancy nodes),
n_defects, n_<label> (nodes per label of the model's vocabulary), seconds (read + analyze, in the worker)``. A frame
that fails (unreadable, NaN pixels, no pixel size, a worker that died three times on it) gets ``status = "error"``
and the reason; the batch goes on.

Usage (not a doctest: it starts a cluster; from a script, call it under ``if __name__ == "__main__":``)::

    summary = atomgraph.batch(["frames/*.tif"], model="graphene-si", output="results", pixel_size_A=0.1)
    atoms = pyarrow.parquet.read_table("results/atoms.parquet").to_pandas()
"""

from __future__ import annotations

from .cluster import _connect, _shutdown, default_workers
from .plan import Task
from .run import BatchSummary, _schemas, batch
from .store import read_results

__all__ = ["batch", "BatchSummary", "read_results", "Task", "default_workers"]
