"""The movie verbs of ``atomgraph``: ``simulate --frames``, ``track`` and ``watch`` (issue 12)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import AtomgraphInputError
from ..io.images import read_image
from ..io.safe_write import OutputFolder, check_output_folder, remove_folder
from ..io.source_record import write_source
from ..track import Tracker, simulate_movie, track
from ..track.frames import FrameSource, UnreadableFrame
from ..track.output import LiveWriter, write_movie, write_track
from ..track.watch import arrivals
from .common import EXIT_OK


def simulate_movie_command(args: argparse.Namespace, material, counts: dict) -> int:
    """``simulate --frames N``: one evolving structure -> NAME.npy stack + per-frame truth with track_id + events."""
    if args.count != 1:
        raise AtomgraphInputError("--frames makes one movie: leave out --count")
    check_output_folder(Path(args.output), args.force)  # before the work; nothing is written until it succeeds
    movie = simulate_movie(material, frames=args.frames, size=args.size, pixel_size_A=args.pixel_size, dose=args.dose,
                           seed=args.seed, counts=counts or None, drift_A_per_frame=args.drift)
    with OutputFolder(args.output, args.force) as tmp:
        write_movie(movie, tmp, f"{material.name}_seed{args.seed:05d}")
    print(f"wrote a {args.frames}-frame movie to {args.output}: {len(movie.events)} event(s)")
    return EXIT_OK


def cmd_track(args: argparse.Namespace) -> int:
    """``track STACK... --model M -o OUTDIR``: tracks, events, transitions, drift, timeline.png, events.png (after
    :func:`atomgraph.cli.doors.track`)."""
    from tqdm import tqdm

    source = FrameSource(args.stack)
    pixel_size = args.pixel_size or source.pixel_size_A
    if pixel_size is None:
        raise AtomgraphInputError("the file has no pixel size: give --pixel-size (Å/px)", source=args.stack[0])
    with tqdm(total=len(source), desc="track", unit="frame", disable=args.quiet) as bar:
        result = track(source, model=args.model, pixel_size_A=pixel_size, memory=args.memory,
                       progress=lambda _k: bar.update(1))
    with OutputFolder(args.output, args.force) as tmp:
        write_track(result, tmp, get_frame=source.__getitem__)
        first = source[0]
        write_source(tmp, [Path(p).resolve() for p in args.stack], kind="track", pixel_size_A=pixel_size,
                     model=args.model, shape_px=getattr(first, "shape", None))  # for the napari reader
    for frame, reason in result.skipped:
        args.warnings.add(f"frame {frame} skipped: {reason}")
    for e in result.events:
        print(f"frame {e['frame']:>4}  {e['type']:<12} sites {e['track_ids']:<12} at ({e['x_px']:.1f}, "
              f"{e['y_px']:.1f}) px  p={e['prob']:.2f}")
    n_tracks = len(set(result.tracks["track_id"].tolist()))
    print(f"tracked {result.n_frames - len(result.skipped)} of {result.n_frames} frame(s): {n_tracks} sites, "
          f"{len(result.events)} event(s) -> {args.output}")
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    """``watch DIR --model M -o OUTDIR``: each new frame file in DIR tracked once it reads completely (a read that
    fails is retried with back-off up to ``--read-timeout`` s, :func:`atomgraph.track.watch.arrivals`). After every
    frame, what it made final (``Tracker.latest``: a fixed lag of frames, a cost that does not grow with the
    session) is appended to tracks.csv, events.csv and drift.csv and its events printed; at the end (also on
    Ctrl-C or SIGTERM) the whole movie is decoded and every CSV rewritten atomically, with the PNGs. A file that
    vanishes is a warning. With ``--force`` an existing OUTDIR is replaced as a whole."""
    folder, out = Path(args.folder), Path(args.output)  # checked by atomgraph.cli.doors.watch
    session = _Session(out, args.force)
    try:
        for arrival in arrivals(folder, read_image, args.pattern, args.poll, read_timeout_s=args.read_timeout,
                                idle_exit_s=args.idle_exit, max_files=args.max_frames, warn=_warn):
            frame, pixel_size = _arrival_frame(arrival, args.pixel_size)
            if session.tracker is None:
                if pixel_size is None:
                    raise AtomgraphInputError("the file has no pixel size: give --pixel-size (Å/px)",
                                              source=str(arrival.path))
                session.tracker = Tracker(args.model, pixel_size, memory=args.memory)
            session.add(arrival.path, frame)
    except KeyboardInterrupt:
        print("atomgraph: stopping; writing the outputs", file=sys.stderr)
    if not session.close():
        print(f"no frame tracked; nothing written to {out}")
        return EXIT_OK
    result = session.tracker.result()
    paths = session.paths
    write_track(result, out, get_frame=lambda i: _frame_or_blank(paths, i), force=True)
    print(f"tracked {result.n_frames - len(result.skipped)} of {result.n_frames} frame(s), {len(result.events)} "
          f"event(s) -> {out}")
    return EXIT_OK


def _arrival_frame(arrival, pixel_size: float | None):
    """The frame of an arrival (an :class:`~atomgraph.track.frames.UnreadableFrame` when it never read) and its
    pixel size (``pixel_size`` when given, else the file's)."""
    if arrival.frame is not None:
        return arrival.frame.data, pixel_size or arrival.frame.pixel_size_A
    return UnreadableFrame(arrival.error), pixel_size


class _Session:
    """A watch session's tracker and live files (the first tracked frame replaces an existing folder as a whole
    with ``force``, never merges)."""

    def __init__(self, out: Path, force: bool) -> None:
        self.out, self.force, self.tracker, self.paths, self.writer = out, force, None, [], None

    def add(self, path: Path, frame) -> None:
        """Track one frame; append what became final to the live files and print its events."""
        self.paths.append(path)
        problem = self.tracker.add(frame)
        if problem is not None:
            _warn(f"frame {len(self.paths) - 1} ({path.name}) skipped: {problem}")
            return
        update = self.tracker.latest()
        if self.writer is None:
            if self.force:
                remove_folder(self.out)
            self.out.mkdir(exist_ok=True)
            self.writer = LiveWriter(self.out)
        self.writer.write(update, self.tracker.drift)
        _print_new_events(update.events, set())

    def close(self) -> bool:
        """Close the live files; whether any frame was tracked."""
        if self.writer is None:
            return False
        self.writer.close()
        return True


def _warn(message: str) -> None:
    print(f"atomgraph: warning: {message}", file=sys.stderr, flush=True)


def _frame_or_blank(paths: list[Path], i: int):
    """Frame ``i`` read again for events.png, or an empty array (with a warning) when its file is gone."""
    import numpy as np

    try:
        return read_image(paths[i]).data
    except (AtomgraphInputError, OSError) as exc:
        _warn(f"events.png: frame {i} ({paths[i].name}) cannot be read any more ({exc}); its crops are left blank")
        return np.zeros((0, 0), np.float32)


def _print_new_events(events: list[dict], printed: set) -> None:
    """Print the events not printed before (``printed`` holds their (frame, type, track_ids) keys; updated)."""
    for e in events:
        key = (e["frame"], e["type"], e["track_ids"])
        if key not in printed:
            printed.add(key)
            print(f"frame {e['frame']:>4}  {e['type']:<12} sites {e['track_ids']:<12} at "
                  f"({e['x_px']:.1f}, {e['y_px']:.1f}) px  p={e['prob']:.2f}", flush=True)
