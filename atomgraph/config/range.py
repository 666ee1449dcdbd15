"""``Range``: a config value that is a fixed number or a ``[low, high]`` interval drawn per image.

A range is written in YAML as a number (fixed) or as a pair ``[low, high]`` with ``low <= high``. Draws take an
explicit :class:`numpy.random.Generator`, so the same seed gives the same values. A fixed value, or a pair with
``low == high``, is returned without touching the generator (the random stream of the other draws is unchanged).

Examples
--------
>>> import numpy as np
>>> Range.parse([1.0, 2.0]).draw(np.random.default_rng(0))
1.6369616873214543
>>> Range.parse(0.1).draw(np.random.default_rng(0))
0.1
>>> Range.parse([10000, 1000000]).log_center()
100000.0
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
from pydantic_core import core_schema

__all__ = ["Range"]


def _number(value: Any) -> bool:
    """A real, finite number that is not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


class Range:
    """A fixed number or a ``[low, high]`` interval (``low <= high``), in the unit of the key that holds it.

    A value object: immutable, so copies share it.

    Parameters
    ----------
    low : float
        The fixed value, or the lower end of the interval.
    high : float, optional
        The upper end; ``None`` for a fixed value.

    Raises
    ------
    ValueError
        When a value is not a finite number or ``low > high``.
    """

    __slots__ = ("low", "high", "is_pair")

    def __init__(self, low: float, high: float | None = None) -> None:
        if not _number(low) or (high is not None and not _number(high)):
            raise ValueError(f"must be a number or a [low, high] pair, got {low!r}")
        if high is not None and low > high:
            raise ValueError(f"needs low <= high, got [{low}, {high}]")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", low if high is None else high)
        object.__setattr__(self, "is_pair", high is not None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Range is immutable")

    def __copy__(self) -> Range:
        return self

    def __deepcopy__(self, memo: dict) -> Range:
        return self

    def __reduce__(self) -> tuple:
        return (Range, (self.low, self.high) if self.is_pair else (self.low,))

    @classmethod
    def parse(cls, value: Any) -> Range:
        """A :class:`Range` from a number, a ``[low, high]`` list or tuple, or a :class:`Range` (returned as is).

        Parameters
        ----------
        value : float, list, tuple or Range
            The config value.

        Returns
        -------
        Range
            The range.

        Examples
        --------
        >>> Range.parse([0.06, 0.2])
        Range([0.06, 0.2])
        """
        if isinstance(value, Range):
            return value
        if isinstance(value, (list, tuple)):
            if len(value) != 2 or not all(_number(v) for v in value):
                raise ValueError(f"must be a number or a [low, high] pair of numbers, got {list(value)!r}")
            return cls(value[0], value[1])
        if not _number(value):
            raise ValueError(f"must be a number or a [low, high] pair, got {value!r}")
        return cls(value)

    # ------------------------------------------------------------------------------------------------ draws
    def draw(self, rng: np.random.Generator) -> float:
        """A uniform draw from ``[low, high]``; the value itself when fixed (no draw from ``rng``).

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.

        Returns
        -------
        float
            The value.
        """
        if self.low == self.high:
            return float(self.low)
        return float(rng.uniform(self.low, self.high))

    def draw_log(self, rng: np.random.Generator) -> float:
        """A log-uniform draw (doses and other scale quantities); ``low`` when fixed or when ``low <= 0``.

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.

        Returns
        -------
        float
            The value.
        """
        if self.low == self.high or self.low <= 0:
            return float(self.low)
        return float(10 ** rng.uniform(math.log10(self.low), math.log10(self.high)))

    def draw_int(self, rng: np.random.Generator) -> int:
        """A uniform integer in ``[int(low), int(high)]``, both ends included (always one draw from ``rng``).

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.

        Returns
        -------
        int
            The value.

        Examples
        --------
        >>> Range.parse(2).draw_int(np.random.default_rng(0))
        2
        """
        return int(rng.integers(int(self.low), int(self.high) + 1))

    def log_center(self) -> float:
        """The geometric mean of ``low`` and ``high`` (a typical value of a log-uniform draw); needs ``low > 0``.

        Returns
        -------
        float
            ``sqrt(low * high)``.
        """
        if self.low == self.high:
            return float(self.low)
        return float(10 ** ((math.log10(self.low) + math.log10(self.high)) / 2))

    # ------------------------------------------------------------------------------------------ plain form
    def to_plain(self) -> float | list[float]:
        """The YAML form of the range.

        Returns
        -------
        float or list of float
            The number when fixed, else ``[low, high]``.
        """
        return [self.low, self.high] if self.is_pair else self.low

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        return (self.low, self.high, self.is_pair) == (other.low, other.high, other.is_pair)

    def __hash__(self) -> int:
        return hash((self.low, self.high, self.is_pair))

    def __repr__(self) -> str:
        return f"Range({self.to_plain()!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        """Pydantic: validate with :meth:`parse`, serialize with :meth:`to_plain`."""
        return core_schema.no_info_plain_validator_function(
            cls.parse, serialization=core_schema.plain_serializer_function_ser_schema(lambda r: r.to_plain()))
