"""What a tracked movie gives: :class:`TrackResult` (tracks, events, transitions, drift), its tables and its Jupyter
view (:func:`track_html`).

Units: positions in px of each frame's own pixels and in Å; drift in px relative to the first good frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..notebook import figure_png, img_tag, table_html
from .output import EVENT_COLUMNS
from .plots import timeline_figure


@dataclass
class TrackResult:
    """What :func:`track` found.

    Attributes
    ----------
    tracks : dict of (N,) arrays, one row per detected site per frame: ``frame, track_id, x_px, y_px, x_A, y_A,
        element, label`` (smoothed), ``prob`` (that frame's probability of the smoothed label), ``raw_label``
        (the frame's own label), ``vacancy``.
    events : list of dicts ``frame, type, track_ids, x_px, y_px, from_label, to_label, prob``.
    transitions : list of dicts ``from_label, to_label, count, rate_per_frame, prob, prob_low, prob_high``.
    drift_px : (F, 2) drift of each frame relative to the first good one, px (NaN for skipped frames).
    skipped : list of (frame, reason).
    labels : the model's label vocabulary; ``host_labels`` its host labels.
    """

    tracks: dict
    events: list
    transitions: list
    drift_px: np.ndarray
    skipped: list
    labels: list
    host_labels: list
    pixel_size_A: float
    n_frames: int
    timings_s: dict = field(default_factory=dict)

    def tracks_frame(self):
        """``tracks`` as a ``pandas.DataFrame`` (one row per site per frame, ordered by frame then track), with the
        tracks.csv columns first.

        Returns
        -------
        pandas.DataFrame
            Positions in px of each frame and in Å.
        """
        import pandas as pd

        frame = pd.DataFrame({k: np.asarray(v) for k, v in self.tracks.items()})
        first = [c for c in ("frame", "track_id", "x_px", "y_px", "x_A", "y_A", "element", "label", "prob")
                 if c in frame]
        frame = frame[first + [c for c in frame.columns if c not in first]]
        return frame.sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)

    def events_frame(self):
        """``events`` as a ``pandas.DataFrame``.

        Returns
        -------
        pandas.DataFrame
            The events.csv columns; positions in that frame's px.
        """
        import pandas as pd

        return pd.DataFrame(list(self.events), columns=EVENT_COLUMNS)

    def transitions_frame(self):
        """``transitions`` as a ``pandas.DataFrame``.

        Returns
        -------
        pandas.DataFrame
            The transitions.csv columns.
        """
        import pandas as pd

        columns = ["from_label", "to_label", "count", "rate_per_frame", "prob", "prob_low", "prob_high"]
        return pd.DataFrame(list(self.transitions), columns=columns)

    def _repr_html_(self) -> str:
        """Jupyter's view: events and transitions as tables and the label timeline inline (no file written)."""
        return track_html(self)

    def rates_per_frame(self) -> dict[str, float]:
        """Events per analyzed frame, by type.

        Returns
        -------
        dict of str to float
            Event type -> events per analyzed frame.
        """
        n = max(self.n_frames - len(self.skipped), 1)
        out: dict[str, float] = {}
        for e in self.events:
            out[e["type"]] = out.get(e["type"], 0.0) + 1.0 / n
        return out


def track_html(result) -> str:
    """Summary (frames, sites, events by type, transitions) and the label timeline of a ``TrackResult``."""
    n_tracks = len(set(np.asarray(result.tracks["track_id"]).tolist()))
    analyzed = result.n_frames - len(result.skipped)
    counts: dict[str, int] = {}
    for e in result.events:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    caption = (f"{analyzed} of {result.n_frames} frame(s) tracked · {n_tracks} sites · {len(result.events)} event(s)"
               f" · {result.pixel_size_A:.4g} Å/px")
    events = table_html(["event type", "count", "per frame"],
                        [[k, v, f"{v / max(analyzed, 1):.3g}"] for k, v in sorted(counts.items())], caption)
    transitions = table_html(["from", "to", "count", "rate per frame"],
                             [[t["from_label"], t["to_label"], t["count"], f"{t['rate_per_frame']:.3g}"]
                              for t in result.transitions], "transitions")
    png = figure_png(timeline_figure(result), dpi=72)
    return (f'<div style="display:flex;gap:1em;align-items:flex-start"><div>{events}{transitions}</div>'
            f'<div>{img_tag(png, "atomgraph label timeline", width_px=480)}</div></div>')
