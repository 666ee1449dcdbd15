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
from ..models.model import resolve_model
from ..models.paths import read_card, weights_path
from . import site_roles
from .data import IGNORE, make_example
from .novelty import (BACKGROUND_ATOM, BACKGROUND_VACANCY, GIVEN_SUFFIX, MIN_RECENTER, NoveltyStats, QUANTILES,
                      class_kind, class_thresholds, context_features, fit_gaussians, node_descriptors, novelty_path,
                      robust_variance, save_novelty)
from .novelty_checks import (CHECK_QUANTILES, MIN_REFERENCE, check_labels, fit_checks, local_reference,
                             readable_intensity, vacancy_cluster_size)

log = logging.getLogger(__name__)

FIT_SEED_OFFSET = 4_000_000
THRESHOLD_SEED_OFFSET = 4_500_000


def _locator_of(model: str | Path, material) -> str | Path | None:
    """The locator whose output the classifier reads: a bundled name's own; a model folder's ``locator-*`` file; for
    a classifier file, the one ``locator-*`` file beside it, else its material's bundled locator; None without one
    (then perturbed truth stands in for located atoms)."""
    path = Path(str(model))
    if path.suffix == ".safetensors":
        beside = sorted(path.parent.glob("locator-*.safetensors"))
        model = beside[0] if len(beside) == 1 else material.name
    try:
        return weights_path("locator", model)
    except AtomgraphInputError:
        return None


def _modes(locator: str | Path | None) -> list[str]:
    """The inputs the model reads in use, as a cycle of modes: atoms its locator finds in simulated images, and
    coordinate files (truth + noise). Without a locator, perturbed truth stands in for located atoms."""
    return ["located", "located", "coords"] if locator is not None else ["perturbed", "coords"]


def collect(clf, material, model: str | Path, n_graphs: int, seed_offset: int, seed: int, progress: bool
            ) -> list[dict]:
    """Per simulated graph (``n_graphs`` of them) the inputs of the novelty statistics, one entry per node.

    ``desc`` (N, D) descriptors; ``cls`` class index: the labels in order, then :data:`BACKGROUND_ATOM` (a real node
    matching no column) and :data:`BACKGROUND_VACANCY` (a vacancy node matching no empty truth site), then the
    labels again for the nodes of coordinate-file graphs (given elements); ``keep``: nodes matched by rule (the
    others are not used); ``given``: a coordinate-file graph. For the lattice checks: ``truth`` (label index or
    -1), ``log_i`` (log intensity), ``positions_A``, ``predicted`` and ``candidates`` (:func:`check_labels`),
    ``cluster`` (:func:`vacancy_cluster_size`).
    """
    from tqdm.auto import tqdm

    n_labels = len(clf.labels)
    locator = _locator_of(model, material)
    modes = _modes(locator)
    rng = np.random.default_rng([seed, seed_offset])
    roles = [material.label_roles.get(x, "") for x in clf.labels]
    out = []
    for i in tqdm(range(n_graphs), desc=f"novelty {material.name}", disable=not progress, unit="graph"):
        mode = modes[i % len(modes)]
        example, graph, _ = make_example(material, clf.meta, seed_offset + i, mode, rng, size_px=256,
                                         locator=locator, spurious=False)
        logits, desc = node_descriptors(clf.net, example.x, example.edge_index, example.edge_attr,
                                        context_features(clf.meta))
        target = example.target.copy()
        vacancy = np.asarray(graph.atoms.vacancy, bool)
        with np.errstate(divide="ignore", invalid="ignore"):   # as LatticeChecks.score reads it: not at the border
            log_i = np.log(readable_intensity(graph.atoms.intensity, graph.feature("edge_distance_bonds")))
        truth = np.where((target >= 0) & (target < n_labels), target, -1)
        target[(target == n_labels) & vacancy] = n_labels + 1
        if mode == "coords":   # given elements: the second set of classes
            target[(target >= 0) & (target < n_labels)] += n_labels + 2
        masked = graph.atoms.masked if graph.atoms.masked is not None else np.zeros(len(target), bool)
        predicted, candidates = check_labels(logits, example.allowed, masked, site_roles(graph), roles)
        out.append({"desc": desc, "cls": target, "keep": target != IGNORE, "given": mode == "coords",
                    "truth": truth, "log_i": log_i, "positions_A": graph.atoms.positions_A,
                    "predicted": predicted, "candidates": candidates,
                    "cluster": vacancy_cluster_size(vacancy, example.edge_index)})
    return out


def host_anchors(graphs: list[dict], classes: list[str], center: np.ndarray, scale: np.ndarray,
                 host_labels: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per host class over the fit graphs with at least :data:`MIN_RECENTER` of its nodes (NaN rows: other
    classes), in standardized units (D,): the median of the graphs' medians (``anchor``), the 95 % quantile of a
    graph median's distance from it (``anchor_tol``) and the 95 % quantile of a graph's robust variance
    (``anchor_var``)."""
    shape = (len(classes), len(center))
    anchor, tol, variance = (np.full(shape, np.nan, np.float32) for _ in range(3))
    for c, name in enumerate(classes):
        if name.removesuffix(GIVEN_SUFFIX) not in host_labels:
            continue
        per_graph = [(g["desc"][g["keep"] & (g["cls_name"] == name)] - center) / scale for g in graphs]
        per_graph = [z for z in per_graph if len(z) >= MIN_RECENTER]
        if per_graph:
            medians = np.array([np.median(z, axis=0) for z in per_graph])
            anchor[c] = np.median(medians, axis=0)
            tol[c] = np.quantile(np.abs(medians - anchor[c]), 0.95, axis=0)
            variance[c] = np.quantile([robust_variance(z) for z in per_graph], 0.95, axis=0)
    return anchor, tol, variance


def frame_adjustments(graphs: list[dict], stats: NoveltyStats, labels: list[str]) -> list:
    """Per graph its :meth:`NoveltyStats.adjust` as in use (read under the predicted labels)."""
    names = np.array(labels + [""], dtype=object)
    return [stats.adjust(g["desc"], names[g["predicted"]], g["given"]) for g in graphs]


def recentered(graphs: list[dict], stats: NoveltyStats, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors, class index) of the kept nodes of every graph, each graph shifted onto its hosts."""
    descs = []
    for g, frame in zip(graphs, frame_adjustments(graphs, stats, labels)):
        desc = g["desc"] if frame is None else g["desc"] - frame.shift * stats.scale
        descs.append(desc[g["keep"]])
    return np.concatenate(descs), np.concatenate([g["cls"][g["keep"]] for g in graphs])


def adjusted_distances(graphs: list[dict], stats: NoveltyStats, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(distances (N, C), class index (N,)) of the kept nodes of every graph, each graph read against its own hosts
    as in use (:meth:`NoveltyStats.distances` with the graph's adjustment)."""
    out = [stats.distances(g["desc"][g["keep"]], frame=frame)
           for g, frame in zip(graphs, frame_adjustments(graphs, stats, labels))]
    return np.concatenate(out), np.concatenate([g["cls"][g["keep"]] for g in graphs])


def fit_frame_gaussians(fit_set: list[dict], held_set: list[dict], names: list[str], labels: list[str],
                        host_labels: list[str]) -> tuple[NoveltyStats, np.ndarray, np.ndarray, np.ndarray]:
    """The class Gaussians and their thresholds: (1) the hosts' training medians and spreads (anchors), (2) every
    fit graph recentered on its own hosts, (3) a Gaussian per known class, (4) thresholds on the held-out graphs,
    each read against its own hosts as in use. Returns the statistics, the map from ``names`` (the classes of
    :func:`collect`) to the kept Gaussians (-1: none), and the held-out nodes' distances and classes."""
    # the background classes (false atoms, unlabeled empty sites) are what the classifier rejects, not structures
    # it knows: a broad catch-all Gaussian there absorbed unseen structures (Si dimers sat inside it)
    fitted = [n if n in labels or n.endswith(GIVEN_SUFFIX) else "" for n in names]
    desc = np.concatenate([g["desc"][g["keep"]] for g in fit_set])
    center, scale = desc.mean(0), np.maximum(desc.std(0), 1e-3)
    anchor, anchor_tol, anchor_var = host_anchors(fit_set, fitted, center, scale, host_labels)
    stats = NoveltyStats(fitted, center, scale, np.zeros((0, len(center)), np.float32), np.zeros(0), np.zeros(0), {},
                         anchor=anchor, anchor_tol=anchor_tol, anchor_var=anchor_var)
    desc, cls = recentered(fit_set, stats, labels)
    kept, _, _, mean, whiten = fit_gaussians(desc, cls, fitted, center=center, scale=scale)
    rows = [fitted.index(n) for n in kept]
    stats = NoveltyStats(kept, center.astype(np.float32), scale.astype(np.float32), mean, whiten,
                         np.ones(len(kept), np.float32), {}, anchor=anchor[rows], anchor_tol=anchor_tol[rows],
                         anchor_var=anchor_var[rows])
    remap = np.array([kept.index(n) if n in kept else -1 for n in names])
    distances, held_cls = adjusted_distances(held_set, stats, labels)
    stats.threshold = class_thresholds(distances, remap[held_cls], [class_kind(n, host_labels) for n in kept])
    return stats, remap, distances, held_cls


def held_out_rates(stats: NoveltyStats, distances: np.ndarray, cal_names: np.ndarray, held: dict, names: list[str],
                   labels: list[str]) -> tuple[dict, dict]:
    """Share of the held-out nodes of each class flagged novel (Gaussians and lattice checks together), and per
    label the share flagged by the lattice checks alone. ``distances``, ``cal_names``: as
    :func:`fit_frame_gaussians` returns them; ``held``: :func:`check_inputs` of the same graphs."""
    check_score = stats.checks.score_inputs(held["log_ratio"], held["noise"], held["predicted"], held["candidates"],
                                            held["cluster"])
    score = np.maximum((distances / stats.threshold).min(axis=1), check_score)
    n = len(labels)
    label_of = np.where(cal_names < n, cal_names, np.where(cal_names >= n + 2, cal_names - n - 2, -1))
    checks_only = {x: float(np.mean(check_score[label_of == c] > 1.0)) for c, x in enumerate(labels)
                   if (label_of == c).any()}
    flagged = {x: float(np.mean(score[cal_names == c] > 1.0)) for c, x in enumerate(names) if (cal_names == c).any()}
    return flagged, checks_only


def reference_label(checks: list[dict], host: list[int]) -> int:
    """The host label whose columns are most uniform within a frame (smallest median robust spread of log
    intensity over the fit graphs): the brightness check's yardstick."""
    best, best_spread = host[0], np.inf
    for k in host:
        spreads = []
        for c in checks:
            v = c["log_i"][(c["predicted"] == k) & np.isfinite(c["log_i"])]
            if len(v) >= MIN_REFERENCE:
                spreads.append(np.median(np.abs(v - np.median(v))))
        if spreads and np.median(spreads) < best_spread:
            best, best_spread = k, float(np.median(spreads))
    return best


def check_inputs(checks: list[dict], reference: int) -> dict:
    """Concatenated per-node inputs of :func:`fit_checks` (kept nodes of every graph), read against ``reference``."""
    out = {"truth": [], "log_ratio": [], "noise": [], "cluster": [], "predicted": [], "candidates": []}
    for c in checks:
        median, noise = local_reference(np.exp(c["log_i"]), c["predicted"], reference, c["positions_A"])
        keep = c["keep"]
        out["truth"].append(c["truth"][keep])
        out["log_ratio"].append((c["log_i"] - median)[keep])
        out["noise"].append(noise[keep])
        out["cluster"].append(c["cluster"][keep])
        out["predicted"].append(c["predicted"][keep])
        out["candidates"].append(c["candidates"][keep])
    return {**{k: np.concatenate(v) for k, v in out.items()}, "reference": reference}


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
    if fit_graphs < 10 or threshold_graphs < 10:
        raise AtomgraphInputError("novelty fitting needs at least 10 fit and 10 threshold graphs")
    t0 = time.perf_counter()
    clf, material = resolve_model(model).classifier, resolve_model(model).material
    names = clf.labels + [BACKGROUND_ATOM, BACKGROUND_VACANCY] + [f"{x}{GIVEN_SUFFIX}" for x in clf.labels]
    fit_set = collect(clf, material, model, fit_graphs, FIT_SEED_OFFSET, seed, progress)
    held_set = collect(clf, material, model, threshold_graphs, THRESHOLD_SEED_OFFSET, seed, progress)
    for g in fit_set + held_set:
        g["cls_name"] = np.array(names + [""], dtype=object)[np.where(g["cls"] >= 0, g["cls"], len(names))]
    stats, remap, distances, cal_names = fit_frame_gaussians(fit_set, held_set, names, clf.labels,
                                                             material.host_labels)
    kinds = [class_kind(n, material.host_labels) for n in stats.classes]
    host = [k for k, x in enumerate(clf.labels) if x in material.host_labels]
    reference = reference_label(fit_set, host)
    held = check_inputs(held_set, reference)
    stats.checks = fit_checks(clf.labels, [material.label_roles.get(x, "") for x in clf.labels],
                              [class_kind(x, material.host_labels) for x in clf.labels],
                              check_inputs(fit_set, reference), held)
    flagged, checks_only = held_out_rates(stats, distances, cal_names, held, names, clf.labels)
    cls = np.concatenate([g["cls"][g["keep"]] for g in fit_set])
    stats.meta = {
        **_describe(clf, material.name, stats, kinds, reference),
        "fit": {"image_seeds": f"{FIT_SEED_OFFSET}..+{fit_graphs - 1}", "seed": seed,
                "nodes": {n: int((remap[cls] == c).sum()) for c, n in enumerate(stats.classes)}},
        "threshold_set": {"image_seeds": f"{THRESHOLD_SEED_OFFSET}..+{threshold_graphs - 1}",
                          "nodes": {n: int((cal_names == c).sum()) for c, n in enumerate(names)},
                          "flagged_novel": flagged, "flagged_by_lattice_checks": checks_only},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    path = Path(output) if output is not None else novelty_path(clf.path)
    card = save_novelty(stats, path, force=force)
    log.info("novelty statistics for %s -> %s", material.name, path)
    return {"path": str(path), **card}


def _describe(clf, material: str, stats, kinds: list[str], reference: int) -> dict:
    """The card's description of fitted statistics: material, classifier (file and sha256), what a descriptor is
    made of, the classes with their kinds, quantiles and thresholds, and the lattice checks."""
    return {
        "material": material, "classifier": Path(clf.path).name,
        "classifier_sha256": read_card(Path(clf.path)).get("sha256"),
        "descriptor": f"GNN last embedding ({clf.net.config['hidden']}) + standardized node inputs "
                      f"({clf.net.config['n_inputs']}) + neighbors' mean of "
                      f"{[clf.meta.node_features[k] for k in context_features(clf.meta)]}",
        "classes": stats.classes, "kinds": kinds, "quantiles": QUANTILES, "thresholds": stats.threshold.tolist(),
        "lattice_checks": {"reference": clf.labels[reference], "quantiles": CHECK_QUANTILES,
                           **{name: dict(zip(clf.labels, np.round(getattr(stats.checks, name), 4).tolist()))
                              for name in stats.checks.ARRAYS}},
    }
