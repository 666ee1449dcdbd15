"""The exact truth of a simulated frame: every column and vacancy site inside it, and the atoms it was made from.

Truth positions are in pixels after every distortion, with pixel (row i, column j) centered at x_px = j, y_px = i.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ..atoms import AtomTable
from ..materials import Columns, Structure


def truth_table(xy_px: np.ndarray, cols: Columns, electrons: np.ndarray, shape: tuple[int, int],
                pixel_size_A: float) -> AtomTable:
    """The columns whose distorted position ``xy_px`` (N, 2) lies inside the (rows, cols) frame, labeled, with
    their scattered electrons as ``intensity`` and ``prob`` 1."""
    h, w = shape
    in_frame = (xy_px[:, 0] >= -0.5) & (xy_px[:, 0] < w - 0.5) & (xy_px[:, 1] >= -0.5) & (xy_px[:, 1] < h - 0.5)
    return AtomTable.from_pixels(xy_px[in_frame], pixel_size_A, cols.element[in_frame], label=cols.label[in_frame],
                                 prob=np.ones(int(in_frame.sum())), intensity=electrons[in_frame],
                                 image_shape_px=(h, w))


def atoms_in_frame(structure: Structure, shape: tuple[int, int], pixel_size_A: float) -> Atoms:
    """The structure's atoms (ase, Å, undistorted image frame) whose projected position lies inside the frame."""
    h, w = shape
    atoms = structure.to_atoms()
    frame = np.array([w - 0.5, h - 0.5]) * pixel_size_A
    xy = atoms.positions[:, :2]
    return atoms[np.all((xy >= -0.5 * pixel_size_A) & (xy < frame), axis=1)]
