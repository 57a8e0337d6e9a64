"""Rolling-origin folds over time-ordered positions; time is never shuffled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from forecasting.checks import check_int

__all__ = ["Fold", "holdout_length", "rolling_origin"]

_SERIES_ID = "series_id"
_WINDOWS = ("expanding", "sliding")


@dataclass(frozen=True)
class Fold:
    """One rolling-origin fold: positions within a single series.

    Parameters
    ----------
    index : int
        Position of the fold in chronological order (0 is the earliest origin).
    train : slice
        Positions used to fit; every one of them comes before every test position.
    test : slice
        The ``horizon`` positions forecast from the origin.
    """

    index: int
    train: slice
    test: slice

    @property
    def origin(self) -> int:
        """First forecast position (``train.stop``): the model sees nothing at or after it."""
        return int(self.train.stop)


def holdout_length(horizon: int, folds: int, step: int | None = None) -> int:
    """Points after the first origin of :func:`rolling_origin`'s folds.

    The last fold's ``horizon`` points, and ``step`` (default ``horizon``) more per earlier fold.
    """
    return horizon + (folds - 1) * (horizon if step is None else step)


def rolling_origin(
    n: int,
    horizon: int,
    folds: int,
    step: int | None = None,
    window: Literal["expanding", "sliding"] = "expanding",
    min_train: int | None = None,
) -> list[Fold]:
    """Rolling-origin (time-series cross-validation) folds over ``n`` positions.

    The last fold's test part is the final ``horizon`` points; each earlier origin is ``step``
    points before the next one. With ``folds=1`` this is the holdout of the last ``horizon``
    points.

    Parameters
    ----------
    n : int
        Length of the series.
    horizon : int
        Number of test positions per fold.
    folds : int
        Number of folds.
    step : int, optional
        Distance between consecutive origins; defaults to ``horizon`` (test parts tile the end
        of the series). A ``step`` smaller than ``horizon`` makes test parts of different folds
        overlap; within a fold train and test never overlap.
    window : {"expanding", "sliding"}, default="expanding"
        ``"expanding"`` trains on every point before the origin; ``"sliding"`` keeps the
        training length of the first fold and moves its start with the origin.
    min_train : int, optional
        Minimum number of training points in the first fold; defaults to 1.

    Returns
    -------
    list of Fold
        In chronological order of origin.

    Raises
    ------
    ValueError
        If the series is too short for the requested folds; the message says how many points
        are needed.
    """
    n = check_int("n", n, 1)
    horizon = check_int("horizon", horizon, 1)
    folds = check_int("folds", folds, 1)
    step = horizon if step is None else check_int("step", step, 1)
    min_train = 1 if min_train is None else check_int("min_train", min_train, 1)
    if window not in _WINDOWS:
        raise ValueError(f"`window` must be one of {_WINDOWS}; got {window!r}.")
    needed = min_train + holdout_length(horizon, folds, step)
    if n < needed:
        raise ValueError(
            f"{folds} fold(s) with horizon={horizon}, step={step} and min_train={min_train} need "
            f"at least {needed} points (min_train + horizon + (folds - 1) * step); got n={n}. "
            "Use fewer folds, a smaller step or horizon, or a longer series."
        )
    first_origin = n - holdout_length(horizon, folds, step)
    result = []
    for index in range(folds):
        origin = first_origin + index * step
        start = 0 if window == "expanding" else origin - first_origin
        result.append(Fold(index, slice(start, origin), slice(origin, origin + horizon)))
    return result
