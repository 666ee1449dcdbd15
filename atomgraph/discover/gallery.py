"""One PNG per cluster: image crops of a few exemplars with their graph drawn on top."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plot import save_figure
from .describe import Crop

NOVEL_COLOR = "#e8261c"
NODE_COLOR = "#3b8bd9"
VACANCY_COLOR = "#f2d13a"


def _draw(ax, crop: Crop, title: str) -> None:
    img = crop.image
    lo, hi = np.percentile(img, [1, 99.5]) if img.size else (0.0, 1.0)
    ax.imshow(img, cmap="gray", vmin=lo, vmax=max(hi, lo + 1e-9), interpolation="nearest")
    for a, b in crop.edges:
        ax.plot(crop.xy_px[[a, b], 0], crop.xy_px[[a, b], 1], color="w", lw=0.6, alpha=0.6)
    colors = np.where(crop.core, NOVEL_COLOR, np.where(crop.vacancy, VACANCY_COLOR, NODE_COLOR))
    ax.scatter(crop.xy_px[:, 0], crop.xy_px[:, 1], s=np.where(crop.core, 28, 10), c=colors,
               marker="o", edgecolors="k", linewidths=0.3)
    for (x, y), label, core in zip(crop.xy_px, crop.label, crop.core):
        if core and label:
            ax.text(x + 1.5, y - 1.5, label, color="yellow", fontsize=6)
    ax.set_xlim(-0.5, img.shape[1] - 0.5)
    ax.set_ylim(img.shape[0] - 0.5, -0.5)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def cluster_gallery(crops: list[Crop], titles: list[str], heading: str, path: str | Path,
                    force: bool = False) -> None:
    """Write a grid of up to 8 exemplar crops (novel nodes red with their best known label, other nodes blue,
    vacancy nodes yellow, bonds white) to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = max(len(crops), 1)
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.3 * rows + 0.3), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, crop, title in zip(axes.ravel(), crops, titles):
        ax.axis("on")
        _draw(ax, crop, title)
    fig.suptitle(heading, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, force=force, dpi=110)
