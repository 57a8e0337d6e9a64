"""Metrics and naive baselines against values computed by hand on tiny arrays."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from forecasting.metrics import (
    coverage,
    mae,
    mase,
    msis,
    naive_forecast,
    rmse,
    seasonal_naive_forecast,
    smape,
)

Y_TRUE = [1.0, 2.0, 3.0, 4.0]
Y_PRED = [2.0, 2.0, 1.0, 4.0]  # errors: -1, 0, 2, 0


def test_rmse_by_hand():
    assert rmse(Y_TRUE, Y_PRED) == pytest.approx(math.sqrt((1 + 0 + 4 + 0) / 4))


def test_mae_by_hand():
    assert mae(Y_TRUE, Y_PRED) == pytest.approx(3 / 4)


def test_smape_by_hand():
    # 200 * |e| / (|y| + |ŷ|): 200/3, 0, 200*2/4, 0 -> mean
    assert smape(Y_TRUE, Y_PRED) == pytest.approx((200 / 3 + 100) / 4)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "expected"),
    [
        ([0.0, 0.0], [0.0, 0.0], 0.0),
        ([0.0, 2.0], [0.0, 2.0], 0.0),
        ([0.0, 1.0], [0.0, 3.0], 50.0),  # 0/0 term counts as 0, the other is 100
        ([1.0, -1.0], [-1.0, 1.0], 200.0),
        ([0.0], [5.0], 200.0),
    ],
    ids=["all-zero", "zero-and-exact", "zero-term", "opposite-signs", "zero-actual"],
)
def test_smape_edge_cases(y_true, y_pred, expected):
    assert smape(y_true, y_pred) == pytest.approx(expected)


def test_mase_by_hand():
    y_train = [1.0, 3.0, 2.0, 5.0]  # naive in-sample errors 2, 1, 3 -> scale 2
    assert mase(Y_TRUE, Y_PRED, y_train) == pytest.approx((3 / 4) / 2)


def test_mase_seasonal_by_hand():
    y_train = [1.0, 2.0, 4.0, 6.0, 3.0]  # season 2: |4-1|, |6-2|, |3-4| -> scale 8/3
    assert mase([1.0, 1.0], [2.0, 3.0], y_train, season_length=2) == pytest.approx(1.5 / (8 / 3))


@pytest.mark.parametrize(
    ("y_pred", "expected"),
    [([5.0, 5.0], 0.0), ([5.0, 6.0], np.inf)],
    ids=["perfect", "error"],
)
def test_mase_constant_training_series(y_pred, expected):
    assert mase([5.0, 5.0], y_pred, [5.0, 5.0, 5.0]) == expected


@pytest.mark.parametrize("metric", [rmse, mae, smape])
def test_metrics_flatten_matching_shapes(metric):
    y_true = np.array([[1.0, 2.0], [3.0, 4.0]])
    y_pred = np.array([[2.0, 2.0], [1.0, 4.0]])
    assert metric(y_true, y_pred) == pytest.approx(metric(Y_TRUE, Y_PRED))
    assert metric(y_true, y_true) == 0.0


@pytest.mark.parametrize("metric", [rmse, mae, smape])
def test_metrics_return_python_float(metric):
    assert type(metric(np.array([1, 2]), np.array([2, 2]))) is float


def _mase(y_true, y_pred):
    return mase(y_true, y_pred, [0.0, 1.0, 3.0])


@pytest.mark.parametrize("metric", [rmse, mae, smape, _mase], ids=["rmse", "mae", "smape", "mase"])
@pytest.mark.parametrize(
    ("y_true", "y_pred", "error", "msg"),
    [
        (
            [1.0, 2.0, 3.0],
            [1.0, 2.0],
            ValueError,
            "`y_true` and `y_pred` must have the same shape; got (3,) and (2,).",
        ),
        (
            [[1.0, 2.0]],
            [1.0, 2.0],
            ValueError,
            "`y_true` and `y_pred` must have the same shape; got (1, 2) and (2,).",
        ),
        (
            [1.0, np.nan, 3.0, np.nan],
            [1.0, 2.0, 3.0, 4.0],
            ValueError,
            "`y_true` has 2 NaN or infinite value(s) (the first at flat position 1); drop or "
            "fill them before scoring.",
        ),
        (
            [1.0, 2.0],
            [np.inf, 2.0],
            ValueError,
            "`y_pred` has 1 NaN or infinite value(s) (the first at flat position 0)",
        ),
        ([], [], ValueError, "`y_true` is empty; pass at least one value."),
        (["a", "b"], [1.0, 2.0], TypeError, "`y_true` must hold numbers; got ['a', 'b']."),
    ],
    ids=["length", "shape", "nan-true", "inf-pred", "empty", "strings"],
)
def test_metric_input_errors(metric, y_true, y_pred, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        metric(y_true, y_pred)


@pytest.mark.parametrize(
    ("kwargs", "error", "msg"),
    [
        (
            {"y_train": [1.0, 2.0], "season_length": 2},
            ValueError,
            "`y_train` has 2 value(s); the seasonal-naive scale with season_length=2 needs at "
            "least 3.",
        ),
        (
            {"y_train": [1.0, np.nan, 2.0]},
            ValueError,
            "`y_train` has 1 NaN or infinite value(s) (the first at flat position 1)",
        ),
        (
            {"y_train": [1.0, 2.0, 3.0], "season_length": 0},
            ValueError,
            "`season_length` must be >= 1; got 0.",
        ),
    ],
    ids=["short-train", "nan-train", "season-0"],
)
def test_mase_errors(kwargs, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        mase([1.0], [1.0], **kwargs)


def test_naive_forecast():
    forecast = naive_forecast([3.0, 1.0, 4.0], horizon=3)
    np.testing.assert_array_equal(forecast, [4.0, 4.0, 4.0])
    assert forecast.shape == (3,)


@pytest.mark.parametrize(
    ("history", "horizon", "season_length", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0], 5, 3, [3.0, 4.0, 5.0, 3.0, 4.0]),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 2, 3, [3.0, 4.0]),
        ([7.0, 8.0], 3, 2, [7.0, 8.0, 7.0]),
        ([1.0, 2.0, 9.0], 2, 1, [9.0, 9.0]),
    ],
    ids=["wraps", "shorter-than-season", "exactly-one-season", "season-1-is-naive"],
)
def test_seasonal_naive_forecast(history, horizon, season_length, expected):
    forecast = seasonal_naive_forecast(history, horizon, season_length)
    np.testing.assert_array_equal(forecast, expected)


def test_seasonal_naive_scores_zero_on_a_periodic_series():
    series = np.tile([1.0, 5.0, 2.0, 8.0], 5)
    history, future = series[:-6], series[-6:]
    forecast = seasonal_naive_forecast(history, 6, season_length=4)
    assert mae(future, forecast) == 0.0
    assert mase(future, forecast, history, season_length=4) == 0.0


@pytest.mark.parametrize(
    ("call", "error", "msg"),
    [
        (
            lambda: seasonal_naive_forecast([1.0, 2.0], 3, season_length=3),
            ValueError,
            "`history` has 2 value(s), fewer than one season (season_length=3); pass at least 3 "
            "values or use `naive_forecast`.",
        ),
        (
            lambda: naive_forecast([], 2),
            ValueError,
            "`history` is empty; pass at least one value.",
        ),
        (
            lambda: naive_forecast([[1.0, 2.0]], 2),
            ValueError,
            "`history` must be one series of shape (n,); got shape (1, 2).",
        ),
        (
            lambda: naive_forecast([1.0, np.nan], 2),
            ValueError,
            "`history` has 1 NaN or infinite value(s) (the first at flat position 1)",
        ),
        (
            lambda: naive_forecast([1.0], 0),
            ValueError,
            "`horizon` must be >= 1; got 0.",
        ),
        (
            lambda: seasonal_naive_forecast([1.0], 2, season_length=1.0),
            TypeError,
            "`season_length` must be an int; got 1.0 of type float.",
        ),
    ],
    ids=["short-history", "empty", "2d", "nan", "horizon-0", "season-float"],
)
def test_baseline_errors(call, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        call()


# Intervals: 1 in [0, 2]; 2 below [2.5, 3] by 0.5; 3 in [2, 4]; 4 above [3, 3.5] by 0.5.
LOWER = [0.0, 2.5, 2.0, 3.0]
UPPER = [2.0, 3.0, 4.0, 3.5]


def test_coverage_by_hand():
    assert coverage(Y_TRUE, LOWER, UPPER) == 0.5
    assert coverage([1.0, 2.0], [1.0, 0.0], [1.0, 2.0]) == 1.0  # bounds count as inside


def test_msis_by_hand():
    y_train = [1.0, 3.0, 2.0, 5.0]  # naive scale 2
    # widths 2 + 0.5 + 2 + 0.5 = 5; misses 0.5 + 0.5 at 2 / 0.05 = 40 each unit: 40.
    assert msis(Y_TRUE, LOWER, UPPER, y_train) == pytest.approx((5 + 40) / 4 / 2)
    # At 80%: 2 / 0.2 = 10 per unit missed.
    assert msis(Y_TRUE, LOWER, UPPER, y_train, level=80) == pytest.approx((5 + 10) / 4 / 2)
    # Season 2: |2-1|, |5-3| -> scale 1.5.
    assert msis(Y_TRUE, LOWER, UPPER, y_train, season_length=2) == pytest.approx(45 / 4 / 1.5)


def test_msis_of_a_constant_training_series():
    assert msis([1.0], [1.0], [1.0], [2.0, 2.0]) == 0.0
    assert msis([1.0], [0.0], [1.0], [2.0, 2.0]) == np.inf


@pytest.mark.parametrize(
    ("call", "error", "msg"),
    [
        (
            lambda: coverage([1.0, 2.0], [0.0, 3.0], [2.0, 2.5]),
            ValueError,
            "`y_lower` exceeds `y_upper` at flat position 1 (3.0 > 2.5); pass the lower bounds "
            "first.",
        ),
        (
            lambda: coverage([1.0, 2.0], [0.0, 1.0], [2.0]),
            ValueError,
            "`y_true` and `y_upper` must have the same shape; got (2,) and (1,).",
        ),
        (
            lambda: msis([1.0], [0.0], [2.0], [1.0, 2.0], level=1.0 * 100),
            ValueError,
            "`level` must be a percentage between 0 and 100; got 100.0.",
        ),
        (
            lambda: coverage([1.0], [float("nan")], [2.0]),
            ValueError,
            "`y_lower` has 1 NaN or infinite value(s)",
        ),
    ],
    ids=["crossed", "shapes", "level", "nan"],
)
def test_interval_metric_errors(call, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        call()
