"""Regions without lattice (an amorphous patch, saturated pixels) are masked: no defects and no vacancies there."""

from __future__ import annotations

import numpy as np

import atomgraph
from atomgraph.locate.peaks import saturated_columns


def amorphous_patch(image: np.ndarray, center: np.ndarray, radius_px: float, seed: int, pixel_size_A: float):
    """``image`` with a disk replaced by randomly placed columns at graphene density (amorphous carbon)."""
    rng = np.random.default_rng(seed)
    h, w = image.shape
    yy, xx = np.mgrid[:h, :w]
    disk = (xx - center[0]) ** 2 + (yy - center[1]) ** 2 < radius_px**2
    n = int(disk.sum() * pixel_size_A**2 * 0.38)  # 0.38 columns per Å²
    points = center + rng.uniform(-radius_px, radius_px, (3 * n, 2))
    points = points[np.hypot(*(points - center).T) < radius_px][:n]
    sigma = 0.45 / pixel_size_A
    blobs = np.zeros_like(image)
    for x, y in points:
        blobs += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    out = image.copy()
    base = float(np.median(image))
    out[disk] = 0.6 * base + 0.5 * (image.max() - base) * blobs[disk] + rng.normal(0, 0.3 * image.std(), disk.sum())
    return out


def test_an_amorphous_patch_gets_no_defects_and_no_vacancies_and_a_clean_frame_no_mask():
    sim = atomgraph.simulate("graphene-si", size=384, pixel_size_A=0.1, seed=5, counts={"Si3": 3, "Si4": 2})
    center, radius = np.array([200.0, 190.0]), 70.0
    clean = atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)
    patched = atomgraph.analyze(amorphous_patch(sim.image, center, radius, 5, 0.1), model="graphene-si",
                                pixel_size_A=0.1)
    assert not clean.atoms.extra["masked"].any()
    atoms = patched.atoms
    inside = np.hypot(*(atoms.positions_px - center).T) < radius
    assert atoms.extra["masked"][inside & ~atoms.vacancy].mean() > 0.5
    assert not (atoms.vacancy & inside).any()
    assert not [d for d in patched.defects if np.hypot(*(d.center_px - center)) < radius + 3]
    far = lambda r: sorted(d.label for d in r.defects if np.hypot(*(d.center_px - center)) > radius + 15)  # noqa: E731
    assert far(patched) == far(clean)  # outside the patch nothing changes


def test_saturated_columns_are_found_only_on_a_clipped_plateau():
    image = np.random.default_rng(0).normal(100, 5, (64, 64))
    xy = np.array([[10.0, 10.0], [40.0, 40.0]])
    assert not saturated_columns(image, xy).any()  # no plateau: nothing saturated
    image[38:43, 38:43] = image.max() + 50  # a clipped blob
    assert list(saturated_columns(image, xy)) == [False, True]
