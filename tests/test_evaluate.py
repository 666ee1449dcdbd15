"""evaluate: matching predictions to truth, detection scores, RMS error, per-label scores."""

import numpy as np
import pytest

from atomgraph.atoms import AtomTable
from atomgraph.errors import AtomgraphInputError
from atomgraph.evaluate import evaluate, match_atoms


def grid_truth(n=10, spacing=2.0):
    xs, ys = np.meshgrid(np.arange(n) * spacing + 2.0, np.arange(n) * spacing + 2.0)
    pos = np.column_stack([xs.ravel(), ys.ravel()])
    labels = np.where(np.arange(len(pos)) % 7 == 0, "Si3", "C")
    element = np.where(labels == "Si3", "Si", "C")
    return AtomTable(pos, element, pixel_size_A=0.1, label=labels)


def test_perfect_prediction_scores_one_and_zero_error():
    truth = grid_truth()
    r = evaluate(truth.copy(), truth)
    assert r["f1"] == 1.0 and r["precision"] == 1.0 and r["recall"] == 1.0
    assert r["rms_error_pm"] == pytest.approx(0.0)
    assert r["per_label"]["Si3"]["f1"] == 1.0


def test_rms_error_is_in_picometres():
    truth = grid_truth()
    pred = truth.copy()
    pred.positions_A = pred.positions_A + np.array([0.03, 0.04])  # 5 pm
    r = evaluate(pred, truth)
    assert r["rms_error_pm"] == pytest.approx(5.0, abs=1e-6)
    assert r["rms_error_A"] == pytest.approx(0.05, abs=1e-8)


def test_missing_and_extra_atoms_count_as_fn_and_fp():
    truth = grid_truth()
    inner = np.flatnonzero(np.all((truth.positions_A > 4) & (truth.positions_A < 18), axis=1))
    pred = truth.subset(np.setdiff1d(np.arange(len(truth)), inner[:5]))
    extra = AtomTable(np.array([[9.0, 9.0], [11.0, 11.0]]), ["C", "C"], pixel_size_A=0.1, label=["C", "C"])
    pred = AtomTable.concat([pred, extra])
    r = evaluate(pred, truth, border_A=0.0)
    assert r["tp"] == len(truth) - 5
    assert r["n_truth"] == len(truth)
    assert r["n_pred"] == len(truth) - 5 + 2
    assert r["recall"] == pytest.approx((len(truth) - 5) / len(truth))


def test_beyond_tolerance_is_not_a_match():
    truth = grid_truth()
    pred = truth.copy()
    pred.positions_A = pred.positions_A + np.array([0.6, 0.0])
    assert evaluate(pred, truth, tolerance_A=0.5, border_A=0.0)["tp"] == 0
    assert evaluate(pred, truth, tolerance_A=0.7, border_A=0.0)["tp"] == len(truth)


def test_border_atoms_are_excluded():
    truth = grid_truth()
    m = match_atoms(truth, truth, border_A=1.0, image_shape=(220, 220))  # frame 0..22 Å, atoms at 2..20 Å
    assert m.truth_scored.all()
    m = match_atoms(truth, truth, border_A=2.5, image_shape=(220, 220))
    assert not m.truth_scored.all() and m.truth_scored.any()
    assert len(m.pred_index) == m.truth_scored.sum()


def test_vacancy_sites_only_match_vacancy_nodes():
    truth = AtomTable(np.array([[5.0, 5.0], [7.0, 5.0]]), ["C", ""], pixel_size_A=0.1, label=["C", "Sevac"])
    pred_atom = AtomTable(np.array([[5.0, 5.0], [7.0, 5.0]]), ["C", "C"], pixel_size_A=0.1, label=["C", "C"])
    r = evaluate(pred_atom, truth, border_A=0.0)
    assert r["per_label"]["Sevac"]["tp"] == 0
    pred_vac = AtomTable(np.array([[5.0, 5.0], [7.0, 5.0]]), ["C", ""], pixel_size_A=0.1, label=["C", "Sevac"])
    r = evaluate(pred_vac, truth, border_A=0.0)
    assert r["per_label"]["Sevac"]["f1"] == 1.0
    assert r["n_truth"] == 1 and r["tp"] == 1  # detection counts real atoms only


def test_wrong_label_counts_against_that_label():
    truth = grid_truth()
    pred = truth.with_labels(np.full(len(truth), "C"), np.ones(len(truth)))
    r = evaluate(pred, truth, border_A=0.0)
    assert r["f1"] == 1.0
    assert r["per_label"]["Si3"]["recall"] == 0.0
    assert r["per_label"]["C"]["precision"] < 1.0


def test_bad_tolerance_is_an_input_error():
    truth = grid_truth()
    with pytest.raises(AtomgraphInputError):
        evaluate(truth, truth, tolerance_A=0.0)


def test_global_offset_is_reported_and_removed_in_centered_rms():
    truth = grid_truth()
    pred = truth.copy()
    pred.positions_A = pred.positions_A + np.array([0.1, 0.0])
    r = evaluate(pred, truth, border_A=0.0)
    assert r["mean_offset_A"] == pytest.approx([0.1, 0.0])
    assert r["rms_error_pm"] == pytest.approx(10.0)
    assert r["rms_error_pm_centered"] == pytest.approx(0.0, abs=1e-9)
