"""Image -> atoms: normalize, run the network (tiled), find peaks, refine on the original image."""

from __future__ import annotations

import json
import logging
import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter, map_coordinates

from ..atoms import AtomTable
from ..deprecations import pixel_size_alias
from ..errors import AtomgraphInputError
from ..models.files import card_path as card_file
from ..models.files import read_model, verify_weights
from ..models.paths import weights_path
from ..pixel_size import check_pixel_size
from ..threads import inference_threads
from .network import STRIDE, LocatorNet
from .normalize import check_image, prepare
from .peaks import column_intensity, find_peaks, merge_close, refine_quadratic, saturated_columns

if TYPE_CHECKING:
    from ..models.model import Model

log = logging.getLogger(__name__)

DEFAULT_TILE_PX = 1024     # network tile side on the native grid (px)
TILE_MARGIN_PX = 32        # context on each side of a tile (px, > half the receptive field, multiple of STRIDE)
REFINE_RADIUS_A = 0.25     # half-width of the sub-pixel quadratic fit on the original image (Å)
REFINE_SMOOTH_A = 0.25     # Gaussian smoothing of the original image before that fit (Å)
REFINE_MODES = ("image", "heatmap")  # final positions: quadratic fit on the smoothed image, or the heatmap peak
MERGE_DISTANCE_A = 0.8     # peaks closer than this are one column (Å)
MAX_WIDTH = 1024           # a card asking for more channels per level is refused (before any allocation)


class Locator:
    """A loaded locator: network, classes and native pixel size (Å/px)."""

    def __init__(self, net: LocatorNet, classes: list[str], native_A: float, threshold: float, card: dict) -> None:
        self.net = net.eval()
        self.classes = list(classes)
        self.native_A = float(native_A)
        self.threshold = float(threshold)
        self.card = card


def locator_meta(card: dict) -> dict:
    """The keys a locator needs, from a model card."""
    meta = {"classes": list(card["classes"]), "native_pixel_size_A": float(card["native_pixel_size_A"]),
            "widths": [int(v) for v in card["architecture"]["widths"]],
            "threshold": float(card.get("threshold", 0.3))}
    widths = meta["widths"]
    if not (len(widths) == 3 and all(1 <= w <= MAX_WIDTH for w in widths)) or not 1 <= len(meta["classes"]) <= 64:
        raise ValueError(f"architecture widths {widths[:8]} or {len(meta['classes'])} classes out of range "
                         f"(three widths of 1..{MAX_WIDTH} channels, 1..64 classes)")
    if not (math.isfinite(meta["native_pixel_size_A"]) and 0.005 <= meta["native_pixel_size_A"] <= 5):
        raise ValueError(f"native pixel size {meta['native_pixel_size_A']} Å/px out of range")
    return meta


@lru_cache(maxsize=8)
def _load(path: str, mtime: float, card_mtime: float) -> Locator:
    verify_weights(path)
    try:
        state, header = read_model(path)
    except (OSError, ValueError) as err:
        raise AtomgraphInputError(f"cannot read weights: {err}", source=path) from None
    card_path = card_file(path)
    if card_path.is_file():
        card = json.loads(card_path.read_text(encoding="utf-8"))
    elif "card" in header:
        card = header["card"]
    else:
        raise AtomgraphInputError("locator weights have no model card (.json beside them)", source=path)
    try:
        meta = locator_meta(card)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        why = f" ({exc})" if isinstance(exc, ValueError) and "range" in str(exc) else ""
        raise AtomgraphInputError(f"model card is not a valid locator card{why}", source=str(card_path)) from None
    net = LocatorNet(len(meta["classes"]), tuple(meta["widths"]))
    try:
        net.load_state_dict(state)
    except RuntimeError:
        raise AtomgraphInputError("weights do not match the locator architecture in the card", source=path) from None
    return Locator(net, meta["classes"], meta["native_pixel_size_A"], meta["threshold"], card)


def load_locator(model: str | Path = "graphene-si") -> Locator:
    """Load a bundled locator by name (``graphene-si``, ``mose2-w``) or from a ``.safetensors`` path (cached).

    Parameters
    ----------
    model : str or Path, default "graphene-si"
        A bundled model name, a model folder or a locator ``.safetensors`` file with its card.

    Returns
    -------
    Locator
        The network (torch, eval mode), its classes, native pixel size (Å/px), threshold and card.
    """
    path = weights_path("locator", model)
    card = path.with_suffix(".json")
    return _load(str(path.resolve()), path.stat().st_mtime, card.stat().st_mtime if card.is_file() else 0.0)


def run_network(net: LocatorNet, normalized: np.ndarray, tile_px: int = DEFAULT_TILE_PX,
                margin_px: int = TILE_MARGIN_PX) -> tuple[np.ndarray, np.ndarray]:
    """Heatmap (h, w) in [0, 1] and species probabilities (C, h, w) for a normalized native image.

    The image is reflect-padded to a multiple of ``STRIDE`` and cut into ``tile_px`` tiles with ``margin_px`` of
    context; tiles start on multiples of ``STRIDE`` so tiled and whole-image runs agree.
    """
    h, w = normalized.shape
    ph, pw = -h % STRIDE, -w % STRIDE
    x = np.pad(normalized, ((0, ph), (0, pw)), mode="reflect") if (ph or pw) else normalized
    H, W = x.shape
    tile = max(STRIDE, int(tile_px) // STRIDE * STRIDE)
    margin = int(np.ceil(margin_px / STRIDE)) * STRIDE
    n_out = 1 + net.n_classes
    out = np.empty((n_out, H, W), np.float32)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    with torch.inference_mode():
        for y0 in range(0, H, tile):
            for x0 in range(0, W, tile):
                y1, x1 = min(y0 + tile, H), min(x0 + tile, W)
                ya, xa = max(y0 - margin, 0), max(x0 - margin, 0)
                yb, xb = min(y1 + margin, H), min(x1 + margin, W)
                logits = net(xt[ya:yb, xa:xb][None, None])[0]
                core = logits[:, y0 - ya:y1 - ya, x0 - xa:x1 - xa]
                out[0, y0:y1, x0:x1] = torch.sigmoid(core[0]).numpy()
                out[1:, y0:y1, x0:x1] = F.softmax(core[1:], dim=0).numpy()
    return out[0, :h, :w], out[1:, :h, :w]


def locate(image: np.ndarray, model: str | Path | Model = "graphene-si", pixel_size_A: float | None = None, *,
           tile_size: int | None = None, threshold: float | None = None, refine: str | None = None,
           pixel_size: float | None = None) -> AtomTable:
    """Find atomic columns in a HAADF-STEM image.

    Parameters
    ----------
    image : (H, W) array
        Any real 2D image (float or int), atoms bright.
    model : str, Path or Model
        Bundled locator name (``graphene-si``, ``mose2-w``), a path to a ``.safetensors`` file with its card, or a
        :class:`~atomgraph.models.model.Model` (its locator).
    pixel_size_A : float
        Å per pixel of ``image`` (required).
    tile_size : int, optional
        Network tile side in px of the model's native grid (default 1024); smaller tiles bound memory.
    threshold : float, optional
        Minimum heatmap value in [0, 1] for a column (default: the model card's, 0.3 unless trained otherwise).
    refine : str, optional
        Final positions: ``"image"`` (quadratic fit on the smoothed original image), ``"heatmap"`` (Gaussian
        interpolation of the network's center heatmap, mapped back to the original pixels) or None (the model
        card's ``refine``, default ``"image"``).
    pixel_size : float, optional
        Deprecated alias of ``pixel_size_A`` (a warning says so).

    Returns
    -------
    AtomTable
        One row per column: positions (sub-pixel, Å and px), ``element`` (most likely class), ``score`` (heatmap
        peak in [0, 1]), ``intensity`` (integrated background-subtracted signal in image units), and
        ``extra['p_<class>']`` per-class probabilities.

    Examples
    --------
    >>> import atomgraph
    >>> sim = atomgraph.simulate("graphene-si", size=128, pixel_size_A=0.1, dose=1e5, seed=7)
    >>> atoms = locate(sim.image, "graphene-si", pixel_size_A=0.1)
    >>> abs(len(atoms) - len(sim.truth)) < 10
    True
    """
    arr = check_image(image)
    px = check_pixel_size(pixel_size_alias(pixel_size_A, pixel_size, "locate"))
    loc = model.locator if hasattr(model, "locator") else load_locator(model)  # a Model, or a name / path
    refine = loc.card.get("refine", "image") if refine is None else refine
    if refine not in REFINE_MODES:
        raise AtomgraphInputError(f"refine must be one of {', '.join(REFINE_MODES)}, got {refine!r}")
    thr = loc.threshold if threshold is None else float(threshold)
    if not 0.0 < thr < 1.0:
        raise AtomgraphInputError(f"threshold must be between 0 and 1, got {threshold!r}")
    tile = DEFAULT_TILE_PX if tile_size is None else int(tile_size)
    if tile < 16:
        raise AtomgraphInputError(f"tile size must be at least 16 px, got {tile_size!r}")

    native = prepare(arr, px, loc.native_A)
    with inference_threads():
        heat, probs = run_network(loc.net, native.normalized, tile)
    return _columns(arr, px, native, heat, probs, loc, thr, refine)


def _columns(arr: np.ndarray, px: float, native, heat: np.ndarray, probs: np.ndarray, loc: Locator, thr: float,
             refine: str) -> AtomTable:
    """The located columns of one image from the network's maps on the native grid: peaks above ``thr``, positions
    refined (``refine``), near peaks merged and peaks pushed onto the frame edge dropped, then per-class
    probabilities, elements, intensities and saturation (see :func:`locate`'s Returns)."""
    xy_nat, score = find_peaks(heat, thr)
    xy_px = native.to_original(xy_nat)
    if refine == "image":
        sigma = REFINE_SMOOTH_A / px
        smooth = gaussian_filter(arr, sigma, truncate=3.0) if sigma >= 0.3 else arr
        xy_px = refine_quadratic(smooth, xy_px, max(int(round(REFINE_RADIUS_A / px)), 1), iterations=3)
    h, w = arr.shape
    edge = 0.5 - 1e-3  # peaks pushed onto the frame edge (clipped interpolation) are dropped, not kept by rounding
    inside = (xy_px[:, 0] > -edge) & (xy_px[:, 0] < w - 1 + edge) & (xy_px[:, 1] > -edge) & (xy_px[:, 1] < h - 1 + edge)
    keep = merge_close(xy_px * px, score, MERGE_DISTANCE_A) & inside
    xy_px, score, xy_nat = xy_px[keep], score[keep], native.to_native(xy_px[keep])

    p = np.stack([map_coordinates(c, [xy_nat[:, 1], xy_nat[:, 0]], order=1, mode="nearest") for c in probs], 1) \
        if len(xy_nat) else np.zeros((0, len(loc.classes)))
    p = p / np.clip(p.sum(1, keepdims=True), 1e-12, None)
    element = np.asarray(loc.classes, dtype=object)[p.argmax(1)] if len(p) else np.array([], dtype=object)
    area_ratio = float(np.prod(native.scale_xy))
    intensity = column_intensity(native.raw, xy_nat, loc.native_A, area_ratio)
    extra = {f"p_{c}": p[:, i] for i, c in enumerate(loc.classes)}
    saturated = saturated_columns(arr, xy_px)
    log.info("located %d columns (native grid %s at %.3f Å/px)", len(xy_px), native.raw.shape, loc.native_A)
    return AtomTable.from_pixels(xy_px, px, element, score=np.clip(score, 0.0, 1.0), intensity=intensity,
                                 extra=extra, image_shape_px=arr.shape[:2], saturated=saturated)
