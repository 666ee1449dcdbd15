"""Which lattice-vector alias of the correlation is a frame's shift: the evidence and its weights.

On a periodic lattice the correlation of two frames peaks at the true shift and at every shift a lattice vector
away, almost equally high. Three kinds of evidence tell them apart, each as a log-odds term:

- the correlation's own peak height (over the highest peak's): what is not periodic in the frames lifts the true
  one a little;
- the aperiodic correlation (:func:`.register.aperiodic_scores`: the lattice's Bragg peaks notched out of the
  spectrum), where only the true shift lines up defects, contamination and background; its z-score counts only
  above what a noise surface reaches (:data:`APERIODIC_NOISE_Z`);
- landmarks: dopants and vacancies that land on tracks of their own element. They confirm a shift; one of them no
  longer overrules a clear correlation (a single false dopant at low dose did).

The weights were fitted by a conditional logistic regression of the true shift against its aliases on 504
registered frames of 72 simulated low-dose movies (graphene 3e4, MoSe2 2e4 e/Å², 192² and 256², drift 1-3 Å per
frame, seeds 710 000+; ``benchmarks/bench_alias.py`` scores seeds 700 000+). A motion prior (the last step predicts
the next) was fitted with them and helped on movies whose drift persists, but the simulator's drift turns back at
its bound every frame or two, where it hurt (MoSe2 2e4: 41 -> 59 wrong aliases in 40 movies); it is left out until
the simulated drift is physical.
"""

from __future__ import annotations

LANDMARK_NATS = 2.5      # one dopant or vacancy landing on a track of its own element
PEAK_NATS = 12.0         # the correlation: this times (peak height / highest peak's - 1)
APERIODIC_NATS = 0.25    # the aperiodic correlation (lattice notched out): this times its z-score's
APERIODIC_NOISE_Z = 6.0  # excess over this (the highest of a noise surface's 16 best peaks stays below it)
ON_TRACK_SHARE = 0.85    # a candidate whose share of sites on a track is below this times the best one's is a
                         # shift by a bond, not by a lattice vector (about half the sites fall between tracks)


def shift_log_odds(height: float, aperiodic_z: float, landmarks: int) -> float:
    """Log-odds (up to a constant shared by a frame's candidates) that a candidate shift is the true one, from its
    correlation peak's height over the highest one's, its aperiodic z-score and the number of dopants and vacancies
    landing on tracks of their own element under it."""
    return (PEAK_NATS * (height - 1.0) + APERIODIC_NATS * max(aperiodic_z - APERIODIC_NOISE_Z, 0.0)
            + LANDMARK_NATS * landmarks)
