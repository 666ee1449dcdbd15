"""Novelty (issue 13): held-out defect types flagged, known ones not; discover's clusters; discover's speed.

    python benchmarks/bench_novelty.py heldout --model graphene-si --images 16
    python benchmarks/bench_novelty.py heldout --model mose2-w --images 16
    python benchmarks/bench_novelty.py speed --frames 200
    python benchmarks/bench_novelty.py cost --model graphene-si

``heldout``: 512² images at 0.1 Å/px and 1e5 e/Å² (seeds 960000 + i) of the model's own config plus the defect
types it never saw (``HELDOUT`` below; the bundled models were trained before these recipes existed, so every one is
held out by construction). Each image is analyzed end to end (locate -> graph -> classify); truth columns >= 1.5 Å
from the frame are matched to nodes (mutual nearest, 0.5 Å). "Its nodes" of a held-out type are the truth columns
the recipe changed (moved, replaced or emptied, vacancy sites included): the columns carrying the type's label in
the truth, and for the line vacancy also the metal columns next to it, which its recipe moves toward the line;
a truth column the analysis missed counts as not flagged; one whose atom was located 0.5-1.1 Å off its true place
(the locator may see a Stone-Wales pair as one column between them) is represented by that node
(``located_off_site``). Host nodes are split into *next to a defect* (within 1.2 bonds of any non-host truth column,
known or held out: the recipe left them in place but their neighbors changed) and *far*; trained-defect columns
within 1.2 bonds of a held-out type's column are counted apart (``W (bonded to a held-out type)``: a W beside a line
vacancy is a configuration no label was taught). Then the unknown defects of all images are clustered as
``discover`` does, each named by the majority held-out label of its matched core nodes, and cluster purity is
reported per type.

``speed``: simulates 512² frames with held-out defects into a temporary folder and times the ``atomgraph discover``
command over them in a fresh process (reading, analysis, clustering, writing the galleries).

``cost``: what scoring novelty adds to ``analyze`` of one 1024² frame (warm process, median of 7).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

OUT = Path(__file__).resolve().parent / "out"
SEED0 = 960_000
BESIDE = "(bonded to a held-out type)"

HELDOUT = {
    "graphene-si": [
        {"label": "SW", "recipe": "stone_wales", "count": 2, "projected_bond_A": [1.25, 1.40]},
        {"label": "Sidimer", "recipe": "dopant_dimer", "element": "Si", "count": 2, "height_A": 1.0,
         "projected_bond_A": [2.0, 2.35]},
        {"label": "Sitrimer", "recipe": "dopant_trimer", "element": "Si", "count": 2, "height_A": 1.0,
         "projected_bond_A": [2.2, 2.4]},
        {"label": "Cvac", "recipe": "vacancy", "count": 2, "neighbor_jitter_A": [0.0, 0.08]},
    ],
    "mose2-w": [
        {"label": "Seline", "recipe": "chalcogen_line_vacancy", "count": 1, "line_sites": [3, 6],
         "neighbor_shift_A": [0.1, 0.3], "_moved_shell": True},
        {"label": "MoSe", "recipe": "metal_antisite", "count": 2},
        {"label": "WSe", "recipe": "metal_antisite", "element": "W", "count": 2},
    ],
}


def heldout_config(model: str) -> dict:
    """The model's config plus its held-out defect types (only recipes this atomgraph has)."""
    from atomgraph.config import load_config
    from atomgraph.materials import FAMILIES

    cfg = load_config(model)
    recipes = FAMILIES[cfg["family"]].RECIPES
    cfg["name"] = f"{cfg['name']}-heldout"
    for entry in HELDOUT[model]:
        if entry["recipe"] not in recipes:
            print(f"skipping {entry['label']}: no recipe '{entry['recipe']}' here", file=sys.stderr)
            continue
        cfg["labels"].append(entry["label"])
        cfg["defects"].append({k: v for k, v in entry.items() if not k.startswith("_")})
    return cfg


def match(truth, atoms, tol_A: float = 0.5, loose: np.ndarray | None = None, loose_A: float = 1.1) -> np.ndarray:
    """Per truth column the index of its mutually nearest node within ``tol_A``, or -1. Truth columns in ``loose``
    (bool) left unmatched take the nearest node no other column took within ``loose_A``: where the locator put an
    atom of a structure it never saw (it pulls a Stone-Wales pair back toward the lattice sites, ~1 Å away)."""
    from atomgraph.evaluate import mutual_nearest

    out = np.full(len(truth), -1)
    i, j, _ = mutual_nearest(truth.positions_A, atoms.positions_A, tol_A)
    out[i] = j
    if loose is not None:
        taken = set(out[out >= 0].tolist())
        tree = cKDTree(atoms.positions_A)
        for i in np.flatnonzero(loose & (out < 0)):
            for dist, k in zip(*tree.query(truth.positions_A[i], k=4, distance_upper_bound=loose_A)):
                if np.isfinite(dist) and int(k) not in taken:
                    out[i] = int(k)
                    taken.add(int(k))
                    break
    return out


def categories(truth, material, heldout: list[str], inside: np.ndarray, moved_shell: tuple[str, ...] = ()
               ) -> np.ndarray:
    """Per truth column: its label for defects (known or held out), ``host (next to a defect)`` or ``host (far)``;
    '' outside the frame margin. Host columns within 1.2 bonds of a type in ``moved_shell`` (whose recipe moves
    them: the metals next to a line vacancy) belong to that type."""
    label = np.asarray(truth.label, dtype=object).astype(str)
    host = np.isin(label, material.host_labels)
    cat = np.where(host, "host (far)", label).astype(object)
    defect_xy = truth.positions_A[~host]
    if len(defect_xy):
        d, _ = cKDTree(defect_xy).query(truth.positions_A)
        cat[host & (d < 1.2 * material.bond_A)] = "host (next to a defect)"
    for name in moved_shell:
        if (label == name).any():
            d, _ = cKDTree(truth.positions_A[label == name]).query(truth.positions_A)
            cat[host & (d < 1.2 * material.bond_A)] = name
    held = np.isin(label, heldout)
    if held.any():   # a trained defect bonded to a held-out structure is itself in a configuration never taught
        d, _ = cKDTree(truth.positions_A[held]).query(truth.positions_A)
        beside = np.isin(label, material.defect_labels) & (d < 1.2 * material.bond_A)
        cat[beside] = [f"{x} {BESIDE}" for x in label[beside]]
    cat[~inside] = ""
    return cat


def run_heldout(model: str, n_images: int) -> dict:
    import atomgraph
    from atomgraph.discover import cluster_groups, frame_groups
    from atomgraph.materials import get_material

    cfg = heldout_config(model)
    material = get_material(model)
    heldout = [e["label"] for e in HELDOUT[model] if e["label"] in cfg["labels"]]
    moved = tuple(e["label"] for e in HELDOUT[model] if e.get("_moved_shell") and e["label"] in heldout)
    flagged: dict[str, list[int]] = {}
    groups, group_types = [], []
    t0 = time.perf_counter()
    for i in range(n_images):
        sim = atomgraph.simulate(cfg, size=512, pixel_size_A=0.1, dose=1e5, seed=SEED0 + i)
        result = atomgraph.analyze(sim.image, model=model, pixel_size_A=0.1)
        atoms, truth = result.atoms, sim.truth
        extent = np.array(sim.image.shape[::-1]) * 0.1
        inside = np.all((truth.positions_A >= 1.5) & (truth.positions_A <= extent - 1.5), axis=1)
        cat = categories(truth, material, heldout, inside, moved)
        strict = match(truth, atoms)
        node = match(truth, atoms, loose=np.isin(cat, heldout))
        novel = np.asarray(atoms.novel, bool)
        for c in set(cat) - {""}:
            sel = cat == c
            hits = int(np.sum(novel[node[sel & (node >= 0)]]))
            n = flagged.setdefault(c, [0, 0, 0, 0])
            n[0] += hits
            n[1] += int(sel.sum())
            n[2] += int(np.sum(sel & (node < 0)))
            n[3] += int(np.sum(sel & (strict < 0) & (node >= 0)))
        node_type = np.full(len(atoms), "", dtype=object)
        node_type[node[node >= 0]] = cat[node >= 0]
        for g in frame_groups(result, i, f"seed{SEED0 + i}"):
            index = {int(a): k for k, a in enumerate(atoms.ids)}
            d = next(d for d in result.defects if d.id == g.defect)
            types = Counter(str(node_type[index[a]]) for a in d.core_ids if node_type[index[a]] in heldout)
            known = any(node_type[index[a]] in material.defect_labels for a in d.core_ids)
            group_types.append(types.most_common(1)[0][0] if types else "(known defect)" if known else "(host)")
            groups.append(g)
    clusters = cluster_groups(groups)
    return {"model": model, "images": n_images, "size_px": 512, "pixel_size_A": 0.1, "dose": 1e5,
            "seeds": f"{SEED0}..+{n_images - 1}", "seconds": round(time.perf_counter() - t0, 1),
            "flagged": {c: {"flagged": v[0], "nodes": v[1], "missed_by_locate": v[2], "located_off_site": v[3],
                            "fraction": v[0] / max(v[1], 1)} for c, v in sorted(flagged.items())},
            "discover": purity(groups, group_types, clusters)}


def purity(groups, types: list[str], clusters: list[int]) -> dict:
    """Per cluster its type counts and purity; per held-out type the share of its groups in clusters of purity
    >= 0.9 where it is the majority."""
    per_cluster = {}
    for k in clusters + [-1]:
        members = Counter(t for g, t in zip(groups, types) if g.cluster == k)
        if members:
            top, n = members.most_common(1)[0]
            per_cluster[str(k)] = {"types": dict(members), "majority": top, "purity": n / sum(members.values())}
    per_type = {}
    for t in sorted(set(types)):
        mine = [g.cluster for g, tt in zip(groups, types) if tt == t]
        pure = sum(1 for k in mine if k >= 0 and per_cluster[str(k)]["majority"] == t
                   and per_cluster[str(k)]["purity"] >= 0.9)
        clustered = len(mine) - mine.count(-1)
        per_type[t] = {"groups": len(mine), "in_pure_own_cluster": pure, "unclustered": mine.count(-1),
                       "clustered_in_pure_own_fraction": pure / clustered if clustered else None,
                       "clusters": dict(Counter(int(k) for k in mine))}
    return {"groups": len(groups), "clusters": per_cluster, "types": per_type}


def run_speed(n_frames: int, model: str = "graphene-si") -> dict:
    import atomgraph

    cfg = heldout_config(model)
    with tempfile.TemporaryDirectory() as tmp:
        frames = Path(tmp) / "frames"
        frames.mkdir()
        for i in range(n_frames):
            sim = atomgraph.simulate(cfg, size=512, pixel_size_A=0.1, dose=1e5, seed=SEED0 + 10_000 + i)
            np.save(frames / f"f{i:04d}.npy", sim.image.astype(np.float32))
        cmd = [str(Path(sys.executable).with_name("atomgraph")), "discover", *sorted(map(str, frames.glob("*.npy"))),
               "--model", model, "--pixel-size", "0.1", "-o", str(Path(tmp) / "out"), "--quiet"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode:
            raise RuntimeError(proc.stderr)
        pngs = len(list((Path(tmp) / "out").glob("*.png")))
    return {"frames": n_frames, "size_px": 512, "seconds_wall_fresh_process": round(seconds, 1),
            "galleries": pngs, "summary": proc.stdout.splitlines()[0]}


def run_cost(model: str = "graphene-si", size: int = 1024, repeats: int = 7) -> dict:
    """Median ``analyze`` time of one frame with and without scoring novelty (warm process), and of the score
    itself (descriptors -> distances), in ms."""
    import atomgraph
    from atomgraph.classify import load_classifier, novelty_stats, predict_with_descriptors

    classify_module = sys.modules["atomgraph.classify"]

    image = atomgraph.simulate(model, size=size, pixel_size_A=0.1, dose=2e5, seed=99).image
    real = classify_module.novelty_stats
    times = {}
    for name, patch in (("with novelty", real), ("without novelty", lambda clf: None)):
        classify_module.novelty_stats = patch
        atomgraph.analyze(image, model=model, pixel_size_A=0.1)
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = atomgraph.analyze(image, model=model, pixel_size_A=0.1)
            runs.append(time.perf_counter() - t0)
        times[name] = round(1000 * float(np.median(runs)), 1)
    classify_module.novelty_stats = real
    clf = load_classifier(model)
    _, desc = predict_with_descriptors(clf, result.graph)
    stats = novelty_stats(clf)
    from atomgraph.threads import inference_threads

    runs = []
    with inference_threads():   # as classify() runs it
        for _ in range(repeats):
            t0 = time.perf_counter()
            stats.score(desc, given=False)   # located atoms, as analyze() scores them
            runs.append(time.perf_counter() - t0)
    return {"size_px": size, "nodes": len(result.atoms), "analyze_ms": times,
            "score_ms": round(1000 * float(np.median(runs)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["heldout", "speed", "cost"])
    parser.add_argument("--model", default="graphene-si", choices=sorted(HELDOUT))
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.what == "heldout":
        report = run_heldout(args.model, args.images)
        name = f"novelty_heldout_{args.model}.json"
    elif args.what == "cost":
        report = run_cost(args.model)
        name = f"novelty_cost_{args.model}.json"
    else:
        report = run_speed(args.frames, args.model)
        name = "novelty_speed.json"
    (OUT / name).write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
