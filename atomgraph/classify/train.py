"""Train the node classifier on simulated data and write safetensors weights with a model card.

Steps of a screen each: :func:`make_dataset` (training, held-out and calibration graphs from
:mod:`atomgraph.classify.data`), :func:`fit` (AdamW, cosine decay over a time or step budget),
:func:`atomgraph.classify.calibration.calibrate` (temperature and uncertainty threshold), :func:`model_card`.
Train, held-out and calibration images use disjoint seed ranges.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import AtomgraphInputError
from ..graph import GRAPH_VERSION
from ..io.safe_write import check_writable
from ..materials import Material, get_material
from ..models.files import n_parameters
from ..models.paths import WEIGHTS_DIR
from ..threads import training_threads
from . import data as data_module
from .calibration import calibrate
from .data import IGNORE, Example, batch, make_example, masked_logits, material_meta
from .model import NodeClassifier, save_model

log = logging.getLogger(__name__)

TRAIN_SEED_OFFSET = 1_000_000      # training images: seeds 1e6 * (seed + 1) + i
HELDOUT_SEED_OFFSET = 500_000      # held-out images in the card: 5e5 + i (benchmarks use 9e5 + i)


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
    logits, _ = masked_logits(net, examples)
    return logits.argmax(1) if len(logits) else np.zeros(0, int)


def locator_available(name: str) -> bool:
    return (WEIGHTS_DIR / f"locator-{name}.safetensors").is_file()


def _mode_weights(located: bool) -> dict:
    return {"located": 0.5, "perturbed": 0.2, "coords": 0.3} if located else {"perturbed": 0.6, "coords": 0.4}


CALIBRATION_SEED_OFFSET = 600_000  # calibration images: 6e5 + i (neither training nor held-out)


def _settings(mat: Material, minutes: float | None) -> dict:
    """The config's ``classifier:`` section with its defaults (:class:`atomgraph.config.ClassifierConfig`), as a
    plain dict for the card; ``minutes`` overrides the budget."""
    settings = dict(mat.config["classifier"])
    if minutes is not None:
        settings["minutes"] = float(minutes)
    return settings


def make_dataset(mat: Material, meta: dict, settings: dict, modes: dict, seed: int, budget_s: float,
                 progress: bool, locator: str | Path | None = None) -> tuple[list[Example], list[Example],
                                                                             list[Example]]:
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
                                    np.random.default_rng([seed, salt, i]), size_px=256, locator=locator)[0]
                       for i in range(int(settings["heldout_graphs"]))]
    rng = np.random.default_rng(seed)
    lo_px, hi_px = settings["size_px"]
    data: list[Example] = []
    bar = tqdm(total=int(settings["max_graphs"]), desc=f"simulate {mat.name}", disable=not progress)
    while len(data) < int(settings["max_graphs"]) and time.perf_counter() - t0 < budget_s:
        mode = names[int(rng.choice(len(names), p=p))]
        data.append(make_example(mat, meta, TRAIN_SEED_OFFSET * (seed + 1) + len(data), mode, rng,
                                 size_px=int(rng.integers(lo_px, hi_px + 1)), locator=locator)[0])
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



def train_classifier(config: str | Path, output: str | Path, *, seed: int = 0, minutes: float | None = None,
                     progress: bool = True, force: bool = False, modes: dict | None = None,
                     locator: str | Path | None = None) -> dict:
    """Train a classifier for the material of ``config`` and write ``output`` (.safetensors) + card (.json).

    Parameters
    ----------
    config : material config (YAML path or built-in name); an optional ``classifier:`` section overrides
        the defaults of :class:`atomgraph.config.ClassifierConfig` (hidden, layers, minutes, steps, lr, ...).
    output : weights path; the card is written beside it with suffix ``.json``.
    seed : seed of data generation, initialization and batching.
    minutes : wall-clock budget (data generation + training); default 10.
    progress : show tqdm progress bars.
    force : overwrite existing output.
    modes : mode -> sampling weight (default: located 0.5 / perturbed 0.2 / coords 0.3 when locator weights
        exist, else perturbed 0.6 / coords 0.4).
    locator : locator weights for the ``located`` graphs (default: the bundled locator of the material).

    Returns
    -------
    dict
        The model card: name, material, labels, parameters, seeds, data, held-out metrics, calibration, sha256.
    """
    output = _checked_output(output, force)
    mat = get_material(config)
    settings = _settings(mat, minutes)
    meta = material_meta(mat)
    names = meta["labels"] + [""]
    modes = modes or _mode_weights(locator is not None or locator_available(mat.name))
    budget_s = 60.0 * float(settings["minutes"])
    t0 = time.perf_counter()
    probe = make_example(mat, {**meta, "node_features": [], "edge_features": []}, HELDOUT_SEED_OFFSET - 1,
                         "coords", np.random.default_rng(seed), size_px=96)[1]
    meta["node_features"] = [str(x) for x in probe.feature_names]
    meta["edge_features"] = [str(x) for x in probe.edge_feature_names]
    torch.manual_seed(seed)
    with training_threads():
        data, heldout, calibration = make_dataset(mat, meta, settings, modes, seed,
                                                  budget_s * float(settings["data_fraction"]), progress, locator)
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
    metrics = _heldout_metrics(net, heldout, modes, names)
    card = save_model(net, output, meta, model_card(mat, net, meta, settings, seed, data, heldout, counts, names,
                                                    training, cal, metrics, t_data, time.perf_counter() - t0), force)
    log.info("wrote %s (%d parameters, %.0f s)", output, card["parameters"], card["training"]["total_seconds"])
    return card


def model_card(mat, net, meta, settings, seed, data, heldout, counts, names, training, cal, metrics, t_data,
               t_total) -> dict:
    """The JSON card written beside the weights (what was trained on what, and how it scored on held-out data)."""
    return {
        "name": f"classifier-{mat.name}", "kind": "classifier", "material": mat.name, "labels": meta["labels"],
        "graph_version": GRAPH_VERSION,
        "architecture": {**net.config, "type": "GINEConv message passing with residuals, sum aggregation",
                         "node_inputs": meta["node_features"], "edge_inputs": meta["edge_features"]},
        "parameters": n_parameters(net),
        "training": {"seed": seed, "image_seeds": f"{TRAIN_SEED_OFFSET * (seed + 1)}..+{len(data) - 1}",
                     "graphs": len(data),
                     "modes": {m: sum(e.mode == m for e in data) for m in sorted({e.mode for e in data})},
                     "nodes": int(sum(len(e.x) for e in data)),
                     "class_counts": dict(zip([n or "(none)" for n in names], counts.astype(int).tolist())),
                     **training, "data_seconds": round(t_data, 1), "total_seconds": round(t_total, 1),
                     "settings": settings},
        "data": data_module.__doc__.split("\n\n", 1)[1].strip(),
        "calibration": {"image_seeds": f"{CALIBRATION_SEED_OFFSET}..+{len(heldout) - 1}", **cal},
        "heldout": {"image_seeds": f"{HELDOUT_SEED_OFFSET}..+{len(heldout) - 1}", "size_px": 256,
                    "note": "fresh simulated images never used in training; node-level scores on matched nodes "
                            "(arg max, so calibration does not change them)", "metrics": metrics},
    }


def _checked_output(output: str | Path, force: bool) -> Path:
    """The weights path, once it is a ``.safetensors`` path whose file and card (``.json``) may be written."""
    output = Path(output)
    if output.suffix != ".safetensors":
        raise AtomgraphInputError("classifier weights must be written to a .safetensors path", source=str(output))
    output.parent.mkdir(parents=True, exist_ok=True)
    check_writable(output, force)
    check_writable(output.with_suffix(".json"), force)
    return output


def _heldout_metrics(net: NodeClassifier, heldout: list[Example], modes: dict, names: list[str]) -> dict:
    """Node-level scores per input mode on the held-out graphs (modes without held-out graphs are left out)."""
    metrics = {}
    for mode in modes:
        subset = [e for e in heldout if e.mode == mode]
        if subset:
            metrics[mode] = node_scores(predict_examples(net, subset), np.concatenate([e.target for e in subset]),
                                        names)
    return metrics
