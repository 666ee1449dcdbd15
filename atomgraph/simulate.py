"""HAADF-STEM image simulation with exact ground truth.

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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms
from scipy import fft
from scipy.ndimage import gaussian_filter1d

from .atoms import AtomTable
from .config import ImageConfig, MaterialConfig
from .errors import AtomgraphInputError
from .materials import Material, get_material

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
MAX_SIZE_PX = 8192


@dataclass
class ImageSettings:
    """Every value the simulator drew for one image (units in the names; ``_px`` values in pixels)."""

    pixel_size_A: float
    dose_e_per_A2: float
    cross_section_A2: float
    reference_Z: int
    z_exponent: float
    probe_fwhm_A: float
    probe_tail_fraction: float
    probe_tail_width_factor: float
    thermal_jitter_A: float
    rotation_deg: float
    line_jitter_px: float
    line_jitter_correlation: float
    scan_lag_px: float
    line_gain_noise: float
    drift_x_fraction: float
    drift_y_fraction: float
    shear: float
    scale_anisotropy: float
    background_fraction: float
    background_scale_A: float
    gain: float
    read_noise: float
    detector_offset: float
    noise: bool
    distort: bool
    dopant_blur_A: float = 0.0


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
        return self.settings.pixel_size_A

    def manifest(self) -> dict:
        """A JSON-ready description: material, seed, shape, counts per label and every drawn setting."""
        return {"material": self.material, "seed": self.seed, "shape": list(self.image.shape),
                "pixel_size_A": self.settings.pixel_size_A, "dose_e_per_A2": self.settings.dose_e_per_A2,
                "counts": self.counts, "settings": asdict(self.settings)}


def _check_positive(name: str, value, kind=float) -> None:
    if value is None:
        return
    try:
        ok = math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise AtomgraphInputError(f"{name} must be a positive number, got {value!r}")


def draw_settings(image_cfg: ImageConfig | dict, rng: np.random.Generator, pixel_size: float | None = None,
                  dose: float | None = None, noise: bool = True, distort: bool = True) -> ImageSettings:
    """Draw one :class:`ImageSettings` from the config's ``image:`` ranges (an :class:`ImageConfig` or its dict).

    ``pixel_size`` (Å/px) and ``dose`` (e/Å²) override the draw; the dose is drawn log-uniformly, the rest
    uniformly, in a fixed order (the same seed gives the same settings).
    """
    cfg = image_cfg if isinstance(image_cfg, ImageConfig) else ImageConfig.model_validate(image_cfg)
    drift = cfg.drift_fraction.draw(rng)
    settings = ImageSettings(
        pixel_size_A=float(pixel_size) if pixel_size is not None else cfg.pixel_size_A.draw(rng),
        dose_e_per_A2=float(dose) if dose is not None else cfg.dose_e_per_A2.draw_log(rng),
        cross_section_A2=cfg.cross_section_A2.draw(rng),
        reference_Z=int(cfg.reference_Z),
        z_exponent=cfg.z_exponent.draw(rng),
        probe_fwhm_A=cfg.probe_fwhm_A.draw(rng),
        probe_tail_fraction=cfg.probe_tail_fraction.draw(rng),
        probe_tail_width_factor=cfg.probe_tail_width_factor.draw(rng),
        thermal_jitter_A=cfg.thermal_jitter_A.draw(rng),
        rotation_deg=cfg.rotation_deg.draw(rng),
        line_jitter_px=cfg.line_jitter_px.draw(rng),
        line_jitter_correlation=cfg.line_jitter_correlation.draw(rng),
        scan_lag_px=cfg.scan_lag_px.draw(rng),
        line_gain_noise=cfg.line_gain_noise.draw(rng),
        drift_x_fraction=drift * rng.choice([-1.0, 1.0]),
        drift_y_fraction=drift * rng.uniform(-1.0, 1.0),
        shear=cfg.shear.draw(rng),
        scale_anisotropy=cfg.scale_anisotropy.draw(rng),
        background_fraction=cfg.background_fraction.draw(rng),
        background_scale_A=cfg.background_scale_A.draw(rng),
        gain=cfg.gain.draw(rng),
        read_noise=cfg.read_noise.draw(rng),
        detector_offset=cfg.detector_offset.draw(rng),
        noise=bool(noise),
        distort=bool(distort),
    )
    settings.dopant_blur_A = cfg.dopant_blur_A.draw(rng)  # drawn last: the other draws keep their order
    if not distort:
        settings.thermal_jitter_A = settings.line_jitter_px = settings.scan_lag_px = 0.0
        settings.dopant_blur_A = 0.0
        settings.drift_x_fraction = settings.drift_y_fraction = 0.0
        settings.shear = settings.scale_anisotropy = 0.0
    if not noise:
        settings.background_fraction = settings.read_noise = settings.detector_offset = 0.0
        settings.line_gain_noise = 0.0
        settings.gain = 1.0
    return settings


def _distort_positions(xy_px: np.ndarray, shape: tuple[int, int], s: ImageSettings, rng: np.random.Generator,
                       line_shift_px: np.ndarray) -> np.ndarray:
    """Apply thermal jitter, affine scan distortion, slow drift and line jitter to pixel positions (N, 2)."""
    h, w = shape
    out = xy_px.copy()
    if s.thermal_jitter_A > 0:
        out += rng.normal(0.0, s.thermal_jitter_A / s.pixel_size_A, size=out.shape)
    center = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    rel = out - center
    affine = np.array([[1.0 + s.scale_anisotropy, s.shear], [0.0, 1.0 - s.scale_anisotropy]])
    out = rel @ affine.T + center
    t = np.clip(out[:, 1] / max(h - 1, 1), -0.5, 1.5)  # slow-scan time, 0 at the first row
    out[:, 0] += s.drift_x_fraction * w * t**2
    out[:, 1] += s.drift_y_fraction * h * t**2
    if line_shift_px is not None:
        rows = np.arange(len(line_shift_px))
        out[:, 0] += np.interp(out[:, 1], rows, line_shift_px)
    return out


def _dopant_cloud(xy_px: np.ndarray, electrons: np.ndarray, dopant: np.ndarray, s: ImageSettings,
                  rng: np.random.Generator, n_points: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Spread each dopant column over a cloud of ``n_points`` sub-points (anisotropic Gaussian, random axes up to
    ``dopant_blur_A`` rms, centroid kept at the column): a dopant that moves or flips during the scan (beam-driven
    Si dynamics, Si3 buckling up/down) looks wider, elongated and lumpy next to the host columns.
    Returns the positions and electrons to render in place of the dopant columns."""
    idx = np.flatnonzero(dopant)
    if s.dopant_blur_A <= 0 or idx.size == 0:
        return np.zeros((0, 2)), np.zeros(0)
    axes = rng.uniform(0.0, 1.0, size=(idx.size, 1, 2)) * (s.dopant_blur_A / s.pixel_size_A)
    pts = rng.normal(size=(idx.size, n_points, 2)) * axes
    pts -= pts.mean(axis=1, keepdims=True)
    ang = rng.uniform(0.0, math.pi, size=(idx.size, 1))
    c, sn = np.cos(ang), np.sin(ang)
    pts = np.stack([c * pts[..., 0] - sn * pts[..., 1], sn * pts[..., 0] + c * pts[..., 1]], axis=-1)
    xy = (xy_px[idx, None, :] + pts).reshape(-1, 2)
    return xy, np.repeat(electrons[idx] / n_points, n_points)


def _line_jitter(n_rows: int, s: ImageSettings, rng: np.random.Generator) -> np.ndarray:
    """Per-row fast-axis shift in px: an AR(1) sequence with std ``line_jitter_px``."""
    if s.line_jitter_px <= 0:
        return np.zeros(n_rows)
    rho = s.line_jitter_correlation
    eps = rng.normal(0.0, s.line_jitter_px, size=n_rows)
    shift = np.empty(n_rows)
    shift[0] = eps[0]
    scale = math.sqrt(max(1.0 - rho * rho, 0.0))
    for i in range(1, n_rows):  # n_rows iterations of scalar work: cheap next to the FFTs
        shift[i] = rho * shift[i - 1] + scale * eps[i]
    return shift


def _splat(xy_px: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear deposit of point weights at sub-pixel positions onto a grid (preserves each point's centroid)."""
    h, w = shape
    x0 = np.floor(xy_px[:, 0]).astype(np.int64)
    y0 = np.floor(xy_px[:, 1]).astype(np.int64)
    fx = xy_px[:, 0] - x0
    fy = xy_px[:, 1] - y0
    grid = np.zeros(h * w)
    for dx, dy, f in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        grid += np.bincount(yi[ok] * w + xi[ok], weights=(weights * f)[ok], minlength=h * w)
    return grid.reshape(h, w).astype(np.float32)


def _probe_transfer(shape: tuple[int, int], s: ImageSettings) -> np.ndarray:
    """Fourier transform (rfft2 layout) of the unit-sum probe: core Gaussian + tail Gaussian."""
    h, w = shape
    ky = fft.fftfreq(h)[:, None]
    kx = fft.rfftfreq(w)[None, :]
    k2 = kx**2 + ky**2
    sigma = s.probe_fwhm_A / FWHM_PER_SIGMA / s.pixel_size_A
    tail = sigma * s.probe_tail_width_factor
    f = s.probe_tail_fraction
    transfer = (1.0 - f) * np.exp(-2 * math.pi**2 * sigma**2 * k2) + f * np.exp(-2 * math.pi**2 * tail**2 * k2)
    return transfer.astype(np.float32)  # single precision halves the FFT time; plenty for Poisson-noisy images


def render(xy_px: np.ndarray, electrons: np.ndarray, shape: tuple[int, int], s: ImageSettings,
           line_shift_px: np.ndarray | None = None) -> np.ndarray:
    """Expected scattered electrons per pixel for columns at ``xy_px`` (N, 2) scattering ``electrons`` (N,)."""
    h, w = shape
    sigma = s.probe_fwhm_A / FWHM_PER_SIGMA / s.pixel_size_A
    pad = int(min(math.ceil(3.0 * sigma * max(s.probe_tail_width_factor, 1.0)) + 2, 512))
    ph, pw = fft.next_fast_len(h + 2 * pad), fft.next_fast_len(w + 2 * pad, real=True)
    grid = _splat(xy_px + pad, electrons, (ph, pw))
    spectrum = fft.rfft2(grid) * _probe_transfer((ph, pw), s)
    image = fft.irfft2(spectrum, s=(ph, pw))
    jitter = line_shift_px is not None and np.any(line_shift_px)
    if jitter or s.scan_lag_px > 0:
        # along the fast-scan axis (x): per-row shifts (line jitter) and detector lag (one-sided exponential blur)
        kx = fft.rfftfreq(pw)[None, :]
        rows = fft.rfft(image, axis=1)
        if jitter:
            shifts = np.zeros(ph)
            shifts[pad:pad + h] = line_shift_px
            rows *= np.exp(-2j * math.pi * kx * shifts[:, None])
        if s.scan_lag_px > 0:
            rows /= 1.0 + 2j * math.pi * kx * s.scan_lag_px
        image = fft.irfft(rows, n=pw, axis=1)
    return np.clip(image[pad:pad + h, pad:pad + w], 0.0, None)


def _background(shape: tuple[int, int], s: ImageSettings, level: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth positive background (contamination, amorphous support) with mean ``level`` electrons/px."""
    h, w = shape
    if s.background_fraction <= 0 or level <= 0:
        return np.zeros(shape)
    noise = rng.standard_normal(size=shape, dtype=np.float32)
    scale_px = s.background_scale_A / s.pixel_size_A
    ky = fft.fftfreq(h)[:, None]
    kx = fft.rfftfreq(w)[None, :]
    field = fft.irfft2(fft.rfft2(noise) * np.exp(-2 * math.pi**2 * scale_px**2 * (kx**2 + ky**2)), s=shape)
    field -= field.mean()
    std = field.std()
    field = np.clip(field / std, -3.0, 3.0) if std > 1e-9 else np.zeros(shape)
    gx = rng.normal(0, 0.5) * (np.arange(w) / max(w, 1) - 0.5)
    gy = rng.normal(0, 0.5) * (np.arange(h) / max(h, 1) - 0.5)
    bg = np.exp(0.6 * field + gx[None, :] + gy[:, None])
    return s.background_fraction * level * bg / bg.mean()


def simulate(material: str | Material | MaterialConfig | dict, size: int | tuple[int, int] | None = None,
             pixel_size: float | None = None, dose: float | None = None, seed: int = 0,
             counts: dict[str, float] | None = None, noise: bool = True, distort: bool = True) -> Simulation:
    """Simulate one HAADF-STEM image of a material with defects, with exact truth.

    Parameters
    ----------
    material
        Built-in name (``graphene-si``, ``mose2-w``, ``mos2``), a config path, a config dict or a Material.
    size
        Image size in px: an int for square images or (rows, columns). Default: the config's ``image.size_px``.
    pixel_size
        Å per pixel. Default: drawn from the config range.
    dose
        Electron dose in e/Å². Default: drawn (log-uniform) from the config range.
    seed
        Seed of every random choice; the same seed gives a byte-identical image.
    counts
        Defect label -> number of defects (or, for alloy labels, a fraction < 1), overriding the config.
    noise, distort
        Set False for a noise-free and/or undistorted image (tests, figures).

    Returns
    -------
    Simulation
        ``image`` (float32), ``truth`` (AtomTable with labels), ``atoms`` (ase.Atoms), ``settings``, ``counts``.

    Examples
    --------
    >>> sim = simulate("graphene-si", size=256, pixel_size=0.1, dose=1e5, seed=0)
    >>> sim.image.shape, sim.image.dtype, sim.counts
    ((256, 256), dtype('float32'), {'C': 248, 'Si3': 3, 'Si4': 1})
    """
    mat = get_material(material)
    cfg = mat.settings.image
    size = cfg.size_px if size is None else size
    shape = (int(size), int(size)) if np.isscalar(size) else tuple(int(v) for v in size)
    if len(shape) != 2 or min(shape) < 8 or max(shape) > MAX_SIZE_PX:
        raise AtomgraphInputError(f"size must be between 8 and {MAX_SIZE_PX} px, got {size!r}")
    _check_positive("pixel size", pixel_size)
    _check_positive("dose", dose)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AtomgraphInputError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    s = draw_settings(cfg, rng, pixel_size, dose, noise, distort)
    h, w = shape
    px = s.pixel_size_A

    # lattice covering the rotated field of view, rotated about the image center and offset at random
    center_A = np.array([(w - 1) / 2.0, (h - 1) / 2.0]) * px
    a_A = mat.settings.lattice.a_A
    side = math.hypot(w, h) * px + 4.0 * a_A + 8.0
    structure = mat.build_lattice(side, side)
    theta = math.radians(s.rotation_deg)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    shift = rng.uniform(0.0, a_A, size=2)
    xy = structure.positions[:, :2] - side / 2.0 + shift
    structure.positions[:, :2] = xy @ rot.T + center_A

    margin = 2.5 * mat.bond_A
    inside = lambda p: ((p[:, 0] > margin) & (p[:, 0] < (w - 1) * px - margin)  # noqa: E731
                        & (p[:, 1] > margin) & (p[:, 1] < (h - 1) * px - margin))
    placed = mat.add_defects(structure, inside, rng, mat.defect_counts(rng, counts))

    cols = structure.columns()
    ref = float(s.reference_Z) ** s.z_exponent
    electrons = np.bincount(cols.atom_column, cols.atom_numbers.astype(float) ** s.z_exponent,
                            minlength=len(cols.label)) / ref
    electrons *= s.dose_e_per_A2 * s.cross_section_A2
    sigma_px = s.probe_fwhm_A / FWHM_PER_SIGMA / px
    line_shift = _line_jitter(h, s, rng)
    truth_line_shift = gaussian_filter1d(line_shift, max(sigma_px, 0.5)) if s.line_jitter_px > 0 else None
    xy_px = _distort_positions(cols.positions_A / px, shape, s, rng, None)
    host_elements = list(mat.settings.lattice.host.values())
    dopant = (cols.element != "") & ~np.isin(cols.element, host_elements)
    cloud_xy, cloud_e = _dopant_cloud(xy_px, electrons, dopant, s, rng)
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

    if noise:
        expected = expected + _background(shape, s, float(expected.mean()), rng)
        image = rng.poisson(expected).astype(np.float32)
        image *= np.float32(s.gain)
        image += np.float32(s.detector_offset)
        image += rng.standard_normal(size=shape, dtype=np.float32) * np.float32(s.read_noise * s.gain)
    else:
        image = expected
    image = image.astype(np.float32)

    in_frame = ((xy_px[:, 0] >= -0.5) & (xy_px[:, 0] < w - 0.5) & (xy_px[:, 1] >= -0.5) & (xy_px[:, 1] < h - 0.5))
    truth = AtomTable.from_pixels(xy_px[in_frame], px, cols.element[in_frame], label=cols.label[in_frame],
                                  prob=np.ones(int(in_frame.sum())), intensity=electrons[in_frame],
                                  image_shape_px=(h, w))
    label_counts = {label: int(np.sum(truth.label == label)) for label in mat.labels}
    atoms = structure.to_atoms()
    frame = np.array([w - 0.5, h - 0.5]) * px
    atoms = atoms[np.all((atoms.positions[:, :2] >= -0.5 * px) & (atoms.positions[:, :2] < frame), axis=1)]
    atoms.info.update({"pixel_size_A": px, "material": mat.name, "seed": int(seed), "placed": placed})
    return Simulation(material=mat.name, seed=int(seed), image=image, truth=truth, atoms=atoms, settings=s,
                      counts=label_counts)
