"""Where a lattice was observed: the image frame, or the convex hull of a coordinate file's points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError


@dataclass
class Region:
    """Where the lattice was observed: an image frame (Å) or the convex hull of coordinate-file points."""

    frame_A: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1
    hull: np.ndarray | None = None  # (F, 3) facets of the convex hull: normal . x + offset <= 0 inside

    @classmethod
    def from_atoms(cls, positions_A: np.ndarray, pixel_size_A: float | None,
                   image_shape_px: tuple[int, int] | None) -> "Region":
        """The image frame when the shape and pixel size are known, else the convex hull of ``positions_A``.

        Parameters
        ----------
        positions_A : ndarray
            (N, 2) positions, Å.
        pixel_size_A : float or None
            Å per pixel.
        image_shape_px : tuple of int or None
            (rows, cols) of the image, px.

        Returns
        -------
        Region
            The region.
        """
        if image_shape_px is not None and pixel_size_A:
            rows, cols = image_shape_px
            p = float(pixel_size_A)
            return cls(frame_A=(-0.5 * p, -0.5 * p, (cols - 0.5) * p, (rows - 0.5) * p))
        if len(positions_A) >= 3:
            try:
                return cls(hull=ConvexHull(positions_A).equations)
            except QhullError:  # collinear or degenerate points: no region to speak of
                pass
        return cls()

    def inside(self, points_A: np.ndarray, margin_A: float = 0.0) -> np.ndarray:
        """Points inside the region, grown by ``margin_A`` (frame only).

        Parameters
        ----------
        points_A : ndarray
            (M, 2) points, Å.
        margin_A : float, default 0.0
            Margin added around the frame, Å.

        Returns
        -------
        ndarray of bool
            (M,) True inside.
        """
        points_A = np.asarray(points_A, float).reshape(-1, 2)
        if self.frame_A is not None:
            x0, y0, x1, y1 = self.frame_A
            x, y = points_A[:, 0], points_A[:, 1]
            return (x >= x0 - margin_A) & (x <= x1 + margin_A) & (y >= y0 - margin_A) & (y <= y1 + margin_A)
        if self.hull is not None:
            return self._hull_depth(points_A) >= -1e-9
        return np.ones(len(points_A), bool)

    def edge_distance(self, points_A: np.ndarray) -> np.ndarray:
        """Distance of points to the region border.

        Parameters
        ----------
        points_A : ndarray
            (M, 2) points, Å.

        Returns
        -------
        ndarray of float
            (M,) distance, Å (inf without a region; 0 outside it).
        """
        points_A = np.asarray(points_A, float).reshape(-1, 2)
        if self.frame_A is not None:
            x0, y0, x1, y1 = self.frame_A
            d = np.minimum.reduce([points_A[:, 0] - x0, x1 - points_A[:, 0], points_A[:, 1] - y0,
                                   y1 - points_A[:, 1]])
            return np.clip(d, 0.0, None)
        if self.hull is not None:
            return np.clip(self._hull_depth(points_A), 0.0, None)
        return np.full(len(points_A), np.inf)

    def _hull_depth(self, points_A: np.ndarray) -> np.ndarray:
        """Signed distance inside the hull (negative outside), Å: the smallest over its facets (a few dozen, so a
        loop over facets, vectorized over points)."""
        x, y = points_A[:, 0], points_A[:, 1]
        depth = np.full(len(points_A), np.inf)
        for a, b, c in self.hull:
            np.minimum(depth, -(a * x + b * y + c), out=depth)
        return depth
