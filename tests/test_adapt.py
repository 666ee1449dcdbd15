"""atomgraph adapt: self-training on unlabeled frames writes a model folder usable wherever a model name is."""

from __future__ import annotations

import json

import numpy as np

import atomgraph
from atomgraph.classify.adapt import adapt_classifier
from atomgraph.cli import main


def test_adapt_writes_a_model_folder_that_analyze_and_classify_accept(tmp_path):
    sims = [atomgraph.simulate("graphene-si", size=160, pixel_size_A=0.1, seed=700 + i) for i in range(2)]
    out = tmp_path / "adapted"
    card = adapt_classifier([(s.image, 0.1) for s in sims], "graphene-si", out, minutes=0.02, sim_graphs=4,
                            progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["classifier-graphene-si.json", "classifier-graphene-si.safetensors",
                                                     "locator-graphene-si.json", "locator-graphene-si.safetensors"]
    assert card["adaptation"]["pseudo_labels"]["C"] > 100  # the confident host columns became targets
    assert json.loads((out / "classifier-graphene-si.json").read_text())["sha256"] == card["sha256"]
    result = atomgraph.analyze(sims[0].image, model=str(out), pixel_size_A=0.1)
    assert {"C"} <= set(result.atoms.label)
    image = tmp_path / "frame.npy"
    np.save(image, sims[1].image)
    assert main(["analyze", str(image), "--model", str(out), "--pixel-size", "0.1", "-o", str(tmp_path / "o")]) == 0


def test_adapt_refuses_an_existing_folder_and_bad_confidence(tmp_path, capsys):
    sim = atomgraph.simulate("graphene-si", size=128, pixel_size_A=0.1, seed=3)
    image = tmp_path / "frame.npy"
    np.save(image, sim.image)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("keep")
    assert main(["adapt", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "-o",
                 str(tmp_path / "busy")]) == 2
    assert main(["adapt", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "--confidence", "1.5",
                 "-o", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "confidence" in err
    assert not (tmp_path / "new").exists()
