"""Lattice check of the pixel size: is a wrong pixel size caught, and how close is ``--pixel-size auto``?

Run: python benchmarks/bench_scale.py [--seeds 10] [--data /work/shared/data/real]

Prints
1. simulated frames (graphene-si and mose2-w, 256² at 0.1 Å/px and 512² at 0.06 / 0.15 / 0.2 Å/px, fresh seeds):
   the error of ``auto`` (median and worst |error|, share within 2 %), and for a pixel size given wrong by ±5 %,
   ±20 %, x2, x0.5 and nm-for-Å (x0.1) how many frames the check caught (a warning, or exit 2 when too coarse);
2. images without a lattice (noise, vacuum, amorphous): how many were refused;
3. the shared real frames: ``auto`` against the FFT estimate in their SOURCES.md/index.json (the lattice constant
   of the material each file name says), and what the check says of the calibration stored in the file;
4. time per check.
The real files are read in place (third-party, mostly unlicensed); without the folder that part is skipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

import atomgraph
from atomgraph.errors import AtomgraphInputError
from atomgraph.locate.lattice_fft import measure_lattice
from atomgraph.scale import SQRT3_2, check_lattice_scale

WRONG = [("+5 %", 1.05), ("-5 %", 0.95), ("+20 %", 1.2), ("-20 %", 0.8), ("x2", 2.0), ("x0.5", 0.5),
         ("nm for Å", 0.1)]
SIMS = [(256, 0.1), (512, 0.06), (512, 0.15), (512, 0.2)]
# lattice constants (Å) of the materials the real file names start with
A_BY_PREFIX = {"graphene": 2.46, "mos2": 3.16, "ws2": 3.153, "wse2": 3.282, "wsse": 3.2}


def caught(image: np.ndarray, model: str, given: float) -> str:
    """'warning' (mismatch named), 'coarse' (refused: columns not resolved), 'no lattice' or '' (missed)."""
    try:
        check = check_lattice_scale(image, model, given)
    except AtomgraphInputError as exc:
        return "no lattice" if "no crystal lattice" in str(exc) else "coarse"
    return "warning" if any("does not fit" in w for w in check.warnings) else ""


def simulated(seeds: int) -> None:
    print("### Simulated frames (seeds 900000+, never trained on)\n")
    print("A wrong pixel size counts as caught when the check names the mismatch (warning; exit 2 with --strict) or "
          "refuses it as too coarse; a frame where no lattice is found (exit 2) is counted apart, never as caught.\n")
    print("| material | size, true px | frames | true px passes quietly | auto: no lattice found | "
          "auto: median / worst error | within 2 % | "
          + " | ".join(f"{label} caught" for label, _ in WRONG) + " |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(WRONG))
    for model in ("graphene-si", "mose2-w"):
        for size, px in SIMS:
            errors, hits, lost, quiet = [], {label: 0 for label, _ in WRONG}, 0, 0
            for seed in range(900000, 900000 + seeds):
                image = atomgraph.simulate(model, size=size, pixel_size_A=px, seed=seed).image
                try:
                    quiet += not check_lattice_scale(image, model, px).warnings
                except AtomgraphInputError:
                    pass
                try:
                    auto = check_lattice_scale(image, model, "auto").pixel_size_A
                    errors.append(abs(auto / px - 1))
                except AtomgraphInputError:
                    lost += 1
                    continue
                for label, factor in WRONG:
                    hits[label] += caught(image, model, px * factor) in ("warning", "coarse")
            within = sum(e <= 0.02 for e in errors)
            found = len(errors)
            print(f"| {model} | {size}², {px} Å/px | {seeds} | {quiet}/{seeds} | {lost} | "
                  f"{100 * statistics.median(errors):.2f} % / "
                  f"{100 * max(errors):.2f} % | {within}/{found} | "
                  + " | ".join(f"{hits[label]}/{found}" for label, _ in WRONG) + " |")


def no_lattice(count: int) -> None:
    rng = np.random.default_rng(7)
    kinds = {
        "Gaussian noise": lambda s: rng.normal(size=(s, s)),
        "vacuum (Poisson 0.3 counts + ramp)": lambda s: rng.poisson(0.3, (s, s)) + np.linspace(0, 2, s)[None],
        "amorphous (noise smoothed 2.5 px)": lambda s: gaussian_filter(rng.normal(size=(s, s)), 2.5),
    }
    print("\n### Images without a lattice\n")
    print("The whole check at a given pixel size (0.06-0.2 Å/px, both models): no Bragg spots, and the columns "
          "located at that pixel size not a lattice -> exit 2.\n")
    print("| image | sizes | no Bragg spots | refused (exit 2) |")
    print("|---|---|---|---|")
    for name, make in kinds.items():
        refused = spotless = total = 0
        for size in (128, 256, 512, 1024):
            for i in range(count):
                image = make(size).astype(np.float32)
                model = ("graphene-si", "mose2-w")[i % 2]
                total += 1
                spotless += measure_lattice(image) is None
                try:
                    check_lattice_scale(image, model, (0.06, 0.1, 0.15, 0.2, 0.1)[i % 5])
                except AtomgraphInputError as exc:
                    refused += "no crystal lattice" in str(exc)
        print(f"| {name} | 128²-1024² | {spotless}/{total} | {refused}/{total} |")


def _auto(image: np.ndarray, a_A: float) -> float | None:
    """--pixel-size auto: through the graphene-si model for graphene (Fourier transform, confirmed by the located
    columns), the Fourier transform alone for materials without a bundled model; None when no lattice is found."""
    if a_A == 2.46:
        try:
            return check_lattice_scale(image, "graphene-si", "auto").pixel_size_A
        except AtomgraphInputError:
            return None
    lattice = measure_lattice(image)
    return None if lattice is None else lattice.pixel_size_A(a_A * SQRT3_2)


def real(data: Path) -> None:
    index = data / "index.json"
    if not index.is_file():
        print(f"\n(real frames skipped: {index} not found)")
        return
    meta = json.loads(index.read_text(encoding="utf-8"))
    print("\n### Real frames (shared/data/real): auto vs the FFT estimate of SOURCES.md\n")
    print("| file | material a (Å) | file calibration | SOURCES FFT | auto | auto vs FFT | check of the file's "
          "calibration (graphene-si model for graphene, none for TMDs) |")
    print("|---|---|---|---|---|---|---|")
    errs = []
    for name, info in meta.items():
        if not name.endswith((".npy", ".tif")) or "coords" in name or "pixel_size_A_fft" not in info:
            continue
        a = next(v for k, v in A_BY_PREFIX.items() if name.startswith(k))
        image = atomgraph.read_image(data / name).data
        ref = info["pixel_size_A_fft"]
        auto = _auto(image, a)
        if auto is not None:
            errs.append(abs(auto / ref - 1))
        verdict = ""
        if name.startswith("graphene") and info.get("pixel_size_A"):
            try:
                check = check_lattice_scale(image, "graphene-si", info["pixel_size_A"])
                verdict = "; ".join(w.split(":")[0] if "outside" in w else w.split(";")[0] for w in check.warnings) \
                    or "fits"
            except AtomgraphInputError as exc:
                verdict = f"error: {str(exc)[:60]}..."
        print(f"| {name} | {a} | {info.get('pixel_size_A') or '-'} | {ref} | "
              f"{'none found' if auto is None else f'{auto:.4f}'} | "
              f"{'-' if auto is None else f'{100 * (auto / ref - 1):+.1f} %'} | {verdict} |")
    print(f"\nwithin 2 % of the SOURCES FFT estimate: {sum(e <= 0.02 for e in errs)}/{len(errs)} measured "
          f"(median |difference| {100 * statistics.median(errs):.1f} %)")


def library(data: Path) -> None:
    """The labelled graphene-Si library: small (128², 256²) noisy real frames with nominal pixel sizes."""
    meta_path, npz_path = data / "graphene_si_library.json", data / "graphene_si_library.npz"
    if not (meta_path.is_file() and npz_path.is_file()):
        return
    frames = json.loads(meta_path.read_text(encoding="utf-8"))["images"]
    rows = {}
    with np.load(npz_path) as npz:
        for frame in frames:
            key = (tuple(frame["shape"]), frame["pixel_size_A_nominal"])
            auto = _auto(npz[frame["key"]], 2.46)
            row = rows.setdefault(key, {"n": 0, "found": 0, "nominal": [], "fft": [], "pass": 0, "warn": 0,
                                        "refused": 0})
            row["n"] += 1
            try:
                check = check_lattice_scale(npz[frame["key"]], "graphene-si", frame["pixel_size_A_nominal"])
                row["warn" if check.warnings else "pass"] += 1
            except AtomgraphInputError:
                row["refused"] += 1
            if auto is None:
                continue
            row["found"] += 1
            row["nominal"].append(abs(auto / frame["pixel_size_A_nominal"] - 1))
            if frame.get("pixel_size_A_fft"):
                row["fft"].append(abs(auto / frame["pixel_size_A_fft"] - 1))
    print("\n### Real graphene-Si library frames (53, small and noisy): auto vs nominal and vs the SOURCES FFT\n")
    print("| frames | nominal px | check at nominal: fits / warns / refused | auto found | auto: median / worst vs "
          "nominal | within 5 % of nominal | median vs FFT estimate | within 2 % of FFT estimate |")
    print("|---|---|---|---|---|---|---|---|")
    for (shape, px), row in sorted(rows.items()):
        nom, fft = row["nominal"], row["fft"]
        med = lambda v: f"{100 * statistics.median(v):.1f} %" if v else "-"  # noqa: E731
        print(f"| {row['n']} x {shape[0]}² | {px} | {row['pass']} / {row['warn']} / {row['refused']} | "
              f"{row['found']}/{row['n']} | {med(nom)} / "
              f"{f'{100 * max(nom):.1f} %' if nom else '-'} | {sum(e <= 0.05 for e in nom)}/{len(nom)} | {med(fft)} | "
              f"{sum(e <= 0.02 for e in fft)}/{len(fft)} |")


def timing() -> None:
    print("\n### Time per measurement (median of 5; 2 shared CPU cores)\n")
    print("| frame | ms |")
    print("|---|---|")
    for size in (256, 1024, 4096):
        image = atomgraph.simulate("graphene-si", size=min(size, 1024), pixel_size_A=0.1, seed=1).image
        if size > 1024:
            image = np.tile(image, (4, 4))
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            measure_lattice(image)
            times.append(time.perf_counter() - t0)
        print(f"| {size}² | {1000 * statistics.median(times):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/real"))
    args = parser.parse_args()
    simulated(args.seeds)
    no_lattice(5)
    real(args.data)
    library(args.data)
    timing()


if __name__ == "__main__":
    main()
