"""simulate: a material config -> HAADF-STEM image with exact ground truth.

The image model is incoherent: each atomic column scatters ``dose * sigma_ref * sum((Z / Z_ref) ** n)`` electrons
onto the annular detector, spread by the probe intensity (a core Gaussian plus a wide tail Gaussian). The lattice is
rotated and offset at random, positions are jittered (thermal) and distorted as a scan would distort them (affine
shear/anisotropy, slow drift along the slow-scan axis, correlated line jitter along the fast axis), a smooth
background is added, and the expected counts are turned into a detector signal with Poisson noise at the dose,
a gain, Gaussian read noise and an offset. Every parameter is drawn from a range in the material config
(``image:`` section) and recorded in :class:`ImageSettings`.

Units: lengths in Å (``_A``), pixel sizes in Å/px, doses in e/Å², cross sections in Å², image values in detector
units (counts x gain + offset). Truth positions are in pixels after every distortion, with pixel (row i, column j)
centered at x_px = j, y_px = i.

The stage in steps, one module each: :mod:`.settings` (draw every image parameter), :mod:`.scene` (lattice and
defects), :mod:`.scan` (scan distortions, background, detector noise), :mod:`.image` (the image model: column
intensities, probe, rendering), :mod:`.truth` (the truth table and atoms in the frame) and :mod:`.simulation`
(:func:`simulate`, which runs them in order).
"""

from __future__ import annotations

from .image import FWHM_PER_SIGMA, render
from .settings import ImageSettings, draw_settings
from .simulation import MAX_SIZE_PX, Simulation, simulate

__all__ = ["simulate", "Simulation", "ImageSettings", "draw_settings", "render", "FWHM_PER_SIGMA", "MAX_SIZE_PX"]
