"""Sliding windows and per-series scaling: window arithmetic, views, round trips, errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from forecasting.scaling import SeriesScaler
from forecasting.transformers import SlidingWindows, sliding_windows

SEEDS = pytest.mark.parametrize("seed", range(5), ids=lambda seed: f"seed={seed}")
METHODS = ["standard", "minmax", "robust", "none"]


def _long_frame(rng: np.random.Generator, lengths: dict[str, int]) -> pd.DataFrame:
    parts = []
    for offset, (sid, length) in enumerate(lengths.items()):
        parts.append(
            pd.DataFrame(
                {
                    "series_id": sid,
                    "timestamp": pd.date_range("2024-01-01", periods=length, freq="h"),
                    "value": rng.normal(10.0 * offset, 1.0 + offset, length),
                    "temp": rng.uniform(-5.0, 5.0, length),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# sliding_windows (the pure function)


def test_sliding_windows_toy_values():
    values = np.arange(12.0).reshape(6, 2)  # rows [0, 1], [2, 3], ...
    X, Y = sliding_windows(values, input_width=3, horizon=2)
    assert X.shape == (2, 3, 2)
    assert Y.shape == (2, 2)
    np.testing.assert_array_equal(X[0], [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(X[1], [[2, 3], [4, 5], [6, 7]])
    np.testing.assert_array_equal(Y, [[6, 8], [8, 10]])


def test_sliding_windows_are_read_only_views():
    values = np.arange(20.0).reshape(10, 2)
    target = np.arange(100.0, 110.0)
    X, Y = sliding_windows(values, 3, 2)
    assert np.shares_memory(X, values)
    assert np.shares_memory(Y, values)
    assert not X.flags.writeable
    assert not Y.flags.writeable
    _, Y_target = sliding_windows(values, 3, 2, target=target)
    assert np.shares_memory(Y_target, target)


def test_sliding_windows_one_dimensional_values_are_one_feature():
    X, Y = sliding_windows(np.arange(5.0), input_width=2, horizon=1)
    assert X.shape == (3, 2, 1)
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_array_equal(Y, [[2], [3], [4]])


def test_sliding_windows_stride():
    X, Y = sliding_windows(np.arange(10.0), input_width=3, horizon=2, stride=2)
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    np.testing.assert_array_equal(Y, [[3, 4], [5, 6], [7, 8]])


def test_sliding_windows_exact_length_gives_one_window():
    X, Y = sliding_windows(np.arange(5.0), input_width=3, horizon=2)
    assert X.shape == (1, 3, 1)
    np.testing.assert_array_equal(Y, [[3, 4]])


@SEEDS
def test_window_count_and_contents(seed):
    rng = np.random.default_rng(seed)
    n_features = int(rng.integers(1, 4))
    input_width = int(rng.integers(1, 10))
    horizon = int(rng.integers(1, 6))
    stride = int(rng.integers(1, 4))
    n = int(rng.integers(input_width + horizon, 60))
    values = rng.normal(size=(n, n_features))
    target = rng.normal(size=n)

    X, Y = sliding_windows(values, input_width, horizon)
    assert len(X) == len(Y) == n - input_width - horizon + 1
    for i in range(len(X)):
        for j in range(input_width):
            np.testing.assert_array_equal(X[i, j], values[i + j])
        for k in range(horizon):
            assert Y[i, k] == values[i + input_width + k, 0]

    X, Y = sliding_windows(values, input_width, horizon, stride=stride, target=target)
    assert len(X) == len(Y) == (n - input_width - horizon) // stride + 1
    for i in range(len(X)):
        start = i * stride
        np.testing.assert_array_equal(X[i], values[start : start + input_width])
        np.testing.assert_array_equal(
            Y[i], target[start + input_width : start + input_width + horizon]
        )
    # The last target step never reaches past the end of the series.
    assert (len(X) - 1) * stride + input_width + horizon <= n


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "msg"),
    [
        (
            (np.arange(4.0), 3, 2),
            {},
            ValueError,
            "A series of n=4 rows is too short for input_width=3 and horizon=2: at least 5 rows "
            "(input_width + horizon) are needed for one window. Use a longer series or a "
            "smaller `input_width` or `horizon`.",
        ),
        (
            (np.zeros((6, 2)), 2, 1),
            {"target": np.zeros(5)},
            ValueError,
            "`target` must have shape (6,) to match `values`; got shape (5,).",
        ),
        (
            (np.zeros((6, 2, 1)), 2, 1),
            {},
            ValueError,
            "`values` must have shape (n,) or (n, n_features); got shape (6, 2, 1).",
        ),
        ((np.zeros(6), 0, 1), {}, ValueError, "`input_width` must be an integer >= 1; got 0."),
        (
            (np.zeros(6), 2, 1),
            {"stride": 0},
            ValueError,
            "`stride` must be an integer >= 1; got 0.",
        ),
        (
            (np.zeros(6), 2, True),
            {},
            TypeError,
            "`horizon` must be an integer; got bool True.",
        ),
    ],
    ids=["too-short", "target-shape", "values-3d", "input-width-0", "stride-0", "horizon-bool"],
)
def test_sliding_windows_errors(args, kwargs, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        sliding_windows(*args, **kwargs)


# SlidingWindows (the transformer)


def test_sliding_windows_transformer_matches_function_and_is_a_view():
    values = np.arange(30.0).reshape(10, 3)
    windows = SlidingWindows(input_width=4, horizon=2).fit(values)
    Xw, Yw = windows.transform_xy(values)
    X_ref, Y_ref = sliding_windows(values, 4, 2)
    np.testing.assert_array_equal(Xw, X_ref)
    np.testing.assert_array_equal(Yw, Y_ref)
    np.testing.assert_array_equal(windows.transform(values), X_ref)
    assert np.shares_memory(windows.transform(values), values)
    assert windows.n_features_in_ == 3


def test_sliding_windows_transformer_keeps_params_unchanged():
    windows = SlidingWindows(input_width=4, horizon=2, stride=3)
    assert windows.get_params() == {"input_width": 4, "horizon": 2, "stride": 3}
    assert clone(windows).get_params() == windows.get_params()


@SEEDS
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_sliding_windows_inverse_transform_rebuilds_covered_rows(seed, stride):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 40))
    values = rng.normal(size=(n, 2))
    windows = SlidingWindows(input_width=3, horizon=2, stride=stride).fit(values)
    Xw = windows.transform(values)
    rebuilt = windows.inverse_transform(Xw)
    assert len(rebuilt) == (len(Xw) - 1) * stride + 3
    np.testing.assert_array_equal(rebuilt, values[: len(rebuilt)])
    if stride == 1:
        assert len(rebuilt) == n - 2  # n - horizon


def test_sliding_windows_fit_too_short():
    msg = (
        "A series of n=3 rows is too short for input_width=2 and horizon=2: at least 4 rows "
        "(input_width + horizon) are needed for one window."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        SlidingWindows(input_width=2, horizon=2).fit(np.zeros((3, 1)))


def test_sliding_windows_transform_too_short_after_fit():
    windows = SlidingWindows(input_width=2, horizon=2).fit(np.zeros((10, 1)))
    with pytest.raises(ValueError, match=re.escape("A series of n=2 rows is too short")):
        windows.transform(np.zeros((2, 1)))


def test_sliding_windows_bad_param_raises_in_fit_not_init():
    windows = SlidingWindows(input_width=-1, horizon=1)
    with pytest.raises(
        ValueError, match=re.escape("`input_width` must be an integer >= 1; got -1.")
    ):
        windows.fit(np.zeros((5, 1)))


def test_sliding_windows_unfitted():
    with pytest.raises(NotFittedError):
        SlidingWindows(input_width=2, horizon=1).transform(np.zeros((5, 1)))


@pytest.mark.parametrize(
    ("params", "Xw", "msg"),
    [
        (
            {"input_width": 3, "horizon": 1},
            np.zeros((4, 2, 2)),
            "`X` must have shape (n_windows, input_width, n_features) = (>=1, 3, 2); "
            "got (4, 2, 2).",
        ),
        (
            {"input_width": 2, "horizon": 1, "stride": 3},
            np.zeros((2, 2, 2)),
            "Windows with stride=3 > input_width=2 leave gaps between them; the series cannot be "
            "rebuilt.",
        ),
    ],
    ids=["wrong-shape", "gaps"],
)
def test_sliding_windows_inverse_transform_errors(params, Xw, msg):
    windows = SlidingWindows(**params).fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match=re.escape(msg)):
        windows.inverse_transform(Xw)


# SeriesScaler


@pytest.mark.parametrize(
    ("method", "reference"),
    [("standard", StandardScaler), ("minmax", MinMaxScaler), ("robust", RobustScaler)],
)
def test_scaler_matches_scikit_learn_to_rounding_far_from_zero(method, reference):
    # A level of 350 and a spread of 20, like the bundled CO2 series. Rounding x / 20 at
    # |x / 20| near 18 costs a few 1e-15; a scale taken as the difference of two transformed
    # rows (of zeros and of ones) would be off by about 6e-13 here.
    values = np.random.default_rng(0).normal(350.0, 20.0, size=(500, 2))
    ours = SeriesScaler(method=method).fit(values).transform(values)
    theirs = reference().fit(values).transform(values)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-14)


@SEEDS
@pytest.mark.parametrize("method", METHODS)
def test_scaler_array_round_trip(seed, method):
    rng = np.random.default_rng(seed)
    values = rng.normal(5.0, 3.0, size=(int(rng.integers(5, 50)), 3))
    scaler = SeriesScaler(method=method).fit(values)
    scaled = scaler.transform(values)
    assert isinstance(scaled, np.ndarray)
    assert scaled.shape == values.shape
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values, rtol=1e-12, atol=1e-12)


@SEEDS
@pytest.mark.parametrize("method", METHODS)
def test_scaler_frame_round_trip(seed, method):
    rng = np.random.default_rng(seed)
    frame = _long_frame(rng, {"a": 30, "b": 12, "c": 5})
    scaler = SeriesScaler(method=method).fit(frame)
    scaled = scaler.transform(frame)
    assert isinstance(scaled, pd.DataFrame)
    assert list(scaled.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(
        scaled[["series_id", "timestamp"]], frame[["series_id", "timestamp"]]
    )
    pd.testing.assert_frame_equal(scaler.inverse_transform(scaled), frame, rtol=1e-12, atol=1e-12)


@SEEDS
def test_scaler_standardises_each_series_on_its_own(seed):
    rng = np.random.default_rng(seed)
    frame = _long_frame(rng, {"a": 40, "b": 25})
    scaled = SeriesScaler().fit_transform(frame)
    stats = scaled.groupby("series_id")[["value", "temp"]].agg(["mean", "std"])
    np.testing.assert_allclose(stats.xs("mean", axis=1, level=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(stats.xs("std", axis=1, level=1), 1.0, atol=0.05)  # ddof=1 vs 0


def test_scaler_uses_training_statistics_only():
    train = pd.DataFrame(
        {
            "series_id": ["a"] * 3 + ["b"] * 3,
            "timestamp": list(pd.date_range("2024-01-01", periods=3, freq="D")) * 2,
            "value": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0],
        }
    )
    test = pd.DataFrame(
        {
            "series_id": ["a", "b"],
            "timestamp": [pd.Timestamp("2024-01-04")] * 2,
            "value": [4.0, 40.0],
        }
    )
    scaler = SeriesScaler(method="minmax").fit(train)
    np.testing.assert_allclose(scaler.transform(test)["value"], [1.5, 1.5])
    assert scaler.series_ids_ == ["a", "b"]
    assert scaler.n_samples_seen_.tolist() == [3, 3]
    assert scaler.n_features_in_ == 1
    assert list(scaler.feature_names_in_) == ["value"]
    assert list(scaler.get_feature_names_out()) == ["series_id", "timestamp", "value"]


def test_scaler_frame_with_covariates_learns_their_names():
    frame = _long_frame(np.random.default_rng(0), {"a": 10})
    scaler = SeriesScaler().fit(frame)
    assert list(scaler.feature_names_in_) == ["value", "temp"]
    assert scaler.n_features_in_ == 2
    assert scaler.fitted_on_frame_


def test_scaler_none_is_identity():
    values = np.array([[1.0, -2.0], [3.0, 4.0]])
    scaler = SeriesScaler(method="none").fit(values)
    np.testing.assert_array_equal(scaler.transform(values), values)
    np.testing.assert_array_equal(scaler.inverse_transform_values(values, ["series"] * 2), values)


def test_scaler_array_is_one_series_named_series():
    scaler = SeriesScaler().fit(np.array([[1.0], [3.0]]))
    assert scaler.series_ids_ == ["series"]
    np.testing.assert_allclose(scaler.transform(np.array([[2.0], [5.0]])), [[0.0], [3.0]])


@SEEDS
@pytest.mark.parametrize("method", METHODS)
def test_inverse_transform_values_matches_value_column(seed, method):
    rng = np.random.default_rng(seed)
    frame = _long_frame(rng, {"a": 20, "b": 20})
    scaler = SeriesScaler(method=method).fit(frame)
    scaled = scaler.transform(frame)
    # Forecast rows of horizon 4 taken from each series' scaled values, interleaved.
    rows = [scaled.loc[scaled["series_id"] == sid, "value"].to_numpy()[:4] for sid in "abba"]
    ids = ["a", "b", "b", "a"]
    restored = scaler.inverse_transform_values(np.stack(rows), ids)
    expected = [frame.loc[frame["series_id"] == sid, "value"].to_numpy()[:4] for sid in ids]
    np.testing.assert_allclose(restored, np.stack(expected), rtol=1e-12)
    one_step = scaler.inverse_transform_values(np.stack(rows)[:, 0], ids)
    assert one_step.shape == (4,)
    np.testing.assert_allclose(one_step, np.stack(expected)[:, 0], rtol=1e-12)


def test_inverse_transform_values_by_hand():
    frame = pd.DataFrame(
        {
            "series_id": ["a", "a", "b", "b"],
            "timestamp": list(pd.date_range("2024-01-01", periods=2, freq="D")) * 2,
            "value": [0.0, 10.0, 100.0, 300.0],
            "x": [5.0, 7.0, 1.0, 1.0],
        }
    )
    scaler = SeriesScaler(method="minmax").fit(frame)
    restored = scaler.inverse_transform_values(np.array([[0.5, 1.0], [0.5, 2.0]]), ["a", "b"])
    np.testing.assert_allclose(restored, [[5.0, 10.0], [200.0, 500.0]])


def test_unknown_series_id_is_named():
    frame = _long_frame(np.random.default_rng(0), {"a": 5, "b": 5})
    scaler = SeriesScaler().fit(frame)
    msg = (
        "Unknown series id 'z': this SeriesScaler was fitted on ['a', 'b']. "
        "Fit it on a frame that includes this series."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        scaler.inverse_transform_values(np.zeros((2, 3)), ["a", "z"])
    other = _long_frame(np.random.default_rng(1), {"z": 5})
    with pytest.raises(ValueError, match=re.escape(msg)):
        scaler.transform(other)


@pytest.mark.parametrize(
    ("values", "series_ids", "msg"),
    [
        (
            np.zeros((2, 3, 1)),
            ["a", "a"],
            "`values` must have shape (n_rows,) or (n_rows, horizon); got (2, 3, 1).",
        ),
        (
            np.zeros((2, 3)),
            ["a"],
            "`series_ids` must hold one id per row of `values` (2); got 1.",
        ),
    ],
    ids=["3d", "ids-length"],
)
def test_inverse_transform_values_shape_errors(values, series_ids, msg):
    scaler = SeriesScaler().fit(_long_frame(np.random.default_rng(0), {"a": 5}))
    with pytest.raises(ValueError, match=re.escape(msg)):
        scaler.inverse_transform_values(values, series_ids)


def test_scaler_array_transform_after_multi_series_fit():
    scaler = SeriesScaler().fit(_long_frame(np.random.default_rng(0), {"a": 5, "b": 5}))
    msg = (
        "This SeriesScaler was fitted on 2 series; pass a long frame with a `series_id` column "
        "to transform so each row uses its series' scaler."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        scaler.transform(np.zeros((3, 2)))


def test_scaler_bad_method_raises_in_fit():
    scaler = SeriesScaler(method="zscore")
    msg = "`method` must be one of 'standard', 'minmax', 'robust', 'none'; got 'zscore'."
    with pytest.raises(ValueError, match=re.escape(msg)):
        scaler.fit(np.zeros((3, 1)))


def test_scaler_transform_checks_columns():
    scaler = SeriesScaler().fit(_long_frame(np.random.default_rng(0), {"a": 5}))
    frame = _long_frame(np.random.default_rng(0), {"a": 5}).drop(columns="temp")
    msg = "Feature names seen at fit time, yet now missing:\n- temp"
    with pytest.raises(ValueError, match=re.escape(msg)):
        scaler.transform(frame)


def test_scaler_does_not_modify_its_input():
    frame = _long_frame(np.random.default_rng(0), {"a": 6, "b": 6})
    before = frame.copy()
    scaler = SeriesScaler().fit(frame)
    scaler.inverse_transform(scaler.transform(frame))
    pd.testing.assert_frame_equal(frame, before)


def test_scaler_then_windows_in_a_pipeline():
    values = np.arange(20.0).reshape(10, 2)
    pipeline = make_pipeline(SeriesScaler(), SlidingWindows(input_width=3, horizon=1)).fit(values)
    expected, _ = sliding_windows(SeriesScaler().fit_transform(values), 3, 1)
    np.testing.assert_allclose(pipeline.transform(values), expected)


def test_scaler_frame_under_pandas_output():
    frame = _long_frame(np.random.default_rng(0), {"a": 6, "b": 6})
    with config_context(transform_output="pandas"):
        scaler = SeriesScaler().fit(frame)
        scaled = scaler.transform(frame)
        restored = scaler.inverse_transform_values(scaled["value"].to_numpy(), scaled["series_id"])
    assert list(scaled.columns) == list(frame.columns)
    np.testing.assert_allclose(restored, frame["value"], rtol=1e-12)
