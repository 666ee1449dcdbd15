"""The scene: a material's lattice covering the field of view, rotated and offset at random, with defects placed.

Units: positions in Å in the undistorted image frame (x along columns, y along rows, origin at pixel (0, 0)).
"""

from __future__ import annotations

import math

import numpy as np

from ..materials import Material, Structure
from .settings import ImageSettings

EDGE_MARGIN_BONDS = 2.5  # defects keep this many bonds from the frame edge (their neighbors stay in view)


def place_lattice(mat: Material, shape: tuple[int, int], s: ImageSettings, rng: np.random.Generator) -> Structure:
    """A pristine lattice covering the (rows, cols) frame at ``s.pixel_size_A`` Å/px in any rotation, rotated by
    ``s.rotation_deg`` about the frame center and shifted by a random offset (one draw of two numbers)."""
    h, w = shape
    px = s.pixel_size_A
    center_A = np.array([(w - 1) / 2.0, (h - 1) / 2.0]) * px
    a_A = mat.settings.lattice.a_A
    side = math.hypot(w, h) * px + 4.0 * a_A + 8.0
    structure = mat.build_lattice(side, side)
    theta = math.radians(s.rotation_deg)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    shift = rng.uniform(0.0, a_A, size=2)
    xy = structure.positions[:, :2] - side / 2.0 + shift
    structure.positions[:, :2] = xy @ rot.T + center_A
    return structure


def place_defects(mat: Material, structure: Structure, shape: tuple[int, int], pixel_size_A: float,
                  rng: np.random.Generator, counts: dict[str, float] | None = None) -> dict[str, int]:
    """Draw the defect counts (``counts`` overrides the config) and place them at least
    :data:`EDGE_MARGIN_BONDS` bonds (or the config's ``defect_edge_margin_A``) inside the frame. Returns the number placed per label."""
    h, w = shape
    edge = mat.settings.defect_edge_margin_A
    margin = EDGE_MARGIN_BONDS * mat.bond_A if edge is None else float(edge)
    x_max, y_max = (w - 1) * pixel_size_A - margin, (h - 1) * pixel_size_A - margin

    def inside(p: np.ndarray) -> np.ndarray:
        return (p[:, 0] > margin) & (p[:, 0] < x_max) & (p[:, 1] > margin) & (p[:, 1] < y_max)

    return mat.add_defects(structure, inside, rng, mat.defect_counts(rng, counts))
