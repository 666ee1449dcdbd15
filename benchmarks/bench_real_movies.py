"""Movies on real texture (issue 26): static movies cut from real frames, tracked; nothing changes, so every event
is a false one and every site must keep its track.

Each movie is a real frame of ../shared/data/real (never trained on) seen through a moving window: a ``--crop`` px
window walks a drift path (a smooth random walk of up to ``--step`` px per frame that slows and turns, clipped to
the frame), and every crop is re-noised with Poisson statistics at a chosen dose (the crop scaled to
``counts_per_px`` mean counts, its minimum at zero, then ``rng.poisson``), plus optional scan-line jitter (each row
shifted by a random sub-pixel amount, ``--jitter`` px rms). The structure under the window never changes, so:

- events: every event ``atomgraph.track`` reports is false (target: 0);
- links: each column found in two consecutive frames at the same place of the source frame (within 0.5 Å, in the
  source frame's own coordinates: crop offset + position) should carry one track id in both; the share that do
  is the linking accuracy (target ≥ 0.999).

Run: python benchmarks/bench_real_movies.py [--frames 50] [--crop 256] [--doses 20 60 200] [--jitter 0.0]
(doses as mean counts per pixel of the re-noised crop). Prints one row per movie and dose.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

import atomgraph

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
MATCH_A = 0.5
# file, pixel size (Å/px, from SOURCES.md), model
MOVIES = [
    ("graphene_gb_4nm.npy", 0.0781, "graphene-si"),
    ("graphene_gb_6nm.npy", 0.1172, "graphene-si"),
    ("mos2_scilink_exp001.npy", 0.137, "mos2-v"),
    ("wse2_v_doped_skku_adf7792.tif", 0.0956, "wse2-v"),
]


def read_frame(path: Path) -> np.ndarray:
    """A real frame as float32 (PIL for the 8-bit .tif files, as SOURCES.md says)."""
    if path.suffix == ".npy":
        return np.load(path).astype(np.float32)
    from PIL import Image

    return np.asarray(Image.open(path), dtype=np.float32)


def drift_path(frames: int, room: tuple[int, int], step_px: float, rng: np.random.Generator) -> np.ndarray:
    """(frames, 2) sub-pixel window offsets (x, y) in px: a velocity that turns and changes speed, at most
    ``step_px`` per frame, kept inside ``room`` (the frame size minus the crop) by slowing at the bounds."""
    pos = np.array([room[0] / 2.0, room[1] / 2.0])
    vel = rng.normal(0, step_px / 2, 2)
    out = []
    for _ in range(frames):
        out.append(pos.copy())
        vel = 0.8 * vel + rng.normal(0, step_px / 3, 2)
        speed = np.hypot(*vel)
        if speed > step_px:
            vel *= step_px / speed
        nxt = pos + vel
        for k in range(2):  # slow down towards a bound rather than bounce off it
            if not 0 <= nxt[k] <= room[k]:
                vel[k] *= -0.3
        pos = np.clip(pos + vel, 0, room)
    return np.array(out)


def crop(image: np.ndarray, offset: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` px window at a sub-pixel ``offset`` (x, y), by linear interpolation."""
    from scipy.ndimage import map_coordinates

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    return map_coordinates(image, [yy + offset[1], xx + offset[0]], order=1, mode="nearest").astype(np.float32)


def renoise(window: np.ndarray, counts_per_px: float, jitter_px: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts of mean ``counts_per_px`` with the window's contrast; rows shifted by ``jitter_px`` rms."""
    w = window - window.min()
    w = w / max(float(w.mean()), 1e-12) * counts_per_px
    if jitter_px > 0:
        shifts = rng.normal(0, jitter_px, w.shape[0])
        x = np.arange(w.shape[1], dtype=float)
        w = np.stack([np.interp(x - s, x, row) for row, s in zip(w, shifts)])
    return rng.poisson(np.clip(w, 0, None)).astype(np.float32)


def linking(result, offsets: np.ndarray, px: float) -> tuple[int, int]:
    """(pairs with one track id, pairs): columns at the same source place in consecutive frames."""
    tf = result.tracks_frame()
    tf = tf[~tf["vacancy"].astype(bool)]
    same = total = 0
    frames = sorted(tf["frame"].unique())
    for a, b in zip(frames[:-1], frames[1:]):
        if b != a + 1:
            continue
        fa, fb = tf[tf["frame"] == a], tf[tf["frame"] == b]
        pa = (fa[["x_px", "y_px"]].to_numpy() + offsets[a]) * px
        pb = (fb[["x_px", "y_px"]].to_numpy() + offsets[b]) * px
        if not len(pa) or not len(pb):
            continue
        d, j = cKDTree(pb).query(pa)
        ok = d < MATCH_A
        total += int(ok.sum())
        same += int((fa["track_id"].to_numpy()[ok] == fb["track_id"].to_numpy()[j[ok]]).sum())
    return same, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--step", type=float, default=6.0, help="largest drift per frame, px")
    ap.add_argument("--doses", type=float, nargs="+", default=[20.0, 60.0, 200.0], help="mean counts per px")
    ap.add_argument("--jitter", type=float, default=0.0, help="scan-line jitter, px rms")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"no real data at {DATA}: nothing to do")
        return
    print(f"{args.frames} frames of {args.crop}² per movie, drift up to {args.step:g} px/frame, jitter "
          f"{args.jitter:g} px; link = same track at the same source place (< {MATCH_A} Å) in consecutive frames\n")
    print("| movie | model | counts/px | events (all false) | links | frames skipped | s |")
    print("|---|---|---|---|---|---|---|")
    all_events = all_same = all_total = 0
    for name, px, model in MOVIES:
        image = read_frame(DATA / name)
        room = (image.shape[1] - args.crop - 1, image.shape[0] - args.crop - 1)
        for dose in args.doses:
            rng = np.random.default_rng([args.seed, int(dose), len(name)])
            offsets = drift_path(args.frames, room, args.step, rng)
            frames = np.stack([renoise(crop(image, o, args.crop), dose, args.jitter, rng) for o in offsets])
            t0 = time.perf_counter()
            result = atomgraph.track(frames, model=model, pixel_size_A=px)
            seconds = time.perf_counter() - t0
            same, total = linking(result, offsets, px)
            kinds = {}
            for e in result.events:
                kinds[e["type"]] = kinds.get(e["type"], 0) + 1
            all_events += len(result.events)
            all_same, all_total = all_same + same, all_total + total
            what = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
            print(f"| {name} | {model} | {dose:g} | {len(result.events)} ({what}) | "
                  f"{same / max(total, 1):.4f} ({total}) | {len(result.skipped)} | {seconds:.1f} |", flush=True)
    print(f"\nall movies: {all_events} events (target 0), links {all_same / max(all_total, 1):.4f} "
          f"of {all_total} (target >= 0.999)")


if __name__ == "__main__":
    main()
