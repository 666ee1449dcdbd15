"""`atomgraph.track` on short simulated movies with exact truth, and the `atomgraph track` command."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from atomgraph.cli import main
from atomgraph.materials import get_material
from atomgraph.track import simulate_movie, track
from atomgraph.track.score import event_kind, event_scores, linking_accuracy

from isolated import reference_config

GRAPHENE_RATES = {"dopant_to_divacancy": 0.3, "dopant_hop": 0.3}


@pytest.fixture(scope="module")
def graphene_movie():
    movie = simulate_movie(get_material(reference_config("graphene-si")), frames=8, size=256, pixel_size_A=0.1,
                           dose=1e5, seed=4, rates=GRAPHENE_RATES)
    return movie, track(movie.frames, model="graphene-si", pixel_size_A=0.1)


def test_graphene_events_found_at_the_right_frame_with_the_right_labels(graphene_movie):
    movie, result = graphene_movie
    truth = [(e["frame"], e["type"], e["from_label"], e["to_label"]) for e in movie.events]
    assert truth == [(3, "Si3>Si4", "Si3", "Si4"), (5, "hop", "Si3", "Si3")]  # the movie this test is about
    found = [(e["frame"], e["type"], e["from_label"], e["to_label"]) for e in result.events]
    assert found == [(3, "label_change", "Si3", "Si4"), (5, "hop", "Si3", "Si3")]
    assert [event_kind(e) for e in movie.events] == ["label_change", "hop"]
    scores = event_scores(result.events, movie.events, 0.1, tol_A=1.42)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0
    hop = result.events[1]
    assert len(hop["track_ids"].split()) == 2 and 0.0 < hop["prob"] <= 1.0


def test_graphene_linking_keeps_truth_identities(graphene_movie):
    movie, result = graphene_movie
    assert linking_accuracy(result, movie) >= 0.99


def test_drift_is_recovered_to_a_pixel_or_two(graphene_movie):
    movie, result = graphene_movie
    # the scan's affine distortion (up to 4 % anisotropy and 3 % shear) scales the structure's translation
    assert np.abs(result.drift_px - movie.drift_px).max() < 2.0
    assert np.hypot(*np.diff(movie.drift_px, axis=0).T).max() > 5  # there was drift to find (> 0.5 Å per frame)


def test_transition_table_counts_the_event(graphene_movie):
    _, result = graphene_movie
    by = {(r["from_label"], r["to_label"]): r for r in result.transitions}
    assert by[("Si3", "Si4")]["count"] >= 1
    for row in result.transitions:
        assert 0.0 <= row["prob_low"] <= row["prob"] <= row["prob_high"] <= 1.0


def test_mose2_chalcogen_losses_found():
    movie = simulate_movie(get_material(reference_config("mose2-w")), frames=8, size=256, pixel_size_A=0.1,
                           dose=1e5, seed=1, rates={"chalcogen_loss": 0.5, "chalcogen_vacancy": 0.3})
    result = track(movie.frames, model="mose2-w", pixel_size_A=0.1)
    scores = event_scores(result.events, movie.events, 0.1, tol_A=1.9)
    assert scores["truth"] >= 3 and scores["precision"] == 1.0 and scores["recall"] == 1.0
    kinds = {(e["type"], e["from_label"], e["to_label"]) for e in result.events}
    assert {("label_change", "Se2", "Se1"), ("vacancy_created", "Se1", "Sevac")} <= kinds


@pytest.fixture(scope="module")
def vacancy_movie():
    movie = simulate_movie("graphene-si", frames=10, size=256, pixel_size_A=0.1, dose=1e5, seed=5,
                           rates={"host_vacancy": 0.3, "dopant_hop": 0.3})
    return movie, track(movie.frames, model="graphene-si", pixel_size_A=0.1)


def test_a_carbon_vacancy_in_graphene_is_an_event_at_its_place_and_frame(vacancy_movie):
    movie, result = vacancy_movie
    truth = [e for e in movie.events if e["type"] == "vacancy_created"]
    assert len(truth) >= 2 and all(e["from_label"] == "C" for e in truth)  # graphene-si has no vacancy label
    for t in truth:
        found = [e for e in result.events if e["type"] in ("vacancy_created", "column_vanished") and
                 e["frame"] == t["frame"] and np.hypot(e["x_px"] - t["x_px"], e["y_px"] - t["y_px"]) * 0.1 < 1.0]
        assert len(found) == 1 and found[0]["from_label"] == "C"
    scores = event_scores(result.events, movie.events, 0.1, tol_A=1.42)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0


def test_a_dopant_hop_is_one_event_with_where_it_left_and_where_it_arrived(vacancy_movie):
    movie, result = vacancy_movie
    hops = [e for e in movie.events if e["type"] == "hop"]
    assert hops
    for t in hops:
        found = [e for e in result.events if e["frame"] == t["frame"] and
                 np.hypot(e["x_px"] - t["x_px"], e["y_px"] - t["y_px"]) * 0.1 < 2.0]
        assert [(e["type"], e["from_label"], e["to_label"]) for e in found] == [("hop", "Si3", "Si3")]
        hop = found[0]
        step_A = np.hypot(hop["to_x_px"] - hop["from_x_px"], hop["to_y_px"] - hop["from_y_px"]) * 0.1
        assert 1.0 < step_A < 2.0  # one bond (1.42 Å), corrected for the scan distortion
        assert len(hop["track_ids"].split()) == 2


def test_static_low_dose_movie_gives_zero_events():
    movie = simulate_movie("graphene-si", frames=6, size=192, pixel_size_A=0.1, dose=3e4, seed=11, rates={})
    result = track(movie.frames, model="graphene-si", pixel_size_A=0.1)
    assert movie.events == [] and result.events == []


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_cli_track_writes_outputs_skips_a_blank_frame_and_refuses_to_overwrite(tmp_path, capsys):
    sims = tmp_path / "sims"
    assert main(["simulate", "graphene-si", "--frames", "5", "--size", "160", "--pixel-size", "0.1", "--dose",
                 "1e5", "--seed", "2", "-o", str(sims)]) == 0
    names = {p.name for p in sims.iterdir()}
    assert {"graphene-si_seed00002.npy", "graphene-si_seed00002_events.csv",
            "graphene-si_seed00002_truth_0004.csv"} <= names
    assert _rows(sims / "graphene-si_seed00002_truth_0000.csv")[0] == ["x_px", "y_px", "element", "label",
                                                                       "track_id"]
    stack = np.load(sims / "graphene-si_seed00002.npy")
    stack[2] = 0.0  # a blank frame
    np.save(tmp_path / "stack.npy", stack)
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["track", str(tmp_path / "stack.npy"), "--model", "graphene-si", "--pixel-size", "0.1",
                 "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "frame 2 skipped" in err
    assert sorted(p.name for p in out.iterdir()) == ["drift.csv", "events.csv", "events.png", "source.json",
                                                     "timeline.png", "tracks.csv", "transitions.csv"]
    assert _rows(out / "tracks.csv")[0][:9] == ["frame", "track_id", "x_px", "y_px", "x_A", "y_A", "element",
                                                "label", "prob"]
    assert _rows(out / "events.csv")[0] == ["frame", "type", "track_ids", "x_px", "y_px", "from_label",
                                            "to_label", "prob", "from_x_px", "from_y_px", "to_x_px", "to_y_px"]
    assert _rows(out / "transitions.csv")[0][:4] == ["from_label", "to_label", "count", "rate_per_frame"]
    drift = _rows(out / "drift.csv")
    assert drift[0] == ["frame", "dx_px", "dy_px"] and len(drift) == 6 and drift[3][1:] == ["", ""]
    frames = {int(r[0]) for r in _rows(out / "tracks.csv")[1:]}
    assert frames == {0, 1, 3, 4}
    before = (out / "tracks.csv").read_bytes()
    assert main(["track", str(tmp_path / "stack.npy"), "--model", "graphene-si", "--pixel-size", "0.1",
                 "-o", str(out), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err and (out / "tracks.csv").read_bytes() == before


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.npy", "no such file"),
    (lambda d: (d / "text.npy").write_text("not numpy") and d / "text.npy", "not a readable .npy"),
    (lambda d: np.save(d / "flat.npy", np.zeros(5)) or d / "flat.npy", "not a stack of 2D frames"),
])
def test_cli_track_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, make, message):
    path = make(tmp_path)
    out = tmp_path / "out"
    assert main(["track", str(path), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and not out.exists()


def test_cli_watch_tracks_files_as_they_complete_and_leaves_complete_outputs(tmp_path, capsys):
    import threading
    import time

    movie = simulate_movie("graphene-si", frames=4, size=160, pixel_size_A=0.1, dose=1e5, seed=3, rates={})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for k in range(3):
        np.save(inbox / f"frame_{k:03d}.npy", movie.frames[k])

    def slow_writer():  # the last frame lands progressively, the way a microscope writes it
        time.sleep(0.3)
        raw = (tmp_path / "x.npy")
        np.save(raw, movie.frames[3])
        data = raw.read_bytes()
        with open(inbox / "frame_003.npy", "wb") as handle:
            for i in range(0, len(data), len(data) // 4 + 1):
                handle.write(data[i:i + len(data) // 4 + 1])
                handle.flush()
                time.sleep(0.03)  # gaps shorter than the two polls (0.1 s) a file must stay unchanged

    writer = threading.Thread(target=slow_writer)
    writer.start()
    out = tmp_path / "live"
    rc = main(["watch", str(inbox), "--model", "graphene-si", "--pixel-size", "0.1", "--poll", "0.05",
               "--max-frames", "4", "-o", str(out)])
    writer.join()
    assert rc == 0
    assert "tracked 4 of 4 frame(s)" in capsys.readouterr().out
    assert {"tracks.csv", "events.csv", "transitions.csv", "drift.csv", "timeline.png", "events.png"} <= \
        {p.name for p in out.iterdir()}
    assert {int(r[0]) for r in _rows(out / "tracks.csv")[1:]} == {0, 1, 2, 3}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_cli_watch_refuses_a_missing_folder(tmp_path, capsys):
    assert main(["watch", str(tmp_path / "nope"), "--model", "graphene-si", "-o", str(tmp_path / "o")]) == 2
    assert "not a folder" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_live_stream_settles_the_same_events_and_labels_as_the_whole_movie(graphene_movie):
    """Tracker.latest after every frame (what `atomgraph watch` appends) gives, frame by frame, the rows and events
    the final whole-movie decode gives; the final result equals track()'s."""
    from atomgraph.track import Tracker

    movie, whole = graphene_movie
    tracker = Tracker("graphene-si", 0.1, lag=3, context=5)
    events, rows = [], []
    for frame in movie.frames:
        tracker.add(frame)
        update = tracker.latest()
        events += update.events
        if update.tracks:
            rows += list(zip(update.tracks["frame"].tolist(), update.tracks["track_id"].tolist(),
                             update.tracks["label"].tolist()))
    assert update.final_frame == len(movie.frames) - 1 - 3 and len(update.newest["track_id"]) > 0
    final = tracker.result()
    assert final.events == whole.events
    assert final.tracks_frame().equals(whole.tracks_frame())
    settled = [e for e in whole.events if e["frame"] <= update.final_frame]
    assert settled and events == settled
    t = whole.tracks
    keep = t["frame"] <= update.final_frame
    assert sorted(rows) == sorted(zip(t["frame"][keep].tolist(), t["track_id"][keep].tolist(),
                                      t["label"][keep].tolist()))
