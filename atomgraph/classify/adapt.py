"""Adapt a classifier to a user's own unlabeled frames by self-training (``atomgraph adapt``).

The paper refined its classes on experimental images; without labels, the way to do that is self-training. Each
frame is analyzed with the model; nodes the model is sure of (calibrated probability >= ``confidence``) and that
sit in a well-ordered lattice (``lattice_consistency`` >= 0.8) become pseudo-labeled targets, every other node is
ignored. The network is fine-tuned from its weights on those real graphs mixed with freshly simulated graphs (the
simulated half keeps every label anchored to its physics, so the confident majority cannot pull a rare label
away), then recalibrated on held-out simulations. The result is a model folder with the adapted classifier and a
copy of the locator, usable as ``--model MODEL_DIR`` everywhere a bundled name is.

What it can and cannot do: it adapts the network to the frames' appearance (noise, contrast, distortions, local
strain) where the model is already mostly right; it cannot teach a label the model never gets right with
confidence. Labeled data never enters: the targets are the model's own confident answers.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import AtomgraphInputError
from ..graph.occupancy import build_image_graph
from ..io.safe_write import OutputFolder, check_output_folder
from ..locate import locate
from ..materials import get_material
from ..models.paths import model_material, read_card, weights_path
from ..threads import training_threads
from . import allowed_mask, load_classifier, predict_proba, site_roles
from .calibration import calibrate
from .data import IGNORE, Example, make_example
from .encode import encode
from .model import read_classifier, save_model
from .train import CALIBRATION_SEED_OFFSET, class_weights, fit, locator_available

log = logging.getLogger(__name__)

ADAPT_SEED_OFFSET = 3_000_000   # simulated graphs mixed into adaptation: 3e6 + i (not training, held-out or tests)
MIN_CONSISTENCY = 0.8           # pseudo-labels only where the anchors agree on the lattice


def pseudo_labeled(image: np.ndarray, pixel_size_A: float, model: str | Path, confidence: float) -> Example:
    """One frame analyzed and encoded, with the model's confident answers as targets (others ignored)."""
    clf = load_classifier(model)
    atoms = locate(image, model=model, pixel_size_A=pixel_size_A)
    graph = build_image_graph(atoms, get_material(model_material(model)), image)
    probs = predict_proba(clf, graph)
    x, edge_index, edge_attr = encode(graph, clf.meta)
    best = np.argmax(probs, axis=1)
    sure = (probs.max(axis=1) >= confidence) & (graph.feature("lattice_consistency") >= MIN_CONSISTENCY)
    target = np.where(sure, best, IGNORE).astype(np.int64)
    return Example(x, edge_index, edge_attr, target, allowed_mask(graph.atoms, clf.meta, site_roles(graph)), "real")


def simulated(material, meta: dict, n: int, seed: int) -> list[Example]:
    """``n`` simulated training graphs (located when locator weights exist, else perturbed; a third coordinate
    style), seeds :data:`ADAPT_SEED_OFFSET` + i."""
    modes = ["located" if locator_available(material.name) else "perturbed", "located", "coords"]
    rng = np.random.default_rng([seed, 13])
    return [make_example(material, meta, ADAPT_SEED_OFFSET + i, modes[i % 3], rng,
                         size_px=int(rng.integers(160, 321)))[0] for i in range(n)]


def adapt_classifier(frames: list[tuple[np.ndarray, float]], model: str | Path, output: str | Path, *,
                     minutes: float = 5.0, confidence: float = 0.99, sim_graphs: int = 200, seed: int = 0,
                     progress: bool = True, force: bool = False) -> dict:
    """Self-train ``model``'s classifier on unlabeled ``frames`` and write a model folder ``output``.

    Parameters
    ----------
    frames : (image, pixel size in Å/px) pairs, 2D HAADF images.
    model : bundled name, weights path or model folder to start from.
    output : the model folder to write (``classifier-<material>.safetensors`` + card, and the locator copied).
    minutes : fine-tuning budget (the pseudo-labeling and simulation come on top).
    confidence : calibrated probability a node needs to become a pseudo-label.
    sim_graphs : simulated graphs mixed in (as many as the frames give graphs, at least this many).
    seed : seed of the simulated graphs and the batch order.

    Returns
    -------
    dict
        The card of the adapted classifier (source model and its sha256, frames, pseudo-label counts per label,
        calibration on held-out simulations).
    """
    output = Path(output)
    check_output_folder(output, force)
    _check_arguments(frames, confidence)
    t0 = time.perf_counter()
    clf = load_classifier(model)
    material = get_material(clf.material)
    net, meta = read_classifier(clf.path)
    from tqdm.auto import tqdm

    real = [pseudo_labeled(image, px, model, confidence)
            for image, px in tqdm(frames, desc="pseudo-label", unit="frame", disable=not progress)]
    counts = np.bincount(np.concatenate([e.target[e.target >= 0] for e in real]), minlength=len(clf.labels) + 1)
    if counts.sum() == 0:
        raise AtomgraphInputError(f"no node reached confidence {confidence}: nothing to adapt to")
    sim = simulated(material, meta, max(sim_graphs, len(real)), seed)
    calib = [make_example(material, meta, CALIBRATION_SEED_OFFSET + i, "located" if i % 2 else "coords",
                          np.random.default_rng([seed, 11, i]), size_px=256)[0] for i in range(12)]
    settings = dict(material.config["classifier"])
    settings["lr"] = float(settings["lr"]) / 3.0  # fine-tuning: a third of the training rate
    weight, _ = class_weights(sim, len(clf.labels) + 1)
    with training_threads():
        net.train()
        torch.manual_seed(seed)
        training = fit(net, real + sim, settings, weight, 60.0 * float(minutes), np.random.default_rng([seed, 5]),
                       progress)
        cal = calibrate(net, calib)
    meta = {**meta, "temperature": cal["temperature"], "threshold": cal["threshold"]}
    adaptation = {"frames": len(frames), "confidence": confidence, "min_consistency": MIN_CONSISTENCY,
                  "pseudo_labels": dict(zip([n or "(none)" for n in clf.labels + [""]], counts.tolist())),
                  "simulated_graphs": len(sim), "simulated_seeds": f"{ADAPT_SEED_OFFSET}..+{len(sim) - 1}",
                  "settings": settings, **training, "seconds": round(time.perf_counter() - t0, 1)}
    card = _adapted_card(clf, material.name, model, adaptation, cal, meta["graph_version"])
    with OutputFolder(output, force) as tmp:  # the folder appears only when everything is written
        card = save_model(net, tmp / f"classifier-{material.name}.safetensors", meta, card)
        locator = weights_path("locator", model)
        for path in (locator, locator.with_suffix(".json")):
            shutil.copyfile(path, tmp / f"locator-{material.name}{path.suffix}")
    log.info("adapted %s on %d frames (%d pseudo-labels) -> %s", clf.material, len(frames), int(counts.sum()), output)
    return card


def _adapted_card(clf, material: str, model: str | Path, adaptation: dict, calibration: dict,
                  graph_version: int) -> dict:
    """The model card of an adapted classifier: what it was adapted from (name and sha256), how, and its
    calibration on held-out simulations."""
    source = read_card(Path(clf.path))
    return {"name": f"classifier-{material}", "kind": "classifier", "material": material, "labels": clf.labels,
            "adapted_from": {"model": str(model), "sha256": source.get("sha256")}, "adaptation": adaptation,
            "calibration": calibration, "graph_version": graph_version}


def _check_arguments(frames: list, confidence: float) -> None:
    """At least one frame, and a pseudo-label confidence in [0.5, 1)."""
    if not frames:
        raise AtomgraphInputError("adapt needs at least one frame")
    if not 0.5 <= confidence < 1.0:
        raise AtomgraphInputError(f"confidence must be in [0.5, 1), got {confidence!r}")
