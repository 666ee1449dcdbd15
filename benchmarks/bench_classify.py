"""Classifier: GNN vs rule-based vs gradient boosting, per label, on freshly simulated test images; and speed.

Test inputs per material (image seeds 900000 + i, never used in training; defects placed up to 4x denser than the
config so rare labels have counts worth a precision):

- ``coords``: what a coordinate file holds: truth columns + 0.05 Å Gaussian noise, elements, column intensities.
- ``located``: end to end, ``locate`` on the image -> ``build_graph`` -> classify, at a standard dose (1e5 e/Å²) and
  a low dose (the config's lowest); only when bundled locator weights exist.
- ``perturbed``: (only without locator weights) truth perturbed like a locator, as a stand-in.

- ``xyz3d``: the simulated 3D structure (``ase.Atoms``) as an xyz file gives it, projected into columns by
  ``classify`` itself (no intensity column: Se1/Se2 come from counting the atoms of each column).

Scores: :func:`atomgraph.evaluate.evaluate` per label (mutual-nearest matching within 0.5 Å, sites within
``--border`` 1.5 Å of the frame excluded), summed over images. The gradient-boosting baseline is fitted here on
training-seed graphs. For the GNN also: calibration (share of wrong labels flagged ``uncertain``, share of right
labels flagged, expected calibration error of ``prob``) and, for coordinate input, whether every given element
is kept.

Run: python benchmarks/bench_classify.py [--images 12] [--size 512] [--sk-graphs 300] [--materials graphene-si ...]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from atomgraph.classify import classify, load_classifier
from atomgraph.classify.baselines import LocalClassifier, rule_based
from atomgraph.classify.calibration import expected_calibration_error
from atomgraph.classify.data import boosted_counts, make_example, make_input
from atomgraph.classify.train import TRAIN_SEED_OFFSET, locator_available
from atomgraph.evaluate import evaluate, match_atoms
from atomgraph.graph import build_graph
from atomgraph.materials import get_material
from atomgraph.threads import inference_thread_count

TEST_SEED = 900_000
METHODS = ["GNN", "rules", "HGB"]


def fit_baseline(name: str, n_graphs: int, located: bool) -> LocalClassifier:
    mat = get_material(name)
    meta = load_classifier(name).meta.to_dict()  # the feature names the graph must carry (material_meta + names)
    rng = np.random.default_rng(123)
    modes = ["perturbed", "coords"] + (["located"] if located else [])
    graphs, targets = [], []
    for i in range(n_graphs):
        ex, graph, _ = make_example(mat, meta, TRAIN_SEED_OFFSET * 7 + i, modes[i % len(modes)], rng,
                                    size_px=int(rng.integers(160, 321)))
        graphs.append(graph)
        targets.append(ex.target)
    return LocalClassifier(name).fit(graphs, targets)


BORDER_A = 1.5


def score(pred, truth, shape, totals: dict) -> None:
    res = evaluate(pred, truth, tolerance_A=0.5, border_A=BORDER_A, image_shape=shape)
    for label, s in res.get("per_label", {}).items():
        t = totals.setdefault(label, {"tp": 0, "n_pred": 0, "n_truth": 0})
        for k in t:
            t[k] += s[k]


def confusion(pred, truth, shape, table: dict) -> None:
    m = match_atoms(pred, truth, 0.5, BORDER_A, shape)
    for p, t in zip(pred.label[m.pred_index], truth.label[m.truth_index]):
        table[(str(t), str(p) or "(none)")] = table.get((str(t), str(p) or "(none)"), 0) + 1
    missed = m.truth_scored.copy()
    missed[m.truth_index] = False
    for t in truth.label[missed]:
        table[(str(t), "(missed)")] = table.get((str(t), "(missed)"), 0) + 1
    false = m.pred_scored.copy()
    false[m.pred_index] = False
    for p in pred.label[false]:
        if p:
            table[("(false)", str(p))] = table.get(("(false)", str(p)), 0) + 1


def calibration(pred, truth, shape, acc: dict) -> None:
    """Right/wrong labels of matched and false nodes, how many of each are flagged uncertain, and (prob, right)."""
    m = match_atoms(pred, truth, 0.5, BORDER_A, shape)
    right = pred.label[m.pred_index] == truth.label[m.truth_index]
    flagged = np.asarray(pred.uncertain, bool)
    false = m.pred_scored.copy()
    false[m.pred_index] = False
    false &= pred.label != ""                      # a labeled node where no truth site is: wrong
    for key, value in (("right", int(right.sum())), ("right_flagged", int((right & flagged[m.pred_index]).sum())),
                       ("wrong", int((~right).sum() + false.sum())),
                       ("wrong_flagged", int((~right & flagged[m.pred_index]).sum() + (false & flagged).sum()))):
        acc[key] = acc.get(key, 0) + value
    acc.setdefault("prob", []).extend(pred.prob[m.pred_index].tolist() + pred.prob[false].tolist())
    acc.setdefault("correct", []).extend(right.tolist() + [False] * int(false.sum()))


def xyz3d_input(mat, seed: int, size: int, rng):
    """(ase.Atoms of the simulated structure, its projected columns with labels as truth)."""
    from atomgraph.atoms import project_to_columns
    from atomgraph.simulate import simulate

    sim = simulate(mat.config, size=size, seed=seed, counts=boosted_counts(mat, rng))
    truth = project_to_columns(sim.atoms)
    placed = sum(sim.counts.get(label, 0) for label in mat.settings.graph.all_vacancy_labels)
    truth.extra["placed_vacancies"] = np.full(len(truth), placed)
    return sim.atoms, truth


def run_set(name: str, mode: str, n_images: int, size: int, dose, hgb: LocalClassifier, gnn: str,
            extra: dict) -> dict:
    mat = get_material(name)
    totals = {m: {} for m in METHODS}
    conf: dict = {}
    calib: dict = {}
    kept = [0, 0]                                      # given elements kept, given elements
    vacancies = [0, 0]                                 # xyz3d: vacancy labels predicted, vacancies placed
    for i in range(n_images):
        rng = np.random.default_rng([TEST_SEED, i])
        if mode == "xyz3d":
            atoms, truth = xyz3d_input(mat, TEST_SEED + i, size, rng)
            shape = None
        else:
            atoms, truth = make_input(mat, TEST_SEED + i, mode, rng, size_px=size, dose=dose, spurious=False,
                                      coord_sigma_A=0.05 if mode == "coords" else None)
            shape = (size, size)
        if mode == "coords":
            atoms.intensity = truth.subset(~truth.vacancy).intensity
        graph = build_graph(atoms, material=name)
        gnn_graph = classify(graph, gnn)
        preds = {"GNN": gnn_graph.atoms, "rules": rule_based(graph), "HGB": hgb.predict(graph)}
        preds.update({key: classify(graph, path).atoms for key, path in extra.items()})
        if mode == "xyz3d":  # the 3D structure has no vacancy rows: count vacancy labels, score the atoms only
            vac_labels = mat.settings.graph.all_vacancy_labels
            if vac_labels and len(truth):
                vacancies[0] += int(np.sum(np.isin(gnn_graph.atoms.label.astype(str), vac_labels)))
                vacancies[1] += int(truth.extra["placed_vacancies"][0])
            preds = {key: pred.subset(~pred.vacancy) for key, pred in preds.items()}
        for method, pred in preds.items():
            score(pred, truth, shape, totals[method])
        confusion(preds["GNN"], truth, shape, conf)
        calibration(preds["GNN"], truth, shape, calib)
        if mode in ("coords", "xyz3d"):
            given = ~graph.atoms.vacancy & (graph.atoms.extra["input_id"] >= 0)
            kept[0] += int(np.sum(gnn_graph.atoms.element[given] == graph.atoms.element[given]))
            kept[1] += int(given.sum())
    prob, correct = np.array(calib.pop("prob", [])), np.array(calib.pop("correct", []), bool)
    calib["ece"] = expected_calibration_error(prob, correct) if len(prob) else float("nan")
    return {"totals": totals, "confusion": conf, "calibration": calib,
            "elements_kept": kept if mode in ("coords", "xyz3d") else None,
            "vacancies_3d": vacancies if mode == "xyz3d" else None}


def print_table(title: str, result: dict, labels: list[str]) -> None:
    print(f"\n#### {title}\n")
    print("| label | n | " + " | ".join(f"{m} P | {m} R" for m in METHODS) + " |")
    print("|---|---" + "|---|---" * len(METHODS) + "|")
    for label in labels:
        row = []
        n = result["totals"]["GNN"].get(label, {}).get("n_truth", 0)
        for m in METHODS:
            t = result["totals"][m].get(label)
            if not t:
                row += ["–", "–"]
                continue
            p = t["tp"] / t["n_pred"] if t["n_pred"] else float("nan")
            r = t["tp"] / t["n_truth"] if t["n_truth"] else float("nan")
            row += [f"{p:.4f}", f"{r:.4f}"]
        print(f"| {label} | {n} | " + " | ".join(row) + " |")
    truth_rows = sorted({t for t, _ in result["confusion"]}, key=lambda s: (s.startswith("("), s))
    cols = sorted({p for _, p in result["confusion"]}, key=lambda s: (s.startswith("("), s))
    c = result.get("calibration") or {}
    if c:
        print(f"\nGNN calibration: wrong labels flagged uncertain {c['wrong_flagged']}/{c['wrong']} "
              f"= {c['wrong_flagged'] / max(c['wrong'], 1):.3f}; right labels flagged {c['right_flagged']}/"
              f"{c['right']} = {c['right_flagged'] / max(c['right'], 1):.4f}; ECE {c['ece']:.4f}")
    if result.get("vacancies_3d"):
        got, placed = result["vacancies_3d"]
        print(f"vacancy labels on the 3D structures (not position-scored: the structure has no vacancy rows): "
              f"{got} predicted for {placed} placed")
    if result.get("elements_kept"):
        k, n = result["elements_kept"]
        print(f"given elements kept: {k}/{n} = {k / max(n, 1):.4f}")
    print("\nGNN confusion (rows truth, columns prediction):\n")
    print("| truth \\ pred | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for t in truth_rows:
        print(f"| {t} | " + " | ".join(str(result["confusion"].get((t, c), 0)) for c in cols) + " |")


def speed(name: str, weights: str, n_target: int = 100_000, repeats: int = 3) -> dict:
    mat = get_material(name)
    side = float(np.sqrt(n_target * (9.0 if name == "graphene-si" else 14.0) / 3.45))
    from atomgraph.atoms import project_to_columns

    table = project_to_columns(mat.build_lattice(side, side).to_atoms())
    table = table.subset(np.arange(min(len(table), n_target)))
    t0 = time.perf_counter()
    graph = build_graph(table, material=name)
    t_graph = time.perf_counter() - t0
    classify(graph, weights)  # warm-up (loads weights)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        classify(graph, weights)
        times.append(time.perf_counter() - t0)
    return {"nodes": len(graph.atoms), "edges": graph.num_edges, "build_graph_s": t_graph,
            "classify_s": float(np.median(times)), "threads": inference_thread_count()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--materials", nargs="+", default=["graphene-si", "mose2-w"])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--sk-graphs", type=int, default=300)
    parser.add_argument("--json", default=None)
    parser.add_argument("--border", type=float, default=BORDER_A, help="exclude sites this close to the frame (Å)")
    parser.add_argument("--update-cards", action="store_true",
                        help="write the GNN figures into the bundled classifier cards (the 'benchmark' section that "
                             "`atomgraph models` shows)")
    parser.add_argument("--cards-from", default=None, metavar="JSON",
                        help="only update the cards from an earlier --json output of this script")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--gnn", action="append", default=[], metavar="MATERIAL=WEIGHTS",
                        help="weights to use as 'GNN' instead of the bundled ones")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME:MATERIAL=WEIGHTS",
                        help="further GNN weights to compare, as an extra column NAME")
    args = parser.parse_args()
    globals()["BORDER_A"] = args.border
    if args.cards_from:
        with open(args.cards_from, encoding="utf-8") as handle:
            update_cards(json.load(handle), args)
        return
    gnn = dict(item.split("=", 1) for item in args.gnn)
    extras: dict = {}
    for item in args.extra:
        key, rest = item.split(":", 1)
        material, path = rest.split("=", 1)
        extras.setdefault(material, {})[key] = path
        if key not in METHODS:
            METHODS.append(key)
    torch.set_num_threads(2)
    out = {}
    for name in args.materials:
        mat = get_material(name)
        located = locator_available(name)
        t0 = time.perf_counter()
        hgb = fit_baseline(name, args.sk_graphs, located)
        print(f"\n### {name} (HGB fitted on {args.sk_graphs} graphs in {time.perf_counter() - t0:.0f} s)")
        sets = [("coords", "coords", None), ("3D xyz (ase.Atoms)", "xyz3d", None)]
        if located:
            lo = mat.settings.image.dose_e_per_A2.low
            sets += [("located, dose 1e5", "located", 1e5), (f"located, dose {lo:g}", "located", lo)]
        else:
            sets += [("perturbed (no locator weights)", "perturbed", None)]
        for title, mode, dose in sets:
            t0 = time.perf_counter()
            res = run_set(name, mode, args.images, args.size, dose, hgb, gnn.get(name, name), extras.get(name, {}))
            print_table(f"{name}: {title}, {args.images} images {args.size}² ({time.perf_counter() - t0:.0f} s)",
                        res, mat.labels)
            out[f"{name}/{title}"] = {"totals": res["totals"], "calibration": res["calibration"],
                                      "confusion": {f"{t}->{p}": v for (t, p), v in res["confusion"].items()}}
        if not args.no_speed:
            s = speed(name, gnn.get(name, name))
            print(f"\nspeed {name}: {s['nodes']} nodes, {s['edges']} graph edges: build_graph {s['build_graph_s']:.2f} s,"
                  f" classify {s['classify_s']:.3f} s ({s['threads']} threads)")
            out[f"{name}/speed"] = s
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=1)
    if args.update_cards:
        update_cards(out, args)


def update_cards(out: dict, args) -> None:
    """Put the GNN's per-label precision/recall of every set into the bundled cards, with how they were measured,
    so the cards quote the same evaluation as benchmarks/README.md."""
    from atomgraph.models.files import write_card
    from atomgraph.models.paths import read_card, weights_path

    for material in sorted({key.split("/")[0] for key in out}):
        weights = weights_path("classifier", material)
        card = read_card(weights)
        sets = {}
        for key, res in out.items():
            name, title = key.split("/", 1)
            if name != material or "totals" not in res:
                continue
            gnn = res["totals"]["GNN"]
            sets[title] = {label: {"precision": t["tp"] / t["n_pred"] if t["n_pred"] else None,
                                   "recall": t["tp"] / t["n_truth"] if t["n_truth"] else None,
                                   "n": t["n_truth"]} for label, t in gnn.items()}
        card["benchmark"] = {"command": f"python benchmarks/bench_classify.py --materials {material} --images "
                                        f"{args.images} --size {args.size} --update-cards",
                             "images": f"{args.images} fresh simulated images per set, seeds {TEST_SEED}+",
                             "border_A": BORDER_A, "sets": sets}
        write_card(weights, card)
        print(f"updated {weights.with_suffix('.json')}")


if __name__ == "__main__":
    main()
