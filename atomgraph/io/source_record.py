"""Where an output folder's image is: ``source.json``, written beside ``analyze`` and ``track`` results.

``analyze`` does not copy the image it read (a 4096² frame is 64 MB, more than every other output together); it
records the file instead, so a viewer (the napari reader, :mod:`atomgraph.napari`) can show the results over the
pixels they came from. An image that has no file (an array analyzed from Python) is saved beside the results as
``image.npy`` and recorded by that name, so every folder can be opened on its own.

``source.json`` keys: ``images`` (list of paths: one image or stack file, or several single-frame files of a movie,
each as given, made absolute), ``images_relative`` (the same, relative to the output folder: found again after the
folder and its images move together), ``frame`` (index of the analyzed frame in a stack, or null), ``pixel_size_A``
(Å/px), ``model``, ``shape_px`` (rows, cols of one frame), ``kind`` (``analyze`` or ``track``), ``atomgraph``
(version).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import AtomgraphInputError
from .images import read_image
from .safe_write import atomic_output

log = logging.getLogger(__name__)

SOURCE_FILE = "source.json"
IMAGE_FILE = "image.npy"


def write_source(folder: str | Path, images: list[str | Path], *, kind: str, pixel_size_A: float | None,
                 model: str, shape_px: tuple[int, int] | None, frame: int | None = None, force: bool = False
                 ) -> Path:
    """Write ``folder/source.json`` (atomically; an existing one only with ``force``) and return its path.

    ``images`` are the files the results came from (relative paths are taken from the current directory); a name
    without a folder part that exists in ``folder`` (``image.npy``) is recorded as that name only.
    """
    folder = Path(folder)
    absolute, relative = [], []
    for image in images:
        p = Path(image)
        if p.parent == Path(".") and (folder / p).exists():
            absolute.append(None)
            relative.append(p.name)
            continue
        p = p.resolve()
        absolute.append(str(p))
        relative.append(os.path.relpath(p, folder.resolve()))
    record = {"kind": kind, "images": absolute, "images_relative": relative, "frame": frame,
              "pixel_size_A": None if pixel_size_A is None else float(pixel_size_A), "model": str(model),
              "shape_px": None if shape_px is None else [int(shape_px[0]), int(shape_px[1])],
              "atomgraph": __version__}
    path = folder / SOURCE_FILE
    with atomic_output(path, force) as handle:
        handle.write(json.dumps(record, indent=2))
    return path


def read_source(folder: str | Path) -> dict | None:
    """The ``source.json`` of ``folder`` as a dict, or None when there is none (results of an older version)."""
    path = Path(folder) / SOURCE_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); the image is not shown", path, exc)
        return None
    return record if isinstance(record, dict) else None


def source_paths(folder: str | Path, record: dict) -> list[Path] | None:
    """The recorded image files that exist now: relative to ``folder`` first, else the absolute paths; None when
    any is missing."""
    folder = Path(folder)
    relative = record.get("images_relative") or []
    absolute = record.get("images") or [None] * len(relative)
    found = []
    for rel, ab in zip(relative, absolute):
        candidates = [folder / rel] + ([Path(ab)] if ab else [])
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            return None
        found.append(hit)
    return found or None


def load_source_image(folder: str | Path, whole_stack: bool = False) -> tuple[np.ndarray | None, str | None]:
    """The image (``(H, W)`` float32) or movie (``(frames, H, W)``) the results in ``folder`` came from, and None;
    or None and why it cannot be shown (one line). ``whole_stack``: the whole stack even when the record names one
    frame of it."""
    record = read_source(folder)
    if record is None:
        return None, f"no {SOURCE_FILE} in {folder} (written by atomgraph since 0.1.0's napari plugin); no image"
    paths = source_paths(folder, record)
    if paths is None:
        return None, f"the image {record.get('images')} recorded in {Path(folder) / SOURCE_FILE} is not there"
    try:
        if len(paths) == 1:
            data = read_image(paths[0], allow_stack=True).data
        else:
            data = np.stack([read_image(p).data for p in paths])
    except AtomgraphInputError as exc:
        return None, str(exc)
    frame = record.get("frame")
    if frame is not None and data.ndim == 3 and not whole_stack:
        data = data[int(frame)]
    shape = tuple(record.get("shape_px") or data.shape[-2:])
    if tuple(data.shape[-2:]) != shape:
        return None, f"{paths[0]} is {data.shape[-2:]} px now, the results were made on {shape} px; no image"
    return data, None
