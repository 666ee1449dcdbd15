"""analyze / demo: the compact outputs (and the exports on request), consistent with each other; the overlay is a
real picture of the defects."""

from __future__ import annotations

import csv
import json

import networkx as nx
import numpy as np
import pytest
from PIL import Image

import atomgraph
from atomgraph.cli import main
from atomgraph.pipeline import EXPORTS, IMAGE_FILE, OUTPUT_FILES

from isolated import isolated_config


@pytest.fixture(scope="module")
def sim():
    return atomgraph.simulate(isolated_config("graphene-si"), size=256, pixel_size_A=0.1, dose=1e6, seed=12345,
                              counts={"Si3": 2, "Si4": 1})


@pytest.fixture(scope="module")
def result(sim):
    return atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_analyze_writes_compact_outputs_and_exports_on_request_that_agree(result, tmp_path):
    result.save(tmp_path, export="graphml,json")  # an array from Python: the image is saved beside the results
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(OUTPUT_FILES + ("graph.graphml", "graph.json",
                                                                                 IMAGE_FILE))
    assert np.array_equal(np.load(tmp_path / IMAGE_FILE), result.image)
    compact = np.load(tmp_path / "graph.npz", allow_pickle=False)
    assert len(compact["node_id"]) == len(result.atoms)
    assert len(compact["edges"]) == nx.read_graphml(tmp_path / "graph.graphml").number_of_edges()
    atoms = _rows(tmp_path / "atoms.csv")
    defects = _rows(tmp_path / "defects.csv")
    graphml = nx.read_graphml(tmp_path / "graph.graphml")
    node_link = json.loads((tmp_path / "graph.json").read_text())
    assert len(atoms) == len(result.atoms) == graphml.number_of_nodes() == len(node_link["nodes"])
    ids = {int(r["id"]) for r in atoms}
    assert ids == {int(n["id"]) for n in node_link["nodes"]}
    for d in defects:
        assert {int(i) for i in d["site_ids"].split()} <= ids
    # positions agree between the CSV and the GraphML
    by_id = {int(r["id"]): r for r in atoms}
    for _, data in list(graphml.nodes(data=True))[:50]:
        row = by_id[int(data["id"])]
        assert float(row["x_A"]) == pytest.approx(float(data["x_A"]), abs=1e-3)
        assert row["label"] == data["label"]
    labels = [r["label"] for r in atoms]
    assert len(defects) == sum(1 for d in result.defects)
    assert all(d["label"] in ("Si3", "Si4") or "+" in d["label"] for d in defects)
    assert labels.count("Si3") + labels.count("Si4") >= 1


def test_analyze_finds_the_simulated_defects(sim, result):
    counts = result.defect_counts()
    assert counts.get("Si3", 0) == sim.counts["Si3"]
    assert counts.get("Si4", 0) == sim.counts["Si4"]


def test_overlay_has_the_image_aspect_and_marks_defects(sim, result, tmp_path):
    fig = result.plot()
    from atomgraph.plot import save_figure

    save_figure(fig, tmp_path / "overlay.png")
    png = np.asarray(Image.open(tmp_path / "overlay.png").convert("RGB")).astype(float)
    h, w = png.shape[:2]
    assert w / h == pytest.approx(sim.image.shape[1] / sim.image.shape[0], rel=0.02)
    # around each defect the overlay is colored (defect markers), unlike the gray raw image
    saturation = png.max(axis=2) - png.min(axis=2)
    scale = w / sim.image.shape[1]
    for d in result.defects:
        x, y = (d.center_px * scale).astype(int)
        patch = saturation[max(y - 25, 0):y + 25, max(x - 25, 0):x + 25]
        assert patch.max() > 100


def test_overlay_png_holds_the_pictures_pixels(result, tmp_path):
    """overlay.png is written by atomgraph's own PNG writer (rows unfiltered, one zlib stream): Pillow reads back
    the very pixels overlay_image drew, for odd sizes too."""
    import io

    from atomgraph.io.overlay import overlay_image, png_bytes, write_overlay_png

    path = write_overlay_png(tmp_path / "overlay.png", result.image, result.atoms, 0.1, result.defects)
    drawn = np.asarray(overlay_image(result.image, result.atoms, 0.1, result.defects))
    with Image.open(path) as png:
        png.verify()
    with Image.open(path) as png:
        assert png.mode == "RGB" and np.array_equal(np.asarray(png), drawn)
    rng = np.random.default_rng(0)
    for shape in [(1, 1, 3), (7, 13, 3), (31, 2, 3)]:
        rgb = rng.integers(0, 256, shape, dtype=np.uint8)
        for level in (0, 1, 9):
            assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(rgb, level)))), rgb)


def test_cli_analyze_writes_outputs_and_refuses_to_overwrite(sim, tmp_path, capsys):
    image = tmp_path / "frame.npy"
    np.save(image, sim.image)
    out = tmp_path / "out"
    assert main(["analyze", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert "graph.graphml" not in OUTPUT_FILES and "graph.json" not in OUTPUT_FILES  # large exports: on request
    printed = capsys.readouterr().out
    assert "Si3" in printed
    before = (out / "atoms.csv").read_bytes()
    assert main(["analyze", str(image), "--pixel-size", "0.1", "-o", str(out)]) == 2
    assert (out / "atoms.csv").read_bytes() == before


def test_cli_analyze_export_option_and_overlay_size(sim, tmp_path, capsys):
    image = tmp_path / "frame.npy"
    big = np.tile(sim.image, (9, 9))  # 2304 px: the default overlay is capped at 2048 px, --overlay-full is not
    np.save(image, big)
    out = tmp_path / "out"
    assert main(["analyze", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out),
                 "--export", "json,pt"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES + (EXPORTS["json"], EXPORTS["pt"]))
    assert max(Image.open(out / "overlay.png").size) <= 2048
    full = tmp_path / "full"
    assert main(["analyze", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(full),
                 "--overlay-full"]) == 0
    assert max(Image.open(full / "overlay.png").size) == pytest.approx(big.shape[0], abs=2)


def test_cli_analyze_refuses_an_unknown_export_before_any_work(sim, tmp_path, capsys):
    image = tmp_path / "frame.npy"
    np.save(image, sim.image)
    assert main(["analyze", str(image), "--pixel-size", "0.1", "-o", str(tmp_path / "o"), "--export", "gml"]) == 2
    err = capsys.readouterr().err
    assert "unknown export 'gml'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_analyze_needs_a_pixel_size(sim, tmp_path, capsys):
    image = tmp_path / "frame.npy"
    np.save(image, sim.image)
    assert main(["analyze", str(image), "-o", str(tmp_path / "out")]) == 2
    assert "pixel size" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
