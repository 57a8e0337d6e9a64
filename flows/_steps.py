"""Tasks and helpers the training and backtest flows share: the data, the figures, the log."""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from forecasting import figures, tracking
from forecasting.backtest import BacktestResult
from forecasting_app.config import Config, flatten
from forecasting_app.sources import load_series
from forecasting_app.training import library_versions

__all__ = ["load_data", "log_params", "run_figures"]


@task(cache_policy=NO_CACHE)
def load_data(config: Config) -> pd.DataFrame:
    """Read and validate the configured series."""
    return load_series(config.data)


def log_params(config: Config, data_hash: str, result: BacktestResult) -> None:
    """Log the flattened config, the library versions, the data's hash and what was inferred."""
    params = {**flatten(config), **{f"version.{k}": v for k, v in library_versions().items()}}
    params["data.hash"] = data_hash
    params["evaluation.season_length_used"] = result.season_length
    params["model.input_width_used"] = result.model.input_width_
    tracking.log_params(params)


def run_figures(
    result: BacktestResult, baselines: tuple[str, ...], training_curves: bool, folds_always: bool
) -> dict[str, Any]:
    """The figures of a run, drawn for the first series of the last fold.

    ``forecast`` (the model's last-fold forecast against the actuals and ``baselines``),
    ``training_curves`` (the final model's losses per epoch) if asked, and ``backtest`` (RMSE
    per fold and method) with ``backtest_forecasts`` (every fold's forecast with its
    intervals) when there is more than one fold or ``folds_always``.
    """
    last = result.forecasts[result.forecasts["fold"] == result.forecasts["fold"].max()]
    sid = str(last["series_id"].iloc[0])
    rows = last[last["series_id"] == sid]
    model = rows[rows["method"] == "model"]
    actuals = model[["series_id", "timestamp", "actual"]].rename(columns={"actual": "value"})
    out = {
        "forecast": figures.plot_forecast(
            result.train,
            model,
            actuals=actuals,
            baselines={m: rows[rows["method"] == m] for m in baselines},
            series_id=sid,
        )
    }
    if training_curves:
        out["training_curves"] = figures.plot_training_curves(result.model.history_)
    if folds_always or result.forecasts["fold"].nunique() > 1:
        out["backtest"] = figures.plot_backtest(result.folds)
        out["backtest_forecasts"] = figures.plot_backtest_forecasts(
            result.train, result.forecasts, series_id=sid
        )
    return out
