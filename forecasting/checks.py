"""Argument checks shared by every estimator and builder, with one wording for each rule."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_units",
    "choices",
]


def choices(values: Sequence[Any]) -> str:
    """The allowed values as a message lists them: ``'lstm', 'gru', 'rnn'``."""
    return ", ".join(repr(v) for v in values)


def check_int(name: str, value: Any, minimum: int, optional: bool = False) -> int:
    """An integer of at least ``minimum``, as a plain ``int``.

    ``optional`` says in the message that ``None`` is allowed too (the caller skips it).

    Raises
    ------
    TypeError
        For a non-integer (a bool included), naming the argument and the value received.
    ValueError
        For an integer below ``minimum``.
    """
    what = "None or an integer" if optional else "an integer"
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be {what}; got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be {what} >= {minimum}; got {value!r}.")
    return int(value)


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """One of the strings ``allowed``."""
    if not isinstance(value, str):
        raise TypeError(
            f"`{name}` must be a string, one of {choices(allowed)}; "
            f"got {type(value).__name__} {value!r}."
        )
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {choices(allowed)}; got {value!r}.")
    return value


def check_float(name: str, value: Any, *, low: float, high: float | None, text: str) -> float:
    """A real number in ``[low, high)`` (``high=None``: above ``low`` and finite).

    ``text`` says what is expected, for the message: ``"a float in [0, 1)"``.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number; got {type(value).__name__} {value!r}.")
    number = float(value)
    ok = low <= number < high if high is not None else (number > low and math.isfinite(number))
    if not ok:
        raise ValueError(f"`{name}` must be {text}; got {value!r}.")
    return number


def check_bool(name: str, value: Any) -> bool:
    """A bool (Python's or NumPy's)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be a bool; got {type(value).__name__} {value!r}.")
    return bool(value)


def check_units(units: Any) -> tuple[int, ...]:
    """A non-empty sequence of positive layer sizes, as a tuple of ``int``."""
    if isinstance(units, str | bytes) or not isinstance(units, Sequence):
        raise TypeError(
            "`units` must be a sequence of positive integers such as (32, 32); "
            f"got {type(units).__name__} {units!r}."
        )
    if len(units) == 0:
        raise ValueError("`units` must not be empty; pass one size per layer such as (32,).")
    for position, size in enumerate(units):
        problem = f"got {size!r} at position {position} in {tuple(units)!r}."
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"`units` must contain integers; {problem}")
        if size < 1:
            raise ValueError(f"`units` must contain positive integers; {problem}")
    return tuple(int(size) for size in units)
