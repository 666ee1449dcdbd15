"""Training data of the node classifier: simulated inputs, graphs, per-node targets.

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

Half of the located and perturbed inputs also get false columns 1.8-2.3 Å (graphene) from some dopants
(:func:`add_spurious_near_dopants`): the real-frame failure where a fourth node near a threefold Si made it read as
fourfold.

Targets: a real node takes the label of the truth column it mutually matches within 0.5 Å; a real node on a truth
vacancy site (a faint false detection where both chalcogens are missing) takes the vacancy label; other unmatched
real nodes (false atoms) take the background class, reported as label ``''``. A vacancy node takes the vacancy
label (``Sevac``; in hBN the matched site's ``VB`` or ``VN``) when it matches a truth vacancy site within 0.5 Å, else
the background class. Defects are placed
more densely than in the config (counts up to 4x) so rare labels are seen often.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..atoms import AtomTable
from ..evaluate import mutual_nearest, nearest
from ..graph import build_graph
from ..graph.features import species_classes
from ..locate import locate
from ..materials import Material
from ..simulate import simulate
from . import allowed_mask, site_roles
from .encode import encode, label_elements, material_meta, vacancy_labels  # noqa: F401 (re-exported)
from .meta import ClassifierMeta

MODES = ("located", "perturbed", "coords")
MATCH_TOLERANCE_A = 0.5
IGNORE = -1

def boosted_counts(mat: Material, rng: np.random.Generator) -> dict:
    """Defect counts up to 4x the config's (fractions up to 2x) so rare labels are frequent in training."""
    counts = {}
    for defect in mat.settings.defects:
        if defect.fraction is not None:
            counts[defect.label] = float(rng.uniform(defect.fraction.low, 2 * defect.fraction.high))
        else:
            counts[defect.label] = int(rng.integers(int(defect.count.low), 4 * int(defect.count.high) + 2))
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
        far = nearest(pos, cand)[0] > 0.8
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
    cand = cand[nearest(truth.positions_A, cand)[0] > 0.8]
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
                     image_shape_px=atoms.image_shape_px, **atoms.extended_records(m))


def make_input(mat: Material, seed: int, mode: str, rng: np.random.Generator, *, size_px: int = 256,
               dose: float | None = None, boost: bool = True, coord_sigma_A: float | None = None,
               spurious: bool = True, locator: str | Path | None = None):
    """(input atoms, truth) for one simulated image; ``mode`` one of :data:`MODES`. ``spurious``: half of the
    located and perturbed inputs get false columns next to dopants (:func:`add_spurious_near_dopants`).
    ``locator``: weights for ``located`` (default: the bundled locator of the material)."""
    counts = boosted_counts(mat, rng) if boost else None
    sim = simulate(mat, size=size_px, dose=dose, seed=int(seed), counts=counts)
    truth = sim.truth
    if mode == "located":
        atoms = locate(sim.image, model=locator or mat.name, pixel_size_A=sim.pixel_size_A)
    elif mode == "perturbed":
        atoms = perturb_like_locator(truth, species_classes(mat), rng)
        atoms.image_shape_px = sim.image.shape
    elif mode == "coords":
        atoms = coordinate_file_like(truth, rng, coord_sigma_A)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if spurious and mode != "coords" and rng.random() < 0.5:
        host = set(mat.settings.lattice.host.values())
        atoms = add_spurious_near_dopants(atoms, truth, host, mat.bond_A, rng)
    return atoms, truth


def match_targets(nodes: AtomTable, truth: AtomTable, labels: list[str], vacancy_label: str | list[str] | None,
                  tolerance_A: float = MATCH_TOLERANCE_A) -> np.ndarray:
    """Per-node class index (background = len(labels)) or :data:`IGNORE` (see module docstring).

    ``vacancy_label``: the vacancy label, or a list of them (hBN: ``['VB', 'VN']``); a vacancy node matched to a
    truth vacancy site takes that site's label.
    """
    vac_labels = [vacancy_label] if isinstance(vacancy_label, str) else list(vacancy_label or [])
    target = np.full(len(nodes), IGNORE, dtype=np.int64)
    lookup = {label: k for k, label in enumerate(labels)}
    for vac in (False, True):
        ni = np.flatnonzero(nodes.vacancy == vac)
        ti = np.flatnonzero(truth.vacancy == vac)
        target[ni] = len(labels)  # unmatched: background (false atom / not a vacancy)
        if len(ni) == 0 or len(ti) == 0:
            continue
        i, j, _ = mutual_nearest(nodes.positions_A[ni], truth.positions_A[ti], tolerance_A)
        matched_labels = truth.label[ti[j]]
        idx = np.array([lookup.get(str(lbl), IGNORE) for lbl in matched_labels], dtype=np.int64)
        if vac:
            idx = np.where(np.isin(matched_labels.astype(str), vac_labels), idx, len(labels))
        target[ni[i]] = idx
    # a located column on an empty site (a faint false detection where both chalcogens are missing) is that site
    vac_truth = (np.flatnonzero(truth.vacancy & np.isin(truth.label.astype(str), vac_labels)) if vac_labels
                 else np.zeros(0, int))
    loose = np.flatnonzero(~nodes.vacancy & (target == len(labels)))
    if len(vac_truth) and len(loose):
        d, j = nearest(truth.positions_A[vac_truth], nodes.positions_A[loose], tolerance_A)
        hit = np.isfinite(d)
        target[loose[hit]] = [lookup[str(lbl)] for lbl in truth.label[vac_truth[j[hit]]]]
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


def make_example(mat: Material, meta: ClassifierMeta | dict, seed: int, mode: str, rng: np.random.Generator,
                 **kwargs) -> tuple[Example, object, AtomTable]:
    """Simulate, build the graph and encode one training example; returns (example, graph, truth)."""
    meta = ClassifierMeta.coerce(meta)
    atoms, truth = make_input(mat, seed, mode, rng, **kwargs)
    graph = build_graph(atoms, material=mat)
    nodes = graph.atoms
    x, edge_index, edge_attr = encode(graph, meta)
    target = match_targets(nodes, truth, list(meta.labels), list(meta.vacancy_labels))
    allowed = allowed_mask(nodes, meta, site_roles(graph))
    known = target != IGNORE  # a target the node may not take (Se1 without an intensity) is not learned
    target[known & ~allowed[np.flatnonzero(known), target[known]].reshape(-1).astype(bool)] = IGNORE
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


def masked_logits(net, examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Logits of every node of ``examples`` (outputs a node may not take set to -1e4, as in training) and the
    targets, concatenated."""
    out, targets = [], []
    with torch.inference_mode():
        for e in examples:
            x, ei, ea, _, allowed = batch([e])
            out.append(net(x, ei, ea).masked_fill(~allowed, -1e4).numpy())
            targets.append(e.target)
    if not out:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    return np.concatenate(out), np.concatenate(targets)
