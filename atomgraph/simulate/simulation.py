"""One simulated frame: settings -> scene -> scan -> image model -> detector -> truth.

:func:`simulate` is the stage's entry point (``atomgraph.simulate``); the steps live in the sibling modules
(:mod:`.settings`, :mod:`.scene`, :mod:`.image`, :mod:`.scan`, :mod:`.truth`). The order of the random draws is fixed,
so the same seed gives a byte-identical image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms
from scipy.ndimage import gaussian_filter1d

from ..atoms import AtomTable
from ..config import MaterialConfig
from ..deprecations import pixel_size_alias
from ..errors import AtomgraphInputError
from ..materials import Columns, Material, Structure, get_material
from .image import FWHM_PER_SIGMA, column_electrons, dopant_cloud, render
from .scan import detector_signal, distort_positions, line_jitter, to_eight_bit
from .scene import place_defects, place_lattice
from .settings import ImageSettings, check_positive, check_request, draw_settings
from .truth import atoms_in_frame, truth_table

MAX_SIZE_PX = 8192
PERTURB_STREAM = 7   # second seed word of the random stream a ``perturb`` augmentation draws from


@dataclass
class Simulation:
    """One simulated image and its truth.

    Attributes
    ----------
    image : (H, W) float32 detector signal.
    truth : AtomTable of every column and vacancy site in the frame (``label`` set, positions after distortion).
    atoms : ase.Atoms the image was made from (Å, in the undistorted image frame; per-atom ``label`` array).
    settings : the drawn :class:`ImageSettings`.
    counts : number of truth sites per label inside the image.
    """

    material: str
    seed: int
    image: np.ndarray
    truth: AtomTable
    atoms: Atoms
    settings: ImageSettings
    counts: dict

    @property
    def pixel_size_A(self) -> float:
        """Å per pixel of the image."""
        return self.settings.pixel_size_A

    def manifest(self) -> dict:
        """The image's entry of ``manifest.json``.

        Returns
        -------
        dict
            Material, seed, shape (px), pixel size (Å/px), dose (e/Å²), defect counts and every setting.
        """
        return {"material": self.material, "seed": self.seed, "shape": list(self.image.shape),
                "pixel_size_A": self.settings.pixel_size_A, "dose_e_per_A2": self.settings.dose_e_per_A2,
                "counts": self.counts, "settings": asdict(self.settings)}


def frame_shape(size: int | tuple[int, int]) -> tuple[int, int]:
    """(rows, cols) from an int (square) or a pair; :class:`AtomgraphInputError` outside 8..MAX_SIZE_PX."""
    shape = (int(size), int(size)) if np.isscalar(size) else tuple(int(v) for v in size)
    if len(shape) != 2 or min(shape) < 8 or max(shape) > MAX_SIZE_PX:
        raise AtomgraphInputError(f"size must be between 8 and {MAX_SIZE_PX} px, got {size!r}")
    return shape


def scan_columns(cols: Columns, electrons: np.ndarray, dopant: np.ndarray, shape: tuple[int, int], s: ImageSettings,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scan the columns: distorted truth positions (N, 2) in px and the expected electrons per pixel (H, W)."""
    h = shape[0]
    sigma_px = s.probe_fwhm_A / FWHM_PER_SIGMA / s.pixel_size_A
    line_shift = line_jitter(h, s, rng)
    truth_line_shift = gaussian_filter1d(line_shift, max(sigma_px, 0.5)) if s.line_jitter_px > 0 else None
    xy_px = distort_positions(cols.positions_A / s.pixel_size_A, shape, s, rng, None)
    cloud_xy, cloud_e = dopant_cloud(xy_px, electrons, dopant, s, rng)
    if len(cloud_e):
        render_xy = np.concatenate([xy_px[~dopant], cloud_xy])
        render_e = np.concatenate([electrons[~dopant], cloud_e])
    else:
        render_xy, render_e = xy_px, electrons
    expected = render(render_xy, render_e, shape, s, line_shift if s.line_jitter_px > 0 else None)
    if s.line_gain_noise > 0:  # scan-line gain fluctuations (horizontal streaks)
        expected *= np.clip(1.0 + rng.normal(0.0, s.line_gain_noise, size=(h, 1)), 0.0, None)
    if truth_line_shift is not None:
        xy_px[:, 0] += np.interp(xy_px[:, 1], np.arange(h), truth_line_shift)
    # detector lag delays the signal along the fast-scan axis: every column appears shifted by the lag's mean
    # (one whole-image shift that no single frame can tell from a lattice translation), so the truth follows it
    xy_px[:, 0] += s.scan_lag_px
    return xy_px, expected


def simulate(material: str | Material | MaterialConfig | dict, size: int | tuple[int, int] | None = None,
             pixel_size_A: float | None = None, dose: float | None = None, seed: int = 0,
             counts: dict[str, float] | None = None, noise: bool = True, distort: bool = True, *,
             pixel_size: float | None = None,
             perturb: Callable[[Structure, np.random.Generator], object] | None = None) -> Simulation:
    """Simulate one HAADF-STEM image of a material with defects, with exact truth.

    Parameters
    ----------
    material : str, Material, MaterialConfig or dict
        Built-in name (``graphene-si``, ``mose2-w``, ``mos2``), a config path, a config dict or a Material.
    size : int or tuple of int, optional
        Image size in px: an int for square images or (rows, columns). Default: the config's ``image.size_px``.
    pixel_size_A : float, optional
        Å per pixel. Default: drawn from the config range.
    dose : float, optional
        Electron dose in e/Å². Default: drawn (log-uniform) from the config range.
    seed : int, default 0
        Seed of every random choice; the same seed gives a byte-identical image.
    counts : dict of str to float, optional
        Defect label -> number of defects (or, for alloy labels, a fraction < 1), overriding the config.
    noise, distort : bool, default True
        Set False for a noise-free and/or undistorted image (tests, figures).
    pixel_size : float, optional
        Deprecated alias of ``pixel_size_A`` (a warning says so).
    perturb : callable, optional
        Training augmentation called on the decorated structure before it is projected, with its own random
        stream (the rest of the image is drawn as without it); e.g.
        :class:`atomgraph.simulate.perturb.RandomPerturbation` for the locator's training images.

    Returns
    -------
    Simulation
        ``image`` (float32), ``truth`` (AtomTable with labels), ``atoms`` (ase.Atoms), ``settings``, ``counts``.

    Examples
    --------
    >>> sim = simulate("graphene-si", size=256, pixel_size_A=0.1, dose=1e5, seed=0)
    >>> sim.image.shape, sim.image.dtype, sim.counts
    ((256, 256), dtype('float32'), {'C': 248, 'Si3': 3, 'Si4': 1})
    """
    mat = get_material(material)
    shape = frame_shape(mat.settings.image.size_px if size is None else size)
    pixel_size_A = pixel_size_alias(pixel_size_A, pixel_size, "simulate")
    _check_request(shape, pixel_size_A, dose, seed)
    rng = np.random.default_rng(int(seed))
    s = draw_settings(mat.settings.image, rng, pixel_size_A, dose, noise, distort)
    structure = place_lattice(mat, shape, s, rng)
    placed = place_defects(mat, structure, shape, s.pixel_size_A, rng, counts)
    if perturb is not None:
        perturb(structure, np.random.default_rng([int(seed), PERTURB_STREAM]))

    cols, xy_px, electrons, image = _rendered(structure, mat, shape, s, rng, noise)
    truth = truth_table(xy_px, cols, electrons, shape, s.pixel_size_A)
    atoms = atoms_in_frame(structure, shape, s.pixel_size_A)
    atoms.info.update({"pixel_size_A": s.pixel_size_A, "material": mat.name, "seed": int(seed), "placed": placed})
    return Simulation(material=mat.name, seed=int(seed), image=image, truth=truth, atoms=atoms, settings=s,
                      counts={label: int(np.sum(truth.label == label)) for label in mat.labels})


def _rendered(structure: Structure, mat: Material, shape: tuple[int, int], s, rng: np.random.Generator, noise: bool
              ) -> tuple:
    """The projected columns of ``structure``, their positions (px) and electron counts, and the image
    (:func:`render_columns`; in 8 bits when the settings drew it)."""
    cols = structure.columns()
    xy_px, electrons, image = render_columns(cols, list(mat.settings.lattice.host.values()), shape, s, rng, noise)
    if s.eight_bit:
        image = to_eight_bit(image, s.clip_fraction)
    return cols, xy_px, electrons, image


def render_columns(cols, host: list[str], shape: tuple[int, int], s, rng: np.random.Generator, noise: bool
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The image of projected columns ``cols`` (positions in Å) under image settings ``s``: each column's
    position in px after the scan distortions, its expected electron count, and the image (float32; with detector
    noise unless ``noise`` is False). Columns of an element outside ``host`` are dopants (their blur)."""
    electrons = column_electrons(cols.atom_column, cols.atom_numbers, len(cols.label), s)
    dopant = (cols.element != "") & ~np.isin(cols.element, host)
    xy_px, expected = scan_columns(cols, electrons, dopant, shape, s, rng)
    image = (detector_signal(expected, s, rng) if noise else expected).astype(np.float32)
    return xy_px, electrons, image


def _check_request(shape: tuple[int, int], pixel_size_A: float | None, dose: float | None, seed) -> None:
    """Refuse, before anything is drawn, a pixel size or dose that is not positive, an image too large for what
    they imply (:func:`atomgraph.simulate.settings.check_request`) and a seed that is not a non-negative integer."""
    check_positive("pixel size", pixel_size_A)
    check_positive("dose", dose)
    check_request(shape, pixel_size_A, dose)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AtomgraphInputError(f"seed must be a non-negative integer, got {seed!r}")
