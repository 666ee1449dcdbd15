"""Image settings: every value the simulator draws for one image, drawn in a fixed order from the config ranges.

Units: lengths in Å (``_A``), pixel sizes in Å/px, doses in e/Å², cross sections in Å², ``_px`` values in pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import ImageConfig
from ..errors import AtomgraphInputError


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
    eight_bit: bool = False
    clip_fraction: float = 0.0


def check_positive(name: str, value: object) -> None:
    """Raise :class:`AtomgraphInputError` unless ``value`` is None or a finite number > 0 (``name`` says which)."""
    if value is None:
        return
    try:
        ok = math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise AtomgraphInputError(f"{name} must be a positive number, got {value!r}")


MAX_ATOMS = 2_000_000   # atoms in one simulated field of view (graphene: a square about 2300 Å a side)
ATOMS_PER_A2 = 0.5      # an upper bound of the projected atom density of the bundled 2D materials (graphene 0.38)
MIN_PIXEL_A = 0.005     # finer pixels make the probe kernel hundreds of pixels wide
MAX_DOSE = 1e9          # e/Å²; real HAADF frames stay below ~1e7, and Poisson draws break near 1e18 per pixel
MAX_PIXELS = 8192 * 8192  # pixels of one simulated image (256 MB as float32; the simulation holds a few copies)


def check_request(shape: tuple[int, int], pixel_size_A: float | None, dose: float | None) -> None:
    """Refuse, before anything is allocated, a simulation whose size the parameters make absurd: a field of view
    (``shape`` px times ``pixel_size_A`` Å/px) holding more than :data:`MAX_ATOMS` atoms, a pixel finer than
    :data:`MIN_PIXEL_A` Å, a dose above :data:`MAX_DOSE` e/Å². The message quotes the value given. None: drawn
    from the config (always sane), not checked. Also refused: more than :data:`MAX_PIXELS` pixels."""
    if shape[0] * shape[1] > MAX_PIXELS:
        raise AtomgraphInputError(f"size {shape[1]}x{shape[0]} px is more than {MAX_PIXELS:,} pixels; simulate "
                                  "smaller images (a 4096x4096 one is 16.8 million)")
    if pixel_size_A is not None:
        px = float(pixel_size_A)
        atoms = shape[0] * shape[1] * px * px * ATOMS_PER_A2
        if atoms > MAX_ATOMS:
            raise AtomgraphInputError(
                f"pixel size {pixel_size_A:g} Å/px makes the {shape[1]}x{shape[0]} px field of view "
                f"{shape[1] * px:.3g} x {shape[0] * px:.3g} Å, about {atoms:.2g} atoms (at most {MAX_ATOMS:.0e} are "
                "simulated); check the pixel size (Å per pixel, not nm) or the size")
        if px < MIN_PIXEL_A:
            raise AtomgraphInputError(f"pixel size {pixel_size_A:g} Å/px is finer than {MIN_PIXEL_A} Å/px, which no "
                                      "HAADF image resolves (the probe would span thousands of pixels)")
    if dose is not None and float(dose) > MAX_DOSE:
        raise AtomgraphInputError(f"dose {dose:g} e/Å² is above {MAX_DOSE:.0e} e/Å² (real frames stay below about "
                                  "1e7); check the dose")


def draw_settings(image_cfg: ImageConfig | dict, rng: np.random.Generator, pixel_size_A: float | None = None,
                  dose: float | None = None, noise: bool = True, distort: bool = True) -> ImageSettings:
    """Draw one :class:`ImageSettings` from the config's ``image:`` ranges.

    The dose is drawn log-uniformly, the rest uniformly, in a fixed order (the same seed gives the same settings).

    Parameters
    ----------
    image_cfg : ImageConfig or dict
        The config's ``image:`` section.
    rng : numpy.random.Generator
        The random generator.
    pixel_size_A : float, optional
        Å per pixel, overriding the draw.
    dose : float, optional
        Dose in e/Å², overriding the draw.
    noise : bool, default True
        False: no background, read noise or detector offset.
    distort : bool, default True
        False: no thermal jitter, scan distortions or drift.

    Returns
    -------
    ImageSettings
        Every parameter of one image.
    """
    cfg = image_cfg if isinstance(image_cfg, ImageConfig) else ImageConfig.model_validate(image_cfg)
    drift = cfg.drift_fraction.draw(rng)
    settings = ImageSettings(
        pixel_size_A=float(pixel_size_A) if pixel_size_A is not None else cfg.pixel_size_A.draw(rng),
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
    _draw_late(settings, cfg, rng)
    _switch_off(settings, noise, distort)
    return settings


def _draw_late(settings: ImageSettings, cfg: ImageConfig, rng: np.random.Generator) -> None:
    """Draw the settings added to the config after the others, after them (the same seed keeps its other draws):
    the dopant blur, then the 8-bit conversion and its clipping when the config has them."""
    settings.dopant_blur_A = cfg.dopant_blur_A.draw(rng)
    if cfg.eight_bit_fraction is not None:  # drawn only when configured: older configs keep their images
        settings.eight_bit = bool(rng.random() < cfg.eight_bit_fraction)
        settings.clip_fraction = cfg.clip_fraction.draw(rng) if cfg.clip_fraction is not None else 0.0


def _switch_off(settings: ImageSettings, noise: bool, distort: bool) -> None:
    """Without ``distort``: no thermal jitter, dopant blur, scan distortion or drift. Without ``noise``: no
    background, read noise, detector offset, line gain noise or 8-bit conversion, and unit gain."""
    if not distort:
        settings.thermal_jitter_A = settings.line_jitter_px = settings.scan_lag_px = 0.0
        settings.dopant_blur_A = 0.0
        settings.drift_x_fraction = settings.drift_y_fraction = 0.0
        settings.shear = settings.scale_anisotropy = 0.0
    if not noise:
        settings.background_fraction = settings.read_noise = settings.detector_offset = 0.0
        settings.line_gain_noise = 0.0
        settings.eight_bit = False
        settings.gain = 1.0
