"""Per-window normalisation, the residual design, new series and trading-day series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.baselines import BASELINES, baseline_forecast, best_baseline
from forecasting.data import infer_freq, validate_frame
from forecasting.forecaster import Forecaster
from forecasting.metrics import naive_forecast, seasonal_naive_forecast
from forecasting.nn.persistence import load_predictor
from forecasting.normalization import (
    denormalize,
    fit_linear,
    normalize,
    normalize_targets,
    reference_season,
    seasonal_reference,
)
from forecasting.transformers import sliding_windows


def _windows(seed: int, n: int = 200, width: int = 12, horizon: int = 4) -> tuple:
    rng = np.random.default_rng(seed)
    series = 50 + np.cumsum(rng.normal(0, 3, n)) + 10 * np.sin(np.arange(n) * 2 * np.pi / 6)
    x, y = sliding_windows(series[:, None].astype(np.float32), width, horizon)
    return series, np.asarray(x), np.asarray(y)


@pytest.mark.parametrize("method", ["none", "last", "window"])
@pytest.mark.parametrize("residual", ["none", "seasonal_naive"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_scaling_round_trips(method: str, residual: str, seed: int) -> None:
    _, x, y = _windows(seed)
    xn, scale = normalize(x, 4, 6, method, residual)
    back = denormalize(normalize_targets(y, scale), scale)
    np.testing.assert_allclose(back, y, rtol=1e-5, atol=1e-4)
    restored = xn[:, :, 0] * scale.scale + scale.center
    np.testing.assert_allclose(restored, x[:, :, 0], rtol=1e-5, atol=1e-4)


def test_window_scale_puts_every_amplitude_on_one_scale() -> None:
    _, x, _ = _windows(0)
    xn, _ = normalize(x, 4, 6, "window")
    scaled, _ = normalize(x * 1000.0, 4, 6, "window")
    np.testing.assert_allclose(scaled, xn, atol=1e-4)
    values = x[:, :, 0].astype(np.float64)
    spread, level = values.std(axis=1), np.abs(values).mean(axis=1)
    expected = spread / np.maximum(spread, 0.1 * level)  # 1 unless the window barely moves
    np.testing.assert_allclose(xn[:, :, 0].std(axis=1), expected, rtol=1e-5)
    assert (expected == 1).mean() > 0.5


def test_a_window_that_barely_moves_is_scaled_by_a_tenth_of_its_level() -> None:
    # A smooth series drifting by 0.01 a step at a level of 8: its spread (0.035) is far
    # below a tenth of its level, which then sets the scale, so the drift stays small.
    x = (8.0 - 0.01 * np.arange(12.0)).reshape(1, 12, 1).astype(np.float32)
    xn, scale = normalize(x, 4, 1, "window")
    np.testing.assert_allclose(scale.scale, [[0.1 * np.abs(x).mean()]], rtol=1e-6)
    assert np.abs(xn).max() < 0.2


def test_normalisation_reads_only_the_inputs() -> None:
    # Nothing after the origin enters the scale: changing the targets changes nothing.
    _, x, y = _windows(1)
    xn, scale = normalize(x, 4, 6, "window", "seasonal_naive")
    xn2, scale2 = normalize(x.copy(), 4, 6, "window", "seasonal_naive")
    np.testing.assert_array_equal(xn, xn2)
    np.testing.assert_array_equal(scale.scale, scale2.scale)
    np.testing.assert_array_equal(scale.reference, scale2.reference)
    assert not np.allclose(normalize_targets(y + 100, scale), normalize_targets(y, scale))


def test_a_flat_window_is_scaled_without_dividing_by_zero() -> None:
    x = np.full((2, 8, 1), 5.0, dtype=np.float32)
    x[1] = 0.0
    xn, scale = normalize(x, 2, 1, "window")
    assert np.isfinite(xn).all() and (scale.scale > 0).all()


@pytest.mark.parametrize("season", [1, 3, 6, 12])
def test_zero_output_forecasts_exactly_the_seasonal_profile_of_each_window(season: int) -> None:
    series, x, _ = _windows(2)
    _, scale = normalize(x, 4, season, "window", "seasonal_naive")
    forecast = denormalize(np.zeros((len(x), 4)), scale)
    width = x.shape[1]
    for i in (0, 17, len(x) - 1):
        history = series[i : i + width]
        if season == 1:
            expected = naive_forecast(history, 4)
        else:  # the mean of the window's full seasons at each phase
            seasons = [history[width - (j + 1) * season :][:season] for j in range(width // season)]
            expected = np.resize(np.mean(seasons, axis=0), 4)
        np.testing.assert_allclose(forecast[i], expected, rtol=1e-5)


def test_a_window_of_one_season_gives_seasonal_naive() -> None:
    series, x, _ = _windows(3, width=6)
    _, scale = normalize(x, 8, 6, "window", "seasonal_naive")
    forecast = denormalize(np.zeros((len(x), 8)), scale)
    np.testing.assert_allclose(forecast[5], seasonal_naive_forecast(series[5:11], 8, 6), rtol=1e-5)


def test_seasonal_reference_takes_one_season_per_window() -> None:
    values = np.arange(20.0).reshape(2, 10)
    ref = seasonal_reference(values, 5, np.array([3, 1]))
    np.testing.assert_array_equal(ref[0], [4, 5, 6, 4, 5])  # means of (1, 4, 7), (2, 5, 8)...
    np.testing.assert_array_equal(ref[1], [19] * 5)


def test_the_linear_reference_learns_a_linear_map_and_is_the_zero_output() -> None:
    _, x, y = _windows(4, n=400)
    xn, scale = normalize(x, 4, 1, "window")
    targets = normalize_targets(y, scale)
    coef, intercept = fit_linear(xn[:, :, 0], targets)
    assert coef.shape == (12, 4) and intercept.shape == (4,)
    # A target that is exactly linear in the window is recovered (up to the small penalty).
    exact = xn[:, :, 0] @ np.linspace(-1, 1, 48).reshape(12, 4) + 0.5
    c2, b2 = fit_linear(xn[:, :, 0], exact)
    np.testing.assert_allclose(xn[:, :, 0] @ c2 + b2, exact, atol=0.05)
    _, with_linear = normalize(x, 4, 1, "window", "linear", (coef, intercept))
    zero = denormalize(np.zeros((len(x), 4)), with_linear)
    linear = denormalize(xn[:, :, 0] @ coef + intercept, scale)
    np.testing.assert_allclose(zero, linear, rtol=1e-6)
    with pytest.raises(ValueError, match="needs the fitted `linear`"):
        normalize(x, 4, 1, "window", "linear")


def test_reference_season_picks_seasonal_naive_only_for_a_real_season() -> None:
    t = np.arange(240)
    seasonal = np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 0.1, 240)
    trend = 0.5 * t + np.random.default_rng(1).normal(0, 0.1, 240)
    assert reference_season(seasonal, 6, 12, 36) == 12
    assert reference_season(trend, 6, 12, 36) == 1
    assert reference_season(seasonal, 6, 1, 36) == 1


def _hourly(values: np.ndarray, sid: str = "a") -> pd.DataFrame:
    stamps = pd.date_range("2021-01-01", periods=len(values), freq="h")
    return pd.DataFrame({"series_id": sid, "timestamp": stamps, "value": values})


@pytest.fixture(scope="module")
def fitted() -> tuple[Forecaster, pd.DataFrame]:
    t = np.arange(300)
    values = 20 + 5 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 0.5, 300)
    frame = _hourly(values)
    model = Forecaster(horizon=6, units=(8,), epochs=2, verbose=0, seed=0).fit(frame)
    return model, frame


def test_numpy_and_keras_forward_agree_on_the_residual_design(fitted) -> None:
    model, frame = fitted
    numpy_path = model.predictor_.predict(frame)["value"].to_numpy()
    keras_path = model.predictor_.predict(frame, forward=model.keras_forward)["value"]
    np.testing.assert_allclose(numpy_path, keras_path.to_numpy(), rtol=1e-4)


def test_a_series_never_seen_is_forecast_from_its_own_history(fitted) -> None:
    model, frame = fitted
    known = model.predict(frame)["value"].to_numpy()
    other = frame.assign(series_id="new", value=frame["value"] * 100.0 + 7.0)
    new = model.predict(other)
    assert list(new["series_id"].unique()) == ["new"]
    np.testing.assert_allclose(new["value"].to_numpy(), known * 100.0 + 7.0, rtol=1e-4)
    both = model.predict(pd.concat([frame, other]))
    assert set(both["series_id"]) == {"a", "new"}


def test_a_one_series_model_reads_a_history_without_series_id(fitted) -> None:
    model, frame = fitted
    bare = model.predict(frame.drop(columns="series_id"))
    np.testing.assert_allclose(bare["value"], model.predict(frame)["value"])
    assert set(bare["series_id"]) == {"a"}


def test_the_predictor_round_trips_the_reference_seasons(fitted, tmp_path) -> None:
    model, frame = fitted
    model.save(tmp_path)
    loaded = load_predictor(tmp_path)
    assert loaded.seasons == model.reference_seasons_ and loaded.residual == model.residual
    if model.residual == "linear":
        np.testing.assert_array_equal(loaded.linear[0], model.linear_[0])
    np.testing.assert_allclose(loaded.predict(frame)["value"], model.predict(frame)["value"])


def test_a_trading_day_series_is_business_daily_and_counts_trading_days() -> None:
    days = pd.bdate_range("2024-01-01", periods=130)
    holidays = days[[10, 45, 90]]
    kept = days.difference(holidays)
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"timestamp": kept, "value": 100 + np.cumsum(rng.normal(0, 1, len(kept)))})
    assert infer_freq(validate_frame(frame, missing="interpolate")) == "B"
    with pytest.raises(Exception, match="missing point"):
        validate_frame(frame)
    filled = validate_frame(frame, missing="interpolate")
    assert len(filled) == len(days)
    model = Forecaster(horizon=5, units=(4,), epochs=1, verbose=0).fit(filled)
    stamps = pd.DatetimeIndex(model.predict(filled)["timestamp"])
    assert (stamps.dayofweek < 5).all()
    assert list(stamps) == list(pd.bdate_range(days[-1], periods=6)[1:])


@pytest.mark.parametrize("method", BASELINES)
def test_every_baseline_forecasts_the_horizon(method: str) -> None:
    t = np.arange(120)
    history = 10 + np.sin(2 * np.pi * t / 12) + 0.05 * t
    forecast = baseline_forecast(method, history, 12, 12)
    assert forecast.shape == (12,) and np.isfinite(forecast).all()


def test_naive_baselines_match_the_metrics_module() -> None:
    history = np.arange(30.0)
    np.testing.assert_array_equal(
        baseline_forecast("naive", history, 3, 7), naive_forecast(history, 3)
    )
    np.testing.assert_array_equal(
        baseline_forecast("seasonal_naive", history, 9, 7),
        seasonal_naive_forecast(history, 9, season_length=7),
    )


def test_ets_follows_a_trend_that_the_naive_forecasts_miss() -> None:
    history = 3.0 * np.arange(80) + np.random.default_rng(0).normal(0, 0.1, 80)
    ets = baseline_forecast("ets", history, 5, 1)
    np.testing.assert_allclose(ets, 3.0 * np.arange(80, 85), rtol=0.02)
    assert best_baseline(history, 5, 1) in ("ets", "theta")


def test_an_unknown_baseline_is_named() -> None:
    with pytest.raises(ValueError, match="`method` must be one of 'naive'"):
        baseline_forecast("prophet", np.ones(10), 2, 1)
