"""Run the locators on the real images in /work/shared/data/real (never trained on) and save overlays.

Usage: python benchmarks/locate_real.py [DATA_DIR]   (default /work/shared/data/real; skipped when absent)

Per image it prints the number of columns found and the label-free sanity figure: the fraction of found atoms whose
nearest-neighbour distance lies within ±20 % of the lattice's nearest-neighbour distance (graphene C–C 1.42 Å;
MoS2/WS2 metal–chalcogen projected a/√3 = 1.82 Å). Overlays go to benchmarks/out/locate_*.png.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from atomgraph.locate import locate  # noqa: E402

torch.set_num_threads(2)
OUT = Path(__file__).resolve().parent / "out"
FRAMES = [  # file, pixel size (Å/px, stated calibration), model, nearest-neighbour distance (Å)
    ("graphene_si_2nm.npy", 0.078, "graphene-si", 1.42),
    ("graphene_gb_6nm.npy", 0.117, "graphene-si", 1.42),
    ("graphene_gb_4nm.npy", 0.078, "graphene-si", 1.42),
    ("mos2_se_implanted_temul.npy", 0.127, "mose2-w", 1.82),
    ("ws2_blobnet_60kv.npy", 0.106, "mose2-w", 1.82),
    ("mos2_scilink_exp001.npy", 0.137, "mose2-w", 1.82),
]
COLORS = {"C": "#39c", "Si": "#f60", "Mo": "#39c", "W": "#f0f", "Se": "#fc3"}


def lattice_fit(atoms, bond_A: float, tol: float = 0.2) -> float:
    """Fraction of atoms whose nearest-neighbour distance is within ``tol`` (relative) of ``bond_A``."""
    if len(atoms) < 2:
        return float("nan")
    d, _ = cKDTree(atoms.positions_A).query(atoms.positions_A, k=2)
    return float(np.mean(np.abs(d[:, 1] / bond_A - 1.0) <= tol))


def overlay(ax, image: np.ndarray, atoms, title: str) -> None:
    lo, hi = np.percentile(image, [0.5, 99.5])
    ax.imshow(image, cmap="gray", vmin=lo, vmax=hi)
    xy = atoms.positions_px
    for el in np.unique(atoms.element):
        sel = atoms.element == el
        ax.scatter(xy[sel, 0], xy[sel, 1], s=6 if el in ("C", "Mo", "Se") else 14, c=COLORS.get(el, "r"),
                   label=f"{el} ({sel.sum()})", linewidths=0)
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6, loc="upper right", markerscale=2)
    ax.axis("off")


def main(data: Path) -> None:
    if not data.is_dir():
        print(f"{data} not found: nothing to do")
        return
    OUT.mkdir(exist_ok=True)
    print("| image | model | px Å | size | atoms | NN fit ±20% | time s |")
    print("|---|---|---|---|---|---|---|")
    for name, px, model, bond in FRAMES:
        path = data / name
        if not path.is_file():
            continue
        image = np.load(path)
        t = time.perf_counter()
        atoms = locate(image, model, pixel_size_A=px)
        dt = time.perf_counter() - t
        fit = lattice_fit(atoms, bond)
        print(f"| {name} | {model} | {px} | {image.shape[0]}x{image.shape[1]} | {len(atoms)} | {fit:.3f} | {dt:.2f} |")
        fig, ax = plt.subplots(figsize=(8, 8), dpi=110)
        overlay(ax, image, atoms, f"{name}  {px} Å/px  {model}: {len(atoms)} columns, NN fit {fit:.2f}")
        fig.tight_layout()
        fig.savefig(OUT / f"locate_{Path(name).stem}.png")
        plt.close(fig)

    lib = data / "graphene_si_library.npz"
    meta = data / "graphene_si_library.json"
    if lib.is_file() and meta.is_file():
        frames = np.load(lib)
        info = {d["key"]: d for d in json.loads(meta.read_text())["images"]}
        fits, shown = [], []
        for key in sorted(frames.keys()):
            px = info[key]["pixel_size_A_nominal"]
            atoms = locate(frames[key], "graphene-si", pixel_size_A=px)
            fit = lattice_fit(atoms, 1.42)
            fits.append((fit, key, px, len(atoms)))
            if len(shown) < 16:
                shown.append((key, frames[key], atoms, px, fit))
        vals = np.array([f[0] for f in fits])
        print(f"| graphene_si_library.npz ({len(fits)} frames) | graphene-si | 0.078–0.156 | 128²/256² | "
              f"{sum(f[3] for f in fits)} | median {np.median(vals):.3f}, min {vals.min():.3f} | |")
        for f in sorted(fits)[:5]:
            print(f"    lowest: {f[1]} px {f[2]} atoms {f[3]} fit {f[0]:.3f}")
        fig, axes = plt.subplots(4, 4, figsize=(14, 14), dpi=90)
        for ax, (key, img, atoms, px, fit) in zip(axes.ravel(), shown):
            overlay(ax, img, atoms, f"{key} {px} Å/px fit {fit:.2f}")
        fig.tight_layout()
        fig.savefig(OUT / "locate_graphene_si_library.png")
        plt.close(fig)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data/real"))
