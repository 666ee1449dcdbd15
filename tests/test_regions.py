"""Regions without lattice (an amorphous patch, saturated pixels) are masked: no defects and no vacancies there."""

from __future__ import annotations

import numpy as np

import atomgraph
from atomgraph.defects import UNKNOWN
from atomgraph.locate.peaks import saturated_columns
from atomgraph.simulate.patches import add_amorphous_patch

from isolated import isolated_config


def test_an_amorphous_patch_gets_no_defects_and_no_vacancies_and_a_clean_frame_no_mask():
    cfg = isolated_config("graphene-si")
    cfg["image"] = {**cfg["image"], "eight_bit_fraction": None}  # a clipped 8-bit Si is masked too, rightly
    sim = atomgraph.simulate(cfg, size=384, pixel_size_A=0.1, seed=5, counts={"Si3": 3, "Si4": 2})
    center, radius = np.array([200.0, 190.0]), 70.0
    clean = atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)
    patched = atomgraph.analyze(add_amorphous_patch(sim.image, center, radius, 0.1, seed=5), model="graphene-si",
                                pixel_size_A=0.1)
    assert not clean.atoms.masked.any()
    atoms = patched.atoms
    inside = np.hypot(*(atoms.positions_px - center).T) < radius
    assert atoms.masked[inside & ~atoms.vacancy].mean() > 0.5
    assert not (atoms.vacancy & inside).any()
    assert not [d for d in patched.defects if np.hypot(*(d.center_px - center)) < radius + 3]
    far = lambda r: sorted(d.label for d in r.defects  # noqa: E731
                           if np.hypot(*(d.center_px - center)) > radius + 15 and d.label != UNKNOWN)
    assert far(patched) == far(clean)  # outside the patch the labeled defects do not change (the lattice model is
    # refitted without the patch, so a node whose novelty sits at its threshold may flip: unknowns are not compared)


def test_saturated_columns_are_found_only_on_a_clipped_plateau():
    image = np.random.default_rng(0).normal(100, 5, (64, 64))
    xy = np.array([[10.0, 10.0], [40.0, 40.0]])
    assert not saturated_columns(image, xy).any()  # no plateau: nothing saturated
    image[38:43, 38:43] = image.max() + 50  # a clipped blob
    assert list(saturated_columns(image, xy)) == [False, True]


def test_a_few_bright_pixels_of_an_8bit_frame_do_not_saturate_their_columns():
    """A noisy 8-bit export: 0.1 % of the pixels reach 255, one here and there at a column. Their peaks are not
    clipped (one pixel of the 3x3 around them), so they are not masked; a clipped plateau is."""
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(120, 40, (128, 128)), 0, 255).round()
    image[image >= 250] = 200
    xy = np.array([[20.0, 20.0], [60.0, 60.0], [100.0, 100.0]])
    image[20, 21] = image[60, 60] = 255          # single hot pixels at two columns
    image[3, 90] = image[90, 3] = 255            # and elsewhere: the frame has its 255 values
    image[99:102, 99:102] = 255                  # the third column's peak is clipped
    assert list(saturated_columns(image, xy)) == [False, False, True]


def test_analysis_warns_when_most_of_a_frame_is_masked():
    from atomgraph.atoms import AtomTable
    from atomgraph.graph.build import masking_warnings

    atoms = AtomTable(np.zeros((10, 2)), np.array(["C"] * 10, dtype=object))
    atoms.masked = np.array([True] * 3 + [False] * 7)
    atoms.saturated = np.array([True] + [False] * 9)
    (warning,) = masking_warnings(atoms)
    assert "30 % of the 10 nodes are masked" in warning and "1 have clipped" in warning and "2 lie where" in warning
    atoms.masked = np.array([True] * 2 + [False] * 8)
    assert masking_warnings(atoms) == []
