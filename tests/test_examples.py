"""The examples run (each well under a minute) and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("script, expect", [
    ("graphene_si.py", "overlay"),
    ("mose2_vacancies.py", "vacancy nodes"),
    ("export_graph_networkx.py", "ring sizes"),
])
def test_example_runs(tmp_path, script, expect):
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert expect in proc.stdout
    assert (tmp_path / "out" / "overlay.png").is_file()
