"""Live sessions at a cost that does not grow: fixed-lag decoding of the last frames only.

:meth:`~atomgraph.track.tracker.Tracker.result` decodes every frame of the movie, so asking it after every frame
costs more at frame 3,000 than at frame 30. A live session instead keeps the rows of the last ``lag + context``
analyzed frames and, after each new frame, decodes only them (:func:`~atomgraph.track.decode.decode_rows`): a frame
is *final* once ``lag`` newer frames have been seen (its label and its events no longer change in the live stream);
the ``context`` frames before it carry each track's recent state. What a track knows of the whole session (its
sublattice: the probability it put on each over all its frames) is kept as a running sum per track id, and the
transition counts as a running count, so nothing is re-read or re-built per frame. The whole movie is still
decoded once at the end (:meth:`~atomgraph.track.tracker.Tracker.result`), and that is what the final files hold;
the live stream can differ from it where a change needs more than ``lag`` frames to settle.

Units: frames are indices; positions in px (each frame's own) and Å.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from .decode import DecodeSettings, decode_rows, track_table
from .events import transition_rows
from .evidence import sublattice_mass


@dataclass
class LiveUpdate:
    """What one more frame settled.

    Attributes
    ----------
    frame : the newest frame's index.
    final_frame : frames up to this one are final (-1: none yet).
    tracks : the ``tracks`` columns (as in :class:`~atomgraph.track.result.TrackResult`) of the rows that became
        final with this frame (usually one frame's rows).
    events : the events (events.csv dicts) of the frames that became final with this frame.
    newest : ``track_id`` and provisional smoothed ``label`` of the newest frame's sites (empty when it was
        skipped).
    transitions : the transitions.csv rows over the final frames so far.
    drift_px : (2,) the newest frame's drift, px (NaN when it was skipped).
    """

    frame: int
    final_frame: int
    tracks: dict
    events: list
    newest: dict
    transitions: list
    drift_px: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))


class _PerTrack:
    """A growing array indexed by track id (doubling its capacity: O(1) amortized per new track)."""

    def __init__(self, width: int, fill, dtype) -> None:
        self.fill, self.values = fill, np.full((64, width), fill, dtype=dtype)

    def at(self, ids: np.ndarray) -> np.ndarray:
        """The rows of ``ids`` (grown first when an id is beyond the capacity)."""
        top = int(ids.max()) + 1 if len(ids) else 0
        if top > len(self.values):
            grown = np.full((max(top, 2 * len(self.values)), self.values.shape[1]), self.fill, self.values.dtype)
            grown[:len(self.values)] = self.values
            self.values = grown
        return self.values[ids]


class LiveWindow:
    """The rows of the last ``lag + context`` analyzed frames and what the session keeps per track.

    Args:
        settings: how to decode (:class:`~atomgraph.track.decode.DecodeSettings`).
        pixel_size_A: Å per pixel.
        lag: a frame is final once this many newer frames have been seen.
        context: frames decoded before the lag window (each track's recent state).
    """

    def __init__(self, settings: DecodeSettings, pixel_size_A: float, lag: int = 5, context: int = 8) -> None:
        self.cfg, self.px, self.lag, self.context = settings, float(pixel_size_A), int(lag), int(context)
        self.frames: deque[dict] = deque()
        self.final_frame = -1
        n_groups = len(settings.groups) if settings.groups is not None else 1
        self.mass = _PerTrack(n_groups, 0.0, float)      # probability per sublattice over the session
        self.last_label = _PerTrack(1, "", object)        # the last final label of each track
        self.pairs: Counter = Counter()
        self.n_final = 0

    def push(self, values: dict) -> None:
        """Take one analyzed frame's rows (the tracker's row arrays of that frame)."""
        self.frames.append(values)
        if self.cfg.groups is not None:
            ids = values["track_id"]
            self.mass.at(ids)
            np.add.at(self.mass.values, ids, sublattice_mass(values["probs"], self.cfg.groups))
        while self.frames and self.frames[0]["frame"][:1].tolist() and \
                int(self.frames[0]["frame"][0]) <= int(values["frame"][0]) - self.lag - self.context:
            self.frames.popleft()

    def update(self, newest: int, drift_px: np.ndarray) -> LiveUpdate:
        """Decode the window after frame ``newest`` (analyzed or not) and return what became final."""
        final = newest - self.lag
        frames = [f for f in self.frames if len(f["frame"])]
        if not frames:
            return self._nothing(newest, final, drift_px)
        data = {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}
        own = None
        if self.cfg.groups is not None:
            own = np.argmax(self.mass.at(data["track_id"]), axis=1)
        dec = decode_rows(data, self.cfg, own)
        done = np.flatnonzero((data["frame"] > self.final_frame) & (data["frame"] <= final))
        done = done[np.lexsort((data["track_id"][done], data["frame"][done]))]
        events = [e for e in dec.events if self.final_frame < e["frame"] <= final]
        joins = [j for e, j in zip(dec.events, dec.joins) if self.final_frame < e["frame"] <= final]
        self._count(data["track_id"][done], dec.smoothed[done], [(e["from_label"], e["to_label"])
                                                                 for e, j in zip(events, joins) if j])
        self.n_final += len(np.unique(data["frame"][done]))
        self.final_frame = max(self.final_frame, final)
        newest_rows = np.flatnonzero(data["frame"] == newest)
        return LiveUpdate(frame=newest, final_frame=self.final_frame,
                          tracks=track_table(data, dec, self.cfg.labels, self.px, done), events=events,
                          newest={"track_id": data["track_id"][newest_rows], "label": dec.smoothed[newest_rows]},
                          transitions=transition_rows(self.pairs, self.n_final), drift_px=np.asarray(drift_px))

    def _count(self, ids: np.ndarray, labels: np.ndarray, joined: list) -> None:
        """Add the final rows' (last label, label) pairs (rows in frame order) and the joined pairs."""
        self.last_label.at(ids)
        cuts = np.flatnonzero(np.r_[True, ids[1:] <= ids[:-1]]) if len(ids) else []  # one frame's ids increase
        for a, b in zip(cuts, np.r_[cuts[1:], len(ids)]):
            before = self.last_label.values[ids[a:b], 0]
            seen = before != ""
            self.pairs.update(zip(before[seen].tolist(), labels[a:b][seen].tolist()))
            self.last_label.values[ids[a:b], 0] = labels[a:b]
        self.pairs.update(joined)

    def _nothing(self, newest: int, final: int, drift_px: np.ndarray) -> LiveUpdate:
        self.final_frame = max(self.final_frame, final)
        empty = {"track_id": np.zeros(0, int), "label": np.zeros(0, object)}
        return LiveUpdate(newest, self.final_frame, {}, [], empty, transition_rows(self.pairs, self.n_final),
                          np.asarray(drift_px))
