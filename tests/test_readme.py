"""The README's quick start is exactly two commands, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands_install_and_run():
    commands = _quick_start()
    assert len(commands) == 2
    assert all(c.startswith("pip install torch==2.13.0 && ") for c in commands)
    assert commands[0].endswith("atomgraph demo")
    assert commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _quick_start()[1] in ci


def test_the_readme_batch_read_line_runs(tmp_path):
    """The README's ``pq.read_table(...).to_pandas()`` line runs as written (pandas is a dependency) on a batch
    folder's frames dataset."""
    import subprocess
    import sys

    from atomgraph.batch.store import PartWriter, prepare_output
    from atomgraph.io.parquet import atoms_schema, defects_schema, frames_schema

    text = (ROOT / "README.md").read_text()
    line = next(x for x in text.splitlines() if x.startswith("python -c") and "to_pandas()" in x)
    code = line.split('"', 1)[1].rsplit('"', 1)[0]
    out = tmp_path / "results"
    prepare_output(out, {"model": "graphene-si", "pixel_size_A": 0.1, "threshold": None})
    writer = PartWriter(out, {"atoms": atoms_schema(["C", "Si"], ["C"]), "defects": defects_schema(),
                              "frames": frames_schema(["C"])})
    writer.add({"row": {"source": "a.npy", "frame": 0, "status": "error", "error": "NaN pixels"}, "atoms": None,
                "defects": None})
    writer.flush()
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "a.npy" in proc.stdout and "NaN pixels" in proc.stdout
