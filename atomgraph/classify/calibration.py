"""Calibration of the classifier's probabilities on held-out simulations: temperature scaling, the uncertainty
threshold, and the expected calibration error (ECE) before and after."""

from __future__ import annotations

import numpy as np

from .data import IGNORE, Example, masked_logits
from .model import NodeClassifier

RIGHT_FLAGGED_MAX = 0.015          # the uncertainty threshold flags at most this fraction of right labels


def expected_calibration_error(prob: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-label probability: sum over equal-width bins of |accuracy - confidence| x bin fraction."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - prob[sel].mean())
    return float(ece)


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def calibrate(net: NodeClassifier, examples: list[Example]) -> dict:
    """Temperature (grid search on the negative log-likelihood) and the uncertainty threshold of held-out
    calibration graphs, with the expected calibration error before and after and the flag rates."""
    logits, target = masked_logits(net, examples)
    keep = target != IGNORE
    logits, target = logits[keep], target[keep]
    temps = np.exp(np.linspace(np.log(0.5), np.log(8.0), 61))
    nll = [-np.mean(np.log(_softmax(logits, t)[np.arange(len(target)), target] + 1e-12)) for t in temps]
    temperature = float(temps[int(np.argmin(nll))])
    out = {"temperature": temperature, "n_nodes": int(len(target))}
    for name, t in (("before", 1.0), ("after", temperature)):
        p = _softmax(logits, t)
        out[f"ece_{name}"] = expected_calibration_error(p.max(1), p.argmax(1) == target)
    p = _softmax(logits, temperature)
    best, right = p.max(1), p.argmax(1) == target
    candidates = np.sort(best[right])
    k = int(np.floor(RIGHT_FLAGGED_MAX * len(candidates)))
    threshold = float(min(candidates[k], 0.999)) if len(candidates) else 0.5
    threshold = max(threshold, 0.5)
    out.update(threshold=threshold, right_flagged=float(np.mean(best[right] < threshold)) if right.any() else 0.0,
               wrong_flagged=float(np.mean(best[~right] < threshold)) if (~right).any() else float("nan"),
               n_wrong=int((~right).sum()))
    return out
