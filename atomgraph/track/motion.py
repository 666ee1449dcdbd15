"""The drift's motion model: which lattice-vector alias of the correlation is the frame's shift.

A stage drifts with a velocity that changes from frame to frame, but not by a lattice vector: the step to the next
frame is predicted by the last one (constant velocity), with an uncertainty learned from the movie itself (how much
its steps have changed lately). On a periodic lattice the correlation of two frames peaks at the true shift and at
every shift a lattice vector away, almost equally high; the prediction tells them apart without landmarks. Dopants
and vacancies that land on tracks of their own element add evidence (each :data:`LANDMARK_NATS`); they confirm a
shift, and decide only where the motion cannot (the movie's first steps, a drift that turns hard).

Units: px of the frames the tracker registers (the caller converts from Å with the pixel size).
"""

from __future__ import annotations

import numpy as np

DEFAULT_TURN = 0.6       # sigma of a frame-to-frame change of the drift step, as a share of the last step's length,
                         # before the movie shows its own (a turn by 60° changes the velocity by its whole length)
MEASUREMENT_A = 0.3      # floor of that sigma: the registered steps' own scatter, Å
TAIL_DOF = 3.0           # the prior is a Student t of this many degrees of freedom: a jolt of the stage costs a
                         # few nats, not a Gaussian's hundreds, so strong image evidence can still win
HISTORY = 5              # steps changes the sigma is learned from (the most recent)
# The weights of the evidence, fitted (conditional logistic regression of the true shift against its aliases, the
# motion model fed the true steps) on 504 registered frames of 72 simulated low-dose movies (graphene 3e4, MoSe2
# 2e4 e/Å², 192² and 256², drift 1-3 Å per frame turning by up to 60°, seeds 710 000+; benchmarks/bench_alias.py
# scores seeds 700 000+):
PRIOR_WEIGHT = 1.5       # times the motion prior's log-probability
LANDMARK_NATS = 2.5      # one dopant or vacancy landing on a track of its own element
PEAK_NATS = 12.0         # the correlation: this times (peak height / highest peak's - 1)
APERIODIC_NATS = 0.25    # the aperiodic correlation (lattice notched out): this times its z-score's
APERIODIC_NOISE_Z = 6.0  # excess over this (the highest of a noise surface's 16 best peaks stays below it)
ON_TRACK_SHARE = 0.85    # a candidate whose share of sites on a track is below this times the best one's is a
                         # shift by a bond, not by a lattice vector (about half the sites fall between tracks)


class MotionModel:
    """Registered drift steps of a movie, and the prediction of the next one.

    ``steps`` holds ``(frame, step_px)`` for each registered frame after the first: the shift from the previous
    registered frame (px). ``pixel_size_A`` converts the Å constants."""

    def __init__(self, pixel_size_A: float) -> None:
        self.px = float(pixel_size_A)
        self.steps: list[tuple[int, np.ndarray]] = []
        self.last_frame: int | None = None

    def record(self, frame: int, step_px: np.ndarray | None) -> None:
        """Frame ``frame`` was registered with ``step_px`` (px) since the last registered frame (None: the first)."""
        if step_px is not None and self.last_frame is not None:
            self.steps.append((frame - self.last_frame, np.asarray(step_px, float).copy()))
            del self.steps[:-(HISTORY + 2)]
        self.last_frame = frame

    def predict(self, frame: int) -> tuple[np.ndarray | None, float]:
        """(predicted step (2,) px from the last registered frame to ``frame``, its sigma in px); (None, inf) before
        two frames were registered."""
        if not self.steps or self.last_frame is None:
            return None, float("inf")
        gap = frame - self.last_frame
        velocities = np.array([step / n for n, step in self.steps])   # px per frame
        changes = np.linalg.norm(np.diff(velocities, axis=0), axis=1) * self.px
        default = (DEFAULT_TURN * np.linalg.norm(velocities[-1]) * self.px) ** 2
        turn2 = np.mean(changes[-HISTORY:] ** 2) if len(changes) >= 3 else max(
            default, float(np.mean(changes**2)) if len(changes) else 0.0)
        sigma_A = np.sqrt(MEASUREMENT_A**2 + turn2) * gap
        return velocities[-1] * gap, float(sigma_A / self.px)

    def log_prior(self, step_px: np.ndarray, prediction: tuple[np.ndarray | None, float]) -> float:
        """Log-probability (up to a constant) of a step (px) under a :meth:`predict` result (a 2-D Student t of
        :data:`TAIL_DOF` degrees of freedom)."""
        mean, sigma = prediction
        if mean is None:
            return 0.0
        d2 = float(np.sum((np.asarray(step_px) - mean) ** 2)) / sigma**2
        return -0.5 * (TAIL_DOF + 2.0) * float(np.log1p(d2 / TAIL_DOF))


def shift_log_odds(log_prior: float, height: float, aperiodic_z: float, landmarks: int) -> float:
    """Log-odds (up to a constant shared by a frame's candidates) that a candidate shift is the true one: the motion
    prior's log-probability, its correlation peak's height over the highest one's, its aperiodic z-score and the
    number of dopants and vacancies landing on tracks of their own element under it, weighted as fitted above."""
    return (PRIOR_WEIGHT * log_prior + PEAK_NATS * (height - 1.0)
            + APERIODIC_NATS * max(aperiodic_z - APERIODIC_NOISE_Z, 0.0) + LANDMARK_NATS * landmarks)
