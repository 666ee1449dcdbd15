"""Movie and track files: the simulated movie's stack and truth, and the tracker's CSVs (contract columns first).

Units: positions in px of each frame's own pixels (``x_px, y_px``) and Å (``x_A, y_A``); drift in px.
Every writer writes through a temporary file (:func:`atomgraph.io.safe_write.atomic_output`).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..io.safe_write import atomic_output
from ..io.tables import format_value
from .plots import events_figure, save_figure, timeline_figure

TRACK_COLUMNS = ["frame", "track_id", "x_px", "y_px", "x_A", "y_A", "element", "label", "prob"]
EVENT_COLUMNS = ["frame", "type", "track_ids", "x_px", "y_px", "from_label", "to_label", "prob", "from_x_px",
                 "from_y_px", "to_x_px", "to_y_px"]
TRUTH_EVENT_COLUMNS = EVENT_COLUMNS[:8]  # a simulated movie's truth events (prob 1)
TRANSITION_COLUMNS = ["from_label", "to_label", "count", "rate_per_frame"]
DRIFT_COLUMNS = ["frame", "dx_px", "dy_px"]
TRUTH_MOVIE_COLUMNS = ["x_px", "y_px", "element", "label", "track_id"]


def write_rows(path: str | Path, header: list[str], rows, force: bool = False) -> None:
    """Write a CSV with ``header`` and ``rows`` (iterables of values, formatted by :func:`format_value`)."""
    with atomic_output(path, force) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([format_value(v) for v in row] for row in rows)


class LiveWriter:
    """A live session's CSVs in ``folder``, kept as the frames become final: ``tracks.csv``, ``events.csv`` and
    ``drift.csv`` get the new lines appended (flushed line by line, never rewritten: the cost per frame does not
    grow with the session), ``transitions.csv`` (a few rows) is rewritten atomically. :meth:`close` before the
    final :func:`write_track` replaces them with the whole movie's decode."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.handles = {}
        for name, header in (("tracks", TRACK_COLUMNS + ["raw_label"]), ("events", EVENT_COLUMNS),
                             ("drift", DRIFT_COLUMNS)):
            handle = open(folder / f"{name}.csv", "w", newline="", encoding="utf-8")
            self.handles[name] = (handle, csv.writer(handle))
            self.handles[name][1].writerow(header)
        self.folder, self.n_drift = folder, 0

    def write(self, update, drift_px: list) -> None:
        """Append what ``update`` (a :class:`~atomgraph.track.live.LiveUpdate`) made final and the drift rows of
        ``drift_px`` (the tracker's per-frame drift, px) not written yet; rewrite transitions.csv."""
        t = update.tracks
        if t and len(t["frame"]):
            cols = [t[c] for c in TRACK_COLUMNS + ["raw_label"]]
            self._append("tracks", zip(*cols))
        self._append("events", ([e[c] for c in EVENT_COLUMNS] for e in update.events))
        self._append("drift", ([k, dx, dy] for k, (dx, dy) in enumerate(drift_px[self.n_drift:], self.n_drift)))
        self.n_drift = len(drift_px)
        extra = ["prob", "prob_low", "prob_high"]
        write_rows(self.folder / "transitions.csv", TRANSITION_COLUMNS + extra,
                   ([r[c] for c in TRANSITION_COLUMNS + extra] for r in update.transitions), force=True)

    def _append(self, name: str, rows) -> None:
        handle, writer = self.handles[name]
        writer.writerows([format_value(v) for v in row] for row in rows)
        handle.flush()

    def close(self) -> None:
        """Close the appended files."""
        for handle, _ in self.handles.values():
            handle.close()
        self.handles = {}


def write_movie(movie, folder: Path, name: str) -> list[str]:
    """Write a simulated movie into ``folder``: ``NAME.npy`` (frames, rows, cols), ``NAME_truth_FFFF.csv`` per frame
    (``x_px,y_px,element,label,track_id``), ``NAME_events.csv`` (the truth events, ``prob`` 1) and
    ``NAME_drift.csv`` (the structure's translation relative to frame 0, px). Returns the file names."""
    folder = Path(folder)
    np.save(folder / f"{name}.npy", movie.frames)
    files = [f"{name}.npy"]
    for k, truth in enumerate(movie.truth):
        rows = zip(truth.positions_px[:, 0], truth.positions_px[:, 1], truth.element, truth.label,
                   truth.extra["track_id"])
        write_rows(folder / f"{name}_truth_{k:04d}.csv", TRUTH_MOVIE_COLUMNS, rows)
        files.append(f"{name}_truth_{k:04d}.csv")
    write_rows(folder / f"{name}_events.csv", TRUTH_EVENT_COLUMNS,
               ([e[c] for c in TRUTH_EVENT_COLUMNS[:-1]] + [1.0] for e in movie.events))
    write_rows(folder / f"{name}_drift.csv", DRIFT_COLUMNS,
               ([k, dx, dy] for k, (dx, dy) in enumerate(movie.drift_px)))
    (folder / f"{name}_manifest.json").write_text(json.dumps(movie.manifest(), indent=2), encoding="utf-8")
    return files + [f"{name}_events.csv", f"{name}_drift.csv", f"{name}_manifest.json"]


def write_track(result, folder: Path, get_frame=None, force: bool = False, figures: bool = True) -> list[str]:
    """Write ``tracks.csv``, ``events.csv``, ``transitions.csv`` (contract columns, then ``prob, prob_low,
    prob_high``: the Markov transition probability per frame and its Wilson 95 % interval), ``drift.csv`` and, with
    ``figures``, the PNGs ``timeline.png`` and ``events.png`` (when ``get_frame`` is given) into ``folder``; each
    file atomically (``force``: replace existing ones)."""
    folder = Path(folder)
    t = result.tracks
    order = np.lexsort((t["track_id"], t["frame"]))
    cols = [t[c][order] for c in TRACK_COLUMNS]
    write_rows(folder / "tracks.csv", TRACK_COLUMNS + ["raw_label"], zip(*cols, t["raw_label"][order]), force)
    write_rows(folder / "events.csv", EVENT_COLUMNS, ([e[c] for c in EVENT_COLUMNS] for e in result.events), force)
    extra = ["prob", "prob_low", "prob_high"]
    write_rows(folder / "transitions.csv", TRANSITION_COLUMNS + extra,
               ([r[c] for c in TRANSITION_COLUMNS + extra] for r in result.transitions), force)
    write_rows(folder / "drift.csv", DRIFT_COLUMNS, ([k, dx, dy] for k, (dx, dy) in enumerate(result.drift_px)),
               force)
    files = ["tracks.csv", "events.csv", "transitions.csv", "drift.csv"]
    if figures:
        save_figure(timeline_figure(result), folder / "timeline.png", force=force)
        files.append("timeline.png")
    if figures and get_frame is not None:
        save_figure(events_figure(result, get_frame), folder / "events.png", force=force)
        files.append("events.png")
    return files
