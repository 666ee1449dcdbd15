"""Static movies on real texture (issue 26): a real frame seen through a drifting window, re-noised per frame.
Nothing changes under the window, so no event may be reported and every column keeps its track. Skipped where
the real frames (../shared/data/real) are not present."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_real_movies as rm  # noqa: E402

import atomgraph  # noqa: E402

pytestmark = pytest.mark.skipif(not (rm.DATA / "graphene_gb_4nm.npy").is_file(), reason="no real frames here")


def test_a_static_real_graphene_movie_has_no_event_and_keeps_every_track():
    image = rm.read_frame(rm.DATA / "graphene_gb_4nm.npy")
    rng = np.random.default_rng(7)
    size = 160
    offsets = rm.drift_path(8, (image.shape[1] - size - 1, image.shape[0] - size - 1), 5.0, rng)
    frames = np.stack([rm.renoise(rm.crop(image, o, size), 60.0, 0.0, rng) for o in offsets])
    result = atomgraph.track(frames, model="graphene-si", pixel_size_A=0.0781)
    assert result.events == []
    same, total = rm.linking(result, offsets, 0.0781)
    assert total > 300 and same / total >= 0.999  # 8 frames of a 160 px window: about 60 columns linked per pair
