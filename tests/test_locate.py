"""locate: the shipped locators find atoms on fresh simulated images, sub-pixel, tiled == untiled, clear errors."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

import atomgraph
from atomgraph.errors import AtomgraphInputError
from atomgraph.evaluate import evaluate
from atomgraph.locate import locate

# seeds far from the training seeds (>= 1_000_000) and from the model cards' held-out seeds (900_000+)
SEED = 4242


@pytest.fixture(scope="module")
def graphene():
    return atomgraph.simulate("graphene-si", size=192, pixel_size_A=0.1, dose=1e5, seed=SEED)


@pytest.mark.parametrize("material,pixel_size,dose", [("graphene-si", 0.1, 1e5), ("mose2-w", 0.12, 5e4)])
def test_finds_at_least_99_percent_of_atoms(material, pixel_size, dose):
    sim = atomgraph.simulate(material, size=192, pixel_size_A=pixel_size, dose=dose, seed=SEED + 1)
    atoms = locate(sim.image, material, pixel_size_A=pixel_size)
    r = evaluate(atoms, sim.truth, tolerance_A=0.5, border_A=1.0, image_shape=sim.image.shape)
    assert r["recall"] >= 0.99 and r["precision"] >= 0.99, r


def test_positions_are_sub_pixel():
    # 0.2 Å/px: half a pixel is 10 pm. The simulator's detector lag shifts the whole image along x by up to 1 px
    # (not observable in one frame), so the bound is on the error after removing the global offset.
    sim = atomgraph.simulate("graphene-si", size=160, pixel_size_A=0.2, dose=1e5, seed=SEED + 3)
    atoms = locate(sim.image, "graphene-si", pixel_size_A=0.2)
    r = evaluate(atoms, sim.truth, image_shape=sim.image.shape)
    assert r["rms_error_pm_centered"] / 20.0 < 0.35  # px; measured 0.25 px on this image
    assert np.hypot(*r["mean_offset_A"]) / 0.2 <= 1.2
    frac = atoms.positions_px - np.round(atoms.positions_px)
    assert np.std(frac) > 0.15  # not snapped to the pixel grid


def test_output_columns(graphene):
    atoms = locate(graphene.image, "graphene-si", pixel_size_A=0.1)
    assert set(atoms.element) <= {"C", "Si"}
    assert np.all((atoms.score >= 0) & (atoms.score <= 1))
    p = np.column_stack([atoms.extra["p_C"], atoms.extra["p_Si"]])
    assert np.allclose(p.sum(1), 1.0, atol=1e-5)
    assert np.isfinite(atoms.intensity).all() and np.median(atoms.intensity) > 0
    si = graphene.truth.positions_A[graphene.truth.element == "Si"]
    if len(si):
        d = np.linalg.norm(atoms.positions_A[:, None] - si[None], axis=2)
        assert np.all(atoms.extra["p_Si"][d.argmin(0)] > 0.5)


def test_tiled_and_untiled_give_the_same_atoms():
    sim = atomgraph.simulate("graphene-si", size=384, pixel_size_A=0.1, dose=1e5, seed=SEED + 2)
    whole = locate(sim.image, "graphene-si", pixel_size_A=0.1)
    tiled = locate(sim.image, "graphene-si", pixel_size_A=0.1, tile_size=48)
    assert len(whole) == len(tiled)
    d, _ = cKDTree(whole.positions_A).query(tiled.positions_A)
    assert d.max() < 1e-4
    assert np.allclose(np.sort(whole.extra["p_Si"]), np.sort(tiled.extra["p_Si"]), atol=1e-4)


def test_integer_images_are_accepted(graphene):
    img = np.round(graphene.image - graphene.image.min()).astype(np.uint16)
    assert len(locate(img, "graphene-si", pixel_size_A=0.1)) > 100


@pytest.mark.parametrize("bad,message", [
    (np.full((64, 64), np.nan), "NaN"),
    (np.where(np.eye(64) > 0, np.inf, 1.0), "infinite"),
    (np.zeros((8, 64, 64)), "2D"),
    (np.zeros((0, 0)), "empty"),
    (np.full((64, 64), 3.0), "constant"),
    (np.random.default_rng(0).random((4, 4)), "too small"),
])
def test_bad_images_raise_input_error(bad, message):
    with pytest.raises(AtomgraphInputError, match=message):
        locate(bad, "graphene-si", pixel_size_A=0.1)


def test_pixel_size_is_required(graphene):
    with pytest.raises(AtomgraphInputError, match="pixel size is needed"):
        locate(graphene.image, "graphene-si")
    with pytest.raises(AtomgraphInputError, match="pixel size"):
        locate(graphene.image, "graphene-si", pixel_size_A=-1)


def test_unknown_model_is_an_input_error(graphene):
    with pytest.raises(AtomgraphInputError, match="unknown locator"):
        locate(graphene.image, "no-such-model", pixel_size_A=0.1)


def test_locator_training_weighs_a_column_on_an_emptied_site_as_an_error():
    from atomgraph.config import load_material_config
    from atomgraph.locate.train import EMPTY_SITE_WEIGHT, simulate_sample

    config = load_material_config("graphene-si")   # its locator section removes and moves atoms at random
    found = False
    for seed in range(6):
        image, heat, classes, weight = simulate_sample(config, ["C", "Si"], 0.25, seed=seed)
        empty = (weight > 1.0 + 0.5 * EMPTY_SITE_WEIGHT) & (heat < 0.05)   # heavy weight where no column is
        found |= bool(empty.any())
        assert weight.min() >= 1.0 and (weight[heat > 0.9] >= 4.0).all()
    assert found
