"""Results where people look: DataFrames (the files' columns, one call per folder), Jupyter's HTML view (a table and
an inline overlay, no file written) and hyperspy signals as input (duck-typed: hyperspy is never imported)."""

from __future__ import annotations

import base64
import csv
import io
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import atomgraph
from atomgraph.errors import AtomgraphInputError
from atomgraph.io.dataframes import read_results
from atomgraph.io.tables import ATOMS_COLUMNS


@pytest.fixture(scope="module")
def sim():
    return atomgraph.simulate("graphene-si", size=160, pixel_size_A=0.1, dose=1e6, seed=7, counts={"Si3": 1, "Si4": 1})


@pytest.fixture(scope="module")
def result(sim):
    return atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)


@pytest.fixture(scope="module")
def movie_result():
    from atomgraph.track import simulate_movie, track

    movie = simulate_movie("graphene-si", frames=4, size=160, pixel_size_A=0.1, dose=1e6, seed=4,
                           drift_A_per_frame=0.3, rates={"dopant_to_divacancy": 0.5})
    return track(movie.frames, model="graphene-si", pixel_size_A=0.1)


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_atoms_frame_has_the_csv_columns_and_values(result, tmp_path):
    frame = result.atoms_frame()
    assert list(frame.columns[:len(ATOMS_COLUMNS)]) == ATOMS_COLUMNS
    assert {"novelty", "uncertain", "masked", "novel"} <= set(frame.columns)
    assert len(frame) == len(result.atoms) and frame["vacancy"].dtype == bool
    result.save(tmp_path / "out")
    rows = _rows(tmp_path / "out" / "atoms.csv")
    assert list(frame.columns) == list(rows[0].keys())
    np.testing.assert_allclose(frame["x_A"], [float(r["x_A"]) for r in rows], atol=1e-4)
    assert frame["label"].tolist() == [r["label"] for r in rows]
    back = read_results(tmp_path / "out")["atoms"]  # the folder in one call: the same table, rounded to 1e-4
    assert list(back.columns) == list(frame.columns)
    np.testing.assert_allclose(back["y_px"], frame["y_px"], atol=1e-4)
    assert back["uncertain"].tolist() == frame["uncertain"].astype(bool).tolist()


def test_defects_frame_matches_the_defects(result):
    frame = result.defects_frame()
    assert list(frame.columns) == ["id", "label", "x_px", "y_px", "x_A", "y_A", "site_ids", "prob", "uncertain",
                                   "n_sites"]
    assert sorted(frame["label"]) == sorted(d.label for d in result.defects)
    assert {"Si3", "Si4"} <= set(frame["label"])
    d = result.defects[0]
    assert frame.loc[0, "x_A"] == pytest.approx(d.center_A[0]) and frame.loc[0, "n_sites"] == len(d.site_ids)
    empty = atomgraph.pipeline.Analysis(result.image, 0.1, "graphene-si", result.graph, []).defects_frame()
    assert len(empty) == 0 and "site_ids" in empty.columns


def test_analysis_html_is_a_summary_table_and_an_inline_overlay_without_files(result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    html = result._repr_html_()
    assert list(tmp_path.iterdir()) == []
    assert "<table" in html and ">Si3<" in html and ">Si4<" in html and "graphene-si" in html
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1))
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG" and 300 <= max(picture.size) <= 800
    assert len(html) < 250_000


def test_track_result_frames_and_html(movie_result, tmp_path):
    from atomgraph.track.output import write_track

    tracks = movie_result.tracks_frame()
    assert list(tracks.columns[:9]) == ["frame", "track_id", "x_px", "y_px", "x_A", "y_A", "element", "label", "prob"]
    assert sorted(tracks["frame"].unique()) == [0, 1, 2, 3]
    events, transitions = movie_result.events_frame(), movie_result.transitions_frame()
    assert len(events) == len(movie_result.events) and "type" in events.columns
    assert len(transitions) == len(movie_result.transitions)
    html = movie_result._repr_html_()
    assert "<table" in html and "frame(s) tracked" in html and "data:image/png;base64," in html
    write_track(movie_result, tmp_path, figures=False)
    tables = read_results(tmp_path)
    assert list(tables) == ["tracks", "events", "transitions", "drift"]
    assert len(tables["tracks"]) == len(tracks) and len(tables["drift"]) == 4
    np.testing.assert_allclose(tables["tracks"]["x_px"], tracks["x_px"], atol=1e-4)


def test_batch_folder_reads_as_frames_in_one_call(result, tmp_path):
    from atomgraph.io.parquet import atoms_table, defects_table, write_part

    write_part([atoms_table(result.atoms, "a.npy", 0), atoms_table(result.atoms, "a.npy", 1)],
               tmp_path / "atoms.parquet", "part-0.parquet")
    write_part([defects_table(result.defects, "a.npy", 0)], tmp_path / "defects.parquet", "part-0.parquet")
    tables = read_results(tmp_path)
    assert set(tables) == {"atoms", "defects"}
    assert len(tables["atoms"]) == 2 * len(result.atoms) and set(tables["atoms"]["frame"]) == {0, 1}
    assert isinstance(tables["defects"], pd.DataFrame) and len(tables["defects"]) == len(result.defects)


def test_read_results_refuses_a_folder_without_results(tmp_path):
    with pytest.raises(AtomgraphInputError, match="no atomgraph results"):
        read_results(tmp_path)


# ------------------------------------------------------------------------------------------------------ hyperspy
def _signal(data, scale=0.01, units="nm", title="HAADF"):
    """What atomgraph reads of a hyperspy Signal2D: ``data``, two signal axes (x, y) and a title."""
    axes = [SimpleNamespace(scale=scale, units=units, name=n) for n in ("x", "y")]
    return SimpleNamespace(data=data, axes_manager=SimpleNamespace(signal_axes=axes),
                           metadata=SimpleNamespace(General=SimpleNamespace(title=title)))


def test_read_image_takes_a_signal2d_with_its_calibration(sim):
    image = atomgraph.read_image(_signal(sim.image, 0.01, "nm"))
    assert image.pixel_size_A == pytest.approx(0.1) and image.data.dtype == np.float32
    np.testing.assert_allclose(image.data, sim.image)
    assert atomgraph.read_image(_signal(sim.image, 10.0, "pm")).pixel_size_A == pytest.approx(0.1)
    assert atomgraph.read_image(_signal(sim.image, 1.0, "<undefined>")).pixel_size_A is None
    stack = atomgraph.read_image(_signal(np.stack([sim.image] * 2), 0.1, "Å"), allow_stack=True)
    assert stack.frames == 2 and stack.pixel_size_A == pytest.approx(0.1)
    with pytest.raises(AtomgraphInputError, match="stack"):
        atomgraph.read_image(_signal(np.stack([sim.image] * 2)))


def test_analyze_takes_a_signal2d_and_its_calibration(sim, result):
    from_signal = atomgraph.analyze(_signal(sim.image, 0.01, "nm"), model="graphene-si")
    assert from_signal.pixel_size_A == pytest.approx(0.1)
    assert from_signal.defect_counts() == result.defect_counts()
    assert len(from_signal.atoms) == len(result.atoms)
    with pytest.raises(AtomgraphInputError, match="pixel size is needed"):
        atomgraph.analyze(_signal(sim.image, 1.0, ""), model="graphene-si")
    spectrum = SimpleNamespace(data=np.ones(50), axes_manager=SimpleNamespace(signal_axes=[SimpleNamespace()]))
    with pytest.raises(AtomgraphInputError, match="1 signal axes"):
        atomgraph.analyze(spectrum, model="graphene-si", pixel_size_A=0.1)


def test_importing_atomgraph_and_its_plugin_modules_loads_no_hyperspy_napari_qt_or_pandas():
    code = ("import sys, atomgraph, atomgraph.pipeline, atomgraph.io.images, atomgraph.notebook, "
            "atomgraph.napari.reader, atomgraph.napari.writer, atomgraph.napari.widget, atomgraph.napari.layers; "
            "print(sorted(m for m in ('hyperspy', 'napari', 'magicgui', 'qtpy', 'pandas', 'IPython') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr[-2000:]


def test_a_real_hyperspy_signal2d(sim):
    hs = pytest.importorskip("hyperspy.api")
    signal = hs.signals.Signal2D(sim.image)
    for axis in signal.axes_manager.signal_axes:
        axis.scale, axis.units = 0.01, "nm"
    image = atomgraph.read_image(signal)
    assert image.pixel_size_A == pytest.approx(0.1) and image.data.shape == sim.image.shape
