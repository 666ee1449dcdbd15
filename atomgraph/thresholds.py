"""The one check of a label threshold (a probability below which a label is flagged ``uncertain``), made where the
value enters atomgraph: :func:`atomgraph.classify`, :func:`atomgraph.batch` and the CLI's ``--threshold``. Light: the
CLI's doors import it before any stage."""

from __future__ import annotations

from .errors import AtomgraphInputError


def check_threshold(threshold: float | None) -> float | None:
    """A label threshold as a float in [0, 1].

    Parameters
    ----------
    threshold : float or None
        The value given; None (the model's own threshold) passes as None.

    Returns
    -------
    float or None
        The threshold.

    Raises
    ------
    AtomgraphInputError
        When it is not a real number in [0, 1].
    """
    if threshold is None:
        return None
    if not (isinstance(threshold, (int, float)) and 0.0 <= float(threshold) <= 1.0):  # NaN fails the bound
        raise AtomgraphInputError(f"threshold must be a probability in [0, 1], got {threshold!r}")
    return float(threshold)
