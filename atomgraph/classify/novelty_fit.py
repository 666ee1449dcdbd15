"""Fit a classifier's novelty statistics on fresh simulations of its own config: ``atomgraph train novelty``.

Two disjoint sets of simulated 256² graphs as the model reads them in use (two thirds atoms located by its locator
in simulated images, one third coordinate files; without the training-only augmentation that adds false columns
next to dopants, whose long tail would hide real novelties):
the *fit* set (seeds :data:`FIT_SEED_OFFSET` + i) gives the class Gaussians, the *threshold* set (seeds
:data:`THRESHOLD_SEED_OFFSET` + i) the per-class thresholds (:mod:`atomgraph.classify.novelty`). Neither overlaps
the training (1e6+), held-out (5e5+), calibration (6e5+), adaptation (3e6+) or benchmark (9e5+) seeds.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError
from .data import IGNORE, make_example
from .novelty import (
    BACKGROUND_ATOM,
    BACKGROUND_VACANCY,
    GIVEN_SUFFIX,
    QUANTILES,
    NoveltyStats,
    class_kind,
    class_thresholds,
    context_features,
    fit_gaussians,
    node_descriptors,
    novelty_path,
    save_novelty,
)

log = logging.getLogger(__name__)

FIT_SEED_OFFSET = 4_000_000
THRESHOLD_SEED_OFFSET = 4_500_000


def _modes(model: str | Path) -> list[str]:
    """The inputs the model reads in use, as a cycle of modes: atoms its locator finds in simulated images, and
    coordinate files (truth + noise). Without a locator, perturbed truth stands in for located atoms."""
    from ..weights import weights_path

    try:
        weights_path("locator", model)
    except AtomgraphInputError:
        return ["perturbed", "coords"]
    return ["located", "located", "coords"]


def collect(clf, material, model: str | Path, n_graphs: int, seed_offset: int, seed: int, progress: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors (N, D), class index (N,)) of the matched nodes of ``n_graphs`` simulated graphs.

    Classes: the labels in order, then :data:`BACKGROUND_ATOM` (a real node matching no column) and
    :data:`BACKGROUND_VACANCY` (a vacancy node matching no empty truth site), then the labels again for the nodes of
    coordinate-file graphs (given elements); unmatched-by-rule nodes are skipped.
    """
    from tqdm.auto import tqdm

    n_labels = len(clf.labels)
    modes = _modes(model)
    rng = np.random.default_rng([seed, seed_offset])
    locator = model if Path(str(model)).exists() else None
    descs, classes = [], []
    for i in tqdm(range(n_graphs), desc=f"novelty {material.name}", disable=not progress, unit="graph"):
        example, graph, _ = make_example(material, clf.meta, seed_offset + i, modes[i % len(modes)], rng,
                                         size_px=256, locator=locator, spurious=False)
        _, desc = node_descriptors(clf.net, example.x, example.edge_index, example.edge_attr,
                                   context_features(clf.meta))
        target = example.target.copy()
        target[(target == n_labels) & np.asarray(graph.atoms.vacancy, bool)] = n_labels + 1
        if modes[i % len(modes)] == "coords":   # given elements: the second set of classes
            target[(target >= 0) & (target < n_labels)] += n_labels + 2
        keep = target != IGNORE
        descs.append(desc[keep])
        classes.append(target[keep])
    return np.concatenate(descs), np.concatenate(classes)


def fit_novelty(model: str | Path, *, fit_graphs: int = 240, threshold_graphs: int = 120, seed: int = 0,
                output: str | Path | None = None, progress: bool = True, force: bool = True) -> dict:
    """Fit and write the novelty statistics of ``model`` (a bundled name or a model folder / classifier path).

    Parameters
    ----------
    model : bundled model name, model folder, or classifier ``.safetensors``.
    fit_graphs, threshold_graphs : simulated 256² graphs for the Gaussians and for the thresholds.
    seed : seed of the simulation draws (the image seeds are fixed offsets + i).
    output : where to write (default: :func:`atomgraph.classify.novelty.novelty_path` beside the classifier).

    Returns
    -------
    dict
        The card written beside the statistics (classes, thresholds, node counts, held-out flag rates, seconds).
    """
    from ..materials import get_material
    from ..weights import model_material, read_card
    from . import load_classifier

    if fit_graphs < 10 or threshold_graphs < 10:
        raise AtomgraphInputError("novelty fitting needs at least 10 fit and 10 threshold graphs")
    t0 = time.perf_counter()
    clf = load_classifier(model)
    material = get_material(model_material(model))
    names = clf.labels + [BACKGROUND_ATOM, BACKGROUND_VACANCY] + [f"{x}{GIVEN_SUFFIX}" for x in clf.labels]
    fitted = [n if n in clf.labels or n.endswith(GIVEN_SUFFIX) else "" for n in names]
    desc, cls = collect(clf, material, model, fit_graphs, FIT_SEED_OFFSET, seed, progress)
    # the background classes (false atoms, unlabeled empty sites) are what the classifier rejects, not structures
    # it knows: a broad catch-all Gaussian there absorbed unseen structures (Si dimers sat inside it)
    kept, center, scale, mean, whiten = fit_gaussians(desc, cls, fitted)
    remap = np.array([kept.index(n) if n in kept else -1 for n in names])
    kinds = [class_kind(n, material.host_labels) for n in kept]
    stats = NoveltyStats(kept, center, scale, mean, whiten, np.ones(len(kept), np.float32), {})
    cal_desc, cal_names = collect(clf, material, model, threshold_graphs, THRESHOLD_SEED_OFFSET, seed, progress)
    cal_cls = remap[cal_names]
    distances = stats.distances(cal_desc)
    stats.threshold = class_thresholds(distances, cal_cls, kinds)
    score = (distances / stats.threshold).min(axis=1)
    flagged = {n: float(np.mean(score[cal_names == c] > 1.0)) for c, n in enumerate(names)
               if (cal_names == c).any()}
    stats.meta = {
        "material": material.name, "classifier": Path(clf.path).name,
        "classifier_sha256": read_card(Path(clf.path)).get("sha256"),
        "descriptor": f"GNN last embedding ({clf.net.config['hidden']}) + standardized node inputs "
                      f"({clf.net.config['n_inputs']}) + neighbors' mean of "
                      f"{[clf.meta['node_features'][k] for k in context_features(clf.meta)]}",
        "classes": kept, "kinds": kinds, "quantiles": QUANTILES, "thresholds": stats.threshold.tolist(),
        "fit": {"image_seeds": f"{FIT_SEED_OFFSET}..+{fit_graphs - 1}", "seed": seed,
                "nodes": {n: int((remap[cls] == c).sum()) for c, n in enumerate(kept)}},
        "threshold_set": {"image_seeds": f"{THRESHOLD_SEED_OFFSET}..+{threshold_graphs - 1}",
                          "nodes": {n: int((cal_names == c).sum()) for c, n in enumerate(names)},
                          "flagged_novel": flagged},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    path = Path(output) if output is not None else novelty_path(clf.path)
    card = save_novelty(stats, path, force=force)
    log.info("novelty statistics for %s -> %s", material.name, path)
    return {"path": str(path), **card}
