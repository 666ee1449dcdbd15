"""What a command imports (issue 24): help, the model list, refused inputs and classifying a coordinate file answer
without torch; analyze writes its overlay without matplotlib; no command leaves files in the temp directory."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from atomgraph import simulate

PROBE = ("import sys; from atomgraph.cli import main\n"
         "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
         "print('modules:', *(m for m in ('torch', 'torch_geometric', 'matplotlib', 'scipy', 'scipy.spatial', 'ase', "
         "'pydantic', 'atomgraph.pipeline') if m in sys.modules), "
         "file=sys.stderr)\nsys.exit(code)")


def _run(args: list[str], cwd, temp) -> tuple[int, set[str], str]:
    """(exit code, heavy modules imported, stderr without the module line) of one CLI call in a fresh process."""
    env = {**os.environ, "TMPDIR": str(temp), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd, env=env,
                         timeout=300)
    lines = run.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("modules:"), run.stderr
    return run.returncode, set(lines[-1].split()[1:]), "\n".join(lines[:-1])


@pytest.fixture
def temp(tmp_path):
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("args, code", [
    (["--help"], 0),
    (["models"], 0),
    (["classify", "missing.csv", "-o", "out.csv"], 2),
    (["classify", "atoms.csv", "--model", "no-such-model", "-o", "out.csv"], 2),
    (["analyze", "missing.npy", "--model", "graphene-si", "-o", "out"], 2),
    (["locate", "missing.npy", "-o", "out.csv"], 2),
    (["evaluate", "missing.csv", "other.csv"], 2),
])
def test_help_models_and_refused_inputs_do_not_import_torch(tmp_path, temp, args, code):
    (tmp_path / "atoms.csv").write_text("x_A,y_A\n0,0\n1.42,0\n", encoding="utf-8")
    got, modules, err = _run(args, tmp_path, temp)
    assert got == code, err
    assert "torch" not in modules and "matplotlib" not in modules
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith("atomgraph: error:")
    assert list(temp.iterdir()) == []


STAGES = {"scipy", "scipy.spatial", "ase", "pydantic", "atomgraph.pipeline", "torch"}


@pytest.mark.parametrize("args, message", [
    (["classify", "columns.csv", "-o", "out.csv"], "has no coordinate columns"),
    (["classify", "missing.csv", "-o", "out.csv"], "file not found"),
    (["classify", "atoms.csv", "-o", "taken.csv"], "output exists"),
    (["classify", "atoms.csv", "-o", "out.unknown"], "unknown graph format"),
    (["analyze", "missing.png", "--pixel-size", "0.1", "-o", "out"], "file not found"),
    (["analyze", "text.png", "--pixel-size", "0.1", "-o", "out"], "not a PNG image"),
    (["analyze", "frame.npy", "--pixel-size", "0.1", "-o", "taken"], "output folder is not empty"),
    (["analyze", "frame.npy", "--model", "no-such-model", "-o", "out"], "unknown classifier model"),
    (["analyze", "frame.npy", "--model", "graphene-si", "-o", "out"], "pixel size is needed"),
    (["analyze", "frame.npy", "--model", "graphene-si", "--pixel-size", "0.1", "--export", "nope", "-o", "out"],
     "unknown export"),
])
def test_a_refused_classify_or_analyze_imports_no_stage(tmp_path, temp, args, message):
    """The door of a verb (atomgraph.cli.doors) refuses before its module imports scipy, ase, pydantic or the
    pipeline (issue 24: a refused call in a few tenths of a second, not 1.5 s)."""
    (tmp_path / "columns.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "atoms.csv").write_text("x_A,y_A\n0,0\n1.42,0\n", encoding="utf-8")
    (tmp_path / "taken.csv").write_text("", encoding="utf-8")
    (tmp_path / "text.png").write_text("not a picture\n", encoding="utf-8")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine", encoding="utf-8")
    np.save(tmp_path / "frame.npy", np.random.default_rng(0).random((64, 64), np.float32))
    got, modules, err = _run(args, tmp_path, temp)
    assert got == 2 and message in err and len(err.splitlines()) == 1, err
    assert modules & STAGES == set()


@pytest.mark.parametrize("model, message", [("graphene-si", "element U"), ("no-such-model", "unknown classifier")])
def test_a_coordinate_file_refused_for_its_model_imports_no_stage(tmp_path, temp, model, message):
    """The file reads (its element symbols checked against ase.data's table, cheap), then the model refuses it:
    still no scipy.spatial (the duplicate check needs it only when two points are close), pydantic or pipeline."""
    (tmp_path / "atoms.csv").write_text("x_A,y_A,element\n0,0,C\n1.42,0,U\n", encoding="utf-8")
    got, modules, err = _run(["classify", "atoms.csv", "--model", model, "-o", "out.csv"], tmp_path, temp)
    assert got == 2 and message in err, err
    assert modules & (STAGES - {"ase"}) == set()


def test_an_element_the_model_does_not_know_is_refused_before_torch(tmp_path, temp):
    (tmp_path / "atoms.csv").write_text("x_A,y_A,element\n0,0,C\n1.42,0,U\n", encoding="utf-8")
    got, modules, err = _run(["classify", "atoms.csv", "-o", "out.csv"], tmp_path, temp)
    assert got == 2 and "element U" in err
    assert "torch" not in modules


@pytest.mark.parametrize("output", ["graph.csv", "graph.graphml"])
def test_classify_of_a_coordinate_file_imports_neither_torch_nor_torch_geometric(tmp_path, temp, output):
    sim = simulate("mose2-w", size=96, pixel_size_A=0.1, seed=2)
    real = sim.truth.subset(~sim.truth.vacancy)
    rows = [f"{x:.4f},{y:.4f},{e}" for (x, y), e in zip(real.positions_A, real.element)]
    (tmp_path / "atoms.csv").write_text("x_A,y_A,element\n" + "\n".join(rows) + "\n", encoding="utf-8")
    got, modules, err = _run(["classify", "atoms.csv", "--model", "mose2-w", "-o", output], tmp_path, temp)
    assert got == 0, err
    assert (tmp_path / output).stat().st_size > 0
    assert "torch" not in modules and "torch_geometric" not in modules
    assert list(temp.iterdir()) == []


def test_analyze_writes_a_colored_overlay_without_matplotlib_or_torch_geometric(tmp_path, temp):
    sim = simulate("graphene-si", size=192, pixel_size_A=0.1, dose=2e5, seed=5, counts={"Si3": 2, "Si4": 1})
    np.save(tmp_path / "frame.npy", sim.image)
    got, modules, err = _run(["analyze", "frame.npy", "--model", "graphene-si", "--pixel-size", "0.1", "-o", "out"],
                             tmp_path, temp)
    assert got == 0, err
    assert "matplotlib" not in modules and "torch_geometric" not in modules and "torch" in modules
    assert list(temp.iterdir()) == []
    png = np.asarray(Image.open(tmp_path / "out" / "overlay.png").convert("RGB")).astype(float)
    assert png.shape[0] == 800 and png.shape[1] == 800  # 192 px shown at least 800 px tall, aspect kept
    saturation = png.max(axis=2) - png.min(axis=2)
    scale = png.shape[0] / sim.image.shape[0]
    defects = [line.split(",") for line in (tmp_path / "out" / "defects.csv").read_text().splitlines()[1:]]
    assert defects
    for row in defects:  # id,label,x_px,y_px,...: each defect's marker is colored, unlike the gray image
        x, y = int((float(row[2]) + 0.5) * scale), int((float(row[3]) + 0.5) * scale)
        assert saturation[y - 3:y + 4, x - 3:x + 4].max() > 100, row
    assert np.median(saturation) < 60  # the image itself stays gray (host markers are translucent)
