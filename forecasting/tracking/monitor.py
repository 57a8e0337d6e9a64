"""The live-accuracy run of an experiment: metrics and figures logged to it after the fact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mlflow import MlflowClient

from forecasting.tracking.runs import experiment_id

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["log_figure_to", "log_metrics_to", "monitor_run", "next_step"]


def monitor_run(experiment: str, artifact_location: str) -> str:
    """The run that collects live accuracy for ``experiment`` (created on first use)."""
    client = MlflowClient()
    found_id = experiment_id(experiment, artifact_location)
    found = client.search_runs(
        [found_id], filter_string="tags.kind = 'live-accuracy'", max_results=1
    )
    if found:
        return str(found[0].info.run_id)
    run = client.create_run(found_id, run_name="live-accuracy", tags={"kind": "live-accuracy"})
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def next_step(run_id: str, key: str) -> int:
    """How many values ``key`` already has in the run: the step of the next one."""
    return len(MlflowClient().get_metric_history(run_id, key))


def log_metrics_to(run_id: str, metrics: Mapping[str, float], step: int) -> None:
    """Log metrics to a given run (not the active one)."""
    client = MlflowClient()
    for key, value in metrics.items():
        client.log_metric(run_id, key, float(value), step=step)


def log_figure_to(run_id: str, figure: Figure, path: str) -> None:
    """Log a figure to a given run (not the active one)."""
    MlflowClient().log_figure(run_id, figure, path)
