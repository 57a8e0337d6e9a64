"""Split-conformal prediction intervals: per-step quantiles of held-out absolute residuals.

A fitted forecaster keeps the absolute errors of its final network on the validation
windows (the last windows of each series, never trained on), in the normalised space of
each window, so that one set of residuals serves every series whatever its level or scale.
For each horizon step and each integer level ``1 .. 99`` the residual of rank
``ceil((n + 1) * level / 100)`` among the ``n`` held out is that step's conformal quantile
(the finite-sample correction of split conformal prediction); a forecast's interval is the
point forecast plus or minus that quantile times the window's scale. Under exchangeable
errors the interval covers at least ``level`` percent of outcomes.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

__all__ = [
    "DEFAULT_LEVELS",
    "LEVEL_GRID",
    "check_levels",
    "conformal_quantiles",
    "interval_columns",
]

DEFAULT_LEVELS = (80, 95)
# The levels whose quantiles a fitted model keeps: every integer percentage.
LEVEL_GRID = np.arange(1, 100)


def check_levels(levels: Iterable[object]) -> tuple[int, ...]:
    """Validate interval levels: integers from 1 to 99, returned sorted without repeats.

    Parameters
    ----------
    levels : iterable of int
        Nominal coverages in percent, for example ``(80, 95)``.

    Returns
    -------
    tuple of int
    """
    if isinstance(levels, str | bytes) or not isinstance(levels, Iterable):
        raise TypeError(f"`levels` must be a sequence of integers such as (80, 95); got {levels!r}")
    checked: set[int] = set()
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, numbers.Real):
            raise TypeError(f"`levels` must hold integers such as 80 or 95; got {level!r}")
        value = float(level)
        if value != int(value) or not 1 <= value <= 99:
            raise ValueError(
                f"`levels` must be whole percentages from 1 to 99, such as (80, 95); got {level!r}"
            )
        checked.add(int(value))
    if not checked:
        raise ValueError("`levels` is empty; pass at least one level, such as (80, 95)")
    return tuple(sorted(checked))


def interval_columns(levels: Iterable[int]) -> list[str]:
    """The columns a forecast with ``levels`` gains: ``lo_80, hi_80, lo_95, hi_95``..."""
    return [f"{side}_{level}" for level in check_levels(levels) for side in ("lo", "hi")]


def conformal_quantiles(residuals: np.ndarray) -> np.ndarray:
    """Per-step conformal quantiles of absolute residuals at every level of ``LEVEL_GRID``.

    Parameters
    ----------
    residuals : ndarray of shape (n, horizon)
        Absolute errors of held-out forecasts, one row per window, one column per step.

    Returns
    -------
    ndarray of shape (99, horizon)
        Row ``level - 1`` holds, per step, the residual of rank
        ``min(ceil((n + 1) * level / 100), n)``; the rows never decrease, so intervals
        nest. With fewer than ``100 / (100 - level) - 1`` residuals the rank is capped at
        the largest one, which covers somewhat less than ``level``.
    """
    errors = np.sort(np.abs(np.asarray(residuals, dtype=np.float64)), axis=0)
    n = len(errors)
    if errors.ndim != 2 or n == 0:
        raise ValueError(
            f"`residuals` must have shape (n, horizon) with n >= 1; got {errors.shape}"
        )
    ranks = np.minimum(-(-(n + 1) * LEVEL_GRID // 100), n)  # integer ceil: no rounding
    return np.maximum.accumulate(errors[ranks - 1], axis=0)
