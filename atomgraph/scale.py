"""Is the pixel size right for this image and this model? Checked from the lattice the image shows.

Before an image is analyzed, its lattice spacing is measured from its Fourier transform
(:func:`atomgraph.locate.lattice_fft.measure_lattice`, no pixel size needed) and compared with the model's material:
a hexagonal lattice of constant ``a`` (Å) has first-order planes ``d_100 = a * sqrt(3) / 2`` apart, so an image
whose planes are ``s`` px apart has a pixel size of ``d_100 / s`` Å/px. :func:`check_lattice_scale`

- with ``pixel_size_A="auto"``: uses that measured pixel size;
- with a given pixel size: reports (a warning, or an error when ``strict``) a disagreement beyond ``tolerance``
  (default 2.5 %) naming the pixel size that would fit, and refuses (always) a pixel size too coarse for the
  material's columns to be resolved (Nyquist: columns ``bond_A`` apart need pixels of at most ``bond_A / 2``);
- refuses an image with no lattice (vacuum, noise, amorphous film, a material of another symmetry). Small or faint
  frames may show no Bragg spots although they are crystalline; then the columns are located at the given pixel
  size, and the image passes when at least 75 % of them have their nearest neighbour at the material's column
  distance (+-15 %): real 256² lattices give 80-100 %, noise, vacuum and amorphous images 40-67 %, a pixel size
  off by 2x 20-60 %; or at least 60 % do and 60 % of their bonds run along the frame's three dominant directions
  (noisy 128 px real frames partly under contamination: 63-75 % and 64-88 %; noise and amorphous images at most
  58 % aligned). The columns also settle which order a faint frame's spots are: when only the {110} or {200}
  set shows, the measured pixel size is sqrt 3 or 2 times too large, and the candidate whose columns fit wins;
- reports a pixel size outside the range the model was trained on (``data_ranges.pixel_size_A`` of its card).

Errors are :class:`~atomgraph.errors.AtomgraphInputError` (one line; exit 2 in the CLI); warnings are returned as
one-line strings for the caller to show (the CLI prints them on stderr).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import AtomgraphInputError
from .locate.lattice_fft import MIN_SIDE_PX, LatticeFFT, measure_lattice
from .models.model import Model, resolve_model
from .models.paths import WEIGHTS_DIR

log = logging.getLogger(__name__)

COLUMN_SHARE = 0.75       # share of located columns with a nearest neighbour at bond_A +- 15 %, for a lattice
NOISY_COLUMN_SHARE = 0.6  # ... or this share, when ALIGNED_SHARE of the bonds run along the three lattice directions
ALIGNED_SHARE = 0.6
ALIGNED_DEG = 10.0        # a bond within this of the dominant six-fold orientation (degrees) is aligned
MIN_COLUMNS = 20          # fewer located columns than this cannot show a lattice
TOLERANCE = 0.025         # relative disagreement between given and measured pixel size that is reported
NYQUIST_PX = 2.0          # columns must be at least this many pixels apart to be resolved
SQRT3_2 = math.sqrt(3.0) / 2.0


@dataclass
class ScaleCheck:
    """Outcome of :func:`check_lattice_scale`.

    Attributes
    ----------
    pixel_size_A : float
        The pixel size to analyze with (Å/px): the given one, or the measured one for ``"auto"``.
    measured_A : float or None
        Pixel size at which the image's lattice matches the material (Å/px); None when not measured.
    material : str or None
        The material the model was trained for (None: unknown, not checked).
    lattice : LatticeFFT or None
        What the Fourier transform showed.
    warnings : list of str
        One-line warnings (empty when all is well).
    """

    pixel_size_A: float
    measured_A: float | None = None
    material: str | None = None
    lattice: LatticeFFT | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelLattice:
    """What the check needs to know about a model: its material's lattice and its training range."""

    material: str
    a_A: float                       # lattice constant, Å
    bond_A: float                    # projected nearest-neighbour (column) distance, Å
    train_pixel_A: tuple[float, float] | None  # pixel sizes seen in training, Å/px

    @property
    def d100_A(self) -> float:
        """First-order lattice-plane spacing, Å."""
        return self.a_A * SQRT3_2


def model_lattice(model: str | Path | Model) -> ModelLattice | None:
    """The lattice and training range of a model (a :class:`~atomgraph.models.model.Model`, a bundled name, a model
    folder or a locator ``.safetensors`` path); None when its material is unknown."""
    try:
        model = resolve_model(model)
        material = model.material
    except (AtomgraphInputError, OSError, ValueError, TypeError):
        return None
    card = model.locator_card  # the card only: a locator network is not built to read its training range
    lo_hi = ((card.get("training") or {}).get("data_ranges") or {}).get("pixel_size_A")
    if lo_hi is None and material.settings.image.pixel_size_A.is_pair:
        lo_hi = (material.settings.image.pixel_size_A.low, material.settings.image.pixel_size_A.high)
    train = (float(min(lo_hi)), float(max(lo_hi))) if isinstance(lo_hi, (list, tuple)) and len(lo_hi) == 2 else None
    return ModelLattice(material=material.name, a_A=float(material.settings.lattice.a_A),
                        bond_A=float(material.bond_A), train_pixel_A=train)


def check_lattice_scale(image: np.ndarray, model: str | Path | Model, pixel_size_A: float | str | None, *,
                tolerance: float = TOLERANCE, strict: bool = False, lattice_check: bool = True) -> ScaleCheck:
    """Check (or, for ``"auto"``, measure) the pixel size of a 2D image for a model.

    Parameters
    ----------
    image : (H, W) array
        One frame, HAADF contrast.
    model : str, path or Model
        A :class:`~atomgraph.models.model.Model`, bundled model name, model folder or locator ``.safetensors``; its
        material gives the expected lattice.
    pixel_size_A : float, "auto" or None
        Å per pixel as given (from the user or the file), or ``"auto"`` to use the measured one.
    tolerance : float
        Relative disagreement (0.025 = 2.5 %) above which the given pixel size is reported.
    strict : bool
        Make every warning an error.
    lattice_check : bool
        False skips the Fourier-transform check (the Nyquist and training-range checks still run).

    Returns
    -------
    ScaleCheck
        The pixel size to use, what was measured, and the warnings.

    Raises
    ------
    AtomgraphInputError
        No pixel size; ``"auto"`` or a check on an image with no lattice; a pixel size too coarse for the
        material's columns; and, when ``strict``, anything that would be a warning.
    """
    auto = isinstance(pixel_size_A, str) and pixel_size_A.strip().lower() == "auto"
    if pixel_size_A is None:
        raise AtomgraphInputError("pixel size is needed (Å/px): give --pixel-size, or --pixel-size auto to measure "
                                  "it from the lattice")
    info = model_lattice(model)
    if info is None:
        if auto:
            raise AtomgraphInputError(f"--pixel-size auto needs the model's material, and model {model} has none "
                                      "known: give the pixel size")
        log.info("model %s has no known material: pixel size not checked against the lattice", model)
        return ScaleCheck(pixel_size_A=float(pixel_size_A))
    image = np.asarray(image)
    given = None if auto else float(pixel_size_A)
    check = ScaleCheck(pixel_size_A=given if given is not None else math.nan, material=info.material)
    if given is not None and info.bond_A / given < NYQUIST_PX:
        _refuse_unresolvable(image, given, info, lattice_check)
    if lattice_check or auto:
        _check_lattice(image, info, given, check, tolerance, auto, model)
    _check_training_range(check, info, model)
    if strict and check.warnings:
        raise AtomgraphInputError(check.warnings[0] + " (--strict)")
    return check


def _refuse_unresolvable(image: np.ndarray, pixel_A: float, info: ModelLattice, lattice_check: bool) -> None:
    """Refuse a pixel size at which the material's columns (bond_A apart) are not sampled twice (Nyquist); name the
    pixel size the image's lattice fits, when it shows one."""
    fits = ""
    if lattice_check and image.ndim == 2 and min(image.shape) >= MIN_SIDE_PX:
        lattice = measure_lattice(image)
        if lattice is not None:
            fits = f"; the image's lattice fits {lattice.pixel_size_A(info.d100_A):.4g} Å/px"
    raise AtomgraphInputError(
        f"at {pixel_A:.4g} Å/px the {info.material} lattice (columns {info.bond_A:.2f} Å apart) cannot be "
        f"resolved: columns would be {info.bond_A / pixel_A:.2g} px apart, and need pixels of at most "
        f"{info.bond_A / NYQUIST_PX:.2f} Å (Nyquist){fits}; check the pixel size (Å per pixel, not nm)")


def column_share(image: np.ndarray, model: str | Path, pixel_A: float, bond_A: float) -> tuple[int, float]:
    """Locate the columns at ``pixel_A`` (Å/px): their number, and the lattice share of :func:`lattice_shares`."""
    n, share, _ = lattice_shares(image, model, pixel_A, bond_A)
    return n, share


def lattice_shares(image: np.ndarray, model: str | Path, pixel_A: float, bond_A: float
                   ) -> tuple[int, float, float]:
    """Locate the columns at ``pixel_A`` (Å/px): their number, the share whose nearest neighbour lies at ``bond_A``
    +- 15 % (Å), and the share of the bonds (pairs ``bond_A`` +- 15 % apart) within 10 degrees of the frame's
    dominant six-fold bond orientation: a crystal's bonds share three directions, noise's and an amorphous film's
    do not (0.29-0.58 on noise, vacuum and amorphous images; 0.64-1.0 on real graphene frames, 128 px ones
    partly under contamination included)."""
    from scipy.spatial import cKDTree

    from .locate import locate  # lazy: torch (about 2.5 s), only when the lattice check must locate columns

    atoms = locate(image, model=model, pixel_size_A=pixel_A)
    xy = np.asarray(atoms.positions_A, dtype=float)[:, :2]
    if len(xy) < 2:
        return len(xy), 0.0, 0.0
    tree = cKDTree(xy)
    nearest = tree.query(xy, k=2)[0][:, 1]
    share = float(np.mean(np.abs(nearest / bond_A - 1.0) <= 0.15))
    pairs = tree.query_pairs(1.15 * bond_A, output_type="ndarray")
    vec = xy[pairs[:, 1]] - xy[pairs[:, 0]] if len(pairs) else np.zeros((0, 2))
    vec = vec[np.hypot(vec[:, 0], vec[:, 1]) >= 0.85 * bond_A]
    if len(vec) == 0:
        return len(xy), share, 0.0
    theta = np.mod(np.degrees(np.arctan2(vec[:, 1], vec[:, 0])), 60.0)
    dominant = np.mod(np.degrees(np.angle(np.exp(1j * np.radians(6.0 * theta)).sum())) / 6.0, 60.0)
    aligned = float(np.mean(np.abs(np.mod(theta - dominant + 30.0, 60.0) - 30.0) <= ALIGNED_DEG))
    return len(xy), share, aligned


def is_lattice(n: int, share: float, aligned: float) -> bool:
    """Whether located columns show a lattice: enough of them, and most at the bond distance (``COLUMN_SHARE``),
    or many at the bond distance with bonds along three shared directions (a noisy or partly covered frame)."""
    return n >= MIN_COLUMNS and (share >= COLUMN_SHARE or (share >= NOISY_COLUMN_SHARE and aligned >= ALIGNED_SHARE))


def _check_lattice(image: np.ndarray, info: ModelLattice, given: float | None, check: ScaleCheck,
                   tolerance: float, auto: bool, model: str | Path) -> None:
    if image.ndim != 2 or min(image.shape) < MIN_SIDE_PX:
        message = (f"the image is too small ({'x'.join(map(str, image.shape))} px) to measure its lattice "
                   f"(at least {MIN_SIDE_PX} px a side)")
        if auto:
            raise AtomgraphInputError(f"--pixel-size auto: {message}; give the pixel size")
        log.info("%s; pixel size not checked", message)  # such an image is refused by the locator anyway
        return
    lattice = measure_lattice(image)
    check.lattice = lattice
    if lattice is None and auto:
        raise AtomgraphInputError(
            "--pixel-size auto: no crystal lattice found in the image (no six-fold set of Bragg spots in its Fourier "
            f"transform): vacuum, noise, amorphous, a faint frame, or not a {info.material} image? Give the pixel size")
    if lattice is None:
        n, share, aligned = lattice_shares(image, model, given, info.bond_A)
        if is_lattice(n, share, aligned):
            log.info("no Bragg spots, but %d of %d columns located at %.4g Å/px are %.2f Å apart (%.0f %% of the "
                     "bonds along the lattice directions): a lattice", round(share * n), n, given, info.bond_A,
                     100 * aligned)
            return
        raise AtomgraphInputError(
            f"no crystal lattice found in the image: no Bragg spots in its Fourier transform, and of the {n} columns "
            f"located at {given:.4g} Å/px only {100 * share:.0f} % lie {info.bond_A:.2f} Å from their nearest "
            f"neighbour ({100 * aligned:.0f} % of their bonds along three shared directions): vacuum, noise, "
            f"amorphous, a wrong pixel size, or not a {info.material} image? (--no-lattice-check skips this check)")
    measured = lattice.pixel_size_A(info.d100_A)
    log.info("lattice: d100 %.2f px (%.1f deg, strength %.0f, %d spots) -> %.4g Å/px for %s", lattice.spacing_px,
             lattice.angle_deg, lattice.strength, lattice.n_spots, measured, info.material)
    if auto:
        check.pixel_size_A = check.measured_A = _confirmed(image, model, info, measured)
        return
    check.measured_A = measured
    if abs(given / measured - 1.0) <= tolerance:
        return
    # a faint {100} set may have been missed and a {110} or {200} set taken for it: the given pixel size then
    # matches measured / sqrt 3 or measured / 2 (within twice the tolerance: such faint frames measure less
    # precisely), which the located columns confirm
    for alternative in (measured / math.sqrt(3.0), measured / 2.0):
        if abs(given / alternative - 1.0) <= 2 * tolerance:
            n, share = column_share(image, model, given, info.bond_A)
            if n >= MIN_COLUMNS and share >= COLUMN_SHARE:
                check.measured_A = alternative
                return
    fits = _confirmed(image, model, info, measured)
    check.measured_A = fits
    ratio = given / fits
    hint = " (nm and Å mixed up?)" if abs(ratio * 10 - 1) < 0.15 or abs(ratio / 10 - 1) < 0.15 else ""
    check.warnings.append(
        f"pixel size {given:.4g} Å/px does not fit the image: its lattice ({info.material}, "
        f"d100 {info.d100_A:.2f} Å) implies {fits:.4g} Å/px, {100 * (ratio - 1):+.0f} % off{hint}; use --pixel-size {fits:.4g} or "
        "--pixel-size auto")


def _confirmed(image: np.ndarray, model: str | Path, info: ModelLattice, measured: float) -> float:
    """The measured pixel size, or measured / sqrt 3 or / 2 when that one makes the located columns a better lattice
    (the Fourier transform showed a {110} or {200} set and its {100} was too faint to see); the measured one when
    no candidate reaches COLUMN_SHARE."""
    best, best_share = measured, COLUMN_SHARE
    for candidate in (measured, measured / math.sqrt(3.0), measured / 2.0):
        if info.bond_A / candidate < NYQUIST_PX:
            continue
        n, share = column_share(image, model, candidate, info.bond_A)
        if n >= MIN_COLUMNS and share > best_share:
            best, best_share = candidate, share
    if best != measured:
        log.info("columns fit %.4g Å/px, not %.4g: the Fourier transform's set was a higher order", best, measured)
    return best


def _check_training_range(check: ScaleCheck, info: ModelLattice, model: str | Path) -> None:
    if info.train_pixel_A is None or not math.isfinite(check.pixel_size_A):
        return
    lo, hi = info.train_pixel_A
    if not (lo <= check.pixel_size_A <= hi):
        check.warnings.append(f"{check.pixel_size_A:.4g} Å/px is outside the pixel sizes model {model} was trained "
                              f"on ({lo:g}-{hi:g} Å/px): results may be unreliable; bin or resample the image, or "
                              "train a model with a wider range")


@dataclass(frozen=True)
class ModelFit:
    """A bundled model and the pixel size at which its material's lattice matches the image."""

    model: str
    implied_A: float                 # Å/px at which the model's lattice matches the image
    matches_given: bool | None       # implied within tolerance of the given pixel size (None: none given)
    in_training_range: bool


def bundled_model_names() -> list[str]:
    """Names of the bundled models that have a locator (``graphene-si``, ``mose2-w``, ...)."""
    return sorted(p.stem.split("-", 1)[1] for p in WEIGHTS_DIR.glob("locator-*.safetensors"))


def fit_models(image: np.ndarray, pixel_size_A: float | None = None, *,
               tolerance: float = TOLERANCE) -> tuple[LatticeFFT | None, list[ModelFit]]:
    """Every bundled model with the pixel size its lattice implies for this image (nothing when no lattice)."""
    image = np.asarray(image)
    lattice = measure_lattice(image) if image.ndim == 2 and min(image.shape) >= MIN_SIDE_PX else None
    if lattice is None:
        return None, []
    fits = []
    for name in bundled_model_names():
        info = model_lattice(name)
        if info is None:
            continue
        implied = lattice.pixel_size_A(info.d100_A)
        lo, hi = info.train_pixel_A or (0.0, math.inf)
        matches = None if pixel_size_A is None else abs(float(pixel_size_A) / implied - 1.0) <= tolerance
        fits.append(ModelFit(name, implied, matches, lo <= implied <= hi))
    return lattice, fits


def which_model_message(image: np.ndarray, pixel_size_A: float | None, calibrated: bool) -> str:
    """One line for ``analyze`` without ``--model``: the bundled models whose lattice matches (with the pixel size
    each implies); atomgraph never picks one silently, as hexagonal lattices differ only in their spacing."""
    lattice, fits = fit_models(image, pixel_size_A)
    if lattice is None:
        return ("no --model given, and no crystal lattice found in the image to suggest one (vacuum, noise, "
                "amorphous, or not a 2D crystal?): give --model and the pixel size (--pixel-size)")
    if pixel_size_A is not None:
        matching = [f for f in fits if f.matches_given]
        others = ", ".join(f"{f.model} {f.implied_A:.4g}" for f in fits if not f.matches_given)
        if matching:
            listed = ", ".join(f"{f.model} (its lattice implies {f.implied_A:.4g} Å/px)" for f in matching)
            return (f"no --model given: at {pixel_size_A:.4g} Å/px the image's lattice matches {listed}"
                    + (f"; not {others} Å/px" if others else "") + "; choose one with --model NAME")
        return (f"no --model given, and at {pixel_size_A:.4g} Å/px the image's lattice matches no bundled model "
                f"(each would need: {others} Å/px): check the pixel size, then give --model NAME")
    listed = ", ".join(f"{f.model} at {f.implied_A:.4g} Å/px"
                       + ("" if f.in_training_range else " (outside its training range)") for f in fits)
    return (f"no --model given: the image's lattice fits {listed}; choose one with --model NAME"
            + ("" if calibrated else " and give that pixel size (--pixel-size, or --pixel-size auto)"))
