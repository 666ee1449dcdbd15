"""Double Se vacancies (Sevac) on fresh simulated MoSe2 images: the graph stage alone and the whole analyze.

For each seed (900000 + i, never trained on) and dose, one 384² image at 0.1 Å/px is simulated; truth Sevac sites at
least 1.5 Å from the frame are matched (0.5 Å) to

- ``graph``: vacancy nodes of ``build_graph`` on the located columns (the lattice model alone);
- ``analyze``: nodes labeled ``Sevac`` by the whole chain (the classifier may also read a faint located column on an
  empty site as that site).

    python benchmarks/bench_vacancies.py [--seeds 10] [--doses 2e4 1e5]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.spatial import cKDTree

import atomgraph
from atomgraph.graph import build_graph
from atomgraph.locate import locate

BORDER_A = 1.5
MATCH_A = 0.5


def inner(points_A: np.ndarray, shape: tuple[int, int], pixel_size_A: float) -> np.ndarray:
    """Points at least BORDER_A inside the image frame."""
    h, w = shape
    lo, hi = -0.5 * pixel_size_A + BORDER_A, np.array([w - 0.5, h - 0.5]) * pixel_size_A - BORDER_A
    return np.all((points_A >= lo) & (points_A <= hi), axis=1)


def score(found_A: np.ndarray, truth_A: np.ndarray, totals: dict) -> None:
    hit = (cKDTree(found_A).query(truth_A)[0] < MATCH_A) if len(found_A) and len(truth_A) else np.zeros(len(truth_A), bool)
    false = (cKDTree(truth_A).query(found_A)[0] >= MATCH_A) if len(truth_A) else np.ones(len(found_A), bool)
    totals["tp"] += int(hit.sum())
    totals["fn"] += int((~hit).sum())
    totals["fp"] += int(false.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--doses", type=float, nargs="+", default=[2e4, 1e5])
    args = parser.parse_args()
    px = 0.1
    totals = {k: {"tp": 0, "fn": 0, "fp": 0} for k in ("graph", "analyze")}
    for seed in range(900000, 900000 + args.seeds):
        for dose in args.doses:
            sim = atomgraph.simulate("mose2-w", size=384, pixel_size_A=px, dose=dose, seed=seed)
            truth = sim.truth.positions_A[sim.truth.label == "Sevac"]
            truth = truth[inner(truth, sim.image.shape, px)]
            atoms = locate(sim.image, model="mose2-w", pixel_size_A=px)
            graph = build_graph(atoms, "mose2-w")
            found = graph.atoms.positions_A[graph.atoms.vacancy]
            score(found[inner(found, sim.image.shape, px)], truth, totals["graph"])
            result = atomgraph.analyze(sim.image, model="mose2-w", pixel_size_A=px)
            labeled = result.atoms.positions_A[result.atoms.label == "Sevac"]
            score(labeled[inner(labeled, sim.image.shape, px)], truth, totals["analyze"])
    print(f"{args.seeds} seeds x doses {args.doses}, 384² at {px} Å/px, sites >= {BORDER_A} Å from the frame")
    print("| stage | found | missed | false | recall | precision |")
    print("|---|---|---|---|---|---|")
    for stage, t in totals.items():
        print(f"| {stage} | {t['tp']} | {t['fn']} | {t['fp']} | {t['tp'] / max(t['tp'] + t['fn'], 1):.3f} | "
              f"{t['tp'] / max(t['tp'] + t['fp'], 1):.3f} |")


if __name__ == "__main__":
    main()
