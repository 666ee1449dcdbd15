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
from ..graph import GRAPH_VERSION
from .encode import encode
from ..threads import training_threads
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
    """What a model needs to read a graph of ``mat`` (stored in the weights' metadata); the feature names are
    added from the first graph built (:func:`train_classifier`)."""
    graph_cfg = mat.config.get("graph", {})
    intensity_labels = [d["label"] for d in mat.config["defects"] if d["recipe"].endswith("single_vacancy")]
    return {"material": mat.name, "labels": mat.labels, "vacancy_label": graph_cfg.get("vacancy_label"),
            "graph_version": GRAPH_VERSION, "bond_A": float(mat.bond_A), "label_elements": label_elements(mat),
            "intensity_labels": intensity_labels}


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


def add_spurious_near_dopants(atoms: AtomTable, truth: AtomTable, host: set[str], bond_A: float,
                               rng: np.random.Generator, p: float = 0.3) -> AtomTable:
    """Add false columns 1.27-1.62 bonds (graphene: 1.8-2.3 Å) from some dopant columns, at random angles.

    On real frames a spurious column or a slightly displaced neighbor next to a threefold Si is what made
    distance-counting call it fourfold; the lattice model says where the sites are, and these examples teach the
    classifier to trust it. Each dopant gets one with probability ``p``; they are kept 0.8 Å from any column.
    """
    dopant = ~truth.vacancy & ~np.isin(truth.element.astype(str), list(host))
    centers = truth.positions_A[dopant]
    centers = centers[rng.random(len(centers)) < p]
    if len(centers) == 0 or len(atoms) == 0:
        return atoms
    angle = rng.uniform(0, 2 * np.pi, len(centers))
    radius = rng.uniform(1.27, 1.62, len(centers)) * bond_A
    cand = centers + radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    cand = cand[cKDTree(truth.positions_A).query(cand)[0] > 0.8]
    if len(cand) == 0:
        return atoms
    m = len(cand)
    host_el = sorted(host)[0]
    extra = {}
    for key, value in atoms.extra.items():
        value = np.asarray(value)
        fill = (np.full(m, float(key == f"p_{host_el}")) if key.startswith("p_")
                else np.zeros((m,) + value.shape[1:], value.dtype))
        extra[key] = np.concatenate([value, fill])
    med = float(np.nanmedian(atoms.intensity)) if np.isfinite(atoms.intensity).any() else np.nan
    return AtomTable(np.vstack([atoms.positions_A, cand]), np.r_[atoms.element, np.full(m, host_el, dtype=object)],
                     pixel_size_A=atoms.pixel_size_A, score=np.r_[atoms.score, rng.uniform(0.3, 0.9, m)],
                     intensity=np.r_[atoms.intensity, med * rng.uniform(0.3, 1.0, m)], extra=extra,
                     image_shape_px=atoms.image_shape_px)


def make_input(mat: Material, seed: int, mode: str, rng: np.random.Generator, *, size_px: int = 256,
               dose: float | None = None, boost: bool = True, coord_sigma_A: float | None = None,
               spurious: bool = True):
    """(input atoms, truth) for one simulated image; ``mode`` one of :data:`MODES`. ``spurious``: half of the
    located and perturbed inputs get false columns next to dopants (:func:`add_spurious_near_dopants`)."""
    from ..graph.features import species_classes
    from ..simulate import simulate

    counts = boosted_counts(mat, rng) if boost else None
    sim = simulate(mat.config, size=size_px, dose=dose, seed=int(seed), counts=counts)
    truth = sim.truth
    if mode == "located":
        from ..locate import locate

        atoms = locate(sim.image, model=mat.name, pixel_size=sim.pixel_size_A)
    elif mode == "perturbed":
        atoms = perturb_like_locator(truth, species_classes(mat), rng)
        atoms.image_shape_px = sim.image.shape
    elif mode == "coords":
        atoms = coordinate_file_like(truth, rng, coord_sigma_A)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if spurious and mode != "coords" and rng.random() < 0.5:
        host = set(mat.config["lattice"]["host"].values())
        atoms = add_spurious_near_dopants(atoms, truth, host, mat.bond_A, rng)
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
    # a located column on an empty site (a faint false detection where both chalcogens are missing) is that site
    vac_truth = np.flatnonzero(truth.vacancy & (truth.label == vacancy_label)) if vacancy_label else []
    loose = np.flatnonzero(~nodes.vacancy & (target == len(labels)))
    if len(vac_truth) and len(loose):
        d, _ = cKDTree(truth.positions_A[vac_truth]).query(nodes.positions_A[loose], distance_upper_bound=tolerance_A)
        target[loose[np.isfinite(d)]] = lookup[vacancy_label]
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
    allowed = allowed_mask(nodes, meta)
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


CALIBRATION_SEED_OFFSET = 600_000  # calibration images: 6e5 + i (neither training nor held-out)
RIGHT_FLAGGED_MAX = 0.015          # the uncertainty threshold flags at most this fraction of right labels


def _settings(mat: Material, minutes: float | None) -> dict:
    settings = dict(DEFAULTS)
    settings.update(mat.config.get("classifier", {}) or {})
    if minutes is not None:
        settings["minutes"] = float(minutes)
    return settings


def make_dataset(mat: Material, meta: dict, settings: dict, modes: dict, seed: int, budget_s: float,
                 progress: bool) -> tuple[list[Example], list[Example], list[Example]]:
    """(training, held-out, calibration) examples: fixed held-out and calibration sets, then training graphs
    until ``budget_s`` seconds or ``settings['max_graphs']``."""
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    names = list(modes)
    p = np.array([modes[m] for m in names], float)
    p /= p.sum()
    fixed = {}
    for kind, offset, salt in (("heldout", HELDOUT_SEED_OFFSET, 7), ("calibration", CALIBRATION_SEED_OFFSET, 11)):
        fixed[kind] = [make_example(mat, meta, offset + i, names[i % len(names)],
                                    np.random.default_rng([seed, salt, i]), size_px=256)[0]
                       for i in range(int(settings["heldout_graphs"]))]
    rng = np.random.default_rng(seed)
    lo_px, hi_px = settings["size_px"]
    data: list[Example] = []
    bar = tqdm(total=int(settings["max_graphs"]), desc=f"simulate {mat.name}", disable=not progress)
    while len(data) < int(settings["max_graphs"]) and time.perf_counter() - t0 < budget_s:
        mode = names[int(rng.choice(len(names), p=p))]
        data.append(make_example(mat, meta, TRAIN_SEED_OFFSET * (seed + 1) + len(data), mode, rng,
                                 size_px=int(rng.integers(lo_px, hi_px + 1)))[0])
        bar.update(1)
    bar.close()
    return data, fixed["heldout"], fixed["calibration"]


def class_weights(data: list[Example], n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class loss weights (inverse frequency to the 1/4 power; background at most 1) and the class counts."""
    targets = np.concatenate([e.target for e in data])
    counts = np.bincount(targets[targets >= 0], minlength=n_classes).astype(float)
    weight = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1)) ** 0.25, 0.0)
    weight = weight / np.sum(weight * counts) * counts.sum()
    weight[-1] = min(weight[-1], 1.0)  # background: do not push real columns to "no label"
    return weight, counts


def fit(net: NodeClassifier, data: list[Example], settings: dict, weight: np.ndarray, budget_s: float,
        rng: np.random.Generator, progress: bool) -> dict:
    """Train ``net`` on ``data`` for ``budget_s`` seconds (or ``settings['steps']``), AdamW with cosine decay."""
    from tqdm.auto import tqdm

    optim = torch.optim.AdamW(net.parameters(), lr=float(settings["lr"]), weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight, dtype=torch.float32), ignore_index=IGNORE)
    max_steps = int(settings.get("steps") or 0) or None
    bs = int(settings["batch_graphs"])
    steps, epoch, losses = 0, 0, []
    t0 = time.perf_counter()
    bar = tqdm(total=int(budget_s), desc="train", unit="s", disable=not progress)
    while True:
        order = rng.permutation(len(data))
        for start in range(0, len(data), bs):
            elapsed = time.perf_counter() - t0
            frac = steps / max_steps if max_steps else elapsed / budget_s
            if frac >= 1.0:
                bar.close()
                net.eval()
                return {"steps": steps, "epochs": epoch, "final_loss": float(np.mean(losses[-100:] or [np.nan]))}
            for group in optim.param_groups:  # cosine decay over the budget
                group["lr"] = float(settings["lr"]) * 0.5 * (1 + math.cos(math.pi * frac))
            x, ei, ea, target, allowed = batch([data[j] for j in order[start:start + bs]])
            loss = loss_fn(net(x, ei, ea).masked_fill(~allowed, -1e4), target)
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


def _logits(net: NodeClassifier, examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Masked logits (nodes with a target only) and their targets, concatenated over ``examples``."""
    out, targets = [], []
    with torch.inference_mode():
        for e in examples:
            x, ei, ea, target, allowed = batch([e])
            logits = net(x, ei, ea).masked_fill(~allowed, -1e4).numpy()
            keep = e.target != IGNORE
            out.append(logits[keep])
            targets.append(e.target[keep])
    return np.concatenate(out), np.concatenate(targets)


def expected_calibration_error(prob: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-label probability: sum over equal-width bins of |accuracy - confidence| x bin fraction."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - prob[sel].mean())
    return float(ece)


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def calibrate(net: NodeClassifier, examples: list[Example]) -> dict:
    """Temperature (grid search on the negative log-likelihood) and the uncertainty threshold of held-out
    calibration graphs, with the expected calibration error before and after and the flag rates."""
    logits, target = _logits(net, examples)
    temps = np.exp(np.linspace(np.log(0.5), np.log(8.0), 61))
    nll = [-np.mean(np.log(_softmax(logits, t)[np.arange(len(target)), target] + 1e-12)) for t in temps]
    temperature = float(temps[int(np.argmin(nll))])
    out = {"temperature": temperature, "n_nodes": int(len(target))}
    for name, t in (("before", 1.0), ("after", temperature)):
        p = _softmax(logits, t)
        out[f"ece_{name}"] = expected_calibration_error(p.max(1), p.argmax(1) == target)
    p = _softmax(logits, temperature)
    best, right = p.max(1), p.argmax(1) == target
    candidates = np.sort(best[right])
    k = int(np.floor(RIGHT_FLAGGED_MAX * len(candidates)))
    threshold = float(min(candidates[k], 0.999)) if len(candidates) else 0.5
    threshold = max(threshold, 0.5)
    out.update(threshold=threshold, right_flagged=float(np.mean(best[right] < threshold)) if right.any() else 0.0,
               wrong_flagged=float(np.mean(best[~right] < threshold)) if (~right).any() else float("nan"),
               n_wrong=int((~right).sum()))
    return out


def train_classifier(config: str | Path, output: str | Path, *, seed: int = 0, minutes: float | None = None,
                     progress: bool = True, force: bool = False, modes: dict | None = None) -> dict:
    """Train a classifier for the material of ``config`` and write ``output`` (.safetensors) + card (.json).

    Parameters
    ----------
    config : material config (YAML path or built-in name); an optional ``classifier:`` section overrides
        :data:`DEFAULTS` (hidden, layers, minutes, steps, lr, ...).
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
        The model card: name, material, labels, parameters, seeds, data, held-out metrics, calibration, sha256.
    """
    output = Path(output)
    if output.suffix != ".safetensors":
        raise AtomgraphInputError("classifier weights must be written to a .safetensors path", source=str(output))
    card_path = output.with_suffix(".json")
    output.parent.mkdir(parents=True, exist_ok=True)
    check_writable(output, force)
    check_writable(card_path, force)
    mat = get_material(config)
    settings = _settings(mat, minutes)
    meta = material_meta(mat)
    names = meta["labels"] + [""]
    modes = modes or _mode_weights(_locator_available(mat.name))
    budget_s = 60.0 * float(settings["minutes"])
    t0 = time.perf_counter()
    probe = make_example(mat, {**meta, "node_features": [], "edge_features": []}, HELDOUT_SEED_OFFSET - 1,
                         "coords", np.random.default_rng(seed), size_px=96)[1]
    meta["node_features"] = [str(x) for x in probe.feature_names]
    meta["edge_features"] = [str(x) for x in probe.edge_feature_names]
    torch.manual_seed(seed)
    with training_threads():
        data, heldout, calibration = make_dataset(mat, meta, settings, modes, seed,
                                                  budget_s * float(settings["data_fraction"]), progress)
        t_data = time.perf_counter() - t0
        weight, counts = class_weights(data, len(names))
        net = NodeClassifier(data[0].x.shape[1], len(names), data[0].edge_attr.shape[1],
                             hidden=int(settings["hidden"]), layers=int(settings["layers"]))
        stacked = np.concatenate([e.x for e in data])
        net.set_input_scale(stacked.mean(axis=0), stacked.std(axis=0))
        training = fit(net, data, settings, weight, budget_s - (time.perf_counter() - t0),
                       np.random.default_rng([seed, 3]), progress)
        cal = calibrate(net, calibration)
    meta.update(temperature=cal["temperature"], threshold=cal["threshold"])
    metrics = {}
    for mode in modes:
        subset = [e for e in heldout if e.mode == mode]
        if subset:
            metrics[mode] = node_scores(predict_examples(net, subset), np.concatenate([e.target for e in subset]),
                                        names)
    with atomic_path(output, force) as tmp:
        save_model(net, tmp, meta)
    card = model_card(mat, net, output, meta, settings, seed, data, heldout, counts, names, training, cal, metrics,
                      t_data, time.perf_counter() - t0)
    with atomic_output(card_path, force) as handle:
        handle.write(json.dumps(card, indent=1))
    log.info("wrote %s (%d parameters, %.0f s)", output, card["parameters"], card["training"]["total_seconds"])
    return card


def model_card(mat, net, output, meta, settings, seed, data, heldout, counts, names, training, cal, metrics,
               t_data, t_total) -> dict:
    """The JSON card written beside the weights (what was trained on what, and how it scored on held-out data)."""
    return {
        "name": f"classifier-{mat.name}", "kind": "classifier", "material": mat.name, "labels": meta["labels"],
        "graph_version": GRAPH_VERSION,
        "architecture": {**net.config, "type": "GINEConv message passing with residuals, sum aggregation",
                         "node_inputs": meta["node_features"], "edge_inputs": meta["edge_features"]},
        "parameters": n_parameters(net), "weights_bytes": output.stat().st_size,
        "sha256": hashlib.sha256(output.read_bytes()).hexdigest(),
        "training": {"seed": seed, "image_seeds": f"{TRAIN_SEED_OFFSET * (seed + 1)}..+{len(data) - 1}",
                     "graphs": len(data), "modes": {m: sum(e.mode == m for e in data) for m in set(e.mode for e in data)},
                     "nodes": int(sum(len(e.x) for e in data)),
                     "class_counts": dict(zip([n or "(none)" for n in names], counts.astype(int).tolist())),
                     **training, "data_seconds": round(t_data, 1), "total_seconds": round(t_total, 1),
                     "settings": settings},
        "data": __doc__.split("\n\n", 1)[1].strip(),
        "calibration": {"image_seeds": f"{CALIBRATION_SEED_OFFSET}..+{len(heldout) - 1}", **cal},
        "heldout": {"image_seeds": f"{HELDOUT_SEED_OFFSET}..+{len(heldout) - 1}", "size_px": 256,
                    "note": "fresh simulated images never used in training; node-level scores on matched nodes "
                            "(arg max, so calibration does not change them)", "metrics": metrics},
    }


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
