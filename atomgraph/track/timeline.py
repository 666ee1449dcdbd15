"""Label timelines: a hidden Markov model over each track's per-frame label probabilities, decoded by Viterbi.

The hidden state is the site's true label; it stays with probability ``1 - switch`` per frame and otherwise moves to
any other label (a sticky transition matrix). The emission of a frame is the classifier's calibrated probability
vector, mixed with a uniform floor (``floor``: no single frame is ever certain) and flattened further for frames
where the site is near the frame edge or missed (no evidence). With the defaults one confident wrong frame costs
less than the two switches it would need, so a blip does not make two events, while two confident frames of a new
state are enough for one.

A site whose own frames keep disagreeing (a faint column near the locator's or the classifier's decision, read one
way and the other frame after frame) tells less per frame than the classifier's probability says:
:func:`flicker_floor` measures how often the track's best label flips beyond one change and one blip, and
flattens every frame of that track as much (a noisy channel's error rate, read from the channel itself), so a
flickering site makes no pair of events, while a site that changes once keeps its full evidence.
"""

from __future__ import annotations

import numpy as np

FREE_FLIPS = 3          # flips of a track's best label that cost it no evidence: one change and one blip (2)
MAX_FLICKER_FLOOR = 0.9  # the floor of a track that flips at every frame (0.1 of its evidence left)


def emission_log(probs: np.ndarray, floor: np.ndarray | float = 0.01) -> np.ndarray:
    """Log emission (T, L) from label probabilities (T, L) (rows of NaN: no evidence) mixed with a uniform
    ``floor`` (scalar or per frame, 1 = no evidence)."""
    probs = np.asarray(probs, dtype=float)
    n_labels = probs.shape[1]
    floor = np.broadcast_to(np.asarray(floor, dtype=float), (len(probs),))[:, None]
    p = np.where(np.isfinite(probs), probs, 1.0 / n_labels)
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
    return np.log((1.0 - floor) * p + floor / n_labels)


def flicker_floor(best: np.ndarray) -> float:
    """The evidence floor of a whole track from its frames' best labels ``best`` (T,) (frames with evidence only,
    in frame order): twice the share of consecutive frames whose best label differs, beyond :data:`FREE_FLIPS`
    flips, at most :data:`MAX_FLICKER_FLOOR`; 0 for a track that changes at most once and blips once."""
    best = np.asarray(best)
    if len(best) < 3:
        return 0.0
    flips = int(np.count_nonzero(best[1:] != best[:-1]))
    return float(min(MAX_FLICKER_FLOOR, 2.0 * max(flips - FREE_FLIPS, 0) / (len(best) - 1)))


def viterbi(log_emission: np.ndarray, switch: float = 0.01) -> np.ndarray:
    """Most probable label sequence (T,) of indices for log emissions (T, L), a sticky chain (stay ``1 - switch``,
    any other label ``switch / (L - 1)``) and a uniform start.

    Examples
    --------
    >>> p = np.array([[.95, .05]] * 3 + [[.05, .95]] + [[.95, .05]] * 3 + [[.05, .95]] * 3)  # a blip, then a change
    >>> viterbi(emission_log(p)).tolist()
    [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    """
    n_t, n_l = log_emission.shape
    if n_l == 1:
        return np.zeros(n_t, dtype=int)
    log_trans = np.full((n_l, n_l), np.log(switch / (n_l - 1)))
    np.fill_diagonal(log_trans, np.log1p(-switch))
    score = log_emission[0] - np.log(n_l)
    back = np.zeros((n_t, n_l), dtype=int)
    for t in range(1, n_t):
        cand = score[:, None] + log_trans  # (from, to)
        back[t] = np.argmax(cand, axis=0)
        score = cand[back[t], np.arange(n_l)] + log_emission[t]
    path = np.zeros(n_t, dtype=int)
    path[-1] = int(np.argmax(score))
    for t in range(n_t - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
