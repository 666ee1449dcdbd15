"""The README's quick start is exactly two commands, CI runs the README's test command, and the README's Python and
notebook examples run."""

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


def _python_blocks(section: str) -> list[str]:
    """The ```python blocks of a README section (``## <section>`` up to the next ``## ``)."""
    text = (ROOT / "README.md").read_text()
    body = text.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def _run(blocks: list[str], tmp_path, monkeypatch) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    return namespace


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = _python_blocks("Python")
    assert len(blocks) == 1
    ns = _run(blocks, tmp_path, monkeypatch)
    assert (tmp_path / "out" / "graph.graphml").is_file() and ns["check"].pixel_size_A > 0


def test_readme_notebook_and_dataframe_example_runs(tmp_path, monkeypatch):
    blocks = _python_blocks("napari, Jupyter, pandas, hyperspy")
    assert len(blocks) == 2 and "hyperspy" in blocks[1]
    ns = _run(blocks[:1], tmp_path, monkeypatch)
    assert "<table" in ns["result"]._repr_html_()
    assert list(ns["tables"]) == ["atoms", "defects"] and len(ns["tables"]["atoms"]) == len(ns["atoms"])


def test_readme_hyperspy_example_runs(tmp_path, monkeypatch):
    import pytest

    pytest.importorskip("hyperspy.api")
    blocks = _python_blocks("napari, Jupyter, pandas, hyperspy")
    ns = _run(blocks, tmp_path, monkeypatch)
    assert abs(ns["result"].pixel_size_A - 0.1) < 1e-6
