"""Movie frames from files, one at a time: a stack file (.npy memory-mapped; .tif / .emd / .dm4 / ... through
:func:`atomgraph.io.images.read_image`) or a list of single-frame files in order. A frame that cannot be read comes
back as an :class:`UnreadableFrame` (the tracker reports and skips it); a file that cannot be opened at all is a
user error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError
from ..io.images import read_image


@dataclass
class UnreadableFrame:
    """A frame that could not be read, and why."""

    reason: str


class FrameSource:
    """Indexable frames of one or more files (``len``, ``[i]``, iteration); ``pixel_size_A`` from the first file's
    calibration (None when it has none)."""

    def __init__(self, paths: list[str]) -> None:
        if not paths:
            raise AtomgraphInputError("no input files")
        self.items: list = []  # (array-like, index) or (path,) for single files read on demand
        self.pixel_size_A = None
        if len(paths) == 1:
            path = Path(paths[0])
            if path.suffix.lower() == ".npy":
                data = self._npy(path)
            else:
                image = read_image(path, allow_stack=True)
                data, self.pixel_size_A = image.data, image.pixel_size_A
            data = data[None] if data.ndim == 2 else data
            self.items = [(data, i) for i in range(len(data))]
        else:
            for p in paths:
                if not Path(p).is_file():
                    raise AtomgraphInputError("no such file", source=str(p))
            self.items = [(str(p),) for p in paths]
            try:
                self.pixel_size_A = read_image(paths[0]).pixel_size_A
            except AtomgraphInputError:
                self.pixel_size_A = None

    @staticmethod
    def _npy(path: Path) -> np.ndarray:
        """A memory-mapped (frames, rows, cols) or (rows, cols) .npy of real numbers."""
        if not path.is_file():
            raise AtomgraphInputError("no such file", source=str(path))
        try:
            data = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # numpy raises ValueError / OSError / ... on bad files
            raise AtomgraphInputError(f"is not a readable .npy file ({type(exc).__name__})", source=str(path)) \
                from None
        if data.ndim not in (2, 3) or data.dtype.kind not in "biuf" or min(data.shape[-2:]) < 8:
            raise AtomgraphInputError(f"is not a stack of 2D frames (shape {data.shape}, dtype {data.dtype})",
                                      source=str(path))
        return data

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        item = self.items[i]
        if len(item) == 2:
            return np.array(item[0][item[1]], dtype=np.float32)  # a writable copy of one frame
        try:
            return read_image(item[0]).data
        except AtomgraphInputError as exc:
            return UnreadableFrame(str(exc))

    def __iter__(self):
        return (self[i] for i in range(len(self)))
