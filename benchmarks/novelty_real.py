"""Novelty on the real graphene frames of ../shared/data/real (never trained on; their labels are only read here).

    python benchmarks/novelty_real.py [--data DIR]

1. The labeled graphene-Si library (53 frames): per author class (Si1C3 = our Si3, Si1C4 = Si4, and the multi-Si
   clusters Si2C4 ... Si4C6 the models never saw), the fraction of labeled Si atoms whose node (nearest within
   1.0 Å) is flagged novel, and the fraction of defects with a novel node within 2 Å of one of their Si.
2. The Si dimer / trimer frames and the two grain-boundary frames: nodes, novel nodes, unknown defects and the best
   known labels of the novel nodes.
3. ``discover`` over all of them: clusters and galleries in benchmarks/out/novelty_real/ (written locally, not
   committed: most source frames carry no license).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

import atomgraph
from atomgraph.defects import UNKNOWN
from atomgraph.discover import discover

OUT = Path(__file__).resolve().parent / "out"
FRAMES = {"graphene_si_dimer.npy": 0.0384, "graphene_si_trimer.npy": 0.0363, "graphene_gb_4nm.npy": 0.078,
          "graphene_gb_6nm.npy": 0.117}   # Å/px: FFT for the uncalibrated dimer/trimer frames (index.json)
MATCH_A = 1.0


def library(data: Path, model: str, collected: list) -> dict:
    frames = np.load(data / "graphene_si_library.npz")
    info = json.loads((data / "graphene_si_library.json").read_text())["images"]
    atoms_flagged, defects_flagged = defaultdict(Counter), defaultdict(Counter)
    for d in info:
        px = float(d["pixel_size_A_nominal"])
        image = frames[d["key"]]
        result = atomgraph.analyze(image, model=model, pixel_size_A=px)
        collected.append((f"library/{d['key']}", 0, image, px))
        pos = result.atoms.positions_A
        novel = np.asarray(result.atoms.novel, bool)
        for defect in d["defects"]:
            si = np.array([(a["x"], a["y"]) for a in defect["atoms"] if a["element"] == "Si"], float) * px
            near_any = False
            for p in si:
                dist = np.hypot(*(pos - p).T)
                j = int(np.argmin(dist)) if len(dist) else -1
                matched = j >= 0 and dist[j] <= MATCH_A
                atoms_flagged[defect["class"]]["novel" if matched and novel[j] else "matched" if matched
                                               else "no node"] += 1
                near_any |= bool(np.any(novel & (dist <= 2.0)))
            defects_flagged[defect["class"]]["novel" if near_any else "not"] += 1
    out = {}
    for cls in sorted(atoms_flagged):
        a, dd = atoms_flagged[cls], defects_flagged[cls]
        n = sum(a.values())
        out[cls] = {"si_atoms": n, "si_flagged": a["novel"], "si_no_node": a["no node"],
                    "si_flagged_fraction": a["novel"] / max(n, 1), "defects": sum(dd.values()),
                    "defects_with_novel_node": dd["novel"]}
    return out


def frames(data: Path, model: str, collected: list) -> dict:
    out = {}
    for name, px in FRAMES.items():
        image = np.load(data / name)
        result = atomgraph.analyze(image, model=model, pixel_size_A=px)
        collected.append((name, 0, image, px))
        novel = np.asarray(result.atoms.novel, bool)
        labels = Counter(str(x) or "-" for x in np.asarray(result.atoms.label)[novel])
        out[name] = {"pixel_size_A": px, "nodes": len(result.atoms), "novel": int(novel.sum()),
                     "unknown_defects": sum(d.label == UNKNOWN for d in result.defects),
                     "known_defects": dict(Counter(d.label for d in result.defects if d.label != UNKNOWN)),
                     "novel_best_labels": dict(labels)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "real")
    ap.add_argument("--model", default="graphene-si")
    args = ap.parse_args()
    collected: list = []
    report = {"library": library(args.data, args.model, collected), "frames": frames(args.data, args.model, collected)}
    found = discover(iter(collected), model=args.model)
    folder = OUT / "novelty_real"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    found.write(folder)
    report["discover"] = found.cluster_rows()
    (OUT / "novelty_real.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
