"""The tracker's parts on their own: movie truth, registration, linking, HMM smoothing, hop pairing, intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from atomgraph.errors import AtomgraphInputError
from atomgraph.track import simulate_movie
from atomgraph.track.events import pair_hops, transition_table, wilson_interval
from atomgraph.track.intensity import column_evidence, frame_ratios, single_level
from atomgraph.track.link import Linker
from atomgraph.track.sublattice import keep_sublattice, sublattice_groups
from atomgraph.track.register import aperiodic_scores, candidate_shifts, frame_shift, prepare, spectrum
from atomgraph.track.timeline import emission_log, flicker_floor, viterbi


def test_movie_truth_keeps_track_ids_through_events():
    movie = simulate_movie("mose2-w", frames=6, size=192, pixel_size_A=0.1, dose=1e5, seed=2,
                           rates={"chalcogen_loss": 1.0, "chalcogen_vacancy": 1.0})
    assert movie.frames.shape == (6, 192, 192) and len(movie.truth) == 6
    assert movie.events, "high rates must produce events"
    for event in movie.events:
        tid = int(event["track_ids"].split()[0])
        k = event["frame"]
        before = movie.truth[k - 1].label[movie.truth[k - 1].extra["track_id"] == tid]
        after = movie.truth[k].label[movie.truth[k].extra["track_id"] == tid]
        assert before.tolist() == [event["from_label"]] and after.tolist() == [event["to_label"]]
        if event["to_label"] == "Sevac":
            assert movie.truth[k].vacancy[movie.truth[k].extra["track_id"] == tid].all()


def test_static_movie_has_no_events_and_bounded_drift():
    movie = simulate_movie("graphene-si", frames=12, size=160, pixel_size_A=0.1, dose=1e5, seed=0, rates={},
                           drift_A_per_frame=2.0)
    assert movie.events == []
    step = np.hypot(*np.diff(movie.drift_px, axis=0).T) * 0.1
    assert step.max() <= 2.0 + 1e-9 and np.hypot(*movie.drift_px.T).max() * 0.1 <= movie.config["max_drift_A"] + 2.0


def test_aperiodic_correlation_tells_the_true_shift_from_its_lattice_aliases():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:192, 0:192].astype(float)
    lattice = 3.0 * (np.cos(2 * np.pi * xx / 16) + np.cos(2 * np.pi * yy / 16))   # a square lattice, 16 px
    blobs = sum(0.5 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 8.0) for x, y in rng.uniform(30, 160, (6, 2)))
    first = lattice + blobs + rng.normal(0, 0.3, lattice.shape)
    second = np.roll(lattice + blobs, (5, 9), axis=(0, 1)) + rng.normal(0, 0.3, lattice.shape)
    a, b = prepare(first), prepare(second)
    shifts = np.array([[9.0, 5.0], [9.0 - 16, 5.0], [9.0, 5.0 + 16], [9.0 + 16, 5.0 - 16]])
    z = aperiodic_scores(spectrum(a), spectrum(b), a.shape, shifts)
    assert np.argmax(z) == 0 and z[0] - z[1:].max() > 5      # with the lattice in, the gap is below 1
    heights = candidate_shifts(a, b, 40, heights=True)[:, 2]
    assert heights[0] == 1.0 and np.sort(heights)[-2] > 0.9   # the plain correlation scores the aliases alike


def test_movie_config_rejects_unknown_event_kind():
    from atomgraph.config import load_material_config

    with pytest.raises(AtomgraphInputError, match="movie"):
        cfg = load_material_config("graphene-si").to_dict()
        cfg["movie"] = {"rates": {"teleport": 1.0}}
        load_material_config(cfg)


def test_registration_recovers_a_known_shift():
    rng = np.random.default_rng(1)
    base = gaussian_filter(rng.normal(size=(160, 160)), 1.5)
    moved = np.roll(base, (-7, 12), axis=(0, 1))
    dx, dy = frame_shift(prepare(base), prepare(moved))
    assert dx == pytest.approx(12, abs=0.2) and dy == pytest.approx(-7, abs=0.2)
    dx2, dy2 = frame_shift(prepare(base, bin_px=2), prepare(moved, bin_px=2))  # in binned px: half the shift
    assert prepare(base, bin_px=2).shape == (80, 80)
    assert 2 * dx2 == pytest.approx(12, abs=0.6) and 2 * dy2 == pytest.approx(-7, abs=0.6)


def test_linker_keeps_identity_through_label_change_and_a_missed_frame():
    linker = Linker(max_cost_A=1.0, memory=2)
    sites = np.array([[0.0, 0.0], [1.42, 0.0], [0.71, 1.23]])
    first = linker.link(sites, np.array(["C", "Si", "C"], dtype=object), 0)
    # frame 1: the middle site is missed; frame 2: it is back, 0.3 Å away, now a vacancy
    second = linker.link(sites[[0, 2]] + 0.1, np.array(["C", "C"], dtype=object), 1)
    third = linker.link(sites + [[0.0, 0.0], [0.3, 0.0], [0.0, 0.0]], np.array(["C", "vac", "C"], dtype=object), 2)
    assert second.tolist() == first[[0, 2]].tolist()
    assert third.tolist() == first.tolist()


def test_viterbi_ignores_a_one_frame_blip_but_keeps_a_real_change():
    p_blip = np.array([[0.97, 0.03]] * 4 + [[0.02, 0.98]] + [[0.97, 0.03]] * 4)
    assert viterbi(emission_log(p_blip)).tolist() == [0] * 9
    p_change = np.array([[0.97, 0.03]] * 4 + [[0.03, 0.97]] * 3)
    assert viterbi(emission_log(p_change)).tolist() == [0] * 4 + [1] * 3


def test_a_site_that_keeps_flickering_makes_no_events_and_one_change_keeps_its_evidence():
    """A faint site read one way and the other frame after frame (confidently each time) is one state, not a run
    of changes; a site that changes once, with a blip, keeps the full evidence and its one change."""
    flicker = np.array([0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0])
    p = np.where(flicker[:, None] == 1, [0.02, 0.98], [0.98, 0.02])
    assert len(set(viterbi(emission_log(p)).tolist())) == 2                  # without the track's own floor
    floor = flicker_floor(flicker)
    assert floor > 0.5
    assert len(set(viterbi(emission_log(p, floor)).tolist())) == 1
    step = np.array([0] * 8 + [1] + [0] * 3 + [1] * 10)
    assert flicker_floor(step) == 0.0
    q = np.where(step[:, None] == 1, [0.02, 0.98], [0.98, 0.02])
    assert viterbi(emission_log(q, flicker_floor(step))).tolist() == [0] * 12 + [1] * 10


def test_column_intensity_gives_one_change_where_the_classifier_flickers():
    """A chalcogen column loses one atom at frame 5 (intensity 1 -> 0.55 of a full column, noise 0.03); the
    classifier calls it right only every other frame, each time with prob 0.99. Labels (Se2, Se1, Sevac)."""
    rng = np.random.default_rng(0)
    ratio = np.r_[np.full(5, 1.0), np.full(7, 0.55)] + rng.normal(0, 0.03, 12)
    called_se1 = (np.arange(12) >= 5) & (np.arange(12) % 2 == 0)
    probs = np.where(called_se1[:, None], [0.0, 0.99, 0.01], [0.99, 0.0, 0.01])
    truth = [0] * 5 + [1] * 7
    assert viterbi(emission_log(probs)).tolist() != truth  # the classifier alone misses the change
    sigma = np.full(12, 0.03)
    path = viterbi(emission_log(column_evidence(probs, ratio, sigma, full=0, single=1, single_ratio=0.55)))
    assert path.tolist() == truth
    sevac = np.array([[0.02, 0.0, 0.98]])  # a vacancy call keeps its probability whatever the intensity
    assert column_evidence(sevac, np.array([1.0]), np.array([0.03]), 0, 1, 0.55).tolist() == sevac.tolist()


def test_frame_ratios_are_relative_to_the_full_columns_and_the_single_level_is_measured():
    intensity = np.r_[np.full(20, 200.0) + np.arange(20) % 3, [110.0, 112.0, np.nan]]
    full = np.r_[np.ones(20, bool), [False, False, False]]
    ratio, sigma = frame_ratios(intensity, full)
    assert abs(np.median(ratio[:20]) - 1.0) < 1e-9 and np.isnan(ratio[-1]) and 0.04 <= sigma < 0.1
    assert np.isnan(frame_ratios(intensity[:3], full[:3])[1])  # too few full columns: no reference
    assert single_level(np.r_[0.6, 0.62, 0.58, 0.61, 0.6, 1.0], np.array([True] * 5 + [False])) == pytest.approx(0.6)
    assert single_level(np.r_[0.6, 0.62], np.r_[True, True]) == 0.55  # too few: the prior


def test_a_track_keeps_its_sublattice_and_the_intensity_decides_a_stray_metal_call():
    from atomgraph.materials import get_material

    mat = get_material("mose2-w")
    groups = sublattice_groups(mat, mat.labels)  # (Mo, W, Se2, Se1, Sevac)
    assert groups == [[0, 1], [2, 3, 4]] and sublattice_groups(get_material("graphene-si"), ["C"]) is None
    # a chalcogen track: Se2, Se2, then a one-atom column the classifier calls Mo once (ratio 0.55)
    probs = np.array([[0, 0, 1.0, 0, 0], [0, 0, 0.98, 0.02, 0], [0.97, 0, 0.02, 0.01, 0], [0, 0, 0.1, 0.9, 0]])
    moved = keep_sublattice(probs, np.zeros(4, int), groups, columns=(2, 3))
    assert np.allclose(moved.sum(axis=1), 1.0) and np.all(moved[:, :2] == 0)
    assert moved[2, 2] == pytest.approx(0.505) and moved[2, 3] == pytest.approx(0.495)  # an even split ...
    decided = column_evidence(moved, np.array([1.0, 1.0, 0.55, 0.55]), np.full(4, 0.04), 2, 3, 0.55)
    assert decided.argmax(axis=1).tolist() == [2, 2, 3, 3]  # ... that the column's intensity decides
    metal = np.array([[1.0, 0, 0, 0, 0], [0.2, 0.1, 0.7, 0, 0]])  # a metal track with one stray chalcogen call
    assert keep_sublattice(metal, np.array([7, 7]), groups)[1].round(2).tolist() == [0.55, 0.45, 0, 0, 0]


def test_hop_is_one_event_with_both_sites():
    changes = [
        {"frame": 5, "track_id": 7, "x_A": 0.0, "y_A": 0.0, "x_px": 0.0, "y_px": 0.0, "from_label": "Si3",
         "to_label": "C", "prob": 0.9},
        {"frame": 5, "track_id": 9, "x_A": 1.42, "y_A": 0.0, "x_px": 14.2, "y_px": 0.0, "from_label": "C",
         "to_label": "Si3", "prob": 0.8},
        {"frame": 6, "track_id": 3, "x_A": 9.0, "y_A": 0.0, "x_px": 90.0, "y_px": 0.0, "from_label": "Si3",
         "to_label": "Si4", "prob": 0.7},
    ]
    events = pair_hops(changes, ["C"], hop_radius_A=1.85)
    assert [(e["frame"], e["type"], e["track_ids"]) for e in events] == [(5, "hop", "7 9"), (6, "label_change", "3")]
    assert (events[0]["from_x_px"], events[0]["to_x_px"], events[0]["x_px"]) == (0.0, 14.2, 7.1)  # left, reached
    assert events[1]["from_x_px"] == events[1]["to_x_px"] == 90.0  # a change in place


def _change(frame, track, x_A, old, new, prob=0.9):
    return {"frame": frame, "track_id": track, "x_A": x_A, "y_A": 0.0, "x_px": 10 * x_A, "y_px": 0.0,
            "from_label": old, "to_label": new, "prob": prob}


def test_a_dopant_track_that_ends_pairs_with_the_one_that_starts_beside_it():
    # the Si3 track ends (its Si moved 0.71 Å to a bond center) and a new Si4 track starts there: one event
    events = pair_hops([_change(8, 4, 0.0, "Si3", "", 0.36), _change(8, 11, 0.71, "", "Si4", 1.0)], ["C"], 1.85)
    assert [(e["frame"], e["type"], e["from_label"], e["to_label"]) for e in events] == \
        [(8, "label_change", "Si3", "Si4")]
    assert events[0]["prob"] == pytest.approx(0.6)  # the geometric mean of its two halves
    assert events[0]["joins_tracks"]                  # the transition table counts it as one Si3 -> Si4
    table = {(r["from_label"], r["to_label"]): r["count"]
             for r in transition_table([["Si3", "Si3"], ["Si4", "Si4"]], 3, [("Si3", "Si4")])}
    assert table == {("Si3", "Si3"): 1, ("Si3", "Si4"): 1, ("Si4", "Si4"): 1}
    assert pair_hops([_change(8, 4, 0.0, "Si3", "")], ["C"], 1.85) == []  # a bare end is no event
    broken = [_change(8, 4, 0.0, "Si3", ""), _change(9, 12, 0.9, "", "Si3")]  # a track that broke: no hop
    assert pair_hops(broken, ["C"], 1.85) == []


def test_transition_probabilities_and_wilson_interval():
    rows = transition_table([["C", "C", "C"], ["Si3", "Si3", "Si4", "Si4"]], n_frames=4)
    by = {(r["from_label"], r["to_label"]): r for r in rows}
    assert by[("Si3", "Si4")]["count"] == 1 and by[("Si3", "Si4")]["prob"] == pytest.approx(0.5)
    assert by[("Si3", "Si4")]["rate_per_frame"] == pytest.approx(1 / 3)
    low, high = wilson_interval(1, 2)
    assert 0.0 < low < 0.5 < high < 1.0


def test_event_types_name_vacancies_and_truth_types_map_onto_them():
    from atomgraph.track.events import event_type
    from atomgraph.track.score import event_kind

    assert event_type("Se1", "Sevac", ["Sevac"]) == "vacancy_created"
    assert event_type("Sevac", "Se1", ["Sevac"]) == "vacancy_filled"
    assert event_type("Se2", "Se1", ["Sevac"]) == "label_change"
    truth = {"type": "Se1>Sevac", "from_label": "Se1", "to_label": "Sevac"}
    assert event_kind(truth, ["Sevac"]) == "vacancy_created"
    assert event_kind({"type": "column_vanished"}) == event_kind({"type": "vacancy_created"})


def test_occupancy_flip_needs_two_frames_and_a_track_that_breaks_is_no_event():
    from atomgraph.track.changes import presence_events
    from atomgraph.track.decode import smooth_tracks

    def rows(vacancy, tracks, frames, xy):
        n = len(frames)
        return {"frame": np.array(frames), "track_id": np.array(tracks), "xy_px": np.array(xy, float) * 10,
                "xy_reg_A": np.array(xy, float), "edge": np.zeros(n, bool), "vacancy": np.array(vacancy, bool),
                "novel": np.zeros(n, bool), "novel_edge": np.zeros(n, bool), "probs": np.where(np.array(vacancy)[:, None], np.nan, 1.0),
                "born": np.array([frames[tracks.index(t)] for t in tracks])}

    def events(data):
        smoothed, order, starts, ends, _, _ = smooth_tracks(data, data["probs"], ["C"], 0.01)
        return presence_events(data, smoothed, order, starts, ends, [], ["C"], [], 1.42, 2)

    blip = rows([0, 0, 0, 1, 0, 0, 0], [0] * 7, list(range(7)), [[5, 5]] * 7)
    assert events(blip) == []  # one odd frame
    flip = rows([0, 0, 0, 1, 1, 1, 1], [0] * 7, list(range(7)), [[5, 5]] * 7)
    assert [(e["frame"], e["type"], e["from_label"], e["to_label"]) for e in events(flip)] == \
        [(3, "vacancy_created", "C", "")]
    # track 0 ends at frame 3 and track 1 starts at its place at frame 7: a column that was missed, no event
    broken = rows([0] * 12, [0] * 3 + [1] * 9, [0, 1, 2] + list(range(7, 16)), [[5, 5]] * 12)
    assert events(broken) == []
    gone = rows([0] * 3 + [0] * 12, [0] * 3 + [1] * 12, [0, 1, 2] + list(range(12)), [[5, 5]] * 3 + [[9, 9]] * 12)
    assert [(e["frame"], e["type"]) for e in events(gone)] == [(3, "column_vanished")]


def test_a_dopant_track_keeps_its_flicker_as_motion():
    """The flicker floor is for faint columns: a track that shows a dopant label (a Si hopping off its site and back)
    keeps every frame's evidence and its changes."""
    from atomgraph.track.decode import smooth_tracks

    best = np.array([0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0])
    n = len(best)
    data = {"frame": np.arange(n), "track_id": np.zeros(n, int), "edge": np.zeros(n, bool),
            "xy_px": np.zeros((n, 2)), "xy_reg_A": np.zeros((n, 2))}
    probs = np.where(best[:, None] == 1, [0.02, 0.98], [0.98, 0.02])
    labels = ["C", "Si3"]
    as_host = smooth_tracks(data, probs, labels, 0.01, np.array([False, False]))[0]
    as_dopant = smooth_tracks(data, probs, labels, 0.01, np.array([False, True]))[0]
    assert len(set(as_host)) == 1                              # a host column read both ways: one state
    assert list(as_dopant) == [labels[k] for k in best]         # a dopant's six changes stay


def test_a_track_seen_in_one_frame_is_no_side_of_a_change():
    """A faint column read as an empty site in one frame gets a one-frame vacancy track: its start is no partner
    for another track's end (a false ``vacancy_created`` on static real texture); two frames are."""
    from atomgraph.track.decode import _ends_and_starts

    def data_for(vacancy_frames):
        frames = list(range(6)) + list(vacancy_frames)
        tracks = [1] * 6 + [2] * len(vacancy_frames)
        n = len(frames)
        return {"frame": np.array(frames), "track_id": np.array(tracks), "edge": np.zeros(n, bool),
                "xy_px": np.zeros((n, 2)), "xy_reg_A": np.zeros((n, 2))}, \
            np.array(["S1"] * 6 + ["Svac"] * len(vacancy_frames), dtype=object)

    for vacancy_frames, starts in (([3], 0), ([3, 4], 1)):
        data, smoothed = data_for(vacancy_frames)
        order = np.lexsort((data["frame"], data["track_id"]))
        probs = np.full((len(smoothed), 3), 1 / 3)
        out = _ends_and_starts(data, probs, order, smoothed, ["Mo", "S2"], np.ones(len(smoothed), bool))
        assert sum(c["from_label"] == "" for c in out) == starts
