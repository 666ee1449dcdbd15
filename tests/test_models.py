"""The Model object (issue 25): one model resolved once, its parts read from it by every stage."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import atomgraph
from atomgraph.errors import AtomgraphInputError
from atomgraph.models.model import Model, load_model, resolve_model


def test_load_model_gives_one_cached_object_with_every_part():
    model = load_model("mose2-w")
    assert isinstance(model, Model) and str(model) == "mose2-w"
    assert load_model("mose2-w") is model and resolve_model(model) is model
    assert model.material.name == "mose2-w"
    assert model.classifier.labels == model.material.labels
    assert model.locator.native_A > 0 and "W" in model.locator.classes
    assert model.novelty is not None


def test_an_unknown_model_is_an_input_error_naming_the_bundled_ones():
    with pytest.raises(AtomgraphInputError, match="graphene-si"):
        load_model("no-such-model")


def test_the_kind_argument_still_returns_one_part_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"load_model\(name\)\.classifier"):
        clf = load_model("graphene-si", kind="classifier")
    assert clf is load_model("graphene-si").classifier
    with pytest.raises(AtomgraphInputError, match="unknown model kind"):
        load_model("graphene-si", kind="scanner")


def test_analyze_locate_and_classify_take_the_object_and_agree_with_the_name():
    sim = atomgraph.simulate("graphene-si", size=160, pixel_size_A=0.1, dose=1e5, seed=4)
    model = load_model("graphene-si")
    by_object = atomgraph.analyze(sim.image, model=model, pixel_size_A=0.1)
    by_name = atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)
    assert by_object.model == "graphene-si" and by_object.host_labels == ("C",)
    np.testing.assert_array_equal(by_object.atoms.label, by_name.atoms.label)
    np.testing.assert_allclose(by_object.atoms.prob, by_name.atoms.prob)
    atoms = atomgraph.locate(sim.image, model, pixel_size_A=0.1)
    assert len(atoms) == len(atomgraph.locate(sim.image, "graphene-si", pixel_size_A=0.1))
    truth = sim.truth.subset(sim.truth.element != "")
    graph = atomgraph.classify(truth, model)
    np.testing.assert_array_equal(graph.atoms.label, atomgraph.classify(truth, "graphene-si").atoms.label)


def test_classify_reads_a_name_as_the_model_object_does():
    """A name is read by the classify stage's own loaders (no Model resolved): every output equals the object's."""
    sim = atomgraph.simulate("mose2-w", size=128, pixel_size_A=0.127, dose=1e5, seed=2)
    truth = sim.truth.subset(sim.truth.element != "")
    by_name = atomgraph.classify(truth, "mose2-w").atoms
    by_object = atomgraph.classify(truth, load_model("mose2-w")).atoms
    assert np.isfinite(by_object.novelty).any()  # the model's novelty statistics were read
    for column in ("label", "prob", "label_probs", "uncertain", "novelty", "novel", "element", "vacancy"):
        np.testing.assert_array_equal(getattr(by_name, column), getattr(by_object, column))


def test_the_stages_do_not_import_the_model_module_that_builds_on_them():
    """``atomgraph.models.model`` reads its parts with the stages' loaders; the stages take a Model or a name without
    it (they read the model files through ``atomgraph.models.files`` and ``.paths``, which import no stage)."""
    code = ("import sys, atomgraph.classify, atomgraph.locate.infer, atomgraph.graph; "
            "print(sorted(m for m in ('atomgraph.models.model', 'atomgraph.models.training') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_models_package_is_the_file_layer_without_stages_or_torch():
    """``import atomgraph.models`` (the file format and paths) runs no stage, no Model and no torch; ``Model`` and
    ``load_model`` are at the top level and in ``atomgraph.models.model``."""
    code = ("import sys, atomgraph.models as m; print(m.WEIGHTS_DIR.is_dir(), sorted(k for k in sys.modules if k in "
            "('torch', 'atomgraph.models.model', 'atomgraph.models.training') or k.split('.')[:2] in "
            "(['atomgraph', s] for s in ('classify', 'locate', 'graph', 'simulate', 'materials'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True []"
    assert atomgraph.Model is Model and atomgraph.load_model is load_model
