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


def reference_config(name: str) -> dict:
    """``name``'s config as it was before the wider world: isolated defects, Si3 bonds 1.45-1.90 Å and offsets up to
    0.25 Å, Si4 at the pair's center, Z exponent 1.6-2.0, no 8-bit images. The movies of tests/test_track.py were
    chosen in it (their seeds give known events); the pixel size and dose are the tests' own."""
    cfg = isolated_config(name, Si3={"projected_bond_A": [1.45, 1.90], "dopant_offset_A": [0.0, 0.25]},
                          Si4={"projected_bond_A": None, "dopant_offset_A": None})
    cfg["image"] = {**cfg["image"], "eight_bit_fraction": None, "clip_fraction": None, "z_exponent": [1.6, 2.0]}
    return cfg
