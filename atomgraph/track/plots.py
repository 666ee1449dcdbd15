"""Movie pictures: the label timeline (sites x frames, colored by smoothed label, events marked) and a grid of
crops before / after each event.

Units: crop half-width in Å; frames by index.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..io.safe_write import atomic_path
from ..plot import label_color

MAX_TIMELINE_TRACKS = 60
MAX_EVENT_CROPS = 24


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def timeline_figure(result, max_tracks: int = MAX_TIMELINE_TRACKS):
    """Sites (rows) x frames (columns) colored by smoothed label; events as black markers. Only tracks that carry
    a defect label at some frame are shown when there are more than ``max_tracks`` tracks (then the first
    ``max_tracks`` of them, events first)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    plt = _figure()
    t = result.tracks
    labels = list(result.labels)
    ids = np.unique(t["track_id"])
    if len(ids) > max_tracks:
        defect = np.unique(t["track_id"][~np.isin(t["label"], result.host_labels)])
        event_ids = [int(x) for e in result.events for x in e["track_ids"].split()]
        ids = np.array(list(dict.fromkeys(event_ids + defect.tolist())), dtype=int)[:max_tracks]
    row = {tid: i for i, tid in enumerate(ids.tolist())}
    grid = np.full((max(len(ids), 1), result.n_frames), np.nan)
    keep = np.isin(t["track_id"], ids)
    for f, tid, lab in zip(t["frame"][keep], t["track_id"][keep], t["label"][keep]):
        grid[row[int(tid)], int(f)] = labels.index(lab)
    extra: dict = {}
    cmap = ListedColormap([label_color(lab, extra) for lab in labels])
    fig, ax = plt.subplots(figsize=(min(4 + 0.12 * result.n_frames, 16), min(2 + 0.18 * len(ids), 14)))
    ax.imshow(np.ma.masked_invalid(grid), aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5,
              vmax=len(labels) - 0.5)
    for e in result.events:
        for tid in e["track_ids"].split():
            if int(tid) in row:
                ax.plot(e["frame"] - 0.5, row[int(tid)], marker="|", color="k", markersize=10, mew=2)
    ax.set_xlabel("frame")
    ax.set_ylabel("site (track)")
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels([str(i) for i in ids.tolist()], fontsize=6)
    ax.legend(handles=[Patch(color=label_color(lab, extra), label=lab) for lab in labels] +
              [Patch(color="k", label="event")], loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title(f"{len(result.events)} event(s), {len(ids)} site(s) shown")
    fig.tight_layout()
    return fig


def events_figure(result, get_frame: Callable[[int], np.ndarray], half_width_A: float = 6.0,
                  max_events: int = MAX_EVENT_CROPS):
    """A grid, one row per event (at most ``max_events``): the crop around the event in the frame before and in
    the first frame after, titled with the labels. ``get_frame(i)`` returns frame ``i``."""
    plt = _figure()
    events = result.events[:max_events]
    n = max(len(events), 1)
    fig, axes = plt.subplots(n, 2, figsize=(4.4, 2.2 * n), squeeze=False)
    r = int(round(half_width_A / result.pixel_size_A))
    drift = result.drift_px
    for ax in axes.ravel():
        ax.axis("off")
    if not events:
        axes[0, 0].text(0.5, 0.5, "no events", ha="center", va="center", transform=axes[0, 0].transAxes)
    for i, e in enumerate(events):
        before = e["frame"] - 1
        while before > 0 and not np.all(np.isfinite(drift[before])):
            before -= 1
        for j, (f, title) in enumerate(((before, f"frame {before}: {e['from_label']}"),
                                        (e["frame"], f"frame {e['frame']}: {e['to_label']}"))):
            x, y = e["x_px"], e["y_px"]
            if j == 0 and np.all(np.isfinite(drift[[f, e["frame"]]])):
                x, y = np.array([x, y]) - (drift[e["frame"]] - drift[f])
            img = np.asarray(get_frame(f), dtype=float)
            x0, y0 = int(round(x)) - r, int(round(y)) - r
            crop = img[max(y0, 0):max(y0 + 2 * r + 1, 0), max(x0, 0):max(x0 + 2 * r + 1, 0)]
            if crop.size:
                axes[i, j].imshow(crop, cmap="gray")
                axes[i, j].plot(x - max(x0, 0), y - max(y0, 0), "o", mfc="none", mec="r", ms=14)
            axes[i, j].set_title(f"{e['type']} #{i}\n{title}" if j == 0 else title, fontsize=7)
    fig.tight_layout()
    return fig


def save_figure(fig, path: Path, dpi: int = 110, force: bool = False) -> None:
    """Save a figure as PNG at ``path`` (atomically; ``force``: replace an existing file) and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path, force) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
