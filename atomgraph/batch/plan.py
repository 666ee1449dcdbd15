"""Batch planning (client side): file patterns -> files -> one task per frame, reading headers only.

A task is ``(file, frame index)``: the worker reads that frame itself (:mod:`atomgraph.batch.worker`), so the client
never holds pixel data. Frame counts and calibrations come from file headers (``.npy`` and ``.tif`` without reading
pixels; other formats are read once).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError, short_error
from ..io.checks import check_input_file
from ..io.image_checks import is_rgb_shape
from ..io.images import IMAGE_EXTENSIONS, read_image
from ..io.tiff import tiff_pixel_size_A


@dataclass(frozen=True)
class Task:
    """One frame to analyze.

    Attributes
    ----------
    source : the file as the user's pattern matched it (the ``source`` column).
    path : absolute path, the one workers open.
    frame : 0-based frame index in the file; -1 for a file that could not be opened (see ``error``).
    n_frames : frames in the file.
    pixel_size_A : Å per pixel (``--pixel-size``, else the file's calibration); None when neither exists.
    error : the error to record instead of analyzing ('' when none).
    problem : the kind of that error as a value (:data:`UNREADABLE`, :data:`NO_PIXEL_SIZE`, :data:`WORKER_FAILED`;
        '' when none): callers decide on the kind, not on the message text.
    """

    source: str
    path: str
    frame: int
    n_frames: int
    pixel_size_A: float | None
    error: str = ""
    problem: str = ""


UNREADABLE = "unreadable"         # the file's header could not be read (one task, frame -1)
NO_PIXEL_SIZE = "no_pixel_size"   # no calibration in the file and no --pixel-size
WORKER_FAILED = "worker_failed"   # the frame's task raised or its worker died on the cluster


def expand_patterns(patterns: list[str] | tuple[str, ...] | str) -> list[str]:
    """Files matching the glob ``patterns`` (``**`` recurses), image extensions only, in order, without repeats.

    A pattern naming an existing file is taken as is. A pattern matching no image file is an input error (a typo
    would otherwise run an empty or partial batch).
    """
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    if not patterns:
        raise AtomgraphInputError("no input: give one or more files or glob patterns (e.g. 'frames/*.tif')")
    files: dict[str, None] = {}
    for pattern in patterns:
        pattern = str(pattern)
        matches = [pattern] if Path(pattern).is_file() else sorted(glob.glob(pattern, recursive=True))
        images = [m for m in matches if Path(m).is_file() and Path(m).suffix.lower() in IMAGE_EXTENSIONS]
        if not images:
            what = "matches no file" if not matches else f"matches no image file ({', '.join(IMAGE_EXTENSIONS)})"
            raise AtomgraphInputError(f"{what}", source=pattern)
        files.update(dict.fromkeys(images))
    return list(files)


def _header(path: Path, source: str) -> tuple[int, float | None]:
    """(frames, pixel size in Å or None) of an image file, from its header where the format allows."""
    ext = path.suffix.lower()
    if ext == ".npy":
        check_input_file(path, source)
        try:
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
        except Exception as exc:  # noqa: BLE001 - numpy raises many types on a bad header
            raise AtomgraphInputError(f"is not a valid .npy file ({short_error(exc)})", source=source) from None
        stack = len(shape) == 3 and not is_rgb_shape(shape)
        return (int(shape[0]) if stack else 1), None
    if ext in (".tif", ".tiff"):
        import tifffile

        check_input_file(path, source)
        try:
            with tifffile.TiffFile(path) as tif:
                page, shape = tif.pages.first, tuple(tif.series[0].shape)
                rgb = page.samplesperpixel in (3, 4) and len(shape) >= 3 and shape[-1] in (3, 4)
                stack = (len(shape) == 3 and not rgb) or len(shape) == 4
                return (int(shape[0]) if stack else 1), tiff_pixel_size_A(tif, page, source)
        except AtomgraphInputError:
            raise
        except Exception:  # noqa: BLE001 - let read_image give its own message or read it another way
            pass
    image = read_image(path, allow_stack=True)
    return image.frames, image.pixel_size_A


def plan_tasks(files: list[str], pixel_size_A: float | None = None) -> list[Task]:
    """One :class:`Task` per frame of every file. A file whose header cannot be read becomes one task with
    ``frame = -1`` and its error; one without calibration and without ``pixel_size_A`` gets its error per frame."""
    tasks: list[Task] = []
    for source in files:
        path = Path(source)
        absolute = str(path.resolve())
        try:
            n_frames, calibration = _header(path, source)
        except AtomgraphInputError as exc:
            tasks.append(Task(source, absolute, -1, 0, pixel_size_A, error=str(exc), problem=UNREADABLE))
            continue
        px = pixel_size_A if pixel_size_A is not None else calibration
        error = "" if px is not None else f"{source}: pixel size is needed: the file has no calibration, give " \
                                          "--pixel-size (Å/px)"
        problem = "" if px is not None else NO_PIXEL_SIZE
        tasks.extend(Task(source, absolute, i, n_frames, px, error, problem) for i in range(n_frames))
    return tasks
