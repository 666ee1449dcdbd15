"""track: movies -> registration (drift), linking of columns and vacancy sites, label timelines, events, transitions.

Modules, one job each: :mod:`.movie` (simulated movies with exact truth), :mod:`.register` (frame-to-frame drift),
:mod:`.alias` (which lattice-vector alias is the shift), :mod:`.link` (site identities across frames), :mod:`.intensity`
(one atom or two in a chalcogen column, from its intensity in every frame), :mod:`.sublattice` (a track keeps its
sublattice's vocabulary), :mod:`.timeline` (HMM / Viterbi label smoothing), :mod:`.evidence` (per-row label
probabilities), :mod:`.decode` (the timelines and events of a set of rows), :mod:`.events` (label events, hops and
transition statistics), :mod:`.changes` (columns and vacancies appearing or vanishing, novel clusters), :mod:`.live`
(fixed-lag decoding for live sessions), :mod:`.tracker` (:func:`track` and :class:`Tracker`, which run them in order),
:mod:`.result` (:class:`TrackResult`), :mod:`.output` (CSV and PNG files).
"""

from __future__ import annotations

from .movie import Movie, simulate_movie
from .tracker import Tracker, TrackResult, track

__all__ = ["Movie", "simulate_movie", "Tracker", "TrackResult", "track"]
