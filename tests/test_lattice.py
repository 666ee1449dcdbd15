"""The lattice model: expected sites under distortion, vacancies to the frame edge, holes, Si4 on a bond midpoint."""

from __future__ import annotations

import numpy as np
import pytest

from atomgraph import simulate
from atomgraph.atoms import AtomTable
from atomgraph.graph import build_graph, fit_material_lattice
from atomgraph.materials import get_material

from isolated import isolated_config

A_GRAPHENE = 2.46


def honeycomb_sheet(a: float, n: int) -> np.ndarray:
    """(2 n², 2) honeycomb sites of an n x n rhombus of cells, Å."""
    cell = np.array([[0.0, 0.0], [a / 2, a / (2 * np.sqrt(3))]])
    i, j = np.meshgrid(np.arange(n), np.arange(n))
    grid = np.column_stack([(i * a + j * a / 2).ravel(), (j * a * np.sqrt(3) / 2).ravel()])
    return (grid[:, None, :] + cell[None]).reshape(-1, 2)


def vacancies(graph) -> np.ndarray:
    return graph.atoms.positions_A[graph.atoms.vacancy]


def test_sites_and_vacancy_survive_shear_and_quadratic_drift():
    xy = honeycomb_sheet(A_GRAPHENE, 40)
    centre = int(np.argmin(np.hypot(*(xy - xy.mean(0)).T)))
    span = np.ptp(xy, axis=0)
    warped = xy.copy()  # 4 % shear plus a drift that reaches 2.5 Å (almost two bonds) across the frame
    warped[:, 0] += 0.04 * xy[:, 1] + 2.5 * (xy[:, 1] / span[1]) ** 2
    warped[:, 1] *= 1.03
    keep = np.arange(len(xy)) != centre
    g = build_graph(AtomTable(warped[keep], ["C"] * int(keep.sum())), "graphene-si")
    vac = vacancies(g)
    assert len(vac) == 1
    assert np.hypot(*(vac[0] - warped[centre])) < 0.1
    real = ~g.atoms.vacancy
    assert np.max(g.feature("site_offset_bonds")[real]) < 0.05
    assert np.min(g.feature("lattice_consistency")[real]) > 0.95


def test_vacancy_next_to_the_frame_edge_is_found_in_image_mode():
    from atomgraph.atoms import project_to_columns

    table = project_to_columns(get_material("mose2-w").build_lattice(60.0, 60.0).to_atoms())
    xy = table.positions_A
    se = np.flatnonzero((table.element == "Se") & (np.abs(xy[:, 1] - 30.0) < 10.0) & (np.abs(xy[:, 0] - 30.0) < 5))
    target = se[0]
    x0 = xy[target, 0] - 1.6                     # the frame's left edge 1.6 Å from the removed chalcogen
    lo, hi = np.array([x0, 10.0]), np.array([x0 + 25.0, 50.0])
    seen = np.all((xy >= lo - 0.4) & (xy <= hi + 0.4), axis=1)  # columns cut by the edge can still be half seen
    keep = seen & (np.arange(len(table)) != target)
    shape = tuple(int(v) for v in np.round((hi - lo) / 0.1)[::-1])
    frame = AtomTable(xy[keep] - lo + 0.05, table.element[keep], pixel_size_A=0.1, image_shape_px=shape)
    g = build_graph(frame, "mose2-w")
    vac = vacancies(g)
    assert len(vac) == 1  # found, and nothing invented along the four edges
    assert np.hypot(*(vac[0] - (xy[target] - lo + 0.05))) < 0.2
    coords = AtomTable(frame.positions_A, frame.element)  # the same points as a coordinate file: hull region
    assert len(vacancies(build_graph(coords, "mose2-w"))) <= 1


def test_hole_and_outside_stay_empty():
    xy = honeycomb_sheet(A_GRAPHENE, 40)
    centre = xy.mean(0)
    hole = np.hypot(*(xy - centre).T) < 7.0  # a hole of 14 Å: no lattice to fill
    g = build_graph(AtomTable(xy[~hole], ["C"] * int((~hole).sum())), "graphene-si")
    assert len(vacancies(g)) == 0


def test_si4_sits_on_a_bond_midpoint_and_si3_on_a_site():
    # isolated Si on their sites: the config's wider world (offsets, pairs, edge defects) off
    sim = simulate(isolated_config("graphene-si", Si3={"dopant_offset_A": None, "projected_bond_A": [1.45, 1.90]},
                                   Si4={"dopant_offset_A": None}), size=320, pixel_size_A=0.1, seed=4, counts={"Si3": 3, "Si4": 3})
    truth = sim.truth.subset(~sim.truth.vacancy)
    g = build_graph(truth, "graphene-si")
    site, mid = g.feature("site_offset_bonds"), g.feature("midpoint_offset_bonds")
    si3, si4 = g.atoms.label == "Si3", g.atoms.label == "Si4"
    assert si3.sum() >= 2 and si4.sum() >= 2
    assert np.all(site[si3] < 0.1) and np.all(mid[si3] > 0.4)
    assert np.all(mid[si4] < 0.1) and np.all(site[si4] > 0.4)
    # a Si4 fills its divacancy: no vacancy node next to it, and it reads as one filled neighbor site
    assert g.flags["n_vacancies_added"] == 0
    assert np.all(g.feature("sites_filled")[si4] >= 1)


def test_metal_and_chalcogen_sublattices_are_named_by_element():
    sim = simulate("mose2-w", size=256, pixel_size_A=0.1, seed=2)
    truth = sim.truth.subset(~sim.truth.vacancy)
    g = build_graph(truth, "mose2-w")
    metal = np.isin(g.atoms.element, ["Mo", "W"])
    assert np.mean(g.feature("on_metal")[metal] == 1) > 0.99
    assert np.mean(g.feature("on_chalcogen")[~metal & ~g.atoms.vacancy] == 1) > 0.99


def test_no_lattice_means_no_vacancies_and_low_consistency():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 50, (900, 2))
    g = build_graph(AtomTable(xy, ["C"] * len(xy)), "graphene-si")
    assert g.flags["n_vacancies_added"] <= 5
    assert np.median(g.feature("lattice_consistency")) < 0.6


@pytest.mark.parametrize("n", [0, 1, 3])
def test_tiny_inputs_have_no_lattice(n):
    table = AtomTable(np.arange(2 * n, dtype=float).reshape(n, 2) * 1.4, ["C"] * n)
    model = fit_material_lattice(table, get_material("graphene-si"))
    assert not model.fitted
    features, sites = model.describe(table.positions_A, ~table.vacancy)
    assert features.shape == (n, len(model.feature_names)) and np.all(np.isnan(sites))
