"""Novelty (issue 13): the held-out defect recipes, the novelty score and its statistics file, unknown defects,
``atomgraph train novelty`` and ``atomgraph discover``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from atomgraph import simulate
from atomgraph.classify import classify
from atomgraph.classify.novelty import (
    NoveltyStats,
    fit_gaussians,
    novelty_path,
    read_novelty,
    robust_variance,
    save_novelty,
)
from atomgraph.cli import main
from atomgraph.config import load_config
from atomgraph.models.paths import WEIGHTS_DIR

from isolated import isolated_config


def with_defects(base: str, entries: list[dict], keep_known: bool = False) -> dict:
    cfg = load_config(base)
    cfg["name"] = f"{cfg['name']}-test"
    if not keep_known:
        cfg["defects"] = []
    for entry in entries:
        cfg["labels"].append(entry["label"])
        cfg["defects"].append(entry)
    return cfg


def truth_of(cfg: dict, seed: int = 0):
    return simulate(cfg, size=384, pixel_size_A=0.1, dose=1e5, seed=seed, distort=False).truth


# ------------------------------------------------------------------------------------------------------ recipes
def test_stone_wales_rotates_one_bond_by_90_degrees():
    truth = truth_of(with_defects("graphene-si", [{"label": "SW", "recipe": "stone_wales", "count": 1,
                                                   "projected_bond_A": 1.32}]))
    sw = truth.positions_A[truth.label == "SW"]
    assert len(sw) == 2
    assert np.linalg.norm(sw[0] - sw[1]) == pytest.approx(1.32, abs=0.02)
    host = truth.positions_A[truth.label == "C"]
    mid = sw.mean(0)
    # the two original sites are now empty: no carbon within 0.5 Å of where they were (1.0 Å from the new atoms)
    d = np.linalg.norm(host - mid, axis=1)
    assert np.sort(d)[0] > 1.2  # nearest host atom is a ring neighbor, not an unrotated partner


def test_dopant_dimer_and_trimer_replace_adjacent_hosts_by_silicon():
    cfg = with_defects("graphene-si", [
        {"label": "Sidimer", "recipe": "dopant_dimer", "element": "Si", "count": 1, "projected_bond_A": 2.2},
        {"label": "Sitrimer", "recipe": "dopant_trimer", "element": "Si", "count": 1, "projected_bond_A": 2.3}])
    truth = truth_of(cfg)
    dimer = truth.label == "Sidimer"
    assert list(truth.element[dimer]) == ["Si", "Si"]
    assert np.linalg.norm(np.diff(truth.positions_A[dimer], axis=0)) == pytest.approx(2.2, abs=0.02)
    trimer = truth.label == "Sitrimer"
    assert sorted(truth.element[trimer]) == ["", "Si", "Si", "Si"]
    site = truth.positions_A[trimer & truth.vacancy][0]
    si = truth.positions_A[trimer & ~truth.vacancy]
    assert np.linalg.norm(si - site, axis=1) == pytest.approx([2.3 / np.sqrt(3)] * 3, abs=0.02)


def test_line_vacancy_empties_consecutive_chalcogen_sites_in_a_row():
    cfg = with_defects("mose2-w", [{"label": "Seline", "recipe": "chalcogen_line_vacancy", "count": 1,
                                    "line_sites": 4}])
    truth = truth_of(cfg, seed=3)
    sites = truth.positions_A[truth.label == "Seline"]
    assert len(sites) == 4 and truth.vacancy[truth.label == "Seline"].all()
    steps = np.diff(sites[np.argsort(sites @ (sites[-1] - sites[0]))], axis=0)
    assert np.linalg.norm(steps, axis=1) == pytest.approx([3.29] * 3, abs=0.05)
    assert np.abs(np.cross(steps[0], steps[1])) < 0.05   # collinear


def test_metal_antisite_puts_a_metal_atom_on_a_chalcogen_site():
    truth = truth_of(with_defects("mose2-w", [{"label": "MoSe", "recipe": "metal_antisite", "count": 2}]))
    antisite = truth.label == "MoSe"
    assert antisite.sum() == 2 and list(truth.element[antisite]) == ["Mo", "Mo"]
    metals = truth.positions_A[truth.label == "Mo"]
    d = np.linalg.norm(metals[None] - truth.positions_A[antisite][:, None], axis=2).min(1)
    assert (d > 1.5).all()   # on the chalcogen sublattice, one bond (1.9 Å) from the nearest metal


# ------------------------------------------------------------------------------------------------ score & file
def test_gaussian_score_separates_outliers_and_survives_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (2000, 6))
    b = rng.normal(5, 0.5, (500, 6))
    x, cls = np.vstack([a, b]), np.r_[np.zeros(2000, int), np.ones(500, int)]
    kept, center, scale, mean, whiten = fit_gaussians(x, cls, ["host", "dopant"])
    stats = NoveltyStats(kept, center, scale, mean, whiten, np.ones(2, np.float32), {"material": "toy"})
    d = stats.distances(x)
    stats.threshold = np.array([np.quantile(d[cls == 0, 0], 0.99), np.quantile(d[cls == 1, 1], 0.99)], np.float32)
    fresh = np.vstack([rng.normal(0, 1, (1000, 6)), rng.normal(5, 0.5, (1000, 6))])
    assert np.mean(stats.score(fresh) > 1) < 0.03
    outliers = rng.normal(0, 1, (200, 6)) + np.array([0, 0, 12, 0, 0, 0])
    assert np.mean(stats.score(outliers) > 1) > 0.95
    save_novelty(stats, tmp_path / "novelty-toy.safetensors")
    back = read_novelty(tmp_path / "novelty-toy.safetensors")
    assert back.classes == ["host", "dopant"] and back.meta["material"] == "toy"
    np.testing.assert_allclose(back.score(outliers), stats.score(outliers), rtol=1e-5)


def test_a_frame_whose_hosts_all_moved_is_recentered_on_them_but_its_outliers_stay_novel():
    rng = np.random.default_rng(3)
    host, dopant = rng.normal(0, 1, (3000, 6)), rng.normal(4, 0.5, (400, 6))
    x, cls = np.vstack([host, dopant]), np.r_[np.zeros(3000, int), np.ones(400, int)]
    kept, center, scale, mean, whiten = fit_gaussians(x, cls, ["C", "Si3"])
    z_host = (host - center) / scale
    anchor = np.vstack([np.median(z_host, axis=0), np.full(6, np.nan)]).astype(np.float32)
    anchor_var = np.vstack([robust_variance(z_host), np.full(6, np.nan)]).astype(np.float32)
    stats = NoveltyStats(kept, center, scale, mean, whiten, np.ones(2, np.float32), {}, anchor=anchor,
                         anchor_var=anchor_var)
    d = stats.distances(x)
    stats.threshold = np.array([np.quantile(d[cls == 0, 0], 0.995), np.quantile(d[cls == 1, 1], 0.98)], np.float32)
    # a miscalibrated frame: every host 4 spreads off in two inputs, plus three outliers off in another
    frame = np.vstack([rng.normal(0, 1, (500, 6)), rng.normal(0, 1, (3, 6)) + [0, 0, 0, 0, 9, 0]]) + [4, 4, 0, 0, 0, 0]
    labels = np.array(["C"] * 503)
    assert np.mean(stats.score(frame, given=False) > 1) > 0.5          # without labels: the whole frame is novel
    recentered = stats.score(frame, given=False, labels=labels)
    assert np.mean(recentered[:500] > 1) < 0.02 and (recentered[500:] > 1).all()
    too_few = stats.score(frame[:20], given=False, labels=labels[:20])   # < MIN_RECENTER hosts: no shift
    np.testing.assert_allclose(too_few, stats.score(frame[:20], given=False))
    # a noisy scan: every host spread twice as wide; the frame's excess variance widens the classes
    noisy = np.vstack([rng.normal(0, 2, (500, 6)), rng.normal(0, 1, (3, 6)) + [0, 0, 0, 0, 12, 0]])
    assert np.mean(stats.score(noisy, given=False) > 1) > 0.3
    widened = stats.score(noisy, given=False, labels=labels)
    assert np.mean(widened[:500] > 1) < 0.03 and (widened[500:] > 1).all()


def test_novelty_file_sits_beside_the_classifier():
    assert novelty_path("x/classifier-ws2-mo.safetensors") == Path("x/novelty-ws2-mo.safetensors")
    assert novelty_path("x/my.safetensors") == Path("x/my-novelty.safetensors")


@pytest.mark.skipif(not (WEIGHTS_DIR / "novelty-graphene-si.safetensors").is_file(),
                    reason="bundled novelty statistics not fitted")
def test_classify_scores_novelty_and_a_model_without_statistics_gives_nan(tmp_path):
    from atomgraph.classify.data import coordinate_file_like

    sim = simulate("graphene-si", size=256, pixel_size_A=0.1, seed=2)
    coords = coordinate_file_like(sim.truth, np.random.default_rng(0), sigma_A=0.03, keep_intensity=True)
    graph = classify(coords, "graphene-si")
    novelty = graph.atoms.novelty
    assert np.isfinite(novelty).all() and np.mean(graph.atoms.novel) < 0.02
    folder = tmp_path / "model"
    folder.mkdir()
    for suffix in (".safetensors", ".json"):
        shutil.copy(WEIGHTS_DIR / f"classifier-graphene-si{suffix}", folder / f"classifier-graphene-si{suffix}")
    bare = classify(coords, str(folder / "classifier-graphene-si.safetensors"))
    assert np.isnan(bare.atoms.novelty).all() and not bare.atoms.novel.any()
    assert list(bare.atoms.label) == list(graph.atoms.label)


# ------------------------------------------------------------------------------------------------ lattice checks
def _edges(pairs: list[tuple[int, int]]) -> np.ndarray:
    return np.array(pairs + [(b, a) for a, b in pairs], dtype=np.int64).T


def test_vacancy_cluster_joins_empty_sites_that_share_a_neighbor():
    from atomgraph.classify.novelty_checks import vacancy_cluster_size

    # a chain 0-1-...-7 and a pair 8-9; empty sites 1, 3, 7, 8
    edges = _edges([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (8, 9)])
    vacancy = np.zeros(10, bool)
    vacancy[[1, 3, 7, 8]] = True
    size = vacancy_cluster_size(vacancy, edges)
    # 1 and 3 share node 2: one cluster of two, read by them and their neighbors 0, 2, 4; 7 and 8 are single
    assert size.tolist() == [2, 2, 2, 2, 2, 0, 1, 1, 1, 1]
    assert vacancy_cluster_size(np.zeros(3, bool), _edges([(0, 1)])).tolist() == [0, 0, 0]


def test_brightness_check_flags_a_column_between_two_known_levels_at_the_frames_noise():
    from atomgraph.classify.novelty_checks import LatticeChecks

    rng = np.random.default_rng(1)
    # labels: 0 = full column (reference, 1.0), 1 = one-atom column (0.5); 200 full, 20 half, 3 at 0.72
    level = np.r_[np.ones(200), np.full(20, 0.5), np.full(3, 0.72)]
    label = np.r_[np.zeros(200, int), np.ones(23, int)]
    intensity = level * np.exp(rng.normal(0, 0.04, len(level)))
    checks = LatticeChecks(["full", "half"], ["", ""], 0, np.array([0.0, np.log(0.5)], np.float32),
                           np.array([0.0, 0.01], np.float32), np.array([4.0, 4.0], np.float32),
                           np.array([0.0, 0.0], np.float32))
    either = np.ones((len(label), 2), bool)
    xy = rng.uniform(0, 50, (len(label), 2))
    none_edges = np.zeros((2, 0), np.int64)
    score = checks.score(intensity, xy, label, either, np.zeros(len(label), bool), none_edges)
    assert (score[-3:] > 1).all() and (score[:220] <= 1).mean() > 0.99
    # a one-atom column the classifier read as full is not novel: its brightness fits a label it could be
    misread = checks.score(intensity, xy, np.zeros(len(label), int), either, np.zeros(len(label), bool), none_edges)
    assert (misread[200:220] <= 1).mean() > 0.9
    # ... unless that label is not one it could be (another sublattice's): then nothing it could be fits
    only_full = either.copy()
    only_full[:, 1] = False
    assert (checks.score(intensity, xy, label, only_full, np.zeros(len(label), bool), none_edges)[200:220] > 1).all()
    # at the border of the observed region (< 1.5 bonds) the disc and background sums are cut: not read
    border = np.r_[np.full(220, 3.0), np.full(3, 0.5)]
    at_border = checks.score(intensity, xy, label, either, np.zeros(len(label), bool), none_edges, border)
    assert (at_border[-3:] == 0).all()
    # a smooth background (40 % brighter on one side) cancels against the reference columns around each node
    ramp = intensity * (1.0 + 0.4 * xy[:, 0] / 50.0)
    score = checks.score(ramp, xy, label, either, np.zeros(len(label), bool), none_edges)
    assert (score[-3:] > 1).all() and (score[:220] <= 1).mean() > 0.99
    # a noisier frame (0.25 spread) cannot tell 0.72 from 0.5 at this threshold: not flagged
    noisy = level * np.exp(rng.normal(0, 0.25, len(level)))
    noisy[-3:] = 0.72
    assert (checks.score(noisy, xy, label, either, np.zeros(len(label), bool), none_edges)[-3:] <= 1).all()


def test_bundled_statistics_carry_lattice_checks_that_survive_a_round_trip(tmp_path):
    stats = read_novelty(WEIGHTS_DIR / "novelty-mose2-w.safetensors")
    assert stats.checks is not None and stats.checks.labels[stats.checks.reference] in ("Mo", "Se2")
    save_novelty(stats, tmp_path / "novelty-copy.safetensors")
    back = read_novelty(tmp_path / "novelty-copy.safetensors")
    for name in back.checks.ARRAYS:
        np.testing.assert_array_equal(getattr(back.checks, name), getattr(stats.checks, name))


# ------------------------------------------------------------------------------------------------------ defects
def test_novel_nodes_form_unknown_defects_and_are_not_counted_as_their_label():
    from atomgraph.defects import UNKNOWN, find_defects

    cfg = isolated_config("graphene-si", Si3={"dopant_offset_A": None})  # a Si on its site: three bonds
    sim = simulate(cfg, size=256, pixel_size_A=0.1, seed=2, counts={"Si3": 2, "Si4": 0})
    graph = classify(sim.truth.subset(sim.truth.element != ""), "graphene-si")
    si3 = np.flatnonzero(graph.atoms.label == "Si3")
    assert len(si3) == 2
    novel = np.zeros(len(graph.atoms), bool)
    src, dst = graph.edge_index
    novel[si3[0]] = True
    novel[dst[src == si3[0]]] = True                   # the Si and its three neighbors: one connected group
    graph.atoms.novel = novel
    defects = find_defects(graph, host_labels=["C"])
    labels = sorted(d.label for d in defects)
    assert labels == ["Si3", UNKNOWN]
    unknown = next(d for d in defects if d.label == UNKNOWN)
    assert len(unknown.core_ids) == 4


def test_host_columns_just_past_their_threshold_are_the_tail_not_an_unknown_defect():
    from atomgraph.defects import HOST_TAIL_NOVELTY, UNKNOWN, find_defects

    sim = simulate("graphene-si", size=256, pixel_size_A=0.1, seed=3, counts={"Si3": 0, "Si4": 0})
    graph = classify(sim.truth.subset(sim.truth.element != ""), "graphene-si")
    src, dst = graph.edge_index
    middle = int(np.argmin(np.linalg.norm(graph.atoms.positions_A - graph.atoms.positions_A.mean(0), axis=1)))
    patch = np.r_[middle, dst[src == middle]]          # a carbon and its three neighbors: one connected group
    novelty = np.zeros(len(graph.atoms))
    novelty[patch] = 1.2
    graph.atoms.novelty, graph.atoms.novel = novelty, novelty > 1
    assert not [d for d in find_defects(graph, host_labels=["C"]) if d.label == UNKNOWN]
    novelty[patch[1]] = HOST_TAIL_NOVELTY + 0.1        # one column well past it: a new structure
    graph.atoms.novelty = novelty
    unknown = [d for d in find_defects(graph, host_labels=["C"]) if d.label == UNKNOWN]
    assert len(unknown) == 1 and len(unknown[0].core_ids) == 4



def _clean_classified_graph(seed: int = 3):
    cfg = load_config("graphene-si")
    cfg["image"]["rotation_deg"] = 0.0                     # lattice rows along the scan rows
    sim = simulate(cfg, size=256, pixel_size_A=0.1, seed=seed, counts={"Si3": 0, "Si4": 0}, distort=False)
    table = sim.truth.subset(sim.truth.element != "")
    table.image_shape_px = sim.image.shape                 # columns of an image: they have scan rows and a border
    return classify(table, "graphene-si")


def test_host_columns_at_the_frame_border_or_along_one_scan_row_are_no_unknown_defect():
    from atomgraph.defects import HOST_TAIL_NOVELTY, UNKNOWN, find_defects

    graph = _clean_classified_graph()
    atoms, n = graph.atoms, len(graph.atoms)
    edge = graph.feature("edge_distance_bonds")
    novelty = np.zeros(n)
    border = int(np.flatnonzero(edge < 0.5)[0])
    novelty[border] = HOST_TAIL_NOVELTY + 1.0               # cut off by the frame: read from half its neighborhood
    atoms.novelty, atoms.novel = novelty, novelty > 1
    assert not [d for d in find_defects(graph, host_labels=["C"]) if d.label == UNKNOWN]
    novelty[border] = 0.0
    y = atoms.positions_px[:, 1]
    on_row = np.abs(y - y[np.argmin(np.abs(y - np.median(y)))]) < 0.5
    inside = np.flatnonzero((edge > 2) & on_row)                               # one scan row, away from the border
    row = inside[np.argsort(atoms.positions_px[inside, 0])][::2][:4]          # four columns apart along it
    assert len(row) == 4
    novelty[row] = HOST_TAIL_NOVELTY + 1.0
    atoms.novelty, atoms.novel = novelty, novelty > 1
    assert not [d for d in find_defects(graph, host_labels=["C"]) if d.label == UNKNOWN]   # a scan-line glitch
    novelty[row[:2]] = 0.0                                  # two odd columns on a row are two unknown defects
    atoms.novelty, atoms.novel = novelty, novelty > 1
    assert len([d for d in find_defects(graph, host_labels=["C"]) if d.label == UNKNOWN]) == 2



def test_a_frame_read_a_little_off_as_a_whole_raises_the_tail_its_lone_columns_are_judged_by():
    from atomgraph.defects import UNKNOWN, find_defects

    graph = _clean_classified_graph()
    atoms, n = graph.atoms, len(graph.atoms)
    inside = np.flatnonzero(graph.feature("edge_distance_bonds") > 2)
    unknowns = lambda: [d for d in find_defects(graph, host_labels=["C"]) if d.label == UNKNOWN]  # noqa: E731
    rng = np.random.default_rng(0)
    for center, spread, expected in ((0.2, 0.05, 1), (0.9, 0.3, 0)):   # a usual frame; one read off as a whole
        novelty = np.clip(rng.normal(center, spread, n), 0.0, 1.8)
        novelty[inside[len(inside) // 2]] = 1.9
        atoms.novelty, atoms.novel = novelty, novelty > 1
        assert len(unknowns()) == expected


# ---------------------------------------------------------------------------------------------------------- CLI
def test_train_novelty_without_model_is_a_usage_error(capsys):
    assert main(["train", "novelty"]) == 2
    assert "--model" in capsys.readouterr().err


def test_discover_refuses_a_missing_frame_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["discover", str(tmp_path / "nope.npy"), "--model", "graphene-si", "--pixel-size", "0.1",
                 "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err and not out.exists()


@pytest.mark.skipif(not (WEIGHTS_DIR / "novelty-graphene-si.safetensors").is_file(),
                    reason="bundled novelty statistics not fitted")
def test_discover_writes_clusters_groups_frames_and_galleries(tmp_path, capsys):
    cfg = with_defects("graphene-si", [{"label": "Sitrimer", "recipe": "dopant_trimer", "element": "Si",
                                        "count": 3, "height_A": 1.0}], keep_known=True)
    paths = []
    for seed in range(4):
        path = tmp_path / f"f{seed}.npy"
        np.save(path, simulate(cfg, size=320, pixel_size_A=0.1, dose=1e5, seed=seed).image)
        paths.append(str(path))
    out = tmp_path / "disc"
    assert main(["discover", *paths, "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out),
                 "--min-cluster-size", "3", "--quiet"]) == 0
    import csv

    def rows(name: str) -> list[dict]:
        with open(out / name, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    frames, groups = rows("frames.csv"), rows("groups.csv")
    assert len(frames) == 4 and len(groups) >= 6        # most of the 12 trimers come out as unknown defects
    clusters = rows("clusters.csv")
    assert sum(int(c["count"]) for c in clusters) == len(groups)
    assert any((out / f"cluster_{c['cluster']}.png").is_file() for c in clusters if int(c["cluster"]) >= 0)


def test_dopants_within_reach_of_another_dopant_are_novel():
    """Two dopant columns closer than the reach are one structure no taught label holds; a host column is not one."""
    from atomgraph.classify.novelty_checks import DOPANT_BOND_NOVELTY, dopant_bond_novelty

    dopant = np.array([True, True, False, True, True])
    positions = np.array([[0.0, 0.0], [1.9, 0.0], [3.3, 0.0], [20.0, 0.0], [23.2, 0.0]])
    out = dopant_bond_novelty(dopant, positions, 3.1)
    assert list(out) == [DOPANT_BOND_NOVELTY, DOPANT_BOND_NOVELTY, 0.0, 0.0, 0.0]   # 3.2 Å apart: two dopants
    assert list(dopant_bond_novelty(dopant, positions, 1.5 * 1.42)) == [DOPANT_BOND_NOVELTY] * 2 + [0.0] * 3
    assert DOPANT_BOND_NOVELTY > 1.0  # novel


def _si_pair(separation_shell: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A graphene sheet (coordinates, Å) with two threefold Si: on second-neighbor sites (shell 2, 2.46 Å), across a
    hexagon (shell 3, 2.84 Å) or far apart (shell 0, ~10 Å)."""
    from ase.build import graphene

    pos = graphene(formula="C2", a=2.46, vacuum=None).repeat((10, 10, 1)).positions[:, :2].copy()
    el = np.array(["C"] * len(pos), dtype=object)
    first = int(np.argmin(np.linalg.norm(pos - pos.mean(0), axis=1)))
    d = np.linalg.norm(pos - pos[first], axis=1)
    target = {2: 2.46, 3: 2.84, 0: 9.8}[separation_shell]
    second = int(np.argmin(np.abs(d - target)))
    el[[first, second]] = "Si"
    return pos, el, [first, second]


@pytest.mark.parametrize("shell", [2, 3])
def test_a_graphene_si_pair_within_a_hexagon_is_one_unknown_defect_with_its_own_labels(shell):
    """Two threefold Si on second- or third-neighbor sites (a real ``Si2C6`` dimer) each keep ``Si3`` and are both
    flagged novel, and they form one unknown defect, though no edge joins them; far apart no pair flag joins them."""
    from atomgraph.atoms import AtomTable
    from atomgraph.classify.novelty_checks import DOPANT_BOND_NOVELTY
    from atomgraph.defects import find_defects

    pos, el, pair = _si_pair(shell)
    graph = classify(AtomTable(pos, el), model="graphene-si")
    assert list(graph.atoms.label[pair]) == ["Si3", "Si3"] and graph.atoms.novel[pair].all()
    unknown = [d for d in find_defects(graph) if d.label == "unknown"]
    assert len(unknown) == 1 and set(graph.atoms.ids[pair]) <= set(unknown[0].core_ids)
    pos, el, pair = _si_pair(0)
    graph = classify(AtomTable(pos, el), model="graphene-si")
    assert list(graph.atoms.label[pair]) == ["Si3", "Si3"] and (graph.atoms.novelty[pair] < DOPANT_BOND_NOVELTY).all()
    ids = set(graph.atoms.ids[pair])
    assert not any(ids <= set(d.core_ids) for d in find_defects(graph))   # two defects, whatever else they are


def test_dopants_on_neighboring_metal_sites_of_a_tmd_alloy_are_not_novel():
    """mose2-w keeps the default reach (bonded dopants): two W on neighboring metal sites are an alloy, not new."""
    from atomgraph.classify.novelty_checks import dopant_pair_reach_A
    from atomgraph.materials import get_material

    material = get_material("mose2-w")
    assert material.settings.graph.dopant_pair_A is None
    bond = 1.9

    class _Graph:   # the reach reads only the graph's bond length
        flags = {"bond_A": bond}

    assert dopant_pair_reach_A(_Graph(), material) < 3.29   # metal-metal distance of MoSe2
    assert dopant_pair_reach_A(_Graph(), get_material("graphene-si")) == pytest.approx(3.1)


def test_the_novelty_fit_reads_a_classifier_file_with_the_locator_beside_it_or_its_materials(tmp_path):
    """A lone classifier file (``train novelty --model classifier-X.safetensors``) fits on the output of the
    locator beside it, else of its material's bundled locator: it was once read as a locator itself."""
    from atomgraph.classify.novelty_fit import _locator_of
    from atomgraph.materials import get_material

    material = get_material("graphene-si")
    for name in ("classifier-graphene-si.safetensors", "classifier-graphene-si.json"):
        shutil.copy(WEIGHTS_DIR / name, tmp_path / name)
    classifier = tmp_path / "classifier-graphene-si.safetensors"
    assert _locator_of(classifier, material) == WEIGHTS_DIR / "locator-graphene-si.safetensors"
    for name in ("locator-graphene-si.safetensors", "locator-graphene-si.json"):
        shutil.copy(WEIGHTS_DIR / name, tmp_path / name)
    assert _locator_of(classifier, material) == tmp_path / "locator-graphene-si.safetensors"
    assert _locator_of(tmp_path, material) == tmp_path / "locator-graphene-si.safetensors"
    assert _locator_of("graphene-si", material) == WEIGHTS_DIR / "locator-graphene-si.safetensors"
