"""The napari plugin's reader and writer, without napari or a display: they return / take layer data (NumPy + dicts).

An ``analyze`` folder opens as image, bonds, atoms (coloured by label, with prob/novelty/uncertain/masked
features), vacancy sites and labelled defects, all at (y_px, x_px) of the image; a ``track`` folder as movie, tracks,
sites and events with a frame axis; an edited atoms layer saved by the writer is read by ``atomgraph classify``.
"""

from __future__ import annotations

import csv
import logging
import shutil

import numpy as np
import pandas as pd
import pytest

import atomgraph
from atomgraph.cli import main
from atomgraph.errors import AtomgraphInputError
from atomgraph.io.coords import read_coordinates
from atomgraph.napari.layers import analysis_layers, label_colors
from atomgraph.napari.reader import get_reader, read_results_layers
from atomgraph.napari.writer import write_atoms_points, write_points_csv


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    """A simulated graphene-Si frame on disk and its `atomgraph analyze` folder."""
    root = tmp_path_factory.mktemp("napari")
    sim = atomgraph.simulate("graphene-si", size=192, pixel_size_A=0.1, dose=1e6, seed=3, counts={"Si3": 1, "Si4": 1})
    image = root / "frames" / "frame.npy"
    image.parent.mkdir()
    np.save(image, sim.image)
    out = root / "frames" / "out"
    assert main(["analyze", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out)]) == 0
    return sim, image, out


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _by_name(layers):
    return {kwargs["name"]: (data, kwargs, kind) for data, kwargs, kind in layers}


def test_reader_claims_result_folders_only(analyzed, tmp_path):
    _, image, out = analyzed
    assert get_reader(str(out)) is read_results_layers
    assert get_reader(str(out / "atoms.csv")) is read_results_layers
    assert get_reader(str(image)) is None
    assert get_reader(str(tmp_path)) is None
    with pytest.raises(AtomgraphInputError):
        read_results_layers(tmp_path)


def test_analyze_folder_opens_as_image_bonds_atoms_and_defects_in_row_col_pixels(analyzed):
    sim, image, out = analyzed
    layers = read_results_layers(out)
    kinds = [(kwargs["name"], kind) for _, kwargs, kind in layers]
    assert kinds[0] == ("out image", "image") and ("bonds", "vectors") in kinds and ("atoms", "points") in kinds
    by = _by_name(layers)
    np.testing.assert_array_equal(by["out image"][0], np.load(image))
    atoms = [r for r in _rows(out / "atoms.csv") if r["vacancy"] == "0"]
    data, kwargs, _ = by["atoms"]
    assert data.shape == (len(atoms), 2)
    np.testing.assert_allclose(data[:, 0], [float(r["y_px"]) for r in atoms], atol=1e-4)  # (row, col) = (y, x)
    np.testing.assert_allclose(data[:, 1], [float(r["x_px"]) for r in atoms], atol=1e-4)
    features = kwargs["features"]
    for name in ("label", "prob", "novelty", "uncertain", "masked", "novel", "element", "id"):
        assert len(features[name]) == len(atoms), name
    np.testing.assert_allclose(features["novelty"], [float(r["novelty"]) for r in atoms], atol=1e-4)
    assert features["uncertain"].tolist() == [r["uncertain"] == "1" for r in atoms]
    assert kwargs["metadata"]["pixel_size_A"] == pytest.approx(0.1)


def test_atoms_are_coloured_by_label(analyzed):
    _, _, out = analyzed
    _, kwargs, _ = _by_name(read_results_layers(out))["atoms"]
    labels = kwargs["features"]["label"]
    colors = np.asarray(kwargs["face_color"])
    assert {"C", "Si3"} <= set(labels)
    for label in set(labels):
        assert np.unique(colors[labels == label], axis=0).shape[0] == 1, label
    c, si = colors[labels == "C"][0], colors[labels == "Si3"][0]
    assert np.abs(c - si).max() > 0.3
    np.testing.assert_allclose(label_colors(["C"])[0], c)


def test_bonds_join_the_atoms_of_each_graph_edge(analyzed):
    _, _, out = analyzed
    by = _by_name(read_results_layers(out))
    vectors = by["bonds"][0]
    with np.load(out / "graph.npz") as z:
        edges, pos_A = z["edges"], z["pos_A"]
    assert vectors.shape == (len(edges), 2, 2)
    yx = pos_A[:, ::-1] / 0.1  # node ids are rows in graph.npz
    np.testing.assert_allclose(vectors[:, 0], yx[edges[:, 0]], atol=1e-3)
    np.testing.assert_allclose(vectors[:, 0] + vectors[:, 1], yx[edges[:, 1]], atol=1e-3)
    lengths_A = np.hypot(*vectors[:, 1].T) * 0.1
    assert 1.2 < np.median(lengths_A) < 1.6  # graphene C-C 1.42 Å


def test_defects_carry_their_label_as_text_at_their_centre(analyzed):
    _, _, out = analyzed
    data, kwargs, _ = _by_name(read_results_layers(out))["defects"]
    rows = _rows(out / "defects.csv")
    assert sorted(kwargs["features"]["label"]) == sorted(r["label"] for r in rows)
    assert {"Si3", "Si4"} <= set(kwargs["features"]["label"])
    np.testing.assert_allclose(data, [[float(r["y_px"]), float(r["x_px"])] for r in rows], atol=1e-4)
    assert kwargs["text"]["string"] == "{label}"
    assert np.all(kwargs["face_color"][:, 3] == 0) and np.all(kwargs["border_color"][:, 3] == 1)  # outlines


def test_vacancy_nodes_get_their_own_layer_of_crosses():
    atoms = pd.DataFrame({"id": [0, 1, 2], "x_px": [1.0, 5.0, 9.0], "y_px": [2.0, 2.0, 2.0], "x_A": [.1, .5, .9],
                          "y_A": [.2, .2, .2], "element": ["Mo", "", "Se"], "label": ["Mo", "Sevac", "Se2"],
                          "prob": [0.9, 0.8, 0.7], "vacancy": [False, True, False]})
    layers = _by_name(analysis_layers(None, atoms, None, None, pixel_size_A=0.1))
    assert layers["atoms"][0].tolist() == [[2.0, 1.0], [2.0, 9.0]]
    data, kwargs, kind = layers["vacancy sites"]
    assert kind == "points" and data.tolist() == [[2.0, 5.0]] and kwargs["symbol"] == "x"
    assert kwargs["features"]["label"].tolist() == ["Sevac"]


def test_image_found_after_folder_and_image_move_together_and_missing_image_is_reported(analyzed, tmp_path, caplog):
    _, _, out = analyzed
    moved = tmp_path / "elsewhere"
    shutil.copytree(out.parent, moved)
    names = [kwargs["name"] for _, kwargs, _ in read_results_layers(moved / "out")]
    assert names[0] == "out image"
    (moved / "frame.npy").unlink()
    shutil.move(out.parent / "frame.npy", tmp_path / "frame.npy")  # the original too: nothing to fall back on
    try:
        with caplog.at_level(logging.WARNING):
            layers = read_results_layers(moved / "out")
        assert [k for _, _, k in layers].count("image") == 0 and "atoms" in _by_name(layers)
        assert "is not there" in caplog.text
    finally:
        shutil.move(tmp_path / "frame.npy", out.parent / "frame.npy")


def test_results_made_from_an_array_open_with_their_saved_image(tmp_path):
    sim = atomgraph.simulate("graphene-si", size=96, pixel_size_A=0.1, dose=1e6, seed=1)
    result = atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)
    result.save(tmp_path / "py")
    image = _by_name(read_results_layers(tmp_path / "py"))["py image"][0]
    np.testing.assert_array_equal(image, sim.image)


def test_edited_points_written_by_the_writer_are_classified(analyzed, tmp_path, capsys):
    _, _, out = analyzed
    data, kwargs, _ = _by_name(read_results_layers(out))["atoms"]
    features = pd.DataFrame(kwargs["features"])
    keep = np.ones(len(data), bool)
    keep[5] = False  # a false column deleted
    edited, feats = data[keep].copy(), features[keep].reset_index(drop=True)
    edited[0] += [0.3, -0.2]  # a column moved
    attributes = {"metadata": kwargs["metadata"], "features": feats}
    path = tmp_path / "edited.csv"
    assert write_atoms_points(str(path), edited, attributes) == [str(path)]
    table = read_coordinates(path)
    assert len(table) == len(edited) and table.pixel_size_A == pytest.approx(0.1)
    np.testing.assert_allclose(table.positions_px[:, ::-1], edited, atol=1e-3)  # x_A, y_A read first: 1e-4 Å
    assert list(table.element) == list(feats["element"])
    assert not np.any(table.vacancy)
    graph = tmp_path / "graph.csv"
    assert main(["classify", str(path), "--model", "graphene-si", "-o", str(graph)]) == 0
    labels = [r["label"] for r in _rows(graph)]
    assert labels.count("Si3") >= 1 and labels.count("C") > 0.9 * len(edited)
    with pytest.raises(AtomgraphInputError, match="output exists"):
        write_atoms_points(str(path), edited, attributes)  # never overwrites
    write_points_csv(path, edited[:3], {"metadata": {}, "features": feats[:3]}, force=True)
    assert _rows(path)[0].keys() >= {"x_px", "y_px", "element"} and "x_A" not in _rows(path)[0]


def test_writer_refuses_points_with_a_frame_axis_or_a_bad_element(tmp_path):
    with pytest.raises(AtomgraphInputError, match="one frame"):
        write_points_csv(tmp_path / "a.csv", np.zeros((2, 3)), {})
    with pytest.raises(AtomgraphInputError, match="chemical symbol"):
        write_points_csv(tmp_path / "b.csv", np.zeros((1, 2)), {"features": {"element": ["carbon"]}})
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "b.csv").exists()


def test_track_folder_opens_with_a_time_axis_tracks_and_events(tmp_path):
    movie_dir, out = tmp_path / "movie", tmp_path / "tracked"
    assert main(["simulate", "graphene-si", "--frames", "4", "--size", "160", "--drift", "0.3", "--pixel-size",
                 "0.1", "--dose", "1e6", "--seed", "4", "-o", str(movie_dir)]) == 0
    stack = next(movie_dir.glob("*.npy"))
    assert main(["track", str(stack), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out), "--quiet"]) == 0
    by = _by_name(read_results_layers(out))
    movie = by["tracked movie"][0]
    assert movie.shape == np.load(stack).shape
    tracks = [r for r in _rows(out / "tracks.csv")]
    data, _, kind = by["tracks"]
    assert kind == "tracks" and data.shape == (len(tracks), 4)
    assert set(data[:, 1].astype(int)) == {0, 1, 2, 3}  # (track_id, frame, y, x)
    sites, kwargs, _ = by["sites"]
    assert sites.shape[1] == 3 and set(sites[:, 0].astype(int)) == {0, 1, 2, 3}
    events = _rows(out / "events.csv")
    if events:
        data, kwargs, _ = by["events"]
        assert data.shape == (len(events), 3) and "{type}" in kwargs["text"]["string"]


def test_writer_drops_the_intensity_a_point_added_in_napari_copied_from_another():
    from atomgraph.napari.writer import points_rows

    header, rows = points_rows(np.zeros((3, 2)) + [[1, 1], [5, 5], [9, 9]],
                               {"features": {"id": [4, 7, 4], "element": ["Se", "Mo", "Se"],
                                             "intensity": [10.0, 20.0, 10.0]}})
    column = header.index("intensity")
    assert [r[column] for r in rows] == ["10.0000", "20.0000", ""]


def test_track_layers_put_events_at_frame_row_col_with_their_change_as_text():
    from atomgraph.napari.layers import track_layers

    tracks = pd.DataFrame({"frame": [0, 1, 0, 1], "track_id": [7, 7, 8, 8], "x_px": [1.0, 1.5, 9.0, 9.0],
                           "y_px": [2.0, 2.5, 4.0, 4.0], "x_A": [.1, .15, .9, .9], "y_A": [.2, .25, .4, .4],
                           "element": ["Si", "Si", "C", ""], "label": ["Si3", "Si4", "C", ""],
                           "prob": [0.9, 0.8, 0.99, np.nan]})
    events = pd.DataFrame({"frame": [1], "type": ["label"], "track_ids": ["7"], "x_px": [1.5], "y_px": [2.5],
                           "from_label": ["Si3"], "to_label": ["Si4"], "prob": [0.95]})
    by = _by_name(track_layers(np.zeros((2, 16, 16)), tracks, events, pixel_size_A=0.1))
    assert by["tracks"][0].tolist() == [[7, 0, 2.0, 1.0], [7, 1, 2.5, 1.5], [8, 0, 4.0, 9.0], [8, 1, 4.0, 9.0]]
    assert by["sites"][0].tolist() == [[0, 2.0, 1.0], [1, 2.5, 1.5], [0, 4.0, 9.0]]
    assert by["vacancy sites"][0].tolist() == [[1, 4.0, 9.0]]  # the C column gone in frame 1
    data, kwargs, _ = by["events"]
    assert data.tolist() == [[1, 2.5, 1.5]] and kwargs["symbol"] == "star"
    assert kwargs["text"]["string"].format(**{k: v[0] for k, v in kwargs["features"].items()}) == "label: Si3→Si4"


def test_a_stack_folder_opens_with_a_frame_axis(tmp_path):
    sim = atomgraph.simulate("graphene-si", size=96, pixel_size_A=0.1, dose=1e6, seed=2)
    stack = tmp_path / "stack.npy"
    np.save(stack, np.stack([sim.image, sim.image[::-1]]))
    out = tmp_path / "out"
    assert main(["analyze", str(stack), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out)]) == 0
    by = _by_name(read_results_layers(out))
    assert by["out image"][0].shape == (2, 96, 96)
    atoms = _rows(out / "atoms.csv")
    data = by["atoms"][0]
    assert data.shape == (sum(r["vacancy"] == "0" for r in atoms), 3)
    assert set(data[:, 0].astype(int)) == {0, 1}
    bonds = by["bonds"][0]
    assert bonds.shape[1:] == (2, 3) and np.all(bonds[:, 1, 0] == 0)  # a bond stays in its frame
    n_edges = sum(len(np.load(out / f"frame_{i:04d}" / "graph.npz")["edges"]) for i in (0, 1))
    assert len(bonds) == n_edges
