"""Regions without lattice: an amorphous patch painted into simulated graphene-Si frames (issue 15, item 4).

Per seed (900000 + i) a 384² frame at 0.1 Å/px is simulated with 3 Si3 and 2 Si4, analyzed as it is and with an
amorphous patch of radius 70 px (7 Å) at the center (:func:`atomgraph.simulate.patches.add_amorphous_patch`):
defects and vacancy nodes inside the patch, masked share of the atoms inside, masked atoms on the clean frame, and
whether the defects more than 4 Å outside the patch (beyond its two-bond mask margin) are the same labels at
the same places (within 2 px).

    python benchmarks/bench_regions.py [--seeds 10]
"""

from __future__ import annotations

import argparse

import numpy as np

import atomgraph
from atomgraph.simulate.patches import add_amorphous_patch

RADIUS_PX = 70.0


def outside(result, center: np.ndarray) -> list:
    return sorted((d.label, tuple(np.round(d.center_px / 2))) for d in result.defects
                  if np.hypot(*(d.center_px - center)) > RADIUS_PX + 40)  # beyond the two-bond mask margin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    totals = {"defects_inside": 0, "vacancies_inside": 0, "masked_inside": 0, "atoms_inside": 0, "clean_masked": 0,
              "outside_same": 0}
    print("| seed | defects inside | vacancies inside | masked inside / atoms inside | masked on the clean frame | "
          "outside unchanged |")
    print("|---|---|---|---|---|---|")
    for seed in range(900000, 900000 + args.seeds):
        sim = atomgraph.simulate("graphene-si", size=384, pixel_size_A=0.1, seed=seed, counts={"Si3": 3, "Si4": 2})
        center = np.array([192.0, 192.0])
        clean = atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)
        patched = atomgraph.analyze(add_amorphous_patch(sim.image, center, RADIUS_PX, 0.1, seed=seed),
                                    model="graphene-si", pixel_size_A=0.1)
        atoms = patched.atoms
        inside = np.hypot(*(atoms.positions_px - center).T) < RADIUS_PX
        row = {"defects_inside": sum(np.hypot(*(d.center_px - center)) < RADIUS_PX + 3 for d in patched.defects),
               "vacancies_inside": int((atoms.vacancy & inside).sum()),
               "masked_inside": int(atoms.masked[inside & ~atoms.vacancy].sum()),
               "atoms_inside": int((inside & ~atoms.vacancy).sum()),
               "clean_masked": int(clean.atoms.masked.sum()),
               "outside_same": int(outside(clean, center) == outside(patched, center))}
        print(f"| {seed} | {row['defects_inside']} | {row['vacancies_inside']} | {row['masked_inside']} / "
              f"{row['atoms_inside']} | {row['clean_masked']} | {'yes' if row['outside_same'] else 'no'} |")
        for key, value in row.items():
            totals[key] += value
    print(f"\n{args.seeds} frames 384² with a {RADIUS_PX * 0.1:.0f} Å amorphous patch; totals: "
          + ", ".join(f"{key} {value}" for key, value in totals.items()))


if __name__ == "__main__":
    main()
