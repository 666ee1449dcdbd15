"""The simulator: determinism, defect geometry, image contrast and truth positions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import map_coordinates
from scipy.spatial import cKDTree

import atomgraph
from atomgraph.materials import get_material

from isolated import isolated_config


def test_same_seed_is_byte_identical_and_different_seeds_differ():
    a = atomgraph.simulate("graphene-si", size=96, seed=7)
    b = atomgraph.simulate("graphene-si", size=96, seed=7)
    c = atomgraph.simulate("graphene-si", size=96, seed=8)
    assert a.image.tobytes() == b.image.tobytes()
    assert np.array_equal(a.truth.positions_A, b.truth.positions_A)
    assert a.image.tobytes() != c.image.tobytes()


@pytest.mark.parametrize("material", ["graphene-si", "mose2-w", "mos2"])
def test_every_label_occurs_with_the_default_config(material):
    labels = get_material(material).labels
    for seed in range(3):
        sim = atomgraph.simulate(material, size=256, pixel_size_A=0.1, seed=seed)
        assert set(sim.truth.label) == set(labels), (seed, sim.counts)
        assert all(sim.counts[label] >= 1 for label in labels)


def test_counts_override_places_the_requested_numbers():
    sim = atomgraph.simulate("graphene-si", size=384, pixel_size_A=0.1, seed=1, counts={"Si3": 4, "Si4": 0})
    assert sim.counts["Si3"] == 4 and sim.counts["Si4"] == 0


def _projected_neighbors(sim, label: str, radius_A: float) -> list[int]:
    t = sim.truth
    tree = cKDTree(t.positions_A)
    out = []
    for i in np.flatnonzero(t.label == label):
        near = [j for j in tree.query_ball_point(t.positions_A[i], radius_A) if j != i]
        out.append(sum(t.element[j] == "C" for j in near))
    return out


def test_si4_has_four_carbon_neighbors_and_si3_three_within_2p1_A():
    # the recipes' geometry: isolated defects, away from the frame edge
    sim = atomgraph.simulate(isolated_config("graphene-si"), size=320, pixel_size_A=0.1, seed=3,
                             counts={"Si3": 3, "Si4": 3},
                             noise=False, distort=False)
    assert _projected_neighbors(sim, "Si4", 2.1) == [4, 4, 4]
    assert _projected_neighbors(sim, "Si3", 2.1) == [3, 3, 3]
    t = sim.truth
    si4 = t.positions_A[t.label == "Si4"]
    d, _ = cKDTree(t.positions_A[t.element == "C"]).query(si4, k=4)
    jitter = 0.08 * np.sqrt(2) * 3  # neighbor_jitter_A up to 0.08 Å rms per axis: 3 sigma in the plane
    assert np.allclose(d.mean(), 1.88, atol=0.05) and np.all(np.abs(d - 1.88) < jitter)


def _peak_values(sim, label):
    t = sim.truth
    xy = t.positions_px[t.label == label]
    return map_coordinates(sim.image.astype(float), [xy[:, 1], xy[:, 0]], order=1)


def test_noise_free_contrast_follows_z():
    g = atomgraph.simulate("graphene-si", size=256, pixel_size_A=0.1, seed=2, noise=False, distort=False)
    assert _peak_values(g, "Si3").min() > 1.5 * _peak_values(g, "C").max()
    assert _peak_values(g, "Si4").min() > 1.5 * _peak_values(g, "C").max()
    m = atomgraph.simulate("mose2-w", size=256, pixel_size_A=0.1, seed=2, noise=False, distort=False,
                           counts={"W": 0.1, "Se1": 4, "Sevac": 3})
    assert _peak_values(m, "W").min() > 1.3 * np.median(_peak_values(m, "Mo"))
    ratio = np.median(_peak_values(m, "Se1")) / np.median(_peak_values(m, "Se2"))
    assert 0.4 < ratio < 0.65
    assert _peak_values(m, "Sevac").max() < 0.25 * np.median(_peak_values(m, "Se2"))


@pytest.mark.parametrize("material", ["graphene-si", "mose2-w"])
def test_truth_positions_sit_on_intensity_maxima(material):
    # isolated defects with moderate bonds: a C 1.4 Å from a bright Si (or 1.3 Å from a Si of a pair) has its
    # maximum pulled toward the Si's probe tail, the truth position stays where the atom is
    cfg = isolated_config(material, Si3={"projected_bond_A": [1.45, 1.90], "dopant_offset_A": [0.0, 0.25]})
    sim = atomgraph.simulate(cfg, size=200, pixel_size_A=0.08, seed=4, noise=False, distort=False)
    img = sim.image.astype(float)
    t = sim.truth.subset(~sim.truth.vacancy)
    xy = t.positions_px
    inner = np.all((xy > 12) & (xy < 200 - 12), axis=1)
    # quadratic fit of the 3x3 neighborhood around the brightest pixel near each truth position
    errors = []
    for x, y in xy[inner]:
        i, j = int(round(y)), int(round(x))
        win = img[i - 2:i + 3, j - 2:j + 3]
        di, dj = np.unravel_index(np.argmax(win), win.shape)
        i, j = i + di - 2, j + dj - 2
        c = img[i - 1:i + 2, j - 1:j + 2]
        dx = 0.5 * (c[1, 0] - c[1, 2]) / (c[1, 0] - 2 * c[1, 1] + c[1, 2])
        dy = 0.5 * (c[0, 1] - c[2, 1]) / (c[0, 1] - 2 * c[1, 1] + c[2, 1])
        errors.append(np.hypot(j + dx - x, i + dy - y) * sim.pixel_size_A)
    assert np.max(errors) < 0.1


def test_truth_columns_and_manifest():
    sim = atomgraph.simulate("mose2-w", size=128, pixel_size_A=0.12, dose=5e4, seed=0)
    assert sim.image.dtype == np.float32 and sim.image.shape == (128, 128)
    assert np.all(sim.truth.element[sim.truth.label == "Sevac"] == "")
    assert np.all(sim.truth.vacancy == (sim.truth.label == "Sevac"))
    manifest = sim.manifest()
    assert manifest["pixel_size_A"] == pytest.approx(0.12) and manifest["dose_e_per_A2"] == pytest.approx(5e4)
    assert set(atomgraph.simulate("mose2-w", size=64, seed=0).atoms.get_chemical_symbols()) <= {"Mo", "W", "Se"}


def test_images_vary_widely_across_seeds():
    settings = [atomgraph.simulate("graphene-si", size=32, seed=s).settings for s in range(30)]
    px = [s.pixel_size_A for s in settings]
    assert max(px) - min(px) > 0.08
    assert max(s.probe_tail_fraction for s in settings) > 0.2
    assert max(abs(s.shear) for s in settings) > 0.015


@pytest.mark.parametrize("bad", [{"size": 0}, {"pixel_size": -0.1}, {"dose": 0}, {"seed": -1}])
def test_bad_arguments_are_clear_errors(bad):
    with pytest.raises(atomgraph.AtomgraphInputError):
        atomgraph.simulate("graphene-si", **bad)


def test_locator_perturbation_removes_and_moves_atoms_without_labels():
    from scipy.spatial import cKDTree

    from atomgraph.config import load_material_config
    from atomgraph.config.range import Range
    from atomgraph.simulate.perturb import RandomPerturbation, locator_perturbation

    perturb = RandomPerturbation(Range(0.02), Range(0.02), Range(0.5, 0.9))
    from atomgraph import simulate

    plain = simulate("graphene-si", size=256, pixel_size_A=0.1, dose=1e5, seed=4, counts={"Si3": 0, "Si4": 0})
    moved = simulate("graphene-si", size=256, pixel_size_A=0.1, dose=1e5, seed=4, counts={"Si3": 0, "Si4": 0},
                     perturb=perturb)
    columns = moved.truth.subset(~moved.truth.vacancy)
    emptied = moved.truth.subset(moved.truth.vacancy)
    assert len(columns) < len(plain.truth)                     # removed atoms leave no column ...
    assert len(emptied) > 0                                    # ... but an empty site in the truth
    d, _ = cKDTree(plain.truth.positions_A).query(emptied.positions_A)
    assert (d < 0.3).all()                                     # where an atom was (thermal jitter aside)
    d, _ = cKDTree(plain.truth.positions_A).query(columns.positions_A)
    off = d > 0.3
    assert 0 < off.sum() < 0.05 * len(d) and (d[off] < 1.0).all()   # moved atoms sit 0.5-0.9 Å off a site
    assert set(moved.truth.label) == {"C"}                      # nothing is labeled a defect
    assert locator_perturbation(load_material_config("graphene-si").locator) is not None
    assert locator_perturbation(load_material_config("mose2-w").locator) is None
