"""Benchmark of `atomgraph.track` on simulated movies with exact truth.

Measures, per material and dose: site-linking accuracy (consecutive-frame truth links whose detections keep one
track id), event precision and recall (same frame, same labels, within one bond), drift error; a static 20-frame
low-dose movie per material (zero events expected); and the time to track 100 frames of 512² (graphene-si, mid
dose), with the machine's load average.

    python benchmarks/bench_track.py            # the figures in benchmarks/README.md (## Track)
    python benchmarks/bench_track.py --quick    # a smaller run
    python benchmarks/bench_track.py --live     # only the live mode: Tracker.add + Tracker.latest per 1024² frame
                                                # at frame ~30 (real analysis), and the tracker's own cost at
                                                # frames 30 and 3,000 with the analysis cached (--live-frames)
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from atomgraph.track import simulate_movie, track
from atomgraph.track.score import event_scores, linking_accuracy

RATES = {"graphene-si": {"dopant_to_divacancy": 0.15, "dopant_hop": 0.15},
         "mose2-w": {"chalcogen_loss": 0.3, "chalcogen_vacancy": 0.15}}
DOSES = {"graphene-si": {"mid": 1e5, "low": 3e4}, "mose2-w": {"mid": 5e4, "low": 2e4}}
BOND_A = {"graphene-si": 1.42, "mose2-w": 1.90}


def run_movies(material: str, dose: float, seeds: list[int], frames: int, size: int, rates: dict) -> dict:
    """Track one movie per seed; pooled linking accuracy, event P/R, drift error."""
    links, matched, n_pred, n_truth, drift_err = [], 0, 0, 0, 0.0
    for seed in seeds:
        movie = simulate_movie(material, frames=frames, size=size, pixel_size_A=0.1, dose=dose, seed=seed,
                               rates=rates, drift_A_per_frame=2.0)
        result = track(movie.frames, model=material, pixel_size_A=0.1)
        links.append(linking_accuracy(result, movie))
        s = event_scores(result.events, movie.events, 0.1, tol_A=BOND_A[material])
        matched += s["matched"]
        n_pred += s["predicted"]
        n_truth += s["truth"]
        drift_err = max(drift_err, float(np.nanmax(np.abs(result.drift_px - movie.drift_px))))
    return {"material": material, "dose": dose, "movies": len(seeds), "frames": frames, "size": size,
            "linking": float(np.mean(links)), "linking_min": float(np.min(links)),
            "events_truth": n_truth, "events_pred": n_pred, "events_matched": matched,
            "precision": matched / n_pred if n_pred else 1.0, "recall": matched / n_truth if n_truth else 1.0,
            "drift_err_px_max": drift_err}


def live_latency(frames: int = 30, size: int = 1024) -> dict:
    """What `atomgraph watch` spends per frame: ``Tracker.add`` (analysis, registration, linking) then
    ``Tracker.latest`` (the fixed-lag decode of the last frames), on a graphene movie at 1e5 e/Å², 0.1 Å/px; median
    and last-frame seconds, and the events of the final whole-movie decode."""
    from atomgraph.track import Tracker

    movie = simulate_movie("graphene-si", frames=frames, size=size, pixel_size_A=0.1, dose=1e5, seed=9,
                           drift_A_per_frame=1.0)
    Tracker("graphene-si", 0.1).add(movie.frames[0])  # load the models once
    tracker, per_frame = Tracker("graphene-si", 0.1), []
    load = os.getloadavg()
    for frame in movie.frames:
        t0 = time.perf_counter()
        tracker.add(frame)
        tracker.latest()
        per_frame.append(time.perf_counter() - t0)
    result = tracker.result()
    return {"frames": frames, "size": size, "median_s": float(np.median(per_frame)), "last_s": per_frame[-1],
            "load_at_start": load, "load_after": os.getloadavg(), "events": len(result.events),
            "truth_events": len(movie.events), "event_scores": event_scores(result.events, movie.events, 0.1, 1.42)}


def live_growth(frames: int = 3000, cached: int = 10, size: int = 1024, block: int = 20) -> dict:
    """The tracker's own cost per frame (registration, linking, ``Tracker.latest``) early and late in a long live
    session: ``cached`` frames of a static drifting graphene movie are analyzed once, then fed back and forth
    (0, 1, ..., cached - 1, cached - 2, ..., 0, 1, ...: every step a real drift step) for ``frames`` frames with
    :func:`atomgraph.analyze` answering from the cache. Medians over ``block`` frames ending at frame 30 and at the
    last frame; also one whole-movie ``Tracker.result()`` at the end (what every frame cost before issue 26)."""
    import atomgraph.pipeline as pipeline
    from atomgraph.track import Tracker

    movie = simulate_movie("graphene-si", frames=cached, size=size, pixel_size_A=0.1, dose=1e5, seed=9, rates={},
                           drift_A_per_frame=1.0)
    analyze, cache = pipeline.analyze, {}

    def cached_analyze(image, **kwargs):
        key = image.ctypes.data
        if key not in cache:
            cache[key] = analyze(image, **kwargs)
        return cache[key]

    cycle = list(range(cached)) + list(range(cached - 2, 0, -1))
    tracker, per_frame = Tracker("graphene-si", 0.1), []
    pipeline.analyze = cached_analyze
    try:
        for k in range(cached):
            cached_analyze(movie.frames[k], model="graphene-si", pixel_size_A=0.1)
        load = os.getloadavg()
        for k in range(frames):
            image = movie.frames[cycle[k % len(cycle)]]
            t0 = time.perf_counter()
            tracker.add(image)
            update = tracker.latest()
            per_frame.append(time.perf_counter() - t0)
    finally:
        pipeline.analyze = analyze
    t0 = time.perf_counter()
    result = tracker.result()
    whole = time.perf_counter() - t0
    early, late = float(np.median(per_frame[30 - block:30])), float(np.median(per_frame[-block:]))
    return {"frames": frames, "size": size, "sites_per_frame": int(len(update.newest["track_id"])),
            "median_s_at_30": early, "median_s_at_last": late, "ratio": late / early,
            "whole_result_s_at_last": whole, "events_live_final": len(result.events), "load_at_start": load,
            "load_after": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--live", action="store_true", help="only the live-mode latency")
    parser.add_argument("--live-frames", type=int, default=3000, help="length of the cached live session")
    args = parser.parse_args()
    if args.live:
        print(json.dumps({"live": live_latency()}), flush=True)
        print(json.dumps({"live_growth": live_growth(args.live_frames)}), flush=True)
        return
    seeds = [0, 1] if args.quick else [0, 1, 2, 3]
    frames = 10 if args.quick else 20
    out = {"load_before": os.getloadavg(), "accuracy": [], "static": []}
    for material in ("graphene-si", "mose2-w"):
        for level, dose in DOSES[material].items():
            row = run_movies(material, dose, seeds, frames, 256, RATES[material])
            row["level"] = level
            out["accuracy"].append(row)
            print(json.dumps(row))
        static = run_movies(material, DOSES[material]["low"], [100], 20, 256, {})
        out["static"].append(static)
        print(json.dumps({"static": material, "events_pred": static["events_pred"], "linking": static["linking"]}))
    n = 20 if args.quick else 100
    movie = simulate_movie("graphene-si", frames=n, size=512, pixel_size_A=0.1, dose=1e5, seed=7,
                           drift_A_per_frame=2.0)
    track(movie.frames[:2], model="graphene-si", pixel_size_A=0.1)  # load the models once
    load = os.getloadavg()
    t0 = time.perf_counter()
    result = track(movie.frames, model="graphene-si", pixel_size_A=0.1)
    elapsed = time.perf_counter() - t0
    out["speed"] = {"frames": n, "size": 512, "seconds": elapsed, "per_frame_s": elapsed / n,
                    "timings_s": result.timings_s, "load_at_start": load, "load_after": os.getloadavg(),
                    "cores": os.cpu_count(), "events": len(result.events), "truth_events": len(movie.events),
                    "linking": linking_accuracy(result, movie),
                    "drift_err_px_max": float(np.nanmax(np.abs(result.drift_px - movie.drift_px))),
                    "event_scores": event_scores(result.events, movie.events, 0.1, tol_A=BOND_A["graphene-si"])}
    print(json.dumps(out["speed"]))
    out["live"] = live_latency(frames=10 if args.quick else 30)
    print(json.dumps({"live": out["live"]}))
    os.makedirs("benchmarks/out", exist_ok=True)
    with open("benchmarks/out/track.json", "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=2)


if __name__ == "__main__":
    main()
