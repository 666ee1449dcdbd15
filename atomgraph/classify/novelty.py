"""Novelty: how far each node's local structure is from everything the classifier was trained on.

The class probabilities say which known label fits a node best; they cannot say that none fits (a Si dimer comes out
``Si4`` with probability 1). The novelty score is separate from them:

1. **Descriptor** per node (:func:`node_descriptors`): the GNN's last node embedding (``hidden`` numbers: what the
   head reads, so it carries the whole receptive field) concatenated with the node's own standardized input
   features (the lattice model's residuals, bond statistics, occupancy of expected neighbor sites) and the mean over
   its bonded neighbors of their species evidence and intensity (:func:`context_features`). A supervised embedding
   may collapse an unseen structure onto a known class; the input features help keep it apart (variants compared in
   ``benchmarks/README.md``).
2. **Class-conditional Gaussians** (Lee et al., NeurIPS 2018): per label and input kind (atoms located in an image,
   or a coordinate file with given elements: their features differ, and one Gaussian over both was too wide to see
   a column placed on an empty site) a mean and a Ledoit-Wolf shrunk covariance, fitted on fresh simulations of
   the model's own config (:mod:`atomgraph.classify.novelty_fit`). The
   background (false atoms, unlabeled empty sites) gets none: it is what the classifier rejects, and a broad
   catch-all Gaussian there absorbed unseen structures (measured: the Si of a dimer sat inside it).
3. **Score**: the frame is first read against its own host columns (:meth:`NoveltyStats.adjust`: a wrong
   calibration moves every host alike, a noisy scan spreads them all alike). Then per class the Mahalanobis
   distance divided by that class's threshold, minimized over classes. A threshold is a high quantile of its own
   class's distances on *other* held-out simulations (:data:`QUANTILES`), so ``novelty > 1`` (``novel``) is
   outside what every known class does, and a known node exceeds it at most at the quantile's rate (host 0.5 %,
   defect labels 2 %).
4. **Lattice checks** (:mod:`atomgraph.classify.novelty_checks`): a column's brightness against the frame's own
   noise and the size of the vacancy cluster a node borders, each against its best known label's held-out range.
   The novelty is the largest of the Gaussian score and the checks' (each over its threshold).

The statistics live beside the classifier as ``novelty-<material>.safetensors`` (arrays) with a JSON card
(:func:`novelty_path`); no pickle. A model without them still classifies; its nodes get ``novelty`` NaN and
``novel`` 0 (:func:`load_novelty` returns None and logs why once).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models.files import read_model, write_model
from .inference import EdgeBlocks, NumpyNodeClassifier
from .meta import ClassifierMeta
from .novelty_checks import LatticeChecks

log = logging.getLogger(__name__)

#: quantile of its own class's held-out distances each class's threshold sits at, by kind of class
QUANTILES = {"host": 0.995, "defect": 0.98, "background": 0.99}
BACKGROUND_ATOM, BACKGROUND_VACANCY = "(false atom)", "(empty site)"
GIVEN_SUFFIX = " (given elements)"   # classes fitted on coordinate files (exact elements) rather than located atoms
MIN_RECENTER = 30   # host nodes of one label a frame needs before it is recentered on its hosts
EXCESS_FLOOR = 0.05  # a frame's excess host variance (standardized units) below this everywhere widens nothing
MAX_RECENTER = 400  # at most about this many of them (evenly spaced in node order) are read
VARIANCE_FLOOR = 1e-3   # added to every class covariance's diagonal, in units of the global feature variance
DISTANCE_CHUNK = 16384  # nodes per block of the Mahalanobis distances (memory: classes x block x descriptor floats)


@dataclass
class NoveltyStats:
    """Per-class Gaussians over node descriptors and their thresholds.

    Attributes
    ----------
    classes : names of the Gaussians: the labels as read from located atoms, then the labels as read from
        coordinate files (``<label> (given elements)``: exact elements, no locator evidence, often no intensity).
    center, scale : (D,) global standardization of the descriptor.
    mean : (C, D) class means (standardized descriptor).
    whiten : (C, D, D) per class ``W`` with ``W W^T = Sigma^-1``: distance = ``|(z - mean) @ W|``.
    threshold : (C,) Mahalanobis distance at each class's held-out quantile.
    meta : card-like dict (classifier sha256, counts, quantiles, held-out rates).
    checks : the brightness and vacancy-cluster checks (:mod:`atomgraph.classify.novelty_checks`); None in
        statistics written before them (version 1), which score with the Gaussians alone.
    anchor : (C, D) training median of each host class's standardized descriptor (NaN rows for other classes):
        where :meth:`adjust` recenters a frame; None in version-1 statistics (no frame adjustment).
    anchor_tol : (C, D) 95 % quantile over fit frames of how far a frame's host median sits from ``anchor``.
    anchor_var : (C, D) 95 % quantile over fit frames of a frame's robust variance of each host class.
    """

    classes: list[str]
    center: np.ndarray
    scale: np.ndarray
    mean: np.ndarray
    whiten: np.ndarray
    threshold: np.ndarray
    meta: dict
    checks: LatticeChecks | None = None
    anchor: np.ndarray | None = None
    anchor_tol: np.ndarray | None = None
    anchor_var: np.ndarray | None = None

    def distances(self, descriptors: np.ndarray, use: np.ndarray | None = None,
                  frame: FrameAdjustment | None = None) -> np.ndarray:
        """(N, C) Mahalanobis distance of every node to every class (standardized descriptor units); ``use`` (C,)
        bool: only those classes (columns in class order); ``frame``: the frame's shift is subtracted from the
        standardized descriptors and its excess variance added to every class covariance (:meth:`adjust`)."""
        use = np.ones(len(self.classes), bool) if use is None else np.asarray(use, bool)
        z = (np.asarray(descriptors, np.float32) - self.center) / self.scale
        whiten = self.whiten[use]
        if frame is not None:
            z = z - frame.shift
            if np.any(frame.excess > EXCESS_FLOOR):
                whiten = np.stack([_widened(c, frame.excess) for c in self.covariance[use]])
        z = z.astype(np.float32)  # the products below run on the BLAS threads inference_threads allows (one by
        mean = self.mean[use][:, None]  # default): on a busy machine more threads made them 100x slower
        whiten = np.ascontiguousarray(whiten, dtype=np.float32)
        out = np.empty((len(z), int(use.sum())), np.float32)
        for start in range(0, len(z), DISTANCE_CHUNK):  # (C, chunk, D) at a time, not (C, N, D): 10^6 nodes would
            centered = z[start:start + DISTANCE_CHUNK][None] - mean   # hold GBs twice over
            out[start:start + DISTANCE_CHUNK] = np.linalg.norm(np.matmul(centered, whiten), axis=2).T
        return out

    @functools.cached_property
    def covariance(self) -> np.ndarray:
        """(C, D, D) class covariances (float64) recovered from ``whiten`` once (``Sigma = (W W^T)^-1``): what a
        frame's excess variance widens (:meth:`distances`)."""
        w = self.whiten.astype(np.float64)
        return np.linalg.inv(w @ np.swapaxes(w, 1, 2))

    def adjust(self, descriptors: np.ndarray, labels: np.ndarray | None, given: bool) -> FrameAdjustment | None:
        """How one frame's host columns differ from the training hosts, or None (no anchors, or fewer than
        :data:`MIN_RECENTER` nodes of every host label).

        Per host label with enough nodes in the frame (``labels``: each node's best known label): the median of
        their standardized descriptors minus that label's training median (``anchor``) beyond what 95 % of
        training frames differ by (``anchor_tol``), and their robust variance beyond 95 % of training frames'
        (``anchor_var``); node-weighted means over host labels. A frame like the training frames is left as is. A
        miscalibrated pixel size (every bond 5 % long) moves all hosts of a frame alike, scan noise spreads them:
        the shift is subtracted and the excess variance widens every class, so such a frame is not novel as a
        whole while a defect still stands out from its own frame's hosts.
        """
        if self.anchor is None or labels is None or len(descriptors) == 0:
            return None
        labels = np.asarray(labels, dtype=object).astype(str)
        z = (np.asarray(descriptors, np.float32) - self.center) / self.scale
        shifts, excess, weights = [], [], []
        for c, name in enumerate(self.classes):
            if name.endswith(GIVEN_SUFFIX) != given or not np.isfinite(self.anchor[c]).all():
                continue
            mine = z[labels == name.removesuffix(GIVEN_SUFFIX)]
            mine = mine[::len(mine) // MAX_RECENTER + 1]   # medians of a few hundred hosts are as good, 10x faster
            if len(mine) >= MIN_RECENTER:
                median = np.median(mine, axis=0)
                offset = median - self.anchor[c]   # beyond what training frames themselves differ by
                tolerance = self.anchor_tol[c] if self.anchor_tol is not None else 0.0
                shifts.append(np.sign(offset) * np.maximum(np.abs(offset) - tolerance, 0.0))
                floor = self.anchor_var[c] if self.anchor_var is not None else np.inf
                excess.append(np.maximum(robust_variance(mine, median) - floor, 0.0))
                weights.append(len(mine))
        if not shifts:
            return None
        return FrameAdjustment(np.average(shifts, axis=0, weights=weights).astype(np.float32),
                               np.average(excess, axis=0, weights=weights).astype(np.float32))

    def score(self, descriptors: np.ndarray, given: bool | None = None, labels: np.ndarray | None = None
              ) -> np.ndarray:
        """(N,) novelty: min over classes of distance / threshold (> 1: outside every known class).

        ``given``: the graph's elements are facts (a coordinate file) -> only the classes fitted on such graphs;
        False (located atoms) -> only those fitted on located atoms; None -> all. ``labels``: each node's best
        known label; with it (and statistics that have anchors) the frame is read against its own hosts
        (:meth:`adjust`).
        """
        if len(descriptors) == 0:
            return np.zeros(0, np.float32)
        use = np.ones(len(self.classes), bool)
        if given is not None:
            mine = np.array([name.endswith(GIVEN_SUFFIX) == given for name in self.classes])
            use = mine if mine.any() else use
        frame = self.adjust(descriptors, labels, bool(given)) if given is not None else None
        return (self.distances(descriptors, use, frame) / self.threshold[use]).min(axis=1)


@dataclass
class FrameAdjustment:
    """One frame's hosts against the training hosts (standardized descriptor units): ``shift`` (D,) of their
    median, ``excess`` (D,) of their within-frame variance beyond a training frame's (>= 0)."""

    shift: np.ndarray
    excess: np.ndarray


def robust_variance(z: np.ndarray, median: np.ndarray | None = None) -> np.ndarray:
    """(D,) per-column variance from the median absolute deviation (1.4826 MAD, squared)."""
    median = np.median(z, axis=0) if median is None else median
    return (1.4826 * np.median(np.abs(z - median), axis=0)) ** 2


def _widened(covariance: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """The whitening ``W`` (``W W^T = (Sigma + diag(excess))^-1``) of a class covariance ``Sigma`` widened by a
    frame's excess variance."""
    covariance = covariance.copy()
    covariance[np.diag_indices_from(covariance)] += excess
    return np.linalg.cholesky(np.linalg.inv(covariance)).astype(np.float32)


def context_features(meta: ClassifierMeta | dict) -> list[int]:
    """Indices of the node inputs whose mean over the bonded neighbors joins the descriptor: the species evidence
    and the relative intensity (what a node is bonded to: a Si bonded to a Si, which no training structure has)."""
    return [k for k, name in enumerate(ClassifierMeta.coerce(meta).node_features) if name.startswith("species_")
            or name == "intensity_rel"]


def node_descriptors(net: NumpyNodeClassifier, x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray,
                     context: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(logits (N, L + 1), descriptors (N, hidden + F + len(context))) of one graph's encoded inputs, in one forward
    pass (in the network's precision, float32 as loaded).

    The descriptor is the GNN's last node embedding, the node's standardized input features, and the mean over its
    bonded neighbors of the standardized inputs listed in ``context`` (:func:`context_features`).
    """
    edges = EdgeBlocks.of(edge_index, edge_attr, dtype=net.dtype)
    h = net.embed_nodes(x, edge_index, edge_attr, edges)
    raw = net.standardized(x)
    parts = [h, raw]
    if context:
        parts.append(edges.neighbor_mean(np.ascontiguousarray(raw[:, context])))
    return net.head(h), np.concatenate(parts, axis=1)


def class_kind(name: str, host_labels: list[str]) -> str:
    """``host``, ``defect`` or ``background`` (which quantile of :data:`QUANTILES` applies)."""
    name = name.removesuffix(GIVEN_SUFFIX)
    if name in (BACKGROUND_ATOM, BACKGROUND_VACANCY):
        return "background"
    return "host" if name in host_labels else "defect"


def fit_gaussians(descriptors: np.ndarray, classes: np.ndarray, names: list[str], min_nodes: int = 20, *,
                  center: np.ndarray | None = None, scale: np.ndarray | None = None
                  ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Global standardization (``center`` / ``scale`` when given, else the descriptors' mean and spread) and a
    Ledoit-Wolf Gaussian per class with at least ``min_nodes`` nodes.

    Returns (kept class names, center (D,), scale (D,), mean (C, D), whiten (C, D, D)).
    """
    from sklearn.covariance import ledoit_wolf

    center = descriptors.mean(0) if center is None else center
    scale = np.maximum(descriptors.std(0), 1e-3) if scale is None else scale
    z = (descriptors - center) / scale
    kept, means, whitens = [], [], []
    for c, name in enumerate(names):
        if not name:   # a class without a Gaussian (background)
            continue
        zc = z[classes == c]
        if len(zc) < min_nodes:
            log.warning("novelty: class %s has %d nodes (< %d): no Gaussian for it", name, len(zc), min_nodes)
            continue
        cov, _ = ledoit_wolf(zc)
        cov = cov + VARIANCE_FLOOR * np.eye(len(cov))
        whiten = np.linalg.cholesky(np.linalg.inv(cov))   # L L^T = Sigma^-1, |(z - mu) L| = Mahalanobis
        kept.append(name)
        means.append(zc.mean(0))
        whitens.append(whiten)
    return (kept, center.astype(np.float32), scale.astype(np.float32), np.array(means, np.float32),
            np.array(whitens, np.float32))


def class_thresholds(distances: np.ndarray, classes: np.ndarray, kinds: list[str]) -> np.ndarray:
    """Per class, the :data:`QUANTILES` quantile (by kind) of that class's own held-out distances to it."""
    out = np.empty(len(kinds), np.float32)
    for c, kind in enumerate(kinds):
        own = distances[classes == c, c]
        out[c] = float(np.quantile(own, QUANTILES[kind])) if len(own) else float(np.median(distances[:, c]))
    return out


def novelty_path(classifier_path: str | Path) -> Path:
    """Where a classifier's novelty statistics live: ``novelty-<name>.safetensors`` beside
    ``classifier-<name>.safetensors`` (any other weights file: ``<stem>-novelty.safetensors``)."""
    path = Path(classifier_path)
    stem = path.stem
    name = "novelty-" + stem[len("classifier-"):] if stem.startswith("classifier-") else f"{stem}-novelty"
    return path.with_name(name + ".safetensors")


def save_novelty(stats: NoveltyStats, path: str | Path, force: bool = False) -> dict:
    """Write the statistics (arrays as safetensors, class names and meta in its header) and a card beside them."""
    import torch  # the writer takes torch tensors (training only: reading needs no torch)

    tensors = {name: torch.from_numpy(np.ascontiguousarray(getattr(stats, name)))
               for name in ("center", "scale", "mean", "whiten", "threshold")}
    header = {"novelty": {"classes": stats.classes, "version": 1}, "meta": stats.meta}
    if stats.checks is not None:
        tensors.update({f"check_{name}": torch.from_numpy(np.ascontiguousarray(getattr(stats.checks, name)))
                        for name in LatticeChecks.ARRAYS})
        if stats.anchor is not None:
            tensors["anchor"] = torch.from_numpy(np.ascontiguousarray(stats.anchor))
            for name in ("anchor_tol", "anchor_var"):
                if getattr(stats, name) is not None:
                    tensors[name] = torch.from_numpy(np.ascontiguousarray(getattr(stats, name)))
        header["novelty"].update(version=2, check_labels=stats.checks.labels, check_roles=stats.checks.label_roles,
                                 check_reference=stats.checks.reference)
    card = {"name": Path(path).stem, "kind": "novelty", **stats.meta}
    return write_model(path, tensors, header, card, force)


def read_novelty(path: str | Path) -> NoveltyStats:
    """Statistics written by :func:`save_novelty` (``ValueError`` for a file that is not one)."""
    state, header = read_model(path, framework="numpy")
    if "novelty" not in header:
        raise ValueError("not a novelty statistics file")
    arrays = {k: state[k] for k in ("center", "scale", "mean", "whiten", "threshold")}
    info = header["novelty"]
    checks = None
    if "check_labels" in info:
        checks = LatticeChecks(list(info["check_labels"]), list(info["check_roles"]), int(info["check_reference"]),
                               **{name: state[f"check_{name}"] for name in LatticeChecks.ARRAYS})
    anchor = {k: state[k] for k in ("anchor", "anchor_tol", "anchor_var") if k in state}
    return NoveltyStats(classes=list(info["classes"]), meta=header.get("meta", {}), checks=checks, **anchor,
                        **arrays)


@functools.lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> NoveltyStats | None:
    try:
        stats = read_novelty(path)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        log.warning("novelty statistics %s unreadable (%s): novelty not scored", path, exc)
        return None
    return stats


@functools.lru_cache(maxsize=8)
def _note_missing(classifier_path: str) -> None:
    log.warning("no novelty statistics for %s: novelty is NaN, no node is marked novel (fit them with "
                "'atomgraph train novelty --model MODEL')", classifier_path)


def load_novelty(classifier_path: str | Path, sha256: str | None = None) -> NoveltyStats | None:
    """The novelty statistics of a classifier (cached), or None when there are none (noted once in the log).

    ``sha256``: the classifier's; statistics fitted for other weights (the classifier was retrained since) are
    ignored with a warning.
    """
    path = novelty_path(classifier_path)
    if not path.is_file():
        _note_missing(str(classifier_path))
        return None
    stats = _cached(str(path), os.path.getmtime(path))
    if stats is not None and sha256 and stats.meta.get("classifier_sha256") not in (None, sha256):
        log.warning("novelty statistics %s were fitted for other classifier weights: novelty not scored "
                    "(refit with 'atomgraph train novelty')", path)
        return None
    return stats
