"""Pictures a person can check: the image with atoms colored by label, defects circled and named, a legend and a
scale bar in Å.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .atoms import UNLABELED
from .io.safe_write import atomic_path

#: Marker colors per label; labels not listed get colors from a qualitative palette.
LABEL_COLORS = {
    "C": "#4da6ff", "Si3": "#ff3b30", "Si4": "#ffcc00",
    "Mo": "#4da6ff", "W": "#ff3b30", "Se2": "#34c759", "Se1": "#ff9500", "Sevac": "#ff2dff",
    "S2": "#34c759", "S1": "#ff9500", "Svac": "#ff2dff",
}
PALETTE = ["#af52de", "#5ac8fa", "#ffd60a", "#ff6482", "#30d158", "#64d2ff"]


def label_color(label: str, extra: dict) -> str:
    """The overlay color of ``label``: its fixed color, else the next palette color (remembered in ``extra``)."""
    if label in LABEL_COLORS:
        return LABEL_COLORS[label]
    if label not in extra:
        extra[label] = PALETTE[len(extra) % len(PALETTE)]
    return extra[label]


def _nice_length(length_A: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k Å) close to ``length_A``."""
    exponent = np.floor(np.log10(max(length_A, 1e-6)))
    for mantissa in (5.0, 2.0, 1.0):
        if mantissa * 10**exponent <= length_A:
            return float(mantissa * 10**exponent)
    return float(10**exponent)


def _typical_spacing_px(xy: np.ndarray) -> float:
    """Median nearest-neighbor distance of points (px)."""
    from scipy.spatial import cKDTree

    finite = xy[np.all(np.isfinite(xy), axis=1)]
    if len(finite) < 2:
        return 10.0
    d, _ = cKDTree(finite).query(finite, k=2)
    return float(np.median(d[:, 1]))


def _block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` averaged over ``factor`` x ``factor`` blocks (rows/columns past the last whole block dropped)."""
    if factor <= 1:
        return image
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    return image[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def host_labels_of(labels, defects) -> tuple[str, ...]:
    """The labels among ``labels`` that no defect of ``defects`` carries: the host labels of a picture whose
    material is not known (no material's vocabulary is assumed).

    Parameters
    ----------
    labels : sequence of str
        The nodes' labels.
    defects : sequence of Defect
        The frame's defects.

    Returns
    -------
    tuple of str
        Sorted.
    """
    return tuple(sorted({str(x) for x in labels} - {str(d.label) for d in defects}))


def overlay_figure(image: np.ndarray, atoms, pixel_size_A: float | None, defects=(), title: str | None = None,
                   host_labels: tuple[str, ...] | None = None, height_in: float = 8.0,
                   max_px: int | None = None):
    """A matplotlib Figure: the image, atoms colored by label, defects circled and named, legend, scale bar.

    Parameters
    ----------
    image : (H, W) array shown in gray, contrast clipped to the 0.5–99.5 percentiles.
    atoms : AtomTable with ``positions_px`` and ``label`` (unlabeled atoms are drawn in one color).
    pixel_size_A : Å per pixel, for the scale bar (no bar when None).
    defects : Defect objects from :func:`atomgraph.defects.find_defects`.
    max_px : the figure will be saved at most this many pixels on its long side: the image is block-averaged to
        about that size before drawing (a 4096² frame shown at 2048 px costs a quarter of the resampling and of
        the percentiles). None: shown at full resolution.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    image = np.asarray(image)
    h, w = image.shape
    factor = max(1, int(max(h, w) // max_px)) if max_px else 1
    shown = _block_mean(np.asarray(image, dtype=np.float32), factor)
    fig = plt.figure(figsize=(height_in * w / h, height_in))
    ax = fig.add_axes((0, 0, 1, 1))
    finite = shown[np.isfinite(shown)]
    lo, hi = np.percentile(finite, [0.5, 99.5]) if finite.size else (0.0, 1.0)
    extent = (-0.5, shown.shape[1] * factor - 0.5, shown.shape[0] * factor - 0.5, -0.5)
    ax.imshow(shown, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest", extent=extent)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_axis_off()

    extra: dict = {}
    if host_labels is None:  # the labels no defect carries (no material's vocabulary assumed)
        host_labels = host_labels_of(atoms.label, defects)
    _draw_atoms(ax, atoms, host_labels, height_in, h, extra)
    _draw_defects(ax, defects, pixel_size_A, w, extra)
    if pixel_size_A:
        _draw_scale_bar(ax, pixel_size_A, w, h)
    if title:
        ax.text(0.01, 0.99, title, transform=ax.transAxes, color="white", fontsize=10, va="top",
                bbox=dict(facecolor="black", alpha=0.5, edgecolor="none"))
    return fig



def _draw_atoms(ax, atoms, host_labels, height_in: float, h: int, extra: dict) -> None:
    """Atoms as markers colored by label (vacancy nodes as crosses, defects larger), with a legend."""
    from matplotlib.lines import Line2D

    xy = atoms.positions_px
    labels = np.array([str(x) if str(x) else UNLABELED for x in atoms.label], dtype=object)
    vacancy = np.asarray(atoms.vacancy, dtype=bool)
    # marker diameter: about a third of the typical neighbor spacing, in points
    points_per_px = 72.0 * height_in / h
    spacing_px = _typical_spacing_px(xy[~vacancy]) if len(xy) > 1 else 10.0
    base = float(np.clip(0.35 * spacing_px * points_per_px, 1.5, 14.0)) ** 2
    handles = []
    masked = atoms.masked if atoms.masked is not None else np.zeros(len(xy), bool)
    if masked.any():  # regions without lattice (no defects are reported there): shaded
        ax.plot(xy[masked, 0], xy[masked, 1], linestyle="", marker="o", markersize=float(3.0 * np.sqrt(base)),
                color="#808080", alpha=0.35, markeredgecolor="none")
        handles.append(Line2D([], [], marker="o", linestyle="", color="#808080", alpha=0.5, markersize=9,
                              label=f"no lattice ({int(masked.sum())})"))
    for label in sorted(set(labels), key=lambda s: (s in host_labels, s)):
        mask = labels == label
        is_host = label in host_labels or label == UNLABELED
        color = label_color(label, extra) if label != UNLABELED else "#9e9e9e"  # grey: not a lattice column
        size = base * (1.0 if is_host else 2.5)
        marker = "x" if np.all(vacancy[mask]) else "o"
        # plot() with markers (one stamped marker raster) instead of scatter(): same picture, faster at 64k atoms
        ax.plot(xy[mask, 0], xy[mask, 1], linestyle="", marker=marker, markersize=float(np.sqrt(size)),
                color=color, markeredgewidth=1.0, alpha=0.6 if is_host else 0.95,
                markeredgecolor="none" if marker == "o" else color)
        handles.append(Line2D([], [], marker=marker, linestyle="", color=color, markersize=7,
                              label=f"{label} ({int(mask.sum())})"))
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=9, framealpha=0.75)


def _draw_defects(ax, defects, pixel_size_A: float | None, w: int, extra: dict) -> None:
    """Each defect circled (1.7 Å radius) and named."""
    import matplotlib

    radius_px = 1.7 / pixel_size_A if pixel_size_A else 12.0
    for d in defects:
        color = label_color(d.label.split("+")[0], extra)
        ax.add_patch(matplotlib.patches.Circle(tuple(d.center_px), radius_px, fill=False, edgecolor=color,
                                               linewidth=1.8))
        right = d.center_px[0] > 0.85 * w
        ax.text(d.center_px[0] + (-1 if right else 1) * radius_px * 0.8, d.center_px[1] - radius_px * 0.8,
                d.label, color=color, fontsize=10, fontweight="bold", ha="right" if right else "left",
                va="bottom", clip_on=True,
                bbox=dict(facecolor="black", alpha=0.4, edgecolor="none", pad=1.0))


def _draw_scale_bar(ax, pixel_size_A: float, w: int, h: int) -> None:
    """A scale bar of a round length near a fifth of the width, lower left."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length_A = _nice_length(0.2 * w * pixel_size_A)
    bar = AnchoredSizeBar(ax.transData, length_A / pixel_size_A, f"{length_A:g} Å", "lower left",
                          pad=0.6, color="white", frameon=False, size_vertical=max(h / 150, 1.5),
                          fontproperties={"size": 11})
    ax.add_artist(bar)


def save_figure(fig, path: str | Path, force: bool = False, dpi: float = 100, compress_level: int = 6) -> None:
    """Save a figure as PNG atomically (temp file + rename) and close it. ``compress_level`` (zlib, 0-9): 1 writes
    a 2048² overlay three times faster than 6 for a file about 5 % larger."""
    import matplotlib.pyplot as plt

    with atomic_path(path, force) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", pil_kwargs={"compress_level": int(compress_level)})
    plt.close(fig)
