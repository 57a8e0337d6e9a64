"""Rolling forecasts in production: store rows with provenance, the baseline fallback, drift."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.data import infer_freq
from forecasting.frequency import season_length_for
from forecasting.metrics import seasonal_naive_forecast

__all__ = [
    "BASELINE",
    "Degradation",
    "check_degradation",
    "realised_as_metrics",
    "realised_markdown",
    "seasonal_naive_frame",
    "store_rows",
]

BASELINE = "seasonal_naive"


def seasonal_naive_frame(
    history: pd.DataFrame, horizon: int, season_length: int | None = None
) -> pd.DataFrame:
    """Seasonal-naive forecast of every series, shaped like ``Forecaster.predict``'s output.

    Parameters
    ----------
    history : DataFrame
        Validated long frame.
    horizon : int
        Steps to forecast.
    season_length : int, optional
        Defaults to the season of the frequency; falls back to naive (1) for a series
        shorter than one season.

    Returns
    -------
    DataFrame
        ``series_id``, ``timestamp``, ``step``, ``value``.
    """
    freq = history.attrs.get("freq") or infer_freq(history)
    season = season_length or season_length_for(freq)
    offset = pd.tseries.frequencies.to_offset(freq)
    parts = []
    for sid, group in history.groupby("series_id", sort=False):
        values = group["value"].to_numpy()
        m = season if len(values) >= season else 1
        last = group["timestamp"].iloc[-1]
        parts.append(
            pd.DataFrame(
                {
                    "series_id": sid,
                    "timestamp": [last + k * offset for k in range(1, horizon + 1)],
                    "step": np.arange(1, horizon + 1),
                    "value": seasonal_naive_forecast(values, horizon, season_length=m),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def store_rows(
    forecast: pd.DataFrame,
    history: pd.DataFrame,
    model_name: str,
    model_version: str,
    run_id: str | None,
    method: str,
) -> pd.DataFrame:
    """Forecast rows as the forecast store keeps them, with their provenance.

    Parameters
    ----------
    forecast : DataFrame
        ``series_id``, ``timestamp``, ``step``, ``value``.
    history : DataFrame
        The history forecast from; each series' last timestamp is its origin.
    model_name, model_version, run_id, method
        Provenance: the registered model and version (``seasonal_naive`` for the baseline),
        the MLflow run that trained it, and ``model`` or ``seasonal_naive``.

    Returns
    -------
    DataFrame
        One row per series and step, ready for ``ForecastStore.write_forecasts``.
    """
    origins = history.groupby("series_id", sort=False)["timestamp"].max()
    rows = forecast.reset_index(drop=True)
    return pd.DataFrame(
        {
            "series_id": rows["series_id"].astype(str),
            "origin": rows["series_id"].map(origins),
            "target_timestamp": rows["timestamp"],
            "step": rows["step"].astype("int64"),
            "value": rows["value"].astype("float64"),
            "model_name": model_name,
            "model_version": str(model_version),
            "run_id": run_id,
            "method": method,
        }
    )


def realised_as_metrics(realised: pd.DataFrame) -> dict[str, float]:
    """``realised_rmse_step_<k>`` and ``realised_mae_step_<k>`` from a per-step table."""
    metrics: dict[str, float] = {}
    for row in realised.to_dict(orient="records"):
        metrics[f"realised_rmse_step_{row['step']}"] = float(row["rmse"])
        metrics[f"realised_mae_step_{row['step']}"] = float(row["mae"])
    return metrics


def realised_markdown(realised: pd.DataFrame) -> str:
    """The per-step realised accuracy as a Markdown table (empty text when nothing is scored)."""
    if realised.empty:
        return ""
    lines = ["| step | n | realised rmse | realised mae |", "|---|---|---|---|"]
    for row in realised.to_dict(orient="records"):
        lines.append(f"| {row['step']} | {row['n']} | {row['rmse']:.4g} | {row['mae']:.4g} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Degradation:
    """Whether live accuracy has drifted past the allowed multiple of the backtest error."""

    degraded: bool
    realised_rmse: float | None
    backtest_rmse: float | None
    message: str


def check_degradation(
    scores: pd.DataFrame, backtest_rmse: float | None, factor: float
) -> Degradation:
    """Compare the realised RMSE of scored forecasts with the RMSE measured before release.

    Parameters
    ----------
    scores : DataFrame
        Scored forecasts of one model version (``error`` column).
    backtest_rmse : float, optional
        The version's evaluation RMSE; ``None`` for the baseline, which is never flagged.
    factor : float
        Allowed multiple, for example 2.0.

    Returns
    -------
    Degradation
        ``degraded`` and a message saying what was compared.
    """
    if scores.empty:
        return Degradation(False, None, backtest_rmse, "no forecast has an actual yet")
    realised = float(np.sqrt(np.mean(np.square(scores["error"].to_numpy(dtype=float)))))
    if backtest_rmse is None:
        return Degradation(False, realised, None, f"realised RMSE {realised:.4g} (baseline)")
    limit = factor * backtest_rmse
    if realised > limit:
        return Degradation(
            True,
            realised,
            backtest_rmse,
            f"degraded: realised RMSE {realised:.4g} over {len(scores)} forecast points exceeds "
            f"{factor:g} × the evaluation RMSE {backtest_rmse:.4g}",
        )
    return Degradation(
        False,
        realised,
        backtest_rmse,
        f"healthy: realised RMSE {realised:.4g} within {factor:g} × evaluation RMSE "
        f"{backtest_rmse:.4g}",
    )
