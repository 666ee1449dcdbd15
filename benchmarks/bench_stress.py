"""Labels outside the training world: per-label precision/recall on stress sets, unknowns on clean frames.

Each stress set is the material's own config with one thing pushed to where real frames go (issue 22):

- ``clustered``: most defects placed next to an earlier one (``cluster_fraction`` 0.8): Si pairs 2.3-3 Å apart,
  Sevac-Sevac and Se1 beside Sevac on adjacent Se sites;
- ``edge``: defects up to the frame edge (sites 1.5 Å or more inside the frame are scored);
- ``Si3 short`` / ``Si3 mid`` / ``Si3 long`` (graphene): every Si3 with projected Si-C bonds 1.40-1.55 Å (buckled),
  1.55-1.75 Å, 1.75-1.95 Å (planar, as long as a Si4's); Si4 1.75-2.0 Å throughout;
- ``coarse``: 0.25-0.3 Å/px (graphene) or 0.3-0.45 Å/px (TMDs);
- ``8-bit``: every image an 8-bit export with 0.1-0.3 % of the pixels clipped;
- ``Z^1.4``: the lowest detector contrast exponent;

each at a mid dose (1e5 e/Å²) and the config's lowest. End to end from the image (``analyze``), scored with
:func:`atomgraph.evaluate.evaluate` (mutual nearest within 0.5 Å, sites within 1.5 Å of the frame edge not scored).
Calibration: the share of wrong labels flagged ``uncertain`` and of right labels flagged. Then:

- ``coords``: coordinate-file input (truth columns + 0.05 Å noise, elements given) of the ``clustered`` world;
- unknowns per clean frame: ``unknown`` defects (and any defect) on defect-free 1024² frames at 1e5 e/Å², at pixel
  sizes drawn from the config and at 0.1 Å/px.

Images use seeds 800 000 + i (training uses 1 000 000+, calibration 600 000+, held-out cards 500 000+).

Run: python benchmarks/bench_stress.py [--materials graphene-si mose2-w] [--images 6] [--size 512] [--clean 5]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
from bench_classify import BORDER_A, score  # per-label totals, the same matching and border

import atomgraph
from atomgraph.classify import classify
from atomgraph.classify.data import coordinate_file_like
from atomgraph.evaluate import match_atoms
from atomgraph.graph import build_graph
from atomgraph.materials import get_material

SEED = 800_000


def stress_sets(name: str) -> dict[str, dict]:
    """Set name -> config changes (a dict merged into the material's config)."""
    graphene = get_material(name).settings.family == "honeycomb"
    coarse = [0.25, 0.3] if graphene else [0.3, 0.45]
    sets = {"clustered": {"cluster_fraction": [0.8, 0.8]}, "edge": {"defect_edge_margin_A": 0.0},
            "coarse": {"image": {"pixel_size_A": coarse}},
            "8-bit": {"image": {"eight_bit_fraction": 1.0, "clip_fraction": [0.001, 0.003]}},
            "Z^1.4": {"image": {"z_exponent": [1.4, 1.4]}}}
    if name == "graphene-si":
        for key, bonds in (("Si3 short", [1.40, 1.55]), ("Si3 mid", [1.55, 1.75]), ("Si3 long", [1.75, 1.95])):
            sets[key] = {"defects": {"Si3": {"projected_bond_A": bonds}}}
    return sets


def variant(name: str, change: dict) -> dict:
    """The material's config with ``change`` merged in (``defects`` by label)."""
    cfg = copy.deepcopy(get_material(name).config)
    for key, value in change.items():
        if key == "defects":
            for defect in cfg["defects"]:
                defect.update(value.get(defect["label"], {}))
        elif isinstance(value, dict):
            cfg[key] = {**cfg.get(key, {}), **value}
        else:
            cfg[key] = value
    return cfg


def dense_counts(cfg: dict, rng: np.random.Generator) -> dict:
    """Defect counts 2-3x the config's upper count (alloy fractions kept), so every label has numbers worth a
    precision in a few images."""
    counts = {}
    for d in cfg["defects"]:
        if "fraction" in d and d.get("fraction") is not None:
            continue
        high = d["count"][1] if isinstance(d.get("count"), list) else d.get("count", 1)
        counts[d["label"]] = int(rng.integers(2 * int(high), 3 * int(high) + 1))
    return counts


def calibration(pred, truth, shape, acc: dict) -> None:
    m = match_atoms(pred, truth, 0.5, BORDER_A, shape)
    right = pred.label[m.pred_index] == truth.label[m.truth_index]
    flagged = np.asarray(pred.uncertain, bool)
    for key, value in (("right", right.sum()), ("right_flagged", (right & flagged[m.pred_index]).sum()),
                       ("wrong", (~right).sum()), ("wrong_flagged", (~right & flagged[m.pred_index]).sum())):
        acc[key] = acc.get(key, 0) + int(value)


def run_images(name: str, cfg: dict, n: int, size: int, dose: float, coords: bool = False) -> tuple[dict, dict]:
    totals, calib = {}, {}
    for i in range(n):
        rng = np.random.default_rng([SEED, i])
        sim = atomgraph.simulate(cfg, size=size, dose=dose, seed=SEED + i, counts=dense_counts(cfg, rng))
        if coords:
            atoms = coordinate_file_like(sim.truth, rng, sigma_A=0.05, keep_intensity=True)
            pred = classify(build_graph(atoms, material=name), name).atoms
            shape = None
        else:
            pred = atomgraph.analyze(sim.image, model=name, pixel_size_A=sim.pixel_size_A).atoms
            shape = sim.image.shape
        score(pred, sim.truth, shape, totals)
        calibration(pred, sim.truth, shape, calib)
    return totals, calib


def clean_frames(name: str, n: int, size: int = 1024, dose: float = 1e5, pixel_size_A: float | None = None
                 ) -> tuple[int, int, int]:
    """(unknown defects, defects of any label, nodes) over ``n`` defect-free frames (pixel size drawn from the
    config unless given, Å/px)."""
    mat = get_material(name)
    counts = {d.label: 0 for d in mat.settings.defects}
    unknown = defects = nodes = 0
    for i in range(n):
        sim = atomgraph.simulate(name, size=size, dose=dose, seed=SEED + 500 + i, counts=counts,
                                 pixel_size_A=pixel_size_A)
        res = atomgraph.analyze(sim.image, model=name, pixel_size_A=sim.pixel_size_A)
        c = res.defect_counts()
        unknown += int(c.get("unknown", 0))
        defects += int(sum(c.values()))
        nodes += len(res.atoms)
    return unknown, defects, nodes


def row(title: str, totals: dict, calib: dict, labels: list[str]) -> str:
    cells = []
    for label in labels:
        t = totals.get(label)
        if not t or t["n_truth"] == 0:
            cells.append("–")
            continue
        p = t["tp"] / t["n_pred"] if t["n_pred"] else float("nan")
        r = t["tp"] / t["n_truth"]
        cells.append(f"{p:.2f}/{r:.2f} ({t['n_truth']})")
    wf = f"{calib.get('wrong_flagged', 0)}/{calib.get('wrong', 0)}"
    rf = 100 * calib.get("right_flagged", 0) / max(calib.get("right", 1), 1)
    return f"| {title} | " + " | ".join(cells) + f" | {wf} | {rf:.1f} % |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--materials", nargs="+", default=["graphene-si", "mose2-w"])
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--clean", type=int, default=5, help="defect-free 1024² frames per material (0: skip)")
    ap.add_argument("--sets", nargs="*", default=None, help="only these stress sets")
    args = ap.parse_args()
    t0 = time.perf_counter()
    for name in args.materials:
        mat = get_material(name)
        labels = [label for label in mat.labels if label not in mat.host_labels]
        low = float(mat.settings.image.dose_e_per_A2.low)
        print(f"\n### {name}: P/R (truth sites) per defect label, end to end from the image\n")
        print("| set | " + " | ".join(labels) + " | wrong flagged | right flagged |")
        print("|---" * (len(labels) + 3) + "|")
        for set_name, change in stress_sets(name).items():
            if args.sets and set_name not in args.sets:
                continue
            cfg = variant(name, change)
            for dose_name, dose in (("1e5", 1e5), (f"{low:.0e}", low)):
                totals, calib = run_images(name, cfg, args.images, args.size, dose)
                print(row(f"{set_name}, {dose_name}", totals, calib, labels), flush=True)
        totals, calib = run_images(name, variant(name, stress_sets(name)["clustered"]), args.images, args.size,
                                   1e5, coords=True)
        print(row("coords (clustered world)", totals, calib, labels))
        for pixel in ([None, 0.1] if args.clean else []):
            unknown, defects, nodes = clean_frames(name, args.clean, pixel_size_A=pixel)
            where = "pixel size drawn from the config" if pixel is None else f"{pixel} Å/px"
            print(f"\nclean 1024² frames at 1e5 e/Å², {where}: {unknown} unknown defects and {defects} defects of "
                  f"any label in {args.clean} frames ({nodes} nodes): {unknown / args.clean:.2f} unknown per frame")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
