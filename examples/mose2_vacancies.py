"""Count W dopants and single/double Se vacancies in a (simulated) MoSe2 image.

Double Se vacancies (Sevac) are empty columns: they appear as vacancy nodes the graph infers from the lattice.
Run: python examples/mose2_vacancies.py [OUTDIR]
"""

import sys
from pathlib import Path

import atomgraph

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-mose2")
sim = atomgraph.simulate("mose2-w", size=512, pixel_size_A=0.1, dose=5e4, seed=11)
result = atomgraph.analyze(sim.image, model="mose2-w", pixel_size_A=0.1)
print(f"{'label':<6}{'truth':>7}{'found':>7}")
found = result.label_counts()
for label, n in sim.counts.items():
    print(f"{label:<6}{n:>7}{found.get(label, 0):>7}")
vacancies = result.atoms.subset(result.atoms.vacancy)
print(f"{len(vacancies)} vacancy nodes, labeled: {sorted(set(vacancies.label))}")
result.save(out, force=True)
print(f"overlay: {out / 'overlay.png'}")
