"""Docs that run: every docstring example in the package is executed, and the API reference builds strictly."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import atomgraph
from atomgraph.errors import AtomgraphInputError

ROOT = Path(__file__).resolve().parents[1]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
NEEDS_CLASSIFIER = {"atomgraph.classify.classify", "atomgraph.pipeline"}  # examples that run the bundled classifier


def _doctests() -> list[doctest.DocTest]:
    """Every docstring with examples, in every module of the package (each object where it is defined)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for info in pkgutil.walk_packages(atomgraph.__path__, "atomgraph."):
        module = importlib.import_module(info.name)
        if not isinstance(module, type(sys)):  # a name the package keeps as a function (atomgraph.simulate)
            module = sys.modules[info.name]
        tests += [t for t in finder.find(module, info.name) if t.examples]
    return sorted(tests, key=lambda t: t.name)


DOCTESTS = _doctests()


def _classifier_refused() -> str | None:
    """Why the bundled classifier cannot run here (e.g. weights from an older graph version), or None."""
    try:
        atomgraph.load_model("graphene-si").classifier
    except AtomgraphInputError as exc:
        return str(exc)
    return None


def test_the_docstrings_have_examples_for_every_stage():
    names = {t.name for t in DOCTESTS}
    for stage in ("atomgraph.simulate.simulation.simulate", "atomgraph.locate.infer.locate", "atomgraph.graph.build",
                  "atomgraph.classify.labeling.classify", "atomgraph.io.images.read_image", "atomgraph.config"):
        assert stage in names


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_examples_run(test):
    if test.name in NEEDS_CLASSIFIER and (reason := _classifier_refused()):
        pytest.skip(f"bundled classifier refused: {reason}")
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    output: list[str] = []
    runner.run(test, out=output.append, clear_globs=True)
    assert runner.failures == 0, "".join(output)


def test_the_api_reference_builds_strictly(tmp_path):
    """``mkdocs build --strict``: every page, cross-reference and docstring renders without a warning."""
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                             str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "\n".join(warnings) or result.stderr[-2000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("config.load_material_config", "config.range.Range.draw", "simulate.simulation.simulate", "locate.infer.locate",
                 "graph.build.build_graph", "classify.classify", "io.images.read_image",
                 "config.models.ImageConfig.dose_e_per_A2"):  # a documented attribute of a config section
        assert f'id="atomgraph.{name}"' in api, name
