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
         "print('modules:', *(m for m in ('torch', 'torch_geometric', 'matplotlib', 'scipy') if m in sys.modules), "
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
