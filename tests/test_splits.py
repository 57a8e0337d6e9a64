"""Temporal splits and rolling-origin folds: exact boundaries, no overlap, no look-ahead."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from forecasting.splits import Fold, rolling_origin, split_frame, temporal_split


def _positions(part: slice, n: int) -> np.ndarray:
    return np.arange(n)[part]


def _long_frame(lengths: dict[str, int]) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "series_id": sid,
                "timestamp": pd.date_range("2024-01-01", periods=length, freq="D"),
                "value": np.arange(length, dtype=float),
                "x": -np.arange(length, dtype=float),
            }
        )
        for sid, length in lengths.items()
    ]
    return pd.concat(parts, ignore_index=True)


# temporal_split


@pytest.mark.parametrize(
    ("n", "val_size", "test_size", "expected"),
    [
        (10, 2, 3, (slice(0, 5), slice(5, 7), slice(7, 10))),
        (10, 0, 3, (slice(0, 7), slice(7, 7), slice(7, 10))),
        (10, 0.2, 0.3, (slice(0, 5), slice(5, 7), slice(7, 10))),
        (10, 0.15, 0.25, (slice(0, 5), slice(5, 7), slice(7, 10))),  # fractions round up
        (10, np.int64(1), 0.1, (slice(0, 8), slice(8, 9), slice(9, 10))),
        (100, 0.07, 0.14, (slice(0, 79), slice(79, 86), slice(86, 100))),  # 0.07 * 100 > 7
    ],
    ids=["counts", "no-val", "fractions", "fractions-round-up", "numpy-int-and-fraction", "exact"],
)
def test_temporal_split_boundaries(n, val_size, test_size, expected):
    assert temporal_split(n, val_size, test_size) == expected


@pytest.mark.parametrize("n", [3, 7, 50, 101])
def test_temporal_split_covers_every_position_once_in_order(n):
    parts = temporal_split(n, 0.2, 0.2)
    joined = np.concatenate([_positions(part, n) for part in parts])
    np.testing.assert_array_equal(joined, np.arange(n))


@pytest.mark.parametrize(
    ("kwargs", "error", "msg"),
    [
        (
            {"n": 5, "val_size": 2, "test_size": 3},
            ValueError,
            "`val_size`=2 and `test_size`=3 take 2 + 3 of the n=5 points and leave none for "
            "training; together they may take at most 4. Use smaller sizes or a longer series.",
        ),
        (
            {"n": 10, "val_size": 1.0, "test_size": 2},
            ValueError,
            "`val_size` as a float is a fraction of the series and must be in (0, 1); got 1.0. "
            "Pass an int for a number of points.",
        ),
        (
            {"n": 10, "val_size": 1, "test_size": -1},
            ValueError,
            "`test_size` must be >= 0; got -1.",
        ),
        (
            {"n": 10, "val_size": "2", "test_size": 1},
            TypeError,
            "`val_size` must be an int (a number of points) or a float in (0, 1) (a fraction); "
            "got '2' of type str.",
        ),
        ({"n": 0, "val_size": 0, "test_size": 0}, ValueError, "`n` must be >= 1; got 0."),
        (
            {"n": 10.0, "val_size": 1, "test_size": 1},
            TypeError,
            "`n` must be an int; got 10.0 of type float.",
        ),
    ],
    ids=["no-train-left", "fraction-one", "negative", "string", "n-zero", "n-float"],
)
def test_temporal_split_errors(kwargs, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        temporal_split(**kwargs)


# rolling_origin


def test_rolling_origin_toy_expanding_boundaries():
    folds = rolling_origin(10, horizon=2, folds=3)
    assert folds == [
        Fold(0, slice(0, 4), slice(4, 6)),
        Fold(1, slice(0, 6), slice(6, 8)),
        Fold(2, slice(0, 8), slice(8, 10)),
    ]
    assert [fold.origin for fold in folds] == [4, 6, 8]


def test_rolling_origin_toy_sliding_boundaries():
    folds = rolling_origin(10, horizon=2, folds=3, window="sliding")
    assert folds == [
        Fold(0, slice(0, 4), slice(4, 6)),
        Fold(1, slice(2, 6), slice(6, 8)),
        Fold(2, slice(4, 8), slice(8, 10)),
    ]


def test_rolling_origin_custom_step():
    folds = rolling_origin(12, horizon=3, folds=3, step=1)
    assert [(fold.train, fold.test) for fold in folds] == [
        (slice(0, 7), slice(7, 10)),
        (slice(0, 8), slice(8, 11)),
        (slice(0, 9), slice(9, 12)),
    ]


def test_single_fold_is_holdout_of_last_horizon():
    (fold,) = rolling_origin(20, horizon=5, folds=1)
    assert fold == Fold(0, slice(0, 15), slice(15, 20))
    np.testing.assert_array_equal(_positions(fold.test, 20), np.arange(15, 20))


@pytest.mark.parametrize("window", ["expanding", "sliding"])
@pytest.mark.parametrize(
    ("n", "horizon", "folds", "step"),
    [(30, 3, 4, None), (30, 5, 3, 2), (17, 1, 9, 1), (50, 7, 5, 10)],
)
def test_rolling_origin_no_overlap_no_lookahead(n, horizon, folds, step, window):
    result = rolling_origin(n, horizon, folds, step=step, window=window)
    step = horizon if step is None else step
    assert len(result) == folds
    assert result[-1].test.stop == n
    for fold in result:
        train, test = _positions(fold.train, n), _positions(fold.test, n)
        assert len(test) == horizon
        assert len(train) >= 1
        assert np.intersect1d(train, test).size == 0
        assert train.max() < test.min()
        assert fold.origin == test.min() == train.max() + 1
    origins = [fold.origin for fold in result]
    assert np.all(np.diff(origins) == step)
    if step >= horizon:
        tests = np.concatenate([_positions(fold.test, n) for fold in result])
        assert len(np.unique(tests)) == len(tests)


def test_expanding_vs_sliding_training_lengths():
    expanding = rolling_origin(40, horizon=4, folds=5, window="expanding")
    sliding = rolling_origin(40, horizon=4, folds=5, window="sliding")
    assert [fold.train.stop - fold.train.start for fold in expanding] == [20, 24, 28, 32, 36]
    assert [fold.train.stop - fold.train.start for fold in sliding] == [20] * 5
    assert [fold.test for fold in expanding] == [fold.test for fold in sliding]


def test_rolling_origin_exactly_enough_points():
    folds = rolling_origin(11, horizon=2, folds=3, step=3, min_train=3)
    assert folds[0].train == slice(0, 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "msg"),
    [
        (
            {"n": 10, "horizon": 2, "folds": 5},
            ValueError,
            "5 fold(s) with horizon=2, step=2 and min_train=1 need at least 11 points "
            "(min_train + horizon + (folds - 1) * step); got n=10. Use fewer folds, a smaller "
            "step or horizon, or a longer series.",
        ),
        (
            {"n": 10, "horizon": 2, "folds": 3, "step": 3, "min_train": 3},
            ValueError,
            "3 fold(s) with horizon=2, step=3 and min_train=3 need at least 11 points",
        ),
        (
            {"n": 10, "horizon": 2, "folds": 2, "window": "rolling"},
            ValueError,
            "`window` must be one of ('expanding', 'sliding'); got 'rolling'.",
        ),
        ({"n": 10, "horizon": 0, "folds": 2}, ValueError, "`horizon` must be >= 1; got 0."),
        ({"n": 10, "horizon": 2, "folds": 0}, ValueError, "`folds` must be >= 1; got 0."),
        (
            {"n": 10, "horizon": 2, "folds": 2, "step": 1.5},
            TypeError,
            "`step` must be an int; got 1.5 of type float.",
        ),
    ],
    ids=["too-short", "too-short-min-train", "bad-window", "horizon-0", "folds-0", "step-float"],
)
def test_rolling_origin_errors(kwargs, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        rolling_origin(**kwargs)


# split_frame


def test_split_frame_per_series_by_position():
    frame = _long_frame({"a": 10, "b": 5})
    frame.attrs["freq"] = "D"
    train, val, test = split_frame(frame, val_size=0.2, test_size=2)
    assert train.groupby("series_id").size().to_dict() == {"a": 6, "b": 2}
    assert val.groupby("series_id").size().to_dict() == {"a": 2, "b": 1}
    assert test.groupby("series_id").size().to_dict() == {"a": 2, "b": 2}
    np.testing.assert_array_equal(test["value"], [8.0, 9.0, 3.0, 4.0])
    for part in (train, val, test):
        pd.testing.assert_index_equal(part.index, pd.RangeIndex(len(part)))
        assert list(part.columns) == list(frame.columns)
    # Every series: train before val before test, and together they are the whole series.
    for sid, rows in frame.groupby("series_id"):
        pieces = [part[part["series_id"] == sid] for part in (train, val, test)]
        assert pieces[0]["timestamp"].max() < pieces[1]["timestamp"].min()
        assert pieces[1]["timestamp"].max() < pieces[2]["timestamp"].min()
        pd.testing.assert_frame_equal(
            pd.concat(pieces, ignore_index=True), rows.reset_index(drop=True)
        )
    assert train.attrs["freq"] == "D"


def test_split_frame_does_not_modify_input():
    frame = _long_frame({"a": 8})
    before = frame.copy()
    split_frame(frame, 1, 1)
    pd.testing.assert_frame_equal(frame, before)


def test_split_frame_names_the_short_series():
    frame = _long_frame({"long": 10, "short": 2})
    msg = (
        "series `short`: `val_size`=1 and `test_size`=1 take 1 + 1 of the n=2 points and leave "
        "none for training"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        split_frame(frame, 1, 1)


def test_split_frame_requires_series_id():
    frame = _long_frame({"a": 5}).drop(columns="series_id")
    msg = "`frame` has no `series_id` column (columns: ['timestamp', 'value', 'x'])"
    with pytest.raises(ValueError, match=re.escape(msg)):
        split_frame(frame, 1, 1)


def test_split_frame_requires_a_frame():
    with pytest.raises(TypeError, match=re.escape("`frame` must be a pandas DataFrame; got list.")):
        split_frame([1, 2, 3], 1, 1)  # type: ignore[arg-type]
