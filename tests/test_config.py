"""Material configs: validation names the bad key; a new material is a config, not code."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import atomgraph
from atomgraph.config import configs_dir, load_config
from atomgraph.errors import AtomgraphInputError
from atomgraph.materials import get_material


def _write(tmp_path, cfg) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_unknown_key_is_named(tmp_path):
    cfg = load_config("graphene-si")
    cfg["image"]["pixle_size_A"] = 0.1
    with pytest.raises(AtomgraphInputError, match="image.pixle_size_A"):
        load_config(_write(tmp_path, cfg))


def test_wrong_type_is_named(tmp_path):
    cfg = load_config("mose2-w")
    cfg["lattice"]["a_A"] = "big"
    with pytest.raises(AtomgraphInputError, match="lattice.a_A"):
        load_config(_write(tmp_path, cfg))


def test_unknown_recipe_and_label_are_named(tmp_path):
    cfg = load_config("graphene-si")
    cfg["defects"][0]["recipe"] = "teleport"
    with pytest.raises(AtomgraphInputError, match="teleport"):
        get_material(_write(tmp_path, cfg))
    cfg = load_config("graphene-si")
    cfg["defects"][0]["label"] = "Si9"
    with pytest.raises(AtomgraphInputError, match="Si9"):
        load_config(_write(tmp_path, cfg))


def test_not_yaml_and_unknown_material(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(AtomgraphInputError, match="YAML"):
        load_config(bad)
    with pytest.raises(AtomgraphInputError, match="unknown material"):
        load_config("unobtainium")


def test_mos2_is_a_third_material_from_a_config_only():
    assert (configs_dir() / "mos2.yaml").is_file()
    mat = get_material("mos2")
    assert mat.config["family"] == "tmd" and mat.labels == ["Mo", "S2", "S1", "Svac"]
    sim = atomgraph.simulate("mos2", size=256, pixel_size=0.1, seed=0, distort=False)
    assert set(sim.truth.label) == {"Mo", "S2", "S1", "Svac"}
    assert set(sim.atoms.get_chemical_symbols()) == {"Mo", "S"}
    mo = sim.truth.positions_A[sim.truth.label == "Mo"]
    from scipy.spatial import cKDTree

    d, _ = cKDTree(mo).query(mo, k=2)
    assert np.median(d[:, 1]) == pytest.approx(3.16, abs=0.05)


def test_a_new_material_from_a_user_config(tmp_path):
    cfg = load_config("mos2")
    cfg.update(name="ws2", labels=["W", "S2", "S1", "Svac"])
    cfg["lattice"].update(a_A=3.18, host={"metal": "W", "chalcogen": "S"})
    cfg["host_labels"] = {"metal": "W", "chalcogen": "S2"}
    sim = atomgraph.simulate(_write(tmp_path, cfg), size=128, pixel_size=0.1, seed=0)
    assert "W" in sim.truth.element and "Mo" not in sim.truth.element
