"""Registration aliases: how often the tracker's drift jumps by a lattice vector (issue 26).

On a periodic lattice the correlation of two frames peaks at the true shift and at every shift that differs from
it by a lattice vector; registration has to pick the right one, frame after frame. A wrong pick moves every site by
a lattice vector onto its neighbor's track: links break and false events appear. Here many short simulated movies
at low dose, with a drift of up to ``--drift`` Å per frame that turns by up to 60° per frame, changes speed and
turns back where it meets its bound (`atomgraph.track.simulate_movie`), are tracked with the bundled models and the
recovered drift is compared with the truth. A frame pair has a *wrong alias* when the drift error changes between the two frames by more than
half the shortest lattice vector.

    python benchmarks/bench_alias.py                            # 200 movies per material (about 10 min)
    python benchmarks/bench_alias.py --movies 20 --frames 6      # a quick look

Prints per material: movies, frame pairs, frame pairs with a wrong alias, movies with one or more, the largest
drift error (Å), seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from atomgraph.materials import get_material
from atomgraph.track import simulate_movie, track

DOSES = {"graphene-si": 3e4, "mose2-w": 2e4}   # the low doses of bench_track.py
SEED = 700_000


def alias_errors(material: str, movies: int, frames: int, size: int, drift_A: float, pixel_size_A: float = 0.1
                 ) -> dict:
    """Track ``movies`` movies; count frame pairs whose drift error jumps by more than half a lattice vector."""
    lattice_A = get_material(material).settings.lattice.a_A
    pairs = wrong = wrong_movies = 0
    worst = 0.0
    t0 = time.perf_counter()
    for i in range(movies):
        movie = simulate_movie(material, frames=frames, size=size, pixel_size_A=pixel_size_A,
                               dose=DOSES[material], seed=SEED + i, drift_A_per_frame=drift_A)
        result = track(movie.frames, model=material, pixel_size_A=pixel_size_A)
        error_A = (result.drift_px - movie.drift_px) * pixel_size_A
        jumps = np.linalg.norm(np.diff(error_A, axis=0), axis=1)
        ok = np.isfinite(jumps)
        n_wrong = int(np.sum(jumps[ok] > 0.5 * lattice_A))
        pairs += int(ok.sum())
        wrong += n_wrong
        wrong_movies += n_wrong > 0
        worst = max(worst, float(np.nanmax(np.linalg.norm(error_A, axis=1))))
    return {"material": material, "movies": movies, "pairs": pairs, "wrong": wrong, "wrong_movies": wrong_movies,
            "worst_A": worst, "seconds": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--materials", nargs="+", default=list(DOSES))
    parser.add_argument("--movies", type=int, default=200)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=192, help="frame size, px (0.1 Å/px)")
    parser.add_argument("--drift", type=float, default=3.0, help="largest drift step, Å per frame")
    args = parser.parse_args()
    print(f"{args.movies} movies of {args.frames} frames, {args.size}² at 0.1 Å/px, drift up to {args.drift} Å per "
          "frame (turning up to 60°, speed 0.5-1 of it, turning back at its bound)\n")
    print("| material | dose e/Å² | frame pairs | wrong alias | movies with one | worst drift error Å | s |")
    print("|---|---|---|---|---|---|---|")
    for material in args.materials:
        r = alias_errors(material, args.movies, args.frames, args.size, args.drift)
        print(f"| {material} | {DOSES[material]:.0e} | {r['pairs']} | {r['wrong']} | {r['wrong_movies']} / "
              f"{r['movies']} | {r['worst_A']:.2f} | {r['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
