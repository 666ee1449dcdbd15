"""Per-node records are typed fields of the atom table (issue 25), not string keys of ``extra``; the files written
from them keep their columns."""

from __future__ import annotations

import numpy as np
import pytest

import atomgraph
from atomgraph.atoms import NODE_FLAGS, AtomTable


@pytest.fixture(scope="module")
def analyzed():
    sim = atomgraph.simulate("graphene-si", size=128, pixel_size_A=0.1, dose=1e5, seed=4, counts={"Si3": 1, "Si4": 1})
    return atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)


def test_every_stage_sets_its_records_as_fields(analyzed):
    atoms = analyzed.atoms
    assert atoms.set_flags() == list(NODE_FLAGS)
    for name, kind in NODE_FLAGS.items():
        value = getattr(atoms, name)
        assert value.shape == (len(atoms),) and value.dtype == np.dtype(kind) and name not in atoms.extra
    assert atoms.novel.tolist() == (np.nan_to_num(atoms.novelty) > 1).tolist()


def test_records_follow_rows_and_unset_ones_stay_unset():
    table = AtomTable(np.zeros((3, 2)), ["C", "C", "Si"], extra={"uncertain": [True, False, True], "p_C": [1, 1, 0]})
    assert table.uncertain.dtype == bool and "uncertain" not in table.extra   # a table from a file: moved over
    assert table.subset([2, 0]).uncertain.tolist() == [True, True] and table.novel is None
    grown = AtomTable.concat([table, AtomTable(np.ones((2, 2)), ["C", "C"], novelty=[0.5, 2.0])])
    assert grown.uncertain.tolist() == [True, False, True, False, False]
    assert np.isnan(grown.novelty[:3]).all() and grown.novelty[3:].tolist() == [0.5, 2.0]
    with pytest.raises(ValueError, match="masked"):
        AtomTable(np.zeros((2, 2)), ["C", "C"], masked=[True])


def test_the_atoms_csv_keeps_its_flag_columns(analyzed, tmp_path):
    from atomgraph.io.tables import atoms_rows

    header, lines = atoms_rows(analyzed.atoms)
    assert set(NODE_FLAGS) <= set(header) and len(lines) == len(analyzed.atoms)
    extras = header[11:]
    assert extras == sorted(extras)  # the extras and the records in one name order, as before


def test_label_probabilities_are_one_array_with_their_labels(analyzed):
    atoms = analyzed.atoms
    assert atoms.prob_labels == ("C", "Si3", "Si4") and atoms.label_probs.shape == (len(atoms), 3)
    assert not any(str(k).startswith("prob_") for k in atoms.extra)
    best = np.nanargmax(np.c_[atoms.label_probs, np.zeros(len(atoms))], axis=1)
    labeled = atoms.label != ""
    assert (np.array(atoms.prob_labels, dtype=object)[best[labeled]] == atoms.label[labeled]).all()
    back = AtomTable(atoms.positions_A, atoms.element, extra={"prob_C": atoms.label_probs[:, 0],
                                                             "prob_Si3": atoms.label_probs[:, 1]})
    assert back.prob_labels == ("C", "Si3") and np.array_equal(back.subset([0]).label_probs, atoms.label_probs[:1, :2])
