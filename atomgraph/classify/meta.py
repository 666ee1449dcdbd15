"""What a node classifier knows about its material and its inputs: one frozen, typed record.

The weights' metadata is JSON (a dict) on disk and while a model is trained; everything that reads a trained model
reads it as a :class:`ClassifierMeta`. One vacancy label or several are one field (``vacancy_labels``); the file
format keeps ``vacancy_label`` (the one, or None) and, with several, ``vacancy_labels`` and ``vacancy_roles``, so
files written before and after read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

def _empty() -> Mapping:
    return MappingProxyType({})


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class ClassifierMeta:
    """A classifier's metadata.

    Attributes
    ----------
    material : str
        The material (config name) the classifier was trained for.
    labels : tuple of str
        The label vocabulary, in output order (background is an extra last output).
    vacancy_labels : tuple of str
        The labels of empty sites (none, one, or one per sublattice).
    vacancy_roles : Mapping of str to str
        Vacancy label -> the sublattice role it belongs to (only with several vacancy labels).
    graph_version : int
        The graph version the classifier was trained on.
    bond_A : float
        The material's nominal projected bond, Å.
    label_elements : Mapping of str to str
        Label -> the element it implies ('' for a vacancy label).
    intensity_labels : tuple of str
        Labels told apart by column intensity (a single-chalcogen column).
    label_sites : Mapping of str to int
        Label -> how many lattice sites it takes (:mod:`atomgraph.classify.topology`).
    node_features, edge_features : tuple of str
        The graph's feature names the classifier reads, in input order.
    temperature : float
        Logit temperature of the calibration (1: none).
    threshold : float
        Probability below which a label is flagged uncertain.
    other : Mapping of str to Any
        Every other key of the stored metadata (training records), kept as read.
    """

    material: str
    labels: tuple[str, ...]
    vacancy_labels: tuple[str, ...] = ()
    vacancy_roles: Mapping[str, str] = field(default_factory=_empty)
    graph_version: int = 1
    bond_A: float = 1.42
    label_elements: Mapping[str, str] = field(default_factory=_empty)
    intensity_labels: tuple[str, ...] = ()
    label_sites: Mapping[str, int] = field(default_factory=_empty)
    node_features: tuple[str, ...] = ()
    edge_features: tuple[str, ...] = ()
    temperature: float = 1.0
    threshold: float = 0.5
    other: Mapping[str, Any] = field(default_factory=_empty)

    @classmethod
    def from_dict(cls, meta: Mapping[str, Any]) -> ClassifierMeta:
        """The record of a stored metadata dict (the weights' JSON).

        Parameters
        ----------
        meta : Mapping
            ``material`` and ``labels`` at least; ``vacancy_label`` or ``vacancy_labels``; the other fields by name.

        Returns
        -------
        ClassifierMeta
        """
        known = {f.name for f in fields(cls)} - {"vacancy_labels", "other"}
        vacancy = meta.get("vacancy_labels") or ([meta["vacancy_label"]] if meta.get("vacancy_label") else [])
        values = {k: meta[k] for k in known if k in meta and meta[k] is not None}
        for name in ("labels", "intensity_labels", "node_features", "edge_features"):
            if name in values:
                values[name] = tuple(str(v) for v in values[name])
        for name in ("vacancy_roles", "label_elements", "label_sites"):
            if name in values:
                values[name] = _frozen(values[name])
        for name, kind in (("graph_version", int), ("bond_A", float), ("temperature", float), ("threshold", float)):
            if name in values:
                values[name] = kind(values[name])
        rest = {k: v for k, v in meta.items() if k not in known and k not in ("vacancy_label", "vacancy_labels")}
        return cls(vacancy_labels=tuple(vacancy), other=_frozen(rest), **values)

    @classmethod
    def coerce(cls, meta: ClassifierMeta | Mapping[str, Any]) -> ClassifierMeta:
        """The record of ``meta``.

        Parameters
        ----------
        meta : ClassifierMeta or Mapping
            A record (returned as it is) or a metadata dict (a dict while a model is trained).

        Returns
        -------
        ClassifierMeta
        """
        return meta if isinstance(meta, cls) else cls.from_dict(meta)

    def to_dict(self) -> dict[str, Any]:
        """The metadata as stored (the inverse of :meth:`from_dict`).

        Returns
        -------
        dict
            JSON-ready: lists and dicts, ``vacancy_label`` always, ``vacancy_labels`` and ``vacancy_roles`` with
            several vacancy labels, then every other stored key.
        """
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("vacancy_labels", "other")}
        out = {k: (list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, Mapping) else v)
               for k, v in out.items()}
        out["vacancy_label"] = self.vacancy_labels[0] if len(self.vacancy_labels) == 1 else None
        if len(self.vacancy_labels) > 1:
            out["vacancy_labels"] = list(self.vacancy_labels)
        else:
            out.pop("vacancy_roles")
        return {**dict(self.other), **out}
