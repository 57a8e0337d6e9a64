"""The statistical ensemble, the combination, the reference alone and the per-series choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.backtest import backtest
from forecasting.baselines import baseline_forecast, baseline_forecasts
from forecasting.metrics import mase
from forecasting.selection import (
    SERVED_CANDIDATES,
    choose,
    method_forecasts,
    validation_scores,
)

HORIZON, SEASON = 4, 12


def _series(n: int, seed: int, sid: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 20 + 0.05 * t + 3 * np.sin(2 * np.pi * t / SEASON) + rng.normal(0, 0.5, n)
    stamps = pd.date_range("2020-01-01", periods=n, freq="MS")
    return pd.DataFrame({"series_id": sid, "timestamp": stamps, "value": values})


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.concat([_series(90, 0, "a"), _series(80, 1, "b")], ignore_index=True)


def test_stat_ensemble_is_the_step_median_of_ets_theta_and_arima(frame: pd.DataFrame) -> None:
    history = frame.loc[frame["series_id"] == "a", "value"].to_numpy()
    got = baseline_forecasts(("ets", "theta", "arima", "stat_ensemble"), history, 6, SEASON, (80,))
    members = [got[m] for m in ("ets", "theta", "arima")]
    np.testing.assert_allclose(got["stat_ensemble"][0], np.median([v for v, _ in members], 0))
    lower, upper = got["stat_ensemble"][1][80]
    np.testing.assert_allclose(lower, np.median([b[80][0] for _, b in members], axis=0))
    np.testing.assert_allclose(upper, np.median([b[80][1] for _, b in members], axis=0))
    # Alone, it fits its members itself and gives the same forecast.
    alone = baseline_forecast("stat_ensemble", history, 6, SEASON)
    np.testing.assert_allclose(alone, got["stat_ensemble"][0])


def test_choose_takes_the_lowest_validation_error_earlier_candidates_winning_ties() -> None:
    scores = pd.DataFrame(
        [
            ("a", "model", 0.9),
            ("a", "combination", 0.7),
            ("a", "stat_ensemble", 0.5),
            ("b", "model", 0.4),
            ("b", "combination", 0.4),  # a tie: combination comes first
            ("c", "model", np.nan),  # not finite: never chosen
            ("c", "seasonal_naive", 2.0),
        ],
        columns=["series_id", "method", "validation_mase"],
    )
    chosen = choose(scores, ["a", "b", "c", "d"])
    assert chosen["a"] == "stat_ensemble"
    assert chosen["b"] == "combination"
    assert chosen["c"] == "seasonal_naive"
    assert chosen["d"] == SERVED_CANDIDATES[0]  # no window at all: the first candidate


def test_validation_scores_forecast_the_last_horizon_from_the_points_before(
    frame: pd.DataFrame,
) -> None:
    methods = ("seasonal_naive", "stat_ensemble")
    scores = validation_scores(None, frame, HORIZON, SEASON, methods)
    for sid, part in frame.groupby("series_id"):
        values = part["value"].to_numpy()
        for method in methods:
            forecast = baseline_forecast(method, values[:-HORIZON], HORIZON, SEASON)
            expected = mase(values[-HORIZON:], forecast, values[:-HORIZON], SEASON)
            row = scores[(scores["series_id"] == sid) & (scores["method"] == method)]
            assert row["validation_mase"].item() == pytest.approx(expected)
    # Without a model, there is nothing to score for the model or the combination.
    assert set(scores["method"]) == set(methods)


def test_reference_alone_is_the_network_output_held_at_zero(frame: pd.DataFrame) -> None:
    # With no reference (`residual="none"`) a zero output is each window's last value.
    model = Forecaster(horizon=HORIZON, input_width=12, units=(4,), epochs=1, residual="none")
    model.fit(frame, callbacks=())
    reference = model.predict_reference(frame)
    for sid, part in frame.groupby("series_id"):
        got = reference.loc[reference["series_id"] == sid, "value"].to_numpy()
        np.testing.assert_allclose(got, np.full(HORIZON, part["value"].iloc[-1]), rtol=1e-5)
    forecasts = method_forecasts(model, frame, HORIZON, SEASON, methods=("model", "reference"))
    assert set(forecasts["method"]) == {"model", "reference"}


@pytest.fixture(scope="module")
def result_and_frame(frame: pd.DataFrame) -> tuple[object, pd.DataFrame]:
    model = Forecaster(horizon=HORIZON, input_width=12, units=(4,), epochs=2, verbose=0)
    return backtest(model, frame, folds=2, season_length=SEASON), frame


def test_combination_is_the_median_of_the_network_and_the_ensemble_members(
    result_and_frame: tuple[object, pd.DataFrame],
) -> None:
    result, frame = result_and_frame
    forecasts = result.forecasts  # type: ignore[attr-defined]
    last = forecasts[forecasts["fold"] == 1]
    for sid, part in frame.groupby("series_id"):
        train = part["value"].to_numpy()[:-HORIZON]
        stats = baseline_forecasts(("ets", "theta", "arima"), train, HORIZON, SEASON)
        rows = last[last["series_id"] == sid]
        model = rows.loc[rows["method"] == "model", "value"].to_numpy()
        expected = np.median([model, *(stats[m][0] for m in ("ets", "theta", "arima"))], axis=0)
        combination = rows.loc[rows["method"] == "combination", "value"].to_numpy()
        np.testing.assert_allclose(combination, expected)


def test_served_is_chosen_without_the_points_after_the_origin(
    result_and_frame: tuple[object, pd.DataFrame],
) -> None:
    result, frame = result_and_frame
    scores = result.scores  # type: ignore[attr-defined]
    forecasts = result.forecasts  # type: ignore[attr-defined]
    served = forecasts[forecasts["method"] == "served"]
    for row in scores[scores["method"] == "served"].itertuples():
        # `served` repeats the chosen method's rows, and `method` names what was served.
        mine = served[(served["fold"] == row.fold) & (served["series_id"] == row.series_id)]
        chosen = forecasts[
            (forecasts["fold"] == row.fold)
            & (forecasts["series_id"] == row.series_id)
            & (forecasts["method"] == row.served_by)
        ]
        assert set(mine["served_by"]) == {row.served_by}
        assert row.served_by in SERVED_CANDIDATES
        np.testing.assert_allclose(mine["value"], chosen["value"])
    # The future of every fold changed beyond recognition: the choice is the same.
    changed = frame.copy()
    tail = changed.groupby("series_id").cumcount(ascending=False) < HORIZON
    changed.loc[tail, "value"] = 1e6
    model = Forecaster(horizon=HORIZON, input_width=12, units=(4,), epochs=2, verbose=0)
    again = backtest(model, changed, folds=2, season_length=SEASON)
    before = scores[scores["method"] == "served"].set_index(["fold", "series_id"])
    after = again.scores[again.scores["method"] == "served"].set_index(["fold", "series_id"])
    assert (after["served_by"] == before.loc[after.index, "served_by"]).all()
    assert not np.allclose(again.scores["mase"], scores["mase"])  # the scores did change
    assert result.fell_back == [bool(m.fell_back_) for m in result.fold_models]  # type: ignore[attr-defined]


def test_the_config_default_is_the_librarys() -> None:
    from forecasting.selection import VALIDATION_WINDOWS
    from forecasting_app.config import EvaluationConfig

    assert EvaluationConfig().validation_windows == VALIDATION_WINDOWS
