"""What a tracked movie gives: :class:`TrackResult` (tracks, events, transitions, drift) and its tables.

Units: positions in px of each frame's own pixels and in Å; drift in px relative to the first good frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .output import EVENT_COLUMNS


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
        tracks.csv columns first."""
        import pandas as pd

        frame = pd.DataFrame({k: np.asarray(v) for k, v in self.tracks.items()})
        first = [c for c in ("frame", "track_id", "x_px", "y_px", "x_A", "y_A", "element", "label", "prob")
                 if c in frame]
        frame = frame[first + [c for c in frame.columns if c not in first]]
        return frame.sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)

    def events_frame(self):
        """``events`` as a ``pandas.DataFrame`` (events.csv columns; positions in that frame's px)."""
        import pandas as pd

        return pd.DataFrame(list(self.events), columns=EVENT_COLUMNS)

    def transitions_frame(self):
        """``transitions`` as a ``pandas.DataFrame`` (transitions.csv columns)."""
        import pandas as pd

        columns = ["from_label", "to_label", "count", "rate_per_frame", "prob", "prob_low", "prob_high"]
        return pd.DataFrame(list(self.transitions), columns=columns)

    def _repr_html_(self) -> str:
        """Jupyter's view: events and transitions as tables and the label timeline inline (no file written)."""
        from ..notebook import track_html

        return track_html(self)

    def rates_per_frame(self) -> dict[str, float]:
        """Events per analyzed frame, by type."""
        n = max(self.n_frames - len(self.skipped), 1)
        out: dict[str, float] = {}
        for e in self.events:
            out[e["type"]] = out.get(e["type"], 0.0) + 1.0 / n
        return out
