"""What a scheduled forecast run reports: a figure in the monitor run and a Markdown summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from forecasting import live, tracking
from forecasting.store import ForecastStore
from forecasting_app.config import Config

if TYPE_CHECKING:
    from forecasting_app.scheduled import ForecastResult

__all__ = ["report", "report_markdown"]


def report(
    store: ForecastStore, frame: pd.DataFrame, rows: pd.DataFrame, model_name: str, run_id: str
) -> None:
    """Log a figure of the first series' latest forecast and earlier ones to the monitor run."""
    from forecasting import figures

    sid = str(rows["series_id"].iloc[0])
    latest = rows[rows["series_id"] == sid].rename(columns={"target_timestamp": "timestamp"})
    past = store.read_forecasts(series_id=sid, model_name=model_name)
    past = past[past["origin"] < latest["origin"].iloc[0]]
    fig = figures.plot_forecast_history(frame, latest, past=past, series_id=sid)
    origin = pd.Timestamp(latest["origin"].iloc[0]).strftime("%Y%m%dT%H%M%S")
    tracking.log_figure_to(run_id, fig, f"forecasts/{origin}.png")


def report_markdown(config: Config, result: ForecastResult) -> str:
    """The run's report as Markdown (what the Prefect flow publishes as an artifact)."""
    rows = result.forecast
    lines = [
        f"# Forecast: {config.name}",
        "",
        f"- model: `{result.model_name}` version `{result.model_version}` ({result.method})",
        f"- origin(s): {', '.join(sorted({str(o) for o in rows['origin']}))[:500]}",
        f"- rows written: {result.rows_written} (0 means this origin was already forecast)",
        f"- earlier forecast points scored this run: {result.scored}",
        f"- live accuracy: {result.degradation}",
        *[f"- {note}" for note in result.notes],
    ]
    for part in result.groups:
        table = live.realised_markdown(part.realised)
        lines += ["", f"## {part.model_name} version {part.model_version} ({part.method})"]
        lines += [f"- live accuracy: {part.degradation}", *(["", table] if table else [])]
    table = "" if result.groups else live.realised_markdown(result.realised)
    return "\n".join([*lines, "", table] if table else lines)
