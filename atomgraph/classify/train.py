"""Train the node classifier on simulated data and write safetensors weights with a model card.

Training graphs are built with :func:`atomgraph.graph.build_graph` (so vacancy nodes come from the same lattice
inference as at prediction time) from three kinds of input, drawn per image:

``located``
    atoms found by the bundled locator in the simulated image (its real misses, false atoms, position errors and
    species guesses); used only when locator weights for the material exist.
``perturbed``
    truth columns perturbed like a locator: Gaussian position noise (0.02-0.12 Å), a few missed columns (dim ones
    more often), a few false atoms, log-normal intensity noise and soft, occasionally wrong species probabilities.
``coords``
    what a coordinate file holds: truth columns + 0-0.07 Å noise, exact elements, intensity from the projected
    columns (absent in some graphs, as in a CSV without it), no species probabilities.

Targets: a real node takes the label of the truth column it mutually matches within 0.5 Å (unmatched real nodes,
i.e. false atoms, take the background class, reported as label ``''``); a vacancy node takes the vacancy label (``Sevac``) when it matches a
truth vacancy site within 0.5 Å, else the background class. Defects are placed more densely than in the config
(counts up to 4x) so rare labels are seen often. Train and held-out images use disjoint seed ranges.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree

from ..atoms import AtomTable
from ..errors import AtomgraphInputError
from ..io.safe_write import atomic_output, atomic_path, check_writable
from ..materials import Material, get_material
from .encode import CUTOFF_BONDS, N_RBF, encode
from .model import NodeClassifier, n_parameters, save_model

log = logging.getLogger(__name__)

MODES = ("located", "perturbed", "coords")
TRAIN_SEED_OFFSET = 1_000_000      # training images: seeds 1e6 * (seed + 1) + i
HELDOUT_SEED_OFFSET = 500_000      # held-out images in the card: 5e5 + i (benchmarks use 9e5 + i)
MATCH_TOLERANCE_A = 0.5
IGNORE = -1

DEFAULTS = {"hidden": 32, "layers": 4, "minutes": 10.0, "data_fraction": 0.4, "lr": 3e-3, "batch_graphs": 4,
            "size_px": [160, 320], "max_graphs": 2500, "heldout_graphs": 24}


# --------------------------------------------------------------------------------------------------- data
def material_meta(mat: Material) -> dict:
    """What a model needs to read a graph of ``mat`` (stored in the weights' metadata)."""
    graph_cfg = mat.config.get("graph", {})
    species = list(mat.config.get("locator", {}).get("classes", []))
    if not species:
        species = sorted({v for v in mat.config["lattice"]["host"].values()}
                         | {d["element"] for d in mat.config["defects"] if "element" in d})
    return {"material": mat.name, "labels": mat.labels, "vacancy_label": graph_cfg.get("vacancy_label"),
            "species": species, "bond_A": float(mat.bond_A), "cutoff_bonds": CUTOFF_BONDS}


def boosted_counts(mat: Material, rng: np.random.Generator) -> dict:
    """Defect counts up to 4x the config's (fractions up to 2x) so rare labels are frequent in training."""
    counts = {}
    for defect in mat.config["defects"]:
        if "fraction" in defect:
            lo, hi = defect["fraction"] if isinstance(defect["fraction"], list) else [defect["fraction"]] * 2
            counts[defect["label"]] = float(rng.uniform(lo, 2 * hi))
        else:
            spec = defect.get("count", 1)
            lo, hi = spec if isinstance(spec, list) else (spec, spec)
            counts[defect["label"]] = int(rng.integers(int(lo), 4 * int(hi) + 2))
    return counts


def _species_index(element: np.ndarray, species: list[str]) -> np.ndarray:
    index = np.full(len(element), -1)
    for k, s in enumerate(species):
        index[element == s] = k
    return index


def perturb_like_locator(truth: AtomTable, species: list[str], rng: np.random.Generator) -> AtomTable:
    """Truth columns degraded like a locator's output (see module docstring, ``perturbed``)."""
    real = truth.subset(~truth.vacancy)
    n = len(real)
    sigma = rng.uniform(0.02, 0.12)
    element = np.asarray(real.element, dtype=object)
    dim = np.zeros(n, bool)
    for e in set(element):  # dim columns (Se1) are missed more often than full ones
        group = element == e
        dim[group] = real.intensity[group] < 0.75 * np.median(real.intensity[group])
    miss_p = np.where(dim, rng.uniform(0.0, 0.08), rng.uniform(0.0, 0.004))
    keep = rng.random(n) >= miss_p
    pos = real.positions_A[keep] + rng.normal(0, sigma, (int(keep.sum()), 2))
    intensity = real.intensity[keep] * np.exp(rng.normal(0, rng.uniform(0.03, 0.2), int(keep.sum())))
    sp = _species_index(np.asarray(real.element[keep], dtype=object), species)
    n_false = int(rng.binomial(n, rng.uniform(0.0, 0.006)))
    if n_false:
        lo, hi = real.positions_A.min(0), real.positions_A.max(0)
        cand = rng.uniform(lo, hi, (n_false, 2))
        far = cKDTree(pos).query(cand)[0] > 0.8
        cand = cand[far]
        pos = np.vstack([pos, cand])
        intensity = np.concatenate([intensity, np.median(intensity) * np.exp(rng.normal(-0.5, 0.5, len(cand)))])
        sp = np.concatenate([sp, rng.integers(0, len(species), len(cand))])
    m = len(pos)
    confuse = rng.random(m) < rng.uniform(0.0, 0.01)
    sp = np.where(confuse, (sp + rng.integers(1, max(len(species), 2), m)) % len(species), sp)
    conf = 1.0 - rng.beta(1.0, rng.uniform(4.0, 40.0), m)
    p = np.tile(((1.0 - conf) / max(len(species) - 1, 1))[:, None], (1, len(species)))
    p[np.arange(m), sp] = conf
    score = np.clip(rng.normal(0.9, 0.08, m), 0.3, 1.0)
    score[len(score) - (m - int(keep.sum())):] = rng.uniform(0.2, 0.8, m - int(keep.sum()))
    extra = {f"p_{s}": p[:, k] for k, s in enumerate(species)}
    return AtomTable(pos, np.array(species, dtype=object)[np.argmax(p, 1)], pixel_size_A=truth.pixel_size_A,
                     score=score, intensity=intensity, extra=extra)


def coordinate_file_like(truth: AtomTable, rng: np.random.Generator, sigma_A: float | None = None,
                         keep_intensity: bool | None = None) -> AtomTable:
    """Truth columns as a coordinate file gives them: positions + Gaussian noise (Å), exact elements, intensity."""
    real = truth.subset(~truth.vacancy)
    sigma_A = rng.uniform(0.0, 0.07) if sigma_A is None else sigma_A
    keep_intensity = rng.random() > 0.2 if keep_intensity is None else keep_intensity
    pos = real.positions_A + rng.normal(0, sigma_A, real.positions_A.shape)
    return AtomTable(pos, real.element, pixel_size_A=truth.pixel_size_A,
                     intensity=real.intensity if keep_intensity else None)


def make_input(mat: Material, seed: int, mode: str, rng: np.random.Generator, *, size_px: int = 256,
               dose: float | None = None, boost: bool = True, coord_sigma_A: float | None = None):
    """(input atoms, truth) for one simulated image; ``mode`` one of :data:`MODES`."""
    from ..simulate import simulate

    counts = boosted_counts(mat, rng) if boost else None
    sim = simulate(mat.config, size=size_px, dose=dose, seed=int(seed), counts=counts)
    truth = sim.truth
    species = material_meta(mat)["species"]
    if mode == "located":
        from ..locate import locate

        atoms = locate(sim.image, model=mat.name, pixel_size=sim.pixel_size_A)
    elif mode == "perturbed":
        atoms = perturb_like_locator(truth, species, rng)
    elif mode == "coords":
        atoms = coordinate_file_like(truth, rng, coord_sigma_A)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return atoms, truth


def match_targets(nodes: AtomTable, truth: AtomTable, labels: list[str], vacancy_label: str | None,
                  tolerance_A: float = MATCH_TOLERANCE_A) -> np.ndarray:
    """Per-node class index (background = len(labels)) or :data:`IGNORE` (see module docstring)."""
    target = np.full(len(nodes), IGNORE, dtype=np.int64)
    lookup = {label: k for k, label in enumerate(labels)}
    for vac in (False, True):
        ni = np.flatnonzero(nodes.vacancy == vac)
        ti = np.flatnonzero(truth.vacancy == vac)
        target[ni] = len(labels)  # unmatched: background (false atom / not a vacancy)
        if len(ni) == 0 or len(ti) == 0:
            continue
        d, j = cKDTree(truth.positions_A[ti]).query(nodes.positions_A[ni], distance_upper_bound=tolerance_A)
        _, back = cKDTree(nodes.positions_A[ni]).query(truth.positions_A[ti], distance_upper_bound=tolerance_A)
        ok = np.isfinite(d)
        ok[ok] &= back[j[ok]] == np.flatnonzero(ok)
        matched_labels = truth.label[ti[j[ok]]]
        idx = np.array([lookup.get(str(lbl), IGNORE) for lbl in matched_labels], dtype=np.int64)
        if vac:
            idx = np.where(matched_labels == vacancy_label, idx, len(labels))
        target[ni[ok]] = idx
    return target


@dataclass
class Example:
    """One encoded graph: node inputs, edges, edge inputs, targets and allowed-output mask."""

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    target: np.ndarray
    allowed: np.ndarray
    mode: str


def make_example(mat: Material, meta: dict, seed: int, mode: str, rng: np.random.Generator,
                 **kwargs) -> tuple[Example, object, AtomTable]:
    """Simulate, build the graph and encode one training example; returns (example, graph, truth)."""
    from ..graph import build_graph
    from . import allowed_mask

    atoms, truth = make_input(mat, seed, mode, rng, **kwargs)
    graph = build_graph(atoms, material=mat)
    nodes = graph.atoms
    x, edge_index, edge_attr = encode(graph, meta)
    target = match_targets(nodes, truth, meta["labels"], meta["vacancy_label"])
    allowed = allowed_mask(nodes.vacancy, meta["labels"], meta["vacancy_label"])
    return Example(x, edge_index, edge_attr, target, allowed, mode), graph, truth


def batch(examples: list[Example]) -> tuple[torch.Tensor, ...]:
    """Disjoint union of graphs as tensors (x, edge_index, edge_attr, target, allowed)."""
    offsets = np.cumsum([0] + [len(e.x) for e in examples[:-1]])
    x = np.concatenate([e.x for e in examples])
    edge_index = np.concatenate([e.edge_index + o for e, o in zip(examples, offsets)], axis=1)
    edge_attr = np.concatenate([e.edge_attr for e in examples])
    target = np.concatenate([e.target for e in examples])
    allowed = np.concatenate([e.allowed for e in examples])
    return (torch.from_numpy(x), torch.from_numpy(edge_index), torch.from_numpy(edge_attr),
            torch.from_numpy(target), torch.from_numpy(allowed))


# ------------------------------------------------------------------------------------------------ scoring
def node_scores(pred: np.ndarray, target: np.ndarray, names: list[str]) -> dict:
    """Per-class precision/recall over nodes with a target (background included) and the confusion matrix."""
    ok = target != IGNORE
    pred, target = pred[ok], target[ok]
    k = len(names)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (target, pred), 1)
    out = {}
    for c, name in enumerate(names):
        tp, n_pred, n_true = confusion[c, c], confusion[:, c].sum(), confusion[c].sum()
        if n_true == 0 and n_pred == 0:
            continue
        out[name or "(none)"] = {"precision": float(tp / n_pred) if n_pred else float("nan"),
                                 "recall": float(tp / n_true) if n_true else float("nan"),
                                 "n_true": int(n_true), "n_pred": int(n_pred)}
    return {"per_label": out, "confusion": confusion.tolist(), "classes": [n or "(none)" for n in names]}


def predict_examples(net: NodeClassifier, examples: list[Example]) -> np.ndarray:
    """Arg-max class per node of the concatenated examples (masked like at prediction time)."""
    with torch.inference_mode():
        preds = []
        for e in examples:
            x, ei, ea, _, allowed = batch([e])
            logits = net(x, ei, ea).masked_fill(~allowed, float("-inf"))
            preds.append(logits.argmax(1).numpy())
    return np.concatenate(preds) if preds else np.zeros(0, int)


# ----------------------------------------------------------------------------------------------- training
def _locator_available(name: str) -> bool:
    from ..weights import WEIGHTS_DIR

    return (WEIGHTS_DIR / f"locator-{name}.safetensors").is_file()


def _mode_weights(located: bool) -> dict:
    return {"located": 0.5, "perturbed": 0.2, "coords": 0.3} if located else {"perturbed": 0.6, "coords": 0.4}


def train_classifier(config: str | Path, output: str | Path, *, seed: int = 0, minutes: float | None = None,
                     progress: bool = True, force: bool = False, modes: dict | None = None) -> dict:
    """Train a classifier for the material of ``config`` and write ``output`` (.safetensors) + card (.json).

    Parameters
    ----------
    config : material config (YAML path or built-in name); an optional ``classifier:`` section overrides
        :data:`DEFAULTS` (hidden, layers, minutes, lr, ...).
    output : weights path; the card is written beside it with suffix ``.json``.
    seed : seed of data generation, initialization and batching.
    minutes : wall-clock budget (data generation + training); default 10.
    progress : show tqdm progress bars.
    force : overwrite existing output.
    modes : mode -> sampling weight (default: located 0.5 / perturbed 0.2 / coords 0.3 when locator weights
        exist, else perturbed 0.6 / coords 0.4).

    Returns
    -------
    dict
        The model card: name, material, labels, parameters, seeds, data description, held-out metrics, sha256.
    """
    from tqdm.auto import tqdm

    output = Path(output)
    if output.suffix != ".safetensors":
        raise AtomgraphInputError("classifier weights must be written to a .safetensors path", source=str(output))
    card_path = output.with_suffix(".json")
    output.parent.mkdir(parents=True, exist_ok=True)
    check_writable(output, force)
    check_writable(card_path, force)
    mat = get_material(config)
    settings = dict(DEFAULTS)
    settings.update(mat.config.get("classifier", {}) or {})
    if minutes is not None:
        settings["minutes"] = float(minutes)
    meta = material_meta(mat)
    labels = meta["labels"]
    names = labels + [""]
    modes = modes or _mode_weights(_locator_available(mat.name))
    mode_names = list(modes)
    mode_p = np.array([modes[m] for m in mode_names], float)
    mode_p /= mode_p.sum()
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small graphs: one thread is faster and leaves a core to the data/other jobs
    rng = np.random.default_rng(seed)
    budget_s = 60.0 * float(settings["minutes"])
    t0 = time.perf_counter()
    probe = make_example(mat, {**meta, "graph_features": []}, HELDOUT_SEED_OFFSET - 1, "coords",
                         np.random.default_rng(seed), size_px=96)[1]
    meta["graph_features"] = [str(name) for name in probe.feature_names]

    # held-out graphs first (fixed count), then training graphs until the data budget is spent
    heldout: list[Example] = []
    for i in range(int(settings["heldout_graphs"])):
        mode = mode_names[i % len(mode_names)]
        ex, _, _ = make_example(mat, meta, HELDOUT_SEED_OFFSET + i, mode, np.random.default_rng([seed, 7, i]),
                                size_px=256)
        heldout.append(ex)
    data: list[Example] = []
    data_budget = budget_s * float(settings["data_fraction"])
    lo_px, hi_px = settings["size_px"]
    bar = tqdm(total=int(settings["max_graphs"]), desc=f"simulate {mat.name}", disable=not progress)
    while len(data) < int(settings["max_graphs"]) and time.perf_counter() - t0 < data_budget:
        i = len(data)
        mode = mode_names[int(rng.choice(len(mode_names), p=mode_p))]
        ex, _, _ = make_example(mat, meta, TRAIN_SEED_OFFSET * (seed + 1) + i, mode, rng,
                                size_px=int(rng.integers(lo_px, hi_px + 1)))
        data.append(ex)
        bar.update(1)
    bar.close()
    t_data = time.perf_counter() - t0
    all_targets = np.concatenate([e.target for e in data])
    counts = np.bincount(all_targets[all_targets >= 0], minlength=len(names)).astype(float)
    weight = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1)) ** 0.25, 0.0)
    weight = weight / np.sum(weight * counts) * counts.sum()
    weight[-1] = min(weight[-1], 1.0)  # background: do not push real columns to "no label"
    log.info("class counts %s", dict(zip(names, counts.astype(int).tolist())))

    net = NodeClassifier(data[0].x.shape[1], len(names), N_RBF, hidden=int(settings["hidden"]),
                         layers=int(settings["layers"]))
    stacked = np.concatenate([e.x for e in data])
    mean, std = np.nanmean(stacked, axis=0), np.nanstd(stacked, axis=0)
    mean, std = np.nan_to_num(mean), np.nan_to_num(std, nan=1.0)
    net.set_input_scale(mean, std)
    for e in data + heldout:  # missing values (NaN) read as the mean, as at prediction time
        bad = ~np.isfinite(e.x)
        e.x[bad] = mean[np.nonzero(bad)[1]]
    optim = torch.optim.AdamW(net.parameters(), lr=float(settings["lr"]), weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight, dtype=torch.float32), ignore_index=IGNORE)
    train_budget = budget_s - (time.perf_counter() - t0)
    bs = int(settings["batch_graphs"])
    steps, epoch, losses = 0, 0, []
    t_train0 = time.perf_counter()
    bar = tqdm(total=int(train_budget), desc=f"train {mat.name}", unit="s", disable=not progress)
    done = False
    while not done:
        order = rng.permutation(len(data))
        for start in range(0, len(order), bs):
            elapsed = time.perf_counter() - t_train0
            if elapsed >= train_budget:
                done = True
                break
            frac = elapsed / train_budget
            for group in optim.param_groups:  # cosine decay over the time budget
                group["lr"] = float(settings["lr"]) * 0.5 * (1 + math.cos(math.pi * frac))
            x, ei, ea, target, allowed = batch([data[j] for j in order[start:start + bs]])
            logits = net(x, ei, ea).masked_fill(~allowed, -1e4)
            loss = loss_fn(logits, target)
            optim.zero_grad()
            loss.backward()
            optim.step()
            steps += 1
            losses.append(float(loss.detach()))
            if steps % 50 == 0:
                bar.n = int(elapsed)
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", epoch=epoch)
                bar.refresh()
        epoch += 1
    bar.close()
    torch.set_num_threads(threads)
    net.eval()
    t_total = time.perf_counter() - t0

    metrics = {}
    for mode in mode_names:
        subset = [e for e in heldout if e.mode == mode]
        if subset:
            pred = predict_examples(net, subset)
            metrics[mode] = node_scores(pred, np.concatenate([e.target for e in subset]), names)
    meta["label_elements"] = label_elements(mat)
    with atomic_path(output, force) as tmp:
        save_model(net, tmp, meta)
    sha = hashlib.sha256(output.read_bytes()).hexdigest()
    card = {
        "name": f"classifier-{mat.name}", "kind": "classifier", "material": mat.name, "labels": labels,
        "architecture": {**net.config, "type": "GINE-style edge-conditioned message passing, sum aggregation",
                         "inputs": "species evidence, vacancy flag, log relative intensity (image, species), "
                                   "intensity-known flag, detection score, the graph's node features "
                                   f"{meta['graph_features']}; edges: RBF of length/bond",
                         "cutoff_bonds": CUTOFF_BONDS, "bond_A": meta["bond_A"]},
        "parameters": n_parameters(net), "weights_bytes": output.stat().st_size, "sha256": sha,
        "training": {"seed": seed, "image_seeds": f"{TRAIN_SEED_OFFSET * (seed + 1)}..+{len(data) - 1}",
                     "graphs": len(data), "modes": {m: sum(e.mode == m for e in data) for m in mode_names},
                     "nodes": int(sum(len(e.x) for e in data)), "class_counts": dict(zip(
                         [n or "(none)" for n in names], counts.astype(int).tolist())),
                     "steps": steps, "epochs": epoch, "final_loss": float(np.mean(losses[-100:])),
                     "data_seconds": round(t_data, 1), "total_seconds": round(t_total, 1),
                     "settings": settings, "locator_used": "located" in mode_names},
        "data": __doc__.split("\n\n", 1)[1].strip(),
        "heldout": {"image_seeds": f"{HELDOUT_SEED_OFFSET}..+{len(heldout) - 1}", "size_px": 256,
                    "note": "fresh simulated images never used in training; node-level scores on matched nodes",
                    "metrics": metrics},
    }
    with atomic_output(card_path, force) as handle:
        handle.write(json.dumps(card, indent=1))
    log.info("wrote %s (%d parameters, %.0f s)", output, card["parameters"], t_total)
    return card


def label_elements(mat: Material) -> dict:
    """Label -> element it implies (host labels by sublattice, defect labels by recipe element); vacancy -> ''."""
    out = {}
    host = mat.config["lattice"]["host"]
    for role, label in mat.config["host_labels"].items():
        out[label] = host[role]
    for defect in mat.config["defects"]:
        if "element" in defect:
            out[defect["label"]] = defect["element"]
        elif defect["recipe"].endswith("single_vacancy"):
            out[defect["label"]] = host.get("chalcogen", "")
        else:
            out[defect["label"]] = ""
    return out
