"""The batch output folder: settings, resume, and part files written as results arrive.

Layout of ``OUT``::

    batch.json          settings of the batch (model, pixel size, threshold, atomgraph version)
    atoms.parquet/      part-<run>-<n>.parquet ...   (Parquet datasets: read each folder as one table)
    defects.parquet/    part-<run>-<n>.parquet ...
    frames.parquet/     part-<run>-<n>.parquet ...

A part is flushed every ``flush_frames`` frames, whenever a result has waited ``flush_seconds`` (2 s), at the end,
and on SIGTERM/SIGINT (:mod:`atomgraph.interrupts`; a part is never cut in half by a signal), so a killed batch
loses at most the last seconds of work. Every part has one fixed schema per dataset
(:func:`atomgraph.io.parquet.atoms_schema`), so any mix of frames writes. Its frames part is written last: it is the
commit mark, so after a crash an atoms or defects part without its frames part is an orphan and is
removed on the next run, and its frames are redone. On a rerun, frames whose content hash has an ``ok`` row are
skipped; ``error`` rows are dropped (their frames are retried and get a new row), so every frame has one row.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from .. import __version__
from ..errors import AtomgraphInputError
from ..interrupts import deferred
from ..io.parquet import frames_table, read_dataset, write_part
from ..io.safe_write import atomic_output, remove_folder

DATASETS = ("atoms", "defects", "frames")
MANIFEST = "batch.json"
SETTINGS_KEYS = ("model", "pixel_size_A", "threshold")


def dataset_path(output: str | Path, name: str) -> Path:
    """``OUT/<name>.parquet`` (a folder of part files)."""
    return Path(output) / f"{name}.parquet"


def check_output(output: str | Path, settings: dict, force: bool = False) -> str:
    """What :func:`prepare_output` will do, checked before any work (nothing is touched): ``"new"``, ``"resume"``
    (an earlier batch with the same ``settings``) or ``"restart"`` (``force`` over an earlier batch).

    Refused (:class:`AtomgraphInputError`): a file; a missing parent folder; an earlier batch with other settings,
    or a non-empty folder that holds no batch, unless ``force``.
    """
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise AtomgraphInputError("output exists and is not a folder", source=str(output))
    if not output.resolve().parent.is_dir():
        raise AtomgraphInputError("parent folder does not exist", source=str(output.resolve().parent))
    manifest = output / MANIFEST
    if manifest.is_file():
        try:
            previous = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        if force:
            return "restart"
        if all(_same(previous.get(k), settings.get(k)) for k in SETTINGS_KEYS):
            return "resume"
        was = ", ".join(f"{k} {previous.get(k)}" for k in SETTINGS_KEYS)
        raise AtomgraphInputError(f"holds a batch made with other settings ({was}); use another output folder, "
                                  "or --force to start it over", source=str(output))
    if output.is_dir() and any(output.iterdir()) and not force:
        raise AtomgraphInputError("output folder is not empty (and holds no batch to resume); use --force",
                                  source=str(output))
    return "new"


def prepare_output(output: str | Path, settings: dict, force: bool = False) -> bool:
    """Make ``output`` ready (see :func:`check_output`); return True when it resumes an earlier batch. With
    ``force``, an existing folder is replaced as a whole (nothing of it is kept or merged)."""
    output = Path(output)
    state = check_output(output, settings, force)
    if force and output.is_dir() and any(output.iterdir()):
        remove_folder(output)
    output.mkdir(exist_ok=True)
    for name in DATASETS:
        dataset_path(output, name).mkdir(exist_ok=True)
    if state != "resume":
        with atomic_output(output / MANIFEST, force=True) as handle:
            json.dump({**settings, "atomgraph": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
                      handle, indent=2)
    return state == "resume"


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-12 * max(abs(float(a)), abs(float(b)), 1.0)
    return a == b


def recover(output: str | Path) -> set[str]:
    """Before a (re)run: remove orphan parts (no frames part of the same name) and ``error`` rows (their frames are
    retried); return the content hashes of the frames already done (``ok``)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    output = Path(output)
    frames_dir = dataset_path(output, "frames")
    done: set[str] = set()
    for part in sorted(frames_dir.glob("part-*.parquet")):
        table = pq.read_table(part)
        ok = pc.equal(table["status"], "ok")
        if not pc.all(ok).as_py():
            kept = table.filter(ok)
            if kept.num_rows:
                write_part([kept], frames_dir, part.name, force=True)
            else:
                part.unlink()
            table = kept
        done.update(table["hash"].to_pylist())
    committed = {p.name for p in frames_dir.glob("part-*.parquet")}  # after dropping all-error parts
    for name in ("atoms", "defects"):
        for part in dataset_path(output, name).glob("part-*.parquet"):
            if part.name not in committed:
                part.unlink()
    return done


class PartWriter:
    """Buffers task results and writes them as part files (atoms, defects, then frames: the commit mark).

    ``schemas``: ``{"atoms": ..., "defects": ..., "frames": ...}`` (``pyarrow.Schema``), every part is cast to them.
    A part is written when ``flush_frames`` results are buffered, when the oldest buffered one has waited
    ``flush_seconds`` (:meth:`add`, :meth:`tick`), and by :meth:`flush`."""

    def __init__(self, output: str | Path, schemas: dict, flush_frames: int = 256,
                 flush_seconds: float = 2.0) -> None:
        self.output = Path(output)
        self.schemas = dict(schemas)
        self.run = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.flush_frames, self.flush_seconds = int(flush_frames), float(flush_seconds)
        self.parts = 0
        self._buffer: dict[str, list] = {name: [] for name in DATASETS}
        self._oldest: float | None = None  # time.monotonic() of the oldest buffered result

    def add(self, result: dict) -> None:
        """Buffer one :func:`atomgraph.batch.worker.run_task` result (skipped frames are not written again)."""
        if result["row"]["status"] == "skipped":
            return
        self._buffer["atoms"].append(result["atoms"])
        self._buffer["defects"].append(result["defects"])
        self._buffer["frames"].append(result["row"])
        if self._oldest is None:
            self._oldest = time.monotonic()
        if len(self._buffer["frames"]) >= self.flush_frames:
            self.flush()
        else:
            self.tick()

    def tick(self) -> None:
        """Flush when the oldest buffered result has waited ``flush_seconds`` (call it while waiting)."""
        if self._oldest is not None and time.monotonic() - self._oldest >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered as one part per dataset (signals are held meanwhile: never half a part)."""
        if not self._buffer["frames"]:
            return
        with deferred():
            name = f"part-{self.run}-{self.parts:05d}.parquet"
            frames = frames_table(self._buffer["frames"], self.schemas["frames"])
            for dataset in ("atoms", "defects"):  # frames last: the commit mark
                write_part(self._buffer[dataset], dataset_path(self.output, dataset), name, force=True,
                           schema=self.schemas[dataset])
            write_part([frames], dataset_path(self.output, "frames"), name, force=True)
            self.parts += 1
            self._buffer = {name: [] for name in DATASETS}
            self._oldest = None


def read_results(output: str | Path, name: str = "frames"):
    """One of a batch's datasets as a ``pyarrow.Table``.

    Parameters
    ----------
    output : str or Path
        The batch's output folder.
    name : str, default "frames"
        ``atoms``, ``defects`` or ``frames``.

    Returns
    -------
    pyarrow.Table
        The dataset (columns: :mod:`atomgraph.io.parquet`).
    """
    if name not in DATASETS:
        raise AtomgraphInputError(f"unknown batch table '{name}' (one of {', '.join(DATASETS)})")
    return read_dataset(dataset_path(output, name))
