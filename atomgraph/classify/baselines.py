"""Baselines the GNN is measured against (``benchmarks/bench_classify.py``).

- :func:`rule_based`: element-pair bond cutoffs and coordination counting (graphene: a Si with four C within
  2.10 Å is ``Si4``, else ``Si3``; C–C bonds up to 1.75 Å), intensity thresholds per sublattice (TMD: a metal column
  brighter than ``w_ratio`` times the metal median is ``W``; a chalcogen column dimmer than ``se1_ratio`` times the
  chalcogen median is ``Se1``), vacancy nodes are the vacancy label (``Sevac``). Without intensities the given
  element decides (W) and chalcogens are ``Se2``.
- :class:`LocalClassifier`: scikit-learn ``HistGradientBoostingClassifier`` on the per-node features of the graph
  (``AtomGraph.node_features``: species, relative intensity, coordination, bond and angle statistics, order
  parameters) plus the classifier's own node inputs; no message passing beyond those one-hop statistics.
"""

from __future__ import annotations

import numpy as np

from ..atoms import AtomTable
from ..materials import get_material
from .encode import material_meta
from .labeling import allowed_mask, site_roles

SI_C_CUTOFF_A = 2.10
C_C_CUTOFF_A = 1.75
W_RATIO = 1.6        # geometric midpoint of Mo (1) and W ((74/42)**1.7 = 2.6)
SE1_RATIO = 0.71     # geometric midpoint of Se1 (0.5) and Se2 (1)


def _labeled(atoms: AtomTable, labels: np.ndarray) -> AtomTable:
    out = atoms.copy()
    out.label = np.asarray(labels, dtype=object)
    out.prob = np.where(out.label != "", 1.0, np.nan)
    return out


def _relative(intensity: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Intensity over the group's median; NaN where unknown."""
    rel = np.full(len(intensity), np.nan)
    ok = group & np.isfinite(intensity) & (intensity > 0)
    if ok.sum() >= 3:
        rel[ok] = intensity[ok] / np.median(intensity[ok])
    return rel


def rule_based(graph, material: str | None = None, *, w_ratio: float = W_RATIO,
               se1_ratio: float = SE1_RATIO) -> AtomTable:
    """Label the nodes of an AtomGraph by rules (module docstring); returns a labeled copy of ``graph.atoms``."""
    mat = get_material(material or graph.material)
    atoms = graph.atoms
    element = np.asarray(atoms.element, dtype=object)
    vacancy = np.asarray(atoms.vacancy, bool)
    labels = np.full(len(atoms), "", dtype=object)
    cfg = mat.settings
    host = cfg.lattice.host
    by_recipe = {d.recipe: d for d in cfg.defects}

    def recipe_field(recipe: str, name: str, default: str | None) -> str | None:
        value = getattr(by_recipe[recipe], name) if recipe in by_recipe else None
        return default if value is None else value

    if cfg.family == "honeycomb":
        host_el, host_label = host["A"], cfg.host_labels["A"]
        sub_label = recipe_field("substitution", "label", "Si3")
        div_label = recipe_field("divacancy_center", "label", "Si4")
        dopant_el = recipe_field("substitution", "element", "Si")
        labels[~vacancy] = host_label
        is_dopant = element == dopant_el
        if is_dopant.any():  # host neighbors counted on the graph's own edges (its C-Si cutoff exceeds the rule's)
            src, dst = np.asarray(graph.edge_index)
            near = is_dopant[src] & (element[dst] == host_el) & (np.asarray(graph.edge_length_A) <= SI_C_CUTOFF_A)
            n_host = np.bincount(src[near], minlength=len(atoms))[is_dopant]
            labels[is_dopant] = np.where(n_host >= 4, div_label, sub_label)
    else:
        metal = host["metal"]
        hl = cfg.host_labels
        sub_element = recipe_field("metal_substitution", "element", None)
        sub_label = recipe_field("metal_substitution", "label", hl["metal"])
        se1 = recipe_field("chalcogen_single_vacancy", "label", None)
        vac = recipe_field("chalcogen_double_vacancy", "label", "")
        is_metal = ~vacancy & np.isin(element, [metal, sub_element or ""])
        is_chalc = ~vacancy & ~is_metal
        intensity = np.asarray(atoms.intensity, float)
        rel_m = _relative(intensity, is_metal)
        rel_c = _relative(intensity, is_chalc)
        labels[is_metal] = hl["metal"]
        bright = np.where(np.isfinite(rel_m), rel_m > w_ratio, element == sub_element)
        labels[is_metal & bright] = sub_label
        labels[is_chalc] = hl["chalcogen"]
        if se1:
            labels[is_chalc & np.isfinite(rel_c) & (rel_c < se1_ratio)] = se1
        labels[vacancy] = vac
    return _labeled(atoms, labels)


class LocalClassifier:
    """Gradient-boosted trees on per-node features (no message passing).

    Args:
        material: material name.
        max_iter: boosting iterations.
        seed: random state.
    """

    def __init__(self, material: str, max_iter: int = 200, seed: int = 0) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.meta = material_meta(get_material(material))
        self.model = HistGradientBoostingClassifier(max_iter=max_iter, random_state=seed,
                                                    class_weight="balanced", early_stopping=False)

    def features(self, graph) -> np.ndarray:
        """(N, F) the graph's node features (the GNN's node inputs too)."""
        return np.nan_to_num(np.asarray(graph.node_features, dtype=np.float32))

    def fit(self, graphs: list, targets: list[np.ndarray]) -> "LocalClassifier":
        """Fit on graphs and per-node targets (class index; background = number of labels; -1 ignored)."""
        x = np.concatenate([self.features(g) for g in graphs])
        y = np.concatenate(targets)
        keep = y >= 0
        self.model.fit(x[keep], y[keep])
        return self

    def predict(self, graph) -> AtomTable:
        """A labeled copy of ``graph.atoms`` (arg max over the outputs each node may take)."""
        labels = self.meta["labels"]
        atoms = graph.atoms
        if len(atoms) == 0:
            return _labeled(atoms, [])
        proba = np.zeros((len(atoms), len(labels) + 1))
        proba[:, self.model.classes_] = self.model.predict_proba(self.features(graph))
        proba[~allowed_mask(atoms, self.meta, site_roles(graph))] = -1.0
        best = np.argmax(proba, axis=1)
        out = _labeled(atoms, np.array(labels + [""], dtype=object)[best])
        out.prob = proba[np.arange(len(atoms)), best]
        return out
