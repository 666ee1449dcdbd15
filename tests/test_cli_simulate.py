"""`atomgraph simulate` writes images, truth and a manifest; bad input is one line and exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atomgraph.cli import main


def test_simulate_writes_images_truth_and_manifest(tmp_path, capsys):
    out = tmp_path / "sims"
    rc = main(["simulate", "graphene-si", "--size", "64", "--pixel-size", "0.1", "--dose", "1e5", "--seed", "3",
               "--count", "2", "-o", str(out), "--quiet"])
    assert rc == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["graphene-si_seed00003.csv", "graphene-si_seed00003.npy", "graphene-si_seed00004.csv",
                     "graphene-si_seed00004.npy", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["material"] == "graphene-si" and len(manifest["images"]) == 2
    first = manifest["images"][0]
    assert first["pixel_size_A"] == pytest.approx(0.1) and first["seed"] == 3 and "counts" in first
    assert np.load(out / "graphene-si_seed00003.npy").shape == (64, 64)
    header = (out / "graphene-si_seed00003.csv").read_text().splitlines()[0]
    assert header == "x_px,y_px,element,label"


@pytest.mark.parametrize("argv, message", [
    (["simulate", "unobtainium"], "unknown material"),
    (["simulate", "graphene-si", "--size", "0"], "size"),
    (["simulate", "graphene-si", "--dose", "-5"], "dose"),
    (["simulate", "graphene-si", "--dose", "abc"], "dose"),
    (["simulate", "graphene-si", "--defect", "Si9=2"], "Si9"),
])
def test_bad_simulate_arguments_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "o"
    rc = main(argv + ["-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_existing_non_empty_folder_needs_force(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["simulate", "mos2", "--size", "32", "-o", str(out)]) == 2
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert main(["simulate", "mos2", "--size", "32", "-o", str(out), "--force"]) == 0
    # --force replaces the folder as a whole, never merges (issue 23): the old file is gone
    assert (out / "manifest.json").is_file() and not (out / "keep.txt").exists()
