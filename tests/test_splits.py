"""Rolling-origin folds: exact boundaries, no overlap, no look-ahead."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from forecasting.splits import Fold, rolling_origin


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
        (
            {"n": 10, "horizon": 0, "folds": 2},
            ValueError,
            "`horizon` must be an integer >= 1; got 0.",
        ),
        (
            {"n": 10, "horizon": 2, "folds": 0},
            ValueError,
            "`folds` must be an integer >= 1; got 0.",
        ),
        (
            {"n": 10, "horizon": 2, "folds": 2, "step": 1.5},
            TypeError,
            "`step` must be an integer; got float 1.5.",
        ),
    ],
    ids=["too-short", "too-short-min-train", "bad-window", "horizon-0", "folds-0", "step-float"],
)
def test_rolling_origin_errors(kwargs, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        rolling_origin(**kwargs)
