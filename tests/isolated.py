"""A material's config without the wider world's defect clusters and edge defects (issue 22): for tests about one
isolated defect's geometry or the outputs around it, where a Si pair or a defect cut by the frame would be noise."""

from __future__ import annotations

from atomgraph.materials import get_material


def isolated_config(name: str, **defects: dict) -> dict:
    """``name``'s config with ``cluster_fraction`` and ``defect_edge_margin_A`` unset (defects kept
    ``min_separation_A`` apart and 2.5 bonds inside the frame); ``defects`` label -> keys replaced in that entry."""
    cfg = get_material(name).config
    entries = [{**d, **defects.get(d["label"], {})} for d in cfg["defects"]]
    return {**cfg, "defects": entries, "cluster_fraction": None, "defect_edge_margin_A": None}
