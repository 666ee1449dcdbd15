"""Material configs: validation names the bad key; a new material is a config, not code."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

import atomgraph
from atomgraph.config import ClassifierConfig, Range, configs_dir, load_config, load_material_config
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
    sim = atomgraph.simulate("mos2", size=256, pixel_size_A=0.1, seed=0, distort=False)
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
    sim = atomgraph.simulate(_write(tmp_path, cfg), size=128, pixel_size_A=0.1, seed=0)
    assert "W" in sim.truth.element and "Mo" not in sim.truth.element


# ------------------------------------------------------------------------------------ typed sections, Range
def _edited(tmp_path, edit) -> str:
    """The graphene-si YAML with ``edit(cfg)`` applied, written to a file."""
    cfg = yaml.safe_load((configs_dir() / "graphene_si.yaml").read_text())
    edit(cfg)
    return _write(tmp_path, cfg)


BAD_VALUES = [  # (section, edit, key path the message must name)
    ("lattice", lambda c: c["lattice"].update(a_A="2.46"), "lattice.a_A"),
    ("lattice", lambda c: c["lattice"].update(a_A=-1.0), "lattice.a_A"),
    ("defects", lambda c: c["defects"][1].update(count=[3, 1]), "defects[1].count"),
    ("defects", lambda c: c["defects"][0].update(fraction=0.1), "defects[0]"),
    ("image", lambda c: c["image"].update(dose_e_per_A2=[1e5, "high"]), "image.dose_e_per_A2"),
    ("image", lambda c: c["image"].update(pixel_size_A=[0.0, 0.1]), "image.pixel_size_A"),
    ("image", lambda c: c["image"].update(size_px=True), "image.size_px"),
    ("graph", lambda c: c["graph"].update(vacancy_fill_radius_A="wide"), "graph.vacancy_fill_radius_A"),
    ("graph", lambda c: c["graph"].update(vacancy_label="Cvac"), "graph.vacancy_label"),
    ("locator", lambda c: c["locator"].update(classes="C"), "locator.classes"),
    ("locator", lambda c: c["locator"].update(train_mix={"mos2": 1.5}), "locator.train_mix.mos2"),
    ("classifier", lambda c: c.update(classifier={"hidden": 2.5}), "classifier.hidden"),
    ("classifier", lambda c: c.update(classifier={"data_fraction": 0}), "classifier.data_fraction"),
    ("top level", lambda c: c.update(min_separation_A=[1, 2]), "min_separation_A"),
]


@pytest.mark.parametrize("section, edit, key", BAD_VALUES, ids=[f"{s}-{k}" for s, _, k in BAD_VALUES])
def test_each_section_names_the_bad_key_and_the_file_in_one_line(tmp_path, section, edit, key):
    path = _edited(tmp_path, edit)
    with pytest.raises(AtomgraphInputError) as info:
        load_config(path)
    message = str(info.value)
    assert f"'{key}" in message and path in message
    assert "\n" not in message


UNKNOWN_KEYS = [
    (lambda c: c.update(noise_levle=3), "noise_levle"),
    (lambda c: c["lattice"].update(a=2.46), "lattice.a"),
    (lambda c: c["defects"][0].update(cuont=2), "defects[0].cuont"),
    (lambda c: c["image"].update(pixle_size_A=0.1), "image.pixle_size_A"),
    (lambda c: c["graph"].update(cutofs_A={}), "graph.cutofs_A"),
    (lambda c: c["locator"].update(clases=["C"]), "locator.clases"),
    (lambda c: c.update(classifier={"epochs": 3}), "classifier.epochs"),
]


@pytest.mark.parametrize("edit, key", UNKNOWN_KEYS, ids=[k for _, k in UNKNOWN_KEYS])
def test_an_unknown_key_in_any_section_is_an_error_naming_it(tmp_path, edit, key):
    with pytest.raises(AtomgraphInputError, match=re.escape(f"unknown key '{key}'")):
        load_config(_edited(tmp_path, edit))


def test_the_documented_classifier_section_is_accepted(tmp_path):
    section = {"hidden": 16, "layers": 2, "minutes": 1.5, "steps": 100, "lr": 1e-3, "batch_graphs": 2,
               "size_px": [128, 192], "max_graphs": 10, "heldout_graphs": 4, "data_fraction": 0.5}
    path = _edited(tmp_path, lambda c: c.update(classifier=section))
    assert load_config(path)["classifier"] == section
    assert get_material(path).settings.classifier.steps == 100


def test_the_classifier_trainer_reads_its_settings_from_the_config(tmp_path):
    from atomgraph.classify.train import _settings

    path = _edited(tmp_path, lambda c: c.update(classifier={"hidden": 8, "lr": 0.01}))
    settings = _settings(get_material(path), minutes=2.5)
    assert settings["hidden"] == 8 and settings["lr"] == 0.01 and settings["minutes"] == 2.5
    assert settings["layers"] == ClassifierConfig().layers  # unset keys take the model's defaults


def test_a_single_number_dose_is_used_by_the_simulator_and_the_locator_trainer(tmp_path):
    from atomgraph.locate.train import choose_refinement, simulate_sample
    from atomgraph.models.paths import WEIGHTS_DIR

    path = _edited(tmp_path, lambda c: c["image"].update(dose_e_per_A2=50000, pixel_size_A=0.1))
    sim = atomgraph.simulate(path, size=64, seed=1)
    assert sim.settings.dose_e_per_A2 == 50000 and sim.settings.pixel_size_A == 0.1
    image, heat, classes, weight = simulate_sample(load_config(path), ["C", "Si"], 0.25, seed=2)
    assert image.shape == heat.shape == classes.shape == weight.shape and heat.max() > 0.5
    weights = WEIGHTS_DIR / "locator-graphene-si.safetensors"
    mode, report = choose_refinement(weights, load_config(path), n_images=1, size=64)
    assert report["dose_e_per_A2"] == 50000 and mode in report["rms_error_pm"]


@pytest.mark.parametrize("cutoffs, key", [
    ({"C_Si": 2.2}, "'C_Si' must look like 'A-B'"),
    ({"C-Xx": 2.2}, "'C-Xx' must look like 'A-B'"),
    ({"C-C": -0.5}, "graph.cutoffs_A.C-C"),
    ({"C-C": "far"}, "graph.cutoffs_A.C-C"),
])
def test_cutoffs_are_checked_when_the_config_loads(tmp_path, cutoffs, key):
    path = _edited(tmp_path, lambda c: c["graph"].update(cutoffs_A=cutoffs))
    with pytest.raises(AtomgraphInputError, match="graph.cutoffs_A") as info:
        load_config(path)
    assert key in str(info.value)


def _contains(loaded, written, where="") -> None:
    """Every key of the YAML as written is in the loaded config with an equal value."""
    if isinstance(written, dict):
        for key, value in written.items():
            assert key in loaded, f"{where}{key} lost"
            _contains(loaded[key], value, f"{where}{key}.")
    elif isinstance(written, list) and written and isinstance(written[0], dict):
        assert len(loaded) == len(written), where
        for i, (a, b) in enumerate(zip(loaded, written)):
            _contains(a, b, f"{where}[{i}].")
    else:
        assert loaded == written and type(loaded) in (type(written), float), where


@pytest.mark.parametrize("name", sorted(p.name for p in configs_dir().glob("*.yaml")))
def test_every_bundled_config_round_trips(tmp_path, name):
    written = yaml.safe_load((configs_dir() / name).read_text())
    loaded = load_config(configs_dir() / name)
    _contains(loaded, written)
    again = load_config(_write(tmp_path, loaded))
    assert again == loaded
    assert load_material_config(tmp_path / "m.yaml") == load_material_config(configs_dir() / name)


def test_defaults_come_from_the_models_when_a_section_is_left_out(tmp_path):
    def strip(c):
        for key in ("graph", "locator", "min_separation_A"):
            c.pop(key)
        c["image"] = {"dose_e_per_A2": [1e4, 1e5]}
    cfg = load_material_config(_edited(tmp_path, strip))
    assert cfg.graph.bond_A == pytest.approx(2.46 / np.sqrt(3))
    assert cfg.graph.vacancy_fill_radius_A == pytest.approx(0.6 * 2.46 / np.sqrt(3))
    assert cfg.locator.classes is None and cfg.image.size_px > 0
    sim = atomgraph.simulate(cfg, size=64, seed=0)  # the simulator runs on defaults alone
    assert 1e4 <= sim.settings.dose_e_per_A2 <= 1e5 and sim.image.shape == (64, 64)


def test_range_accepts_a_number_or_an_ordered_pair():
    assert Range.parse(3).to_plain() == 3 and Range.parse([1, 2]).to_plain() == [1, 2]
    for bad in ([2, 1], [1, 2, 3], [1], True, "1", [1, float("nan")], None):
        with pytest.raises(ValueError):
            Range.parse(bad)


def test_range_draws_are_seeded_and_stay_inside():
    r = Range.parse([0.5, 2.0])
    values = [r.draw(np.random.default_rng(s)) for s in range(200)]
    assert min(values) >= 0.5 and max(values) <= 2.0 and np.std(values) > 0.3
    assert r.draw(np.random.default_rng(7)) == r.draw(np.random.default_rng(7))
    ints = {Range.parse([1, 3]).draw_int(np.random.default_rng(s)) for s in range(100)}
    assert ints == {1, 2, 3}


def test_a_fixed_range_does_not_consume_the_generator():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    assert Range.parse(0.1).draw(rng_a) == 0.1 and Range.parse([4, 4]).draw_log(rng_a) == 4
    assert rng_a.random() == rng_b.random()


def test_log_draws_spread_evenly_over_decades():
    r = Range.parse([1e3, 1e7])
    values = np.array([r.draw_log(np.random.default_rng(s)) for s in range(4000)])
    assert values.min() >= 1e3 and values.max() <= 1e7
    per_decade = np.histogram(np.log10(values), bins=[3, 4, 5, 6, 7])[0]
    assert per_decade.min() > 0.2 * len(values)  # uniform in log10: ~25% per decade (a linear draw gives <1%)
    assert np.median(values) == pytest.approx(r.log_center(), rel=0.15)


def test_a_range_is_an_immutable_value_shared_by_copies():
    r = Range.parse([1, 2])
    with pytest.raises(AttributeError):
        r.low = 5
    cfg = load_material_config("graphene-si")
    copy = cfg.model_copy(deep=True)
    assert copy.image.dose_e_per_A2 is cfg.image.dose_e_per_A2 and copy == cfg
