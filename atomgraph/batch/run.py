"""Running a batch: plan the frames, claim the output, analyze on the cluster, write Parquet as results arrive
(see the package docstring)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..deprecations import pixel_size_alias
from ..errors import AtomgraphInputError
from ..io.output_lock import claim_output
from ..io.parquet import atoms_schema, defects_schema, frames_schema
from ..models.model import resolve_model
from ..pixel_size import check_pixel_size
from ..thresholds import check_threshold
from .cluster import _connect, _dashboard, _shutdown
from .plan import NO_PIXEL_SIZE, WORKER_FAILED, Task, expand_patterns, plan_tasks
from .store import PartWriter, check_output, dataset_path, prepare_output, recover
from .worker import PreloadModels, run_task

@dataclass
class BatchSummary:
    """What :func:`batch` did.

    Attributes
    ----------
    output : the output folder.
    frames : frames planned (tasks), including skipped and failed ones.
    ok, failed, skipped : frames analyzed, failed (recorded with their error), skipped (done by an earlier run).
    seconds : wall time of the whole call (cluster start included), s.
    compute_seconds : from the first task submitted to the last result, s.
    first_result_seconds : from the call to the first analyzed frame, s (None if none).
    workers : worker threads in the cluster.
    dashboard : the dask dashboard URL, or None.
    resumed : True when an earlier batch in ``output`` was continued.
    warning_examples : up to three of them as one line each (``source frame N: warning``).
    warned : frames with a warning of the pixel-size / lattice / model checks (``warnings`` in frames.parquet).
    """

    output: Path
    frames: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    compute_seconds: float = 0.0
    first_result_seconds: float | None = None
    workers: int = 0
    dashboard: str | None = None
    resumed: bool = False
    warned: int = 0
    warning_examples: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)

    @property
    def frames_per_second(self) -> float:
        """Frames analyzed per second of compute time (skipped frames not counted)."""
        return self.ok / self.compute_seconds if self.compute_seconds > 0 else float("nan")


def _schemas(model: str, labels: list[str]) -> dict:
    """The fixed Parquet schemas of the three datasets for ``model`` (:mod:`atomgraph.io.parquet`)."""
    return {"atoms": atoms_schema(resolve_model(model).locator.classes, labels), "defects": defects_schema(),
            "frames": frames_schema(labels)}


def _check_arguments(model: str, pixel_size_A, workers, scheduler, threshold, memory_limit=None) -> list[str]:
    """Validate before any work; return the model's label vocabulary."""
    if memory_limit is not None and str(memory_limit) != "auto":
        from dask.utils import parse_bytes

        try:
            if parse_bytes(memory_limit) <= 0:
                raise ValueError
        except (ValueError, TypeError):
            raise AtomgraphInputError(f"memory limit must be a size such as 2GiB or 1500MB, got {memory_limit!r}") \
                from None
    check_pixel_size(pixel_size_A, required=False)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise AtomgraphInputError(f"workers must be a whole number >= 1, got {workers!r}")
    if workers is not None and scheduler:
        raise AtomgraphInputError("--workers sets the size of the local cluster; with --scheduler, the cluster's "
                                  "own `dask worker` processes do the work")
    check_threshold(threshold)
    # an unknown model is an input error here, before any cluster starts
    return list(resolve_model(model).material.labels)


def batch(patterns: str | list[str], model: str = "graphene-si", output: str | Path = "atomgraph-batch", *,
          pixel_size_A: float | None = None, scheduler: str | None = None, workers: int | None = None,
          threshold: float | None = None, force: bool = False, memory_limit: str | float | None = None,
          flush_frames: int = 256, connect_timeout: float = 20.0,
          on_start: Callable[[dict], None] | None = None,
          on_result: Callable[[dict], None] | None = None, pixel_size: float | None = None) -> BatchSummary:
    """Analyze every frame of every file matching ``patterns`` on dask, results to Parquet in ``output``.

    Parameters
    ----------
    patterns : str or list of str
        Glob patterns or file names (``"frames/**/*.tif"``); each must match at least one image file.
    model : str, default "graphene-si"
        Bundled model name (``graphene-si``, ``mose2-w``), as for :func:`atomgraph.analyze`.
    output : str or Path, default "atomgraph-batch"
        Folder for ``atoms.parquet``, ``defects.parquet``, ``frames.parquet`` (Parquet datasets) and
        ``batch.json``. An earlier batch there with the same settings is resumed: frames already done (same pixel
        content) are skipped, failed ones retried. Other settings, or a non-empty folder that is not a batch,
        are refused unless ``force``. The folder is claimed for the whole run
        (:func:`atomgraph.io.output_lock.claim_output`): a second batch into it is refused while this one runs.
    pixel_size_A : float, optional
        Å per pixel for every file; None: each file's calibration (frames of a file without one fail).
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``); None: a LocalCluster.
    workers : int, optional
        LocalCluster worker processes (one thread each); default one per core. Not with ``scheduler``.
    threshold : float, optional
        As in :func:`atomgraph.analyze`.
    force : bool, default False
        Replace an ``output`` folder that holds another batch or other files, as a whole.
    memory_limit : str or float, optional
        Per LocalCluster worker (``"2GiB"``; default: the machine's memory shared among workers).
    flush_frames : int, default 256
        Results are written every this many frames, and whenever one has waited 2 s, at the end, and on
        SIGTERM/SIGINT (in the CLI; :mod:`atomgraph.interrupts`).
    connect_timeout : float, default 20.0
        Seconds to wait for the scheduler and for its first worker.
    on_start : callable, optional
        Called once with ``{"tasks", "workers", "dashboard", "resumed", "done_before"}`` before frames run.
    on_result : callable, optional
        Called with each frames row (a dict) as it arrives, skipped and failed frames included.
    pixel_size : float, optional
        Deprecated alias of ``pixel_size_A`` (a warning says so).

    Returns
    -------
    BatchSummary
        Frames planned, analyzed, failed, skipped (done before) and warned; seconds (s); workers; whether an
        earlier batch was resumed.
    """
    t_call = time.perf_counter()
    labels, tasks, settings, schemas = _planned(patterns, model, pixel_size_alias(pixel_size_A, pixel_size, "batch"),
                                               workers, scheduler, threshold, memory_limit)
    with claim_output(output):  # one writer per folder, for the whole run (a second one is refused, exit 2)
        check_output(output, settings, force=force)  # refuse before starting or reaching a cluster
        summary = _on_cluster(any(not t.error for t in tasks), scheduler, workers, memory_limit, connect_timeout,
                              lambda client: _batch(client, tasks, model, labels, threshold, output, settings,
                                                    force, flush_frames, schemas, on_start, on_result, t_call))
    summary.seconds = time.perf_counter() - t_call
    return summary


def _planned(patterns: str | list[str], model: str, pixel_size_A, workers: int | None, scheduler: str | None,
             threshold: float | None, memory_limit) -> tuple[list[str], list[Task], dict, dict]:
    """What :func:`batch` checks and plans before it claims the output: the model's labels, the tasks (one per frame
    of the files ``patterns`` match; refused when no pixel size is given and no file has a calibration), the
    settings a resumed batch must share, and the Parquet schemas."""
    labels = _check_arguments(model, pixel_size_A, workers, scheduler, threshold, memory_limit)
    pixel_size_A = None if pixel_size_A is None else float(pixel_size_A)
    files = expand_patterns(patterns)
    tasks = plan_tasks(files, pixel_size_A)
    if pixel_size_A is None and tasks and all(t.problem == NO_PIXEL_SIZE for t in tasks):
        which = "the file has no" if len(files) == 1 else f"none of the {len(files)} files has a"
        raise AtomgraphInputError(f"pixel size is needed: {which} calibration; give --pixel-size (Å/px)")
    settings = {"model": str(model), "pixel_size_A": pixel_size_A,
                "threshold": None if threshold is None else float(threshold)}
    return labels, tasks, settings, _schemas(model, labels)


def _on_cluster(connect: bool, scheduler: str | None, workers: int | None, memory_limit, connect_timeout: float,
                work: Callable[[object], BatchSummary]) -> BatchSummary:
    """``work(client)`` with a dask client of the scheduler or of a new local cluster (None when not ``connect``:
    no frame can run), shut down afterwards whatever happens."""
    client = cluster = None
    try:
        if connect:
            client, cluster = _connect(scheduler, workers, memory_limit, connect_timeout)
        return work(client)
    finally:
        _shutdown(client, cluster)


def _batch(client, tasks: list[Task], model: str, labels: list[str], threshold: float | None,
           output: str | Path, settings: dict, force: bool, flush_frames: int, schemas: dict,
           on_start: Callable[[dict], None] | None, on_result: Callable[[dict], None] | None,
           t_call: float) -> BatchSummary:
    """The body of :func:`batch` once the cluster is up (``client`` None when no frame needs a worker)."""
    resumed = prepare_output(output, settings, force=force)
    done = recover(output) if resumed else set()
    summary = BatchSummary(output=Path(output), frames=len(tasks), resumed=resumed,
                           paths={name: dataset_path(output, name) for name in ("atoms", "defects", "frames")})
    writer = PartWriter(output, schemas, flush_frames=flush_frames)

    def record(row: dict) -> None:
        status = row["status"]
        if row.get("warnings"):
            summary.warned += 1
            if len(summary.warning_examples) < 3:
                summary.warning_examples.append(f"{row['source']} frame {row['frame']}: {row['warnings']}")
        if status == "ok":
            summary.ok += 1
            if summary.first_result_seconds is None:
                summary.first_result_seconds = time.perf_counter() - t_call
        elif status == "skipped":
            summary.skipped += 1
        else:
            summary.failed += 1
        if on_result is not None:
            on_result(row)

    try:
        for task in tasks:  # planning errors: recorded without a worker
            if task.error:
                result = run_task(task, model, labels, threshold, schema=schemas["atoms"])
                writer.add(result)
                record(result["row"])
        if client is not None:
            try:
                client.register_plugin(PreloadModels(model))
            except Exception as exc:  # noqa: BLE001 - e.g. workers without atomgraph, or a model they lack
                raise AtomgraphInputError(f"the dask workers cannot load model {model!r} "
                                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); is "
                                          "atomgraph installed on the workers?") from None
            summary.workers = sum(client.nthreads().values())
            summary.dashboard = _dashboard(client)
            if on_start is not None:
                on_start({"tasks": len(tasks), "workers": summary.workers, "dashboard": summary.dashboard,
                          "resumed": resumed, "done_before": len(done)})
            t0 = time.perf_counter()
            _run(client, [t for t in tasks if not t.error], model, labels, threshold, done, summary.workers, writer,
                 record, schemas["atoms"])
            summary.compute_seconds = time.perf_counter() - t0
        elif on_start is not None:
            on_start({"tasks": len(tasks), "workers": 0, "dashboard": None, "resumed": resumed,
                      "done_before": len(done)})
    finally:
        writer.flush()  # what arrived is kept, also on Ctrl-C or an error
    return summary


def _run(client, tasks: list[Task], model: str, labels: list[str], threshold: float | None, done: set,
         n_workers: int, writer: PartWriter, record: Callable[[dict], None], schema=None) -> None:
    """Submit ``tasks`` with a bounded number in flight (the scheduler never holds millions of tasks), collect
    results as they complete; a task whose worker died too often is recorded as failed. While no result is ready,
    the writer flushes what has waited its ``flush_seconds`` (a kill loses at most those seconds of work)."""
    from distributed import as_completed

    # one copy of the done set per worker (a list of one: scatter() would scatter a bare set element by element)
    done_arg = client.scatter([frozenset(done)], broadcast=True, hash=False)[0] if done else frozenset()
    window = max(8, 4 * n_workers)
    pending = iter(tasks)
    by_key: dict[str, Task] = {}
    completed = as_completed(with_results=True, raise_errors=False)

    def submit_next() -> None:
        task = next(pending, None)
        if task is not None:
            future = client.submit(run_task, task, model, labels, threshold, done_arg, schema, pure=False)
            by_key[future.key] = task
            completed.add(future)

    for _ in range(window):
        submit_next()
    while not completed.is_empty():
        if not completed.has_ready():
            writer.tick()
            time.sleep(0.05)
            continue
        future, result = next(completed)
        task = by_key.pop(future.key)
        if future.status != "finished" or not isinstance(result, dict):
            failed = Task(task.source, task.path, task.frame, task.n_frames, task.pixel_size_A,
                          error=f"{type(result).__name__}: {' '.join(str(result).split())[:300]}",
                          problem=WORKER_FAILED)
            result = run_task(failed, model, labels, threshold, schema=schema)
        future.release()
        writer.add(result)
        record(result["row"])
        submit_next()
