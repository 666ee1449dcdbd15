"""The napari plugin inside a real (offscreen) napari viewer: the manifest's reader, writer and widget.

Needs ``pip install "atomgraph[napari]" pytest-qt``; skipped where napari is not installed (CI installs only
``.[test]``: napari and Qt would add minutes). napari draws with OpenGL, which the offscreen Qt platform lacks here,
so run it under a virtual X server: ``xvfb-run -a pytest tests/test_napari_widget.py`` (apt: xvfb, libgl1-mesa-dri).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

napari = pytest.importorskip("napari")
pytest.importorskip("pytestqt")
if not os.environ.get("DISPLAY"):  # offscreen Qt has no OpenGL context for napari's canvas
    pytest.skip("napari's canvas needs a display: run under xvfb-run", allow_module_level=True)

import atomgraph  # noqa: E402
from atomgraph.cli import main  # noqa: E402
from atomgraph.io.coords import read_coordinates  # noqa: E402
from atomgraph.napari.widget import make_analyze_widget  # noqa: E402

pytestmark = pytest.mark.napari


@pytest.fixture(scope="module")
def sim():
    return atomgraph.simulate("graphene-si", size=192, pixel_size_A=0.1, dose=1e6, seed=3, counts={"Si3": 1, "Si4": 1})


def test_widget_analyzes_the_selected_image_layer_and_adds_result_layers(make_napari_viewer, sim):
    viewer = make_napari_viewer()
    viewer.add_image(sim.image, name="frame", metadata={"pixel_size_A": 0.1}, translate=(5, 7))
    widget = make_analyze_widget(viewer)
    viewer.window.add_dock_widget(widget, name="atomgraph")
    assert widget.image.value is viewer.layers["frame"] and widget.pixel_size.value == "0.1"
    added = widget.run()
    names = [layer.name for layer in added]
    assert names == ["frame bonds", "frame atoms", "frame defects"]
    atoms = viewer.layers["frame atoms"]
    assert len(atoms.data) == int((~widget.result.atoms.vacancy).sum())
    assert {"label", "prob", "novelty", "uncertain", "masked"} <= set(atoms.features.columns)
    assert tuple(atoms.translate) == (5, 7)  # placed on the image
    assert {"Si3", "Si4"} <= set(viewer.layers["frame defects"].features["label"])
    assert widget.progress.value == widget.progress.max
    n = len(widget.result.defects)
    assert f"{n} defects: " in widget.status.value and "agrees" in widget.warnings.value


def test_widget_shows_lattice_warnings_and_refuses_a_bad_pixel_size(make_napari_viewer, sim):
    viewer = make_napari_viewer()
    viewer.add_image(sim.image, name="frame")
    widget = make_analyze_widget(viewer)
    assert widget.pixel_size.value == "auto"
    widget.pixel_size.value = "0.108"  # 8 % off the lattice: analyzed, with the check's warning shown
    assert widget.run()
    assert "0.108" in widget.warnings.value and "0.1" in widget.warnings.value
    widget.pixel_size.value = "auto"
    widget.run()
    assert "measured from the graphene-si lattice" in widget.warnings.value
    assert widget.result.pixel_size_A == pytest.approx(0.1, rel=0.03)
    n_layers = len(viewer.layers)
    widget.pixel_size.value = "abc"
    assert widget.run() == [] and widget.status.value.startswith("refused: ") and len(viewer.layers) == n_layers


def test_viewer_opens_an_analyze_folder_and_saves_edited_points_for_classify(make_napari_viewer, sim, tmp_path):
    image, out = tmp_path / "frame.npy", tmp_path / "out"
    np.save(image, sim.image)
    assert main(["analyze", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out)]) == 0
    viewer = make_napari_viewer()
    layers = viewer.open(str(out), plugin="atomgraph")
    assert [layer.name for layer in layers][:3] == ["out image", "bonds", "atoms"]
    atoms = viewer.layers["atoms"]
    removed = atoms.data[0].copy()
    atoms.selected_data = {0}
    atoms.remove_selected()
    atoms.selected_data = {3}
    atoms.add([removed + 0.2])  # the column put back a little off: napari copies the selected point's features
    assert atoms.features["element"].iloc[-1] == atoms.features["element"].iloc[3]
    path = tmp_path / "edited.csv"
    napari.save_layers(str(path), [atoms], plugin="atomgraph")
    table = read_coordinates(path)
    assert len(table) == len(atoms.data)
    np.testing.assert_allclose(table.positions_px[-1], removed[::-1] + 0.2, atol=1e-3)
    assert np.isnan(table.intensity[-1]) and np.isfinite(table.intensity[3])  # the copied intensity is dropped
    assert main(["classify", str(path), "--model", "graphene-si", "-o", str(tmp_path / "g.csv")]) == 0
