"""Temporal train/validation/test splits and rolling-origin folds; time is never shuffled."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["Fold", "rolling_origin", "split_frame", "temporal_split"]

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


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int; got {value!r} of type {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {value}.")
    return int(value)


def _size_to_count(size: object, n: int, name: str) -> int:
    """An int is a number of points; a float in (0, 1) a fraction of ``n``, rounded up."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise TypeError(
            f"`{name}` must be an int (a number of points) or a float in (0, 1) (a fraction); "
            f"got {size!r} of type {type(size).__name__}."
        )
    if isinstance(size, numbers.Integral):
        return _check_int(size, name, minimum=0)
    fraction = float(size)
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"`{name}` as a float is a fraction of the series and must be in (0, 1); got {size!r}. "
            "Pass an int for a number of points."
        )
    # The tolerance keeps float noise (0.07 * 100 == 7.000000000000001) from adding a point.
    return math.ceil(fraction * n - 1e-9)


def temporal_split(
    n: int, val_size: int | float, test_size: int | float
) -> tuple[slice, slice, slice]:
    """Split ``n`` time-ordered positions into consecutive train, validation and test slices.

    Parameters
    ----------
    n : int
        Length of the series.
    val_size, test_size : int or float
        An int is a number of points (0 allowed: an empty part); a float in (0, 1) is a fraction
        of ``n``, rounded up so that a positive fraction never yields an empty part.

    Returns
    -------
    tuple of slice
        ``(train, val, test)``: ``train`` starts at 0, ``test`` ends at ``n``, no gaps, no overlap.

    Raises
    ------
    ValueError
        If the validation and test parts leave no training point.
    """
    n = _check_int(n, "n", minimum=1)
    n_val = _size_to_count(val_size, n, "val_size")
    n_test = _size_to_count(test_size, n, "test_size")
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(
            f"`val_size`={val_size!r} and `test_size`={test_size!r} take {n_val} + {n_test} of "
            f"the n={n} points and leave none for training; together they may take at most "
            f"{n - 1}. Use smaller sizes or a longer series."
        )
    return slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, n)


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
    n = _check_int(n, "n", minimum=1)
    horizon = _check_int(horizon, "horizon", minimum=1)
    folds = _check_int(folds, "folds", minimum=1)
    step = horizon if step is None else _check_int(step, "step", minimum=1)
    min_train = 1 if min_train is None else _check_int(min_train, "min_train", minimum=1)
    if window not in _WINDOWS:
        raise ValueError(f"`window` must be one of {_WINDOWS}; got {window!r}.")
    needed = min_train + horizon + (folds - 1) * step
    if n < needed:
        raise ValueError(
            f"{folds} fold(s) with horizon={horizon}, step={step} and min_train={min_train} need "
            f"at least {needed} points (min_train + horizon + (folds - 1) * step); got n={n}. "
            "Use fewer folds, a smaller step or horizon, or a longer series."
        )
    first_origin = n - horizon - (folds - 1) * step
    result = []
    for index in range(folds):
        origin = first_origin + index * step
        start = 0 if window == "expanding" else origin - first_origin
        result.append(Fold(index, slice(start, origin), slice(origin, origin + horizon)))
    return result


def split_frame(
    frame: pd.DataFrame, val_size: int | float, test_size: int | float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split a long frame into train, validation and test frames, per series, by position.

    Each series is split with :func:`temporal_split` on its own length (fractions apply per
    series), so every series keeps its last points for testing. Row order is preserved.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long frame sorted by (``series_id``, ``timestamp``).
    val_size, test_size : int or float
        As in :func:`temporal_split`.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(train, val, test)``, each with a fresh RangeIndex.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`frame` must be a pandas DataFrame; got {type(frame).__name__}.")
    if _SERIES_ID not in frame.columns:
        raise ValueError(
            f"`frame` has no `{_SERIES_ID}` column (columns: {list(frame.columns)}); "
            "pass a long frame as returned by `forecasting.data.load_csv`."
        )
    parts: tuple[list[np.ndarray], ...] = ([], [], [])
    groups = frame.groupby(_SERIES_ID, sort=False, observed=True).indices
    for series_id, positions in groups.items():
        try:
            slices = temporal_split(len(positions), val_size, test_size)
        except ValueError as error:
            raise ValueError(f"series `{series_id}`: {error}") from None
        for part, part_slice in zip(parts, slices, strict=True):
            part.append(np.asarray(positions)[part_slice])
    train, val, test = (
        frame.iloc[np.sort(np.concatenate(part)) if part else []].reset_index(drop=True)
        for part in parts
    )
    return train, val, test
