"""Batch tasks (worker side): read one frame lazily, hash it, analyze it, return Arrow tables.

Runs inside dask workers. Models are loaded once per worker process (the loaders are cached, and
:class:`PreloadModels` loads them when the worker starts); torch runs on one thread per worker. Nothing here raises
for a bad frame: every failure becomes a row with ``status = "error"`` and its message, so one bad frame never
stops a batch.
"""

from __future__ import annotations

import hashlib
import time
import traceback
from pathlib import Path

import numpy as np

try:  # a plain class when distributed is missing, so this module imports without it
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover
    WorkerPlugin = object

from ..errors import AtomgraphInputError
from ..io import images
from ..io.image_checks import to_float_image
from ..io.parquet import atoms_table, defects_table
from ..models.model import resolve_model
from ..pipeline import check_scale, run_analysis
from ..scale import check_lattice_scale

_LAST_STACK: dict = {}  # the last whole stack read by this worker process (formats without per-frame reads)


def read_frame(path: str, frame: int, n_frames: int, source: str | None = None) -> np.ndarray:
    """Frame ``frame`` of the image file ``path`` as a float32 (H, W) array, reading only that frame where the
    format allows (``.npy`` memory-mapped, ``.tif`` page by page). A single image is read with
    :func:`atomgraph.read_image`, exactly as ``atomgraph analyze`` reads it. A stack in another format
    (``.emd``, ``.dm4``) is read whole once and kept for the next frames of the same file (one stack per worker)."""
    source = source or path
    ext = Path(path).suffix.lower()
    if n_frames > 1 and ext == ".npy":
        stack = np.load(path, mmap_mode="r", allow_pickle=False)
        return to_float_image(np.asarray(stack[frame]), f"{source} frame {frame}", allow_stack=False,
                                      rgb=False)
    if n_frames > 1 and ext in (".tif", ".tiff"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            data = tif.asarray(key=frame, series=0)
        return to_float_image(data, f"{source} frame {frame}", allow_stack=False, rgb=None)
    if n_frames > 1:
        stat = Path(path).stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if _LAST_STACK.get("key") != key:
            _LAST_STACK.clear()
            _LAST_STACK.update(key=key, image=images.read_image(path, allow_stack=True))
        return _LAST_STACK["image"].frame(frame)
    return images.read_image(path, allow_stack=True).frame(0)  # as `atomgraph analyze` reads it


def frame_hash(image: np.ndarray) -> str:
    """sha256 of a frame's float32 pixels and shape: the resume key (the same pixels give the same key, whatever
    the file is called or where it lies)."""
    data = np.ascontiguousarray(image, dtype=np.float32)
    digest = hashlib.sha256(str(data.shape).encode())
    digest.update(data.tobytes())
    return digest.hexdigest()


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, AtomgraphInputError):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_task(task, model: str, labels: list[str], threshold: float | None, done: frozenset | set = frozenset(),
             schema=None, lattice_check: bool = True) -> dict:
    """Analyze one :class:`~atomgraph.batch.plan.Task`; never raises.

    The frame gets the checks ``atomgraph analyze`` makes first (:func:`atomgraph.pipeline.check_scale`, then
    :func:`atomgraph.scale.check_lattice_scale`: a pixel size that disagrees with the lattice, or a lattice of
    another material, is a warning in ``row['warnings']``; a frame the check refuses is an error row).
    ``schema``: the atoms table's (:func:`atomgraph.io.parquet.atoms_schema`; None: its own columns).

    Returns a dict: ``row`` (the frames.parquet row), ``atoms`` and ``defects`` (``pyarrow.Table`` or None).
    ``row['status']`` is ``"ok"``, ``"error"`` (``row['error']`` says why) or ``"skipped"`` (its hash is in
    ``done``: analyzed by an earlier run).
    """
    t0 = time.perf_counter()
    row = {"source": task.source, "frame": int(task.frame), "status": "error", "error": task.error,
           "warnings": "", "hash": "", "height": 0, "width": 0,
           "pixel_size_A": float("nan") if task.pixel_size_A is None else float(task.pixel_size_A),
           "n_atoms": 0, "n_vacancies": 0, "n_defects": 0, **{f"n_{label}": 0 for label in labels},
           "seconds": 0.0}
    out = {"row": row, "atoms": None, "defects": None}
    if task.error:
        return out
    try:
        image = read_frame(task.path, task.frame, task.n_frames, task.source)
        row["height"], row["width"] = (int(n) for n in image.shape)
        row["hash"] = frame_hash(image)
        if row["hash"] in done:
            row["status"] = "skipped"
            return out
        model = resolve_model(model)  # cached per worker process: the name travels, the object is loaded once
        check_scale(image.shape, task.pixel_size_A, model)
        check = check_lattice_scale(image, model, task.pixel_size_A, lattice_check=lattice_check)
        row["warnings"] = "; ".join(check.warnings)
        result = run_analysis(image, model, task.pixel_size_A, threshold=threshold)
        atoms = result.atoms
        vacancy = np.asarray(atoms.vacancy, dtype=bool)
        row["n_atoms"], row["n_vacancies"] = int((~vacancy).sum()), int(vacancy.sum())
        row["n_defects"] = len(result.defects)
        for label, n in result.label_counts().items():
            if f"n_{label}" in row:
                row[f"n_{label}"] = n
        tables = atoms_table(atoms, task.source, task.frame, schema), defects_table(result.defects, task.source, task.frame)
        out["atoms"], out["defects"] = tables  # only for a frame that succeeded: an error row has no atoms
        row["status"], row["error"] = "ok", ""
    except Exception as exc:  # noqa: BLE001 - a failed frame is recorded, not raised
        row["error"] = _one_line(exc)
        if not isinstance(exc, AtomgraphInputError):
            row["error"] += " | " + " <- ".join(f"{Path(f.filename).name}:{f.lineno}"
                                                  for f in traceback.extract_tb(exc.__traceback__)[-3:])
    finally:
        row["seconds"] = time.perf_counter() - t0
    return out


class PreloadModels(WorkerPlugin):
    """Dask worker plugin: one torch thread, the locator and classifier of ``model`` loaded at worker start (the
    loaders cache them, so each worker process loads a model once). The first frame of each worker still pays
    the one-time first-call costs of the stages (about 1.5 s on the 2-core dev machine, in its ``seconds``)."""

    name = "atomgraph-preload"

    def __init__(self, model: str) -> None:
        self.model = model

    def setup(self, worker=None) -> None:  # noqa: D102
        import torch

        torch.set_num_threads(1)
        model = resolve_model(self.model)
        model.locator, model.classifier, model.novelty  # noqa: B018 - loaded now, not on the first frame
