"""The training flow end to end: real Prefect runs, a real SQLite MLflow store, tiny models."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import validate_serving_input
from mlflow.models.utils import convert_input_example_to_serving_input

from flows.train import train_flow
from forecasting import reports
from forecasting.config import Config, load_config
from forecasting.promotion import decide_promotion
from forecasting.synthetic import generate_series

pytestmark = pytest.mark.usefixtures("prefect_harness")

# A trending seasonal series: seasonal naive lags the trend by a whole season, so a small
# network that forecasts changes from the last value (normalize="last") beats it quickly.
_GOOD = [
    "data.synthetic.kind=seasonal",
    "data.synthetic.length=360",
    "data.synthetic.trend=0.02",
    "data.synthetic.noise=0.02",
    "model.horizon=4",
    "model.input_width=12",
    "model.units=[8]",
    "train.epochs=8",
    "train.learning_rate=0.01",
]
# The same data and network, trained for one epoch at a learning rate too small to learn.
_BAD = [*_GOOD, "train.epochs=1", "train.learning_rate=0.0000001"]


def _config(tmp_path: Path, overrides: list[str], name: str = "flowtest") -> Config:
    return load_config(
        None,
        [
            f"name={name}",
            f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
            f"tracking.artifact_location={tmp_path / 'artifacts'}",
            *overrides,
        ],
    )


def test_train_flow_logs_registers_promotes_and_reports(tmp_path: Path, mlflow_uri: str) -> None:
    config = _config(tmp_path, _GOOD)
    result = train_flow(config)

    client = MlflowClient(tracking_uri=config.tracking.uri, registry_uri=config.tracking.uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    for key in ("rmse", "mae", "smape", "mase"):
        assert metrics[key] == pytest.approx(result.metrics["model"][key])
        assert f"naive_{key}" in metrics and f"seasonal_naive_{key}" in metrics
    assert run.data.params["model.horizon"] == "4"
    assert run.data.params["train.seed"] == "0"
    assert len(run.data.params["data.hash"]) == 16
    assert "version.tensorflow" in run.data.params
    losses = client.get_metric_history(result.run_id, "loss")
    assert [m.step for m in losses] == list(range(len(losses)))
    assert 1 <= len(losses) <= 8
    assert len(client.get_metric_history(result.run_id, "val_loss")) == len(losses)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "figures")}
    assert artifacts == {"figures/forecast.png", "figures/training_curves.png"}
    report = Path(result.report_uri)
    assert report.is_file() and report.suffix == ".html"
    assert "promoted" in report.read_text()

    # The first model that beats seasonal naive becomes champion and challenger.
    assert result.metrics["model"]["rmse"] < result.metrics["seasonal_naive"]["rmse"]
    assert result.champion and result.version == "1"
    version = client.get_model_version_by_alias(config.name, "champion")
    assert str(version.version) == "1"
    assert str(client.get_model_version_by_alias(config.name, "challenger").version) == "1"
    assert version.tags["decision"].startswith("promoted: first model to beat seasonal naive")
    assert float(version.tags["rmse"]) == pytest.approx(result.metrics["model"]["rmse"])

    # The registered pyfunc forecasts from raw history.
    history = generate_series(
        kind="seasonal", length=360, trend=0.02, noise=0.02, start="2024-01-01", freq="h"
    )
    model = mlflow.pyfunc.load_model(f"models:/{config.name}@champion")
    raw = history.tail(30)
    forecast = model.predict(raw)
    assert list(forecast.columns) == ["series_id", "timestamp", "step", "value"]
    assert list(forecast["step"]) == [1, 2, 3, 4]
    assert forecast["timestamp"].iloc[0] == history["timestamp"].iloc[-1] + pd.Timedelta("1h")
    assert np.isfinite(forecast["value"]).all()
    longer = model.predict(raw, params={"horizon": 9})
    assert len(longer) == 9
    # What `mlflow models serve` receives: JSON with timestamps as text.
    payload = convert_input_example_to_serving_input(raw)
    served = validate_serving_input(f"models:/{config.name}@champion", payload)
    pd.testing.assert_frame_equal(pd.DataFrame(served), forecast)
    with pytest.raises(ValueError, match="has 5 points; the model needs the last 12"):
        model.predict(raw.tail(5))

    # A worse challenger is registered and tagged, but `champion` stays where it was.
    worse = train_flow(_config(tmp_path, _BAD))
    assert worse.version == "2" and not worse.champion
    assert str(client.get_model_version_by_alias(config.name, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(config.name, "challenger").version) == "2"
    assert client.get_model_version(config.name, "2").tags["decision"].startswith("not promoted")


def _prefect_artifacts(key: str) -> list[dict[str, object]]:
    """Artifacts with ``key``, read straight from the Prefect API.

    The filter models of the Prefect client send nulls that this server version rejects,
    so the request body is written out in full.
    """
    from prefect.client.orchestration import get_client

    body = {
        "artifacts": {"key": {"any_": [key]}},
        "flow_runs": {},
        "task_runs": {},
        "limit": 10,
        "offset": 0,
        "sort": "CREATED_DESC",
    }
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/artifacts/filter", json=body)  # type: ignore[arg-type]
    response.raise_for_status()
    return list(response.json())


def test_prefect_markdown_artifact_is_published(tmp_path: Path, mlflow_uri: str) -> None:
    train_flow(_config(tmp_path, _BAD, name="artifact-test"))

    found = _prefect_artifacts("train-artifact-test")
    assert found, "the run published no Prefect artifact"
    assert found[0]["type"] == "markdown"
    assert "Seasonal" in str(found[0]["data"]) or "seasonal" in str(found[0]["data"])
    assert "rmse" in str(found[0]["data"])


def test_failed_run_registers_nothing(
    tmp_path: Path, mlflow_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("report rendering failed")

    monkeypatch.setattr(reports, "render_html_report", broken)
    config = _config(tmp_path, _BAD, name="failing")
    with pytest.raises(RuntimeError, match="report rendering failed"):
        train_flow(config)
    client = MlflowClient(tracking_uri=config.tracking.uri, registry_uri=config.tracking.uri)
    assert client.search_model_versions(f"name='{config.name}'") == []
    runs = client.search_runs([client.get_experiment_by_name(config.name).experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]


@pytest.mark.parametrize(
    ("challenger", "naive", "champion", "promote", "reason"),
    [
        (1.0, 2.0, None, True, "promoted: first model to beat seasonal naive"),
        (2.0, 2.0, None, False, "not promoted: it does not beat seasonal naive"),
        (1.0, 2.0, 1.5, True, "promoted: beats the champion"),
        (1.0, 2.0, 0.5, False, "not promoted: the champion is as good or better"),
        (3.0, 2.0, 5.0, False, "not promoted: it does not beat seasonal naive"),
    ],
    ids=[
        "first-beats-naive",
        "ties-naive",
        "beats-champion",
        "loses-to-champion",
        "loses-to-naive",
    ],
)
def test_promotion_rule(
    challenger: float, naive: float, champion: float | None, promote: bool, reason: str
) -> None:
    decision = decide_promotion(challenger, naive, champion)
    assert decision.promote is promote
    assert decision.reason.startswith(reason)
