"""Image evidence at empty sites (atomgraph.graph.occupancy): a column the locator missed is put back, a vacancy the
image shows empty stays a vacancy, light from a column beside a site is not taken for a column on it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from atomgraph import simulate
from atomgraph.atoms import AtomTable
from atomgraph.config import load_config
from atomgraph.graph import build_graph
from atomgraph.graph.occupancy import add_missed_columns, gaussian_amplitudes, missed_columns
from atomgraph.locate import locate


def _frame(defects: list[dict], dose: float = 3e5, seed: int = 3):
    cfg = load_config("graphene-si")
    cfg["name"] = "graphene-occupancy-test"
    cfg["defects"] = defects
    cfg["labels"] = ["C"] + [d["label"] for d in defects]
    return simulate(cfg, size=320, pixel_size_A=0.1, dose=dose, seed=seed, distort=False)


@pytest.fixture(scope="module")
def clean():
    sim = _frame([])
    return sim, locate(sim.image, model="graphene-si", pixel_size_A=0.1)


def _drop_near(atoms: AtomTable, point_A: np.ndarray) -> tuple[AtomTable, np.ndarray]:
    """``atoms`` without the located column nearest ``point_A`` (a locator miss), and that column's position."""
    i = int(cKDTree(atoms.positions_A).query(point_A)[1])
    return atoms.subset(np.flatnonzero(np.arange(len(atoms)) != i)), atoms.positions_A[i]


def test_amplitudes_separate_overlapping_columns():
    yy, xx = np.mgrid[0:200, 0:200] * 0.1
    columns = np.array([[10.0, 10.0], [11.4, 10.2], [9.3, 11.2], [10.1, 8.6]])
    image = 100.0 + sum(a * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 0.45**2))
                        for (x, y), a in zip(columns, [50.0, 80.0, 0.0, 30.0]))
    amp, mse = gaussian_amplitudes(image, 0.1, columns[0], columns, 0.45, 3.0)
    assert np.allclose(amp, [50.0, 80.0, 0.0, 30.0], atol=1e-6) and mse < 1e-12


def test_a_missed_host_column_is_put_back_on_its_site(clean):
    sim, atoms = clean
    center = np.array(sim.image.shape[::-1]) * 0.1 / 2
    missing, where = _drop_near(atoms, center)
    graph = build_graph(missing, material="graphene-si")
    assert graph.atoms.vacancy.sum() >= 1          # the graph stage saw an empty site there
    out = add_missed_columns(missing, graph, sim.image, {"C"})
    assert out is not None and out.recovered.sum() == 1
    back = np.flatnonzero(out.recovered)[0]
    assert out.element[back] == "C" and out.extra["p_C"][back] == 1.0
    assert np.linalg.norm(out.positions_A[back] - where) < 0.3
    assert not build_graph(out, material="graphene-si").atoms.vacancy.any()


def test_a_real_vacancy_stays_empty():
    sim = _frame([{"label": "V", "recipe": "vacancy", "count": 2}])
    atoms = locate(sim.image, model="graphene-si", pixel_size_A=0.1)
    graph = build_graph(atoms, material="graphene-si")
    empty = graph.atoms.positions_A[graph.atoms.vacancy]
    truth_empty = sim.truth.positions_A[sim.truth.vacancy]
    assert len(empty) >= 1 and cKDTree(truth_empty).query(empty)[0].min() < 0.5
    assert add_missed_columns(atoms, graph, sim.image, {"C"}) is None


def test_light_from_a_column_beside_the_site_is_not_a_column_on_it(clean):
    sim, atoms = clean
    real = atoms.positions_A
    site = real[int(cKDTree(real).query(np.array(sim.image.shape[::-1]) * 0.05)[1])]
    others = real[np.linalg.norm(real - site, axis=1) > 0.1]
    bright = site + np.array([0.75, 0.0])     # e.g. the Si of a Si4 the locator missed, 0.75 Å off its empty site
    yy, xx = np.mgrid[0:sim.image.shape[0], 0:sim.image.shape[1]] * 0.1
    image = sim.image.astype(float)
    peak = np.percentile(image, 99.5) - np.median(image)
    image += 3 * peak * np.exp(-((xx - bright[0]) ** 2 + (yy - bright[1]) ** 2) / (2 * 0.5**2))
    held, ratios = missed_columns(image, 0.1, site[None], others, 1.42)
    assert not held[0]


def test_nothing_is_put_back_where_noise_hides_every_column():
    rng = np.random.default_rng(0)
    image = rng.normal(100.0, 30.0, (320, 320))
    yy, xx = np.mgrid[0:40, 0:40]
    grid = np.c_[xx.ravel(), yy.ravel()] * 2.46 + 0.5
    columns = grid[(grid < 31).all(axis=1)]
    held, _ = missed_columns(image, 0.1, columns[:5] + 1.42, columns, 1.42)
    assert not held.any()


def _gaussian_frame(positions_A: np.ndarray, amplitude: np.ndarray, px: float = 0.1, sigma_A: float = 0.45,
                    noise: float = 0.02, seed: int = 0) -> np.ndarray:
    """An image of one Gaussian per column (Å positions, amplitudes), with a little Gaussian noise."""
    h, w = (np.ceil(positions_A.max(axis=0) / px).astype(int) + 30)[::-1]
    yy, xx = np.mgrid[0:h, 0:w] * px
    image = np.zeros((h, w))
    for (x, y), a in zip(positions_A, amplitude):
        sl = (slice(max(int((y - 3) / px), 0), int((y + 3) / px)), slice(max(int((x - 3) / px), 0), int((x + 3) / px)))
        image[sl] += a * np.exp(-((xx[sl] - x) ** 2 + (yy[sl] - y) ** 2) / (2 * sigma_A**2))
    return image + np.random.default_rng(seed).normal(0.0, noise, image.shape)


@pytest.mark.parametrize("in_image", [True, False])
def test_a_gap_in_a_dopant_ring_is_filled_only_where_the_image_shows_a_column(in_image):
    """A Si in a divacancy whose fourth C the locator missed: the image shows it, it is put back and the Si has its
    four neighbors (``Si4``). Where the image shows nothing there, the gap stays (three C: not ``Si4``)."""
    from atomgraph.graph.occupancy import build_image_graph
    from atomgraph.materials import get_material
    from test_topology import three_around_a_pair

    pos, el, i, removed = three_around_a_pair(np.random.default_rng(7))
    pos, removed = pos - pos.min(axis=0) + 3.0, removed - pos.min(axis=0) + 3.0
    amp = np.where(el == "Si", 4.2, 1.0)
    shown = np.vstack([pos, removed]) if in_image else pos
    image = _gaussian_frame(shown, np.r_[amp, 1.0] if in_image else amp)
    atoms = AtomTable(pos, el, pixel_size_A=0.1, intensity=amp, image_shape_px=image.shape,
                      extra={"p_C": (el == "C").astype(float), "p_Si": (el == "Si").astype(float)})
    graph = build_image_graph(atoms, get_material("graphene-si"), image)
    recovered = np.flatnonzero(graph.atoms.recovered)
    si = int(np.flatnonzero(graph.atoms.element == "Si")[0])
    if in_image:
        assert len(recovered) == 1 and np.linalg.norm(graph.atoms.positions_A[recovered[0]] - removed) < 0.3
        assert graph.feature("pair_ring_empty")[si] == 0
    else:
        assert len(recovered) == 0 and graph.feature("pair_ring_empty")[si] == 1
