"""atomgraph train model: a tiny model from a config written here, usable as --model, resumable."""

from __future__ import annotations

import json

import yaml

import atomgraph
from atomgraph.cli import main
from atomgraph.config import load_config
from atomgraph.models.training import train_model


def test_a_tiny_model_from_a_new_config_trains_resumes_and_analyzes(tmp_path):
    cfg = load_config("mos2")
    cfg["name"] = "tiny-mos2"
    cfg["classifier"] = {**cfg.get("classifier", {}), "heldout_graphs": 2, "max_graphs": 6, "size_px": [96, 128]}
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "model"
    summary = train_model(config, out, locator_steps=2, classifier_minutes=0.05, progress=False)
    assert summary["stages"]["locator"]["trained"] and summary["stages"]["classifier"]["trained"]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["classifier-tiny-mos2.json", "classifier-tiny-mos2.safetensors", "config.yaml",
                     "locator-tiny-mos2.json", "locator-tiny-mos2.safetensors", "model.json"]
    card = json.loads((out / "classifier-tiny-mos2.json").read_text())
    assert card["material"] == "tiny-mos2" and "temperature" in card["calibration"]
    again = train_model(config, out, locator_steps=2, classifier_minutes=0.05, progress=False)  # resumed: kept
    assert not again["stages"]["locator"]["trained"] and not again["stages"]["classifier"]["trained"]
    assert again["stages"]["classifier"]["sha256"] == summary["stages"]["classifier"]["sha256"]
    sim = atomgraph.simulate(config, size=128, pixel_size_A=0.1, seed=1)
    result = atomgraph.analyze(sim.image, model=str(out), pixel_size_A=0.1)
    assert set(result.atoms.label) <= set(cfg["labels"]) | {""}
    coords = sim.truth.subset(~sim.truth.vacancy)  # a coordinate table: the graph is built from the folder's config
    labeled = atomgraph.classify(coords, model=str(out)).atoms
    assert list(labeled.element[: len(coords)]) == list(coords.element)


def test_train_model_refuses_a_file_as_folder(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["train", "model", "--config", "mos2", "-o", str(target)]) == 2
    assert "not a folder" in capsys.readouterr().err
