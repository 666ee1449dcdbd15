"""Find Si point defects in a (simulated) graphene image and save the overlay.

Run: python examples/graphene_si.py [OUTDIR]
"""

import sys
from pathlib import Path

import atomgraph

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-graphene-si")
sim = atomgraph.simulate("graphene-si", size=512, pixel_size_A=0.1, dose=2e5, seed=7)
result = atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)
print(result.summary())
print("truth:", sim.counts)
for defect in result.defects:
    x, y = defect.center_A
    print(f"{defect.label:>5} at ({x:6.1f}, {y:6.1f}) Å, {len(defect.site_ids)} sites, p = {defect.prob:.2f}")
result.save(out, force=True)
print(f"overlay: {out / 'overlay.png'}")
