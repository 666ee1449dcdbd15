"""The README's pictures: analyze a simulated graphene-Si and MoSe2 frame and save the overlays.

Run: python benchmarks/make_figures.py   (writes benchmarks/out/overlay_graphene_si.png, overlay_mose2_w.png)
"""

from __future__ import annotations

from pathlib import Path

import atomgraph
from atomgraph.plot import save_figure

OUT = Path(__file__).resolve().parent / "out"

FRAMES = {
    "graphene_si": ("graphene-si", dict(size=384, pixel_size_A=0.1, dose=2e5, seed=2026, counts={"Si3": 2, "Si4": 2})),
    "mose2_w": ("mose2-w", dict(size=384, pixel_size_A=0.1, dose=5e4, seed=11)),
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, (material, settings) in FRAMES.items():
        sim = atomgraph.simulate(material, **settings)
        result = atomgraph.analyze(sim.image, model=material, pixel_size_A=sim.pixel_size_A)
        title = f"{material}, simulated, {settings['dose']:.0e} e/Å² — truth {sim.counts}"
        save_figure(result.plot(title=title), OUT / f"overlay_{name}.png", force=True, dpi=80)
        print(name, "truth", sim.counts, "found", result.label_counts())


if __name__ == "__main__":
    main()
