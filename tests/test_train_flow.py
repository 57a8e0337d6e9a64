"""The training flow end to end: real Prefect runs, a real SQLite MLflow store, tiny models."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import validate_serving_input
from mlflow.models.utils import convert_input_example_to_serving_input

from flows.train import train_flow
from forecasting.metrics import rmse
from forecasting.promotion import EvaluationSpec, is_judged
from forecasting.store import ForecastStore
from forecasting_app.config import Config, load_config
from forecasting_app.sources import load_series

pytestmark = pytest.mark.usefixtures("prefect_harness")

# A steep trend over a daily season: seasonal naive lags the trend by a whole season, so every
# model here beats it and the champion branch of the rule decides. The default network (a
# linear reference per window that it corrects) is far better than one that cannot learn
# (a learning rate of 1e-7) and has no reference to lean on (it stays near naive).
_DATA = [
    "data.synthetic.kind=seasonal",
    "data.synthetic.length=240",
    "data.synthetic.trend=0.1",
    "data.synthetic.noise=0.02",
    "model.horizon=4",
    "model.input_width=12",
    "model.units=[4]",
    "train.epochs=2",
]
_GOOD = [*_DATA, "train.learning_rate=0.01"]
_BAD = [*_DATA, "train.learning_rate=0.0000001", "model.residual=none"]

_REPO = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path, overrides: list[str], name: str = "flowtest") -> Config:
    return load_config(None, _overrides(tmp_path, overrides, name))


def _overrides(tmp_path: Path, overrides: list[str], name: str) -> list[str]:
    return [
        f"name={name}",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        f"tracking.artifact_location={tmp_path / 'artifacts'}",
        f"store.url=sqlite:///{tmp_path / 'forecasts.db'}",
        *overrides,
    ]


def _client(config: Config) -> MlflowClient:
    return MlflowClient(tracking_uri=config.tracking.uri, registry_uri=config.tracking.uri)


def _alias(client: MlflowClient, name: str, alias: str) -> str:
    return str(client.get_model_version_by_alias(name, alias).version)


def _tags(client: MlflowClient, name: str, version: str) -> dict[str, str]:
    return dict(client.get_model_version(name, version).tags)


def test_train_flow_logs_registers_promotes_and_reports(tmp_path: Path, mlflow_uri: str) -> None:
    """Three trainings that all beat seasonal naive: then the champion branch decides."""
    first = train_flow(_config(tmp_path, _BAD))
    config = _config(tmp_path, _GOOD)
    result = train_flow(config)
    worse = train_flow(_config(tmp_path, _BAD))

    client = _client(config)
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
    assert 1 <= len(losses) <= 2
    assert len(client.get_metric_history(result.run_id, "val_loss")) == len(losses)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "figures")}
    assert artifacts == {"figures/forecast.png", "figures/training_curves.png"}
    report = Path(result.report_uri)
    assert report.is_file() and report.suffix == ".html"
    assert "Version 2 promoted: beats the champion" in report.read_text()
    found = _prefect_artifacts("train-flowtest")
    assert found and found[0]["type"] == "markdown"
    assert "Version 3 not promoted" in str(found[0]["data"]) and "rmse" in str(found[0]["data"])

    # The first model that beats seasonal naive becomes champion.
    assert first.champion and first.version == "1"
    tags = _tags(client, config.name, "1")
    assert tags["decision"].startswith("promoted: first model to beat seasonal naive")
    assert tags["judged"] == "true" and tags["judged_against"] == "none"
    spec = EvaluationSpec.from_json(tags["evaluation_spec"])
    assert (spec.horizon, spec.series, spec.metric, len(spec.origins)) == (
        4,
        ("series",),
        "rmse",
        1,
    )

    # A better challenger replaces it, judged on the same spec: the champion re-scored on
    # the challenger's windows gets exactly the score its own backtest gave it.
    assert result.champion and result.version == "2"
    tags = _tags(client, config.name, "2")
    assert tags["decision"].startswith("promoted: beats the champion")
    assert float(tags["rmse"]) == pytest.approx(result.metrics["model"]["rmse"])
    assert tags["judged_against"] == "1" and tags["champion_compatible"] == "true"
    assert float(tags["champion_rmse"]) == pytest.approx(first.metrics["model"]["rmse"])
    assert tags["evaluation_spec"] == _tags(client, config.name, "1")["evaluation_spec"]
    if "ets" in result.metrics:
        beats = result.metrics["model"]["rmse"] < result.metrics["ets"]["rmse"]
        assert tags["beats_ets"] == str(beats).lower()

    # A worse one is registered, judged and made challenger; `champion` stays.
    assert worse.version == "3" and not worse.champion
    tags = _tags(client, config.name, "3")
    assert tags["decision"].startswith("not promoted: the champion is as good or better")
    assert tags["judged_against"] == "2"
    assert float(tags["champion_rmse"]) == pytest.approx(result.metrics["model"]["rmse"])
    assert _alias(client, config.name, "champion") == "2"
    assert _alias(client, config.name, "challenger") == "3"

    # The registered pyfunc forecasts from raw history.
    history = load_series(config.data)
    model = mlflow.pyfunc.load_model(f"models:/{config.name}@champion")
    raw = history.tail(30)
    forecast = model.predict(raw)
    assert list(forecast.columns) == [
        "series_id", "timestamp", "step", "value", "lo_80", "hi_80", "lo_95", "hi_95",
    ]  # fmt: skip
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


def test_horizon_change_and_incompatible_champions(tmp_path: Path, mlflow_uri: str) -> None:
    name = "flowtest"
    client = _client(_config(tmp_path, _BAD))
    two_step = train_flow(_config(tmp_path, [*_BAD, "model.horizon=2"]))
    assert two_step.champion

    # A longer horizon than the champion forecasts: incompatible, judged on baselines alone.
    longer = train_flow(_config(tmp_path, _BAD))
    tags = _tags(client, name, longer.version)
    assert tags["champion_compatible"] == "false" and tags["judged_against"] == two_step.version
    assert "it forecasts 2 step(s); the evaluation needs 4" in tags["champion_incompatible"]
    assert "champion_rmse" not in tags
    assert longer.champion and tags["decision"].startswith("promoted: beats seasonal naive")
    assert "the champion was not compared" in tags["decision"]

    # A shorter horizon: the 4-step champion is scored on its first 2 steps, from the
    # challenger's origin (2 points before the end), not from its own (4 points before).
    shorter = train_flow(_config(tmp_path, [*_GOOD, "model.horizon=2"]))
    tags = _tags(client, name, shorter.version)
    assert EvaluationSpec.from_json(tags["evaluation_spec"]).horizon == 2
    assert tags["champion_compatible"] == "true" and tags["judged_against"] == longer.version
    frame = load_series(_config(tmp_path, _GOOD).data)
    held = mlflow.pyfunc.load_model(f"models:/{name}/{longer.version}")
    predicted = held.predict(frame.iloc[:-2])["value"].to_numpy()[:2]
    expected = rmse(frame["value"].to_numpy()[-2:], predicted)
    assert float(tags["champion_rmse"]) == pytest.approx(expected, rel=1e-5)
    assert shorter.champion == (shorter.metrics["model"]["rmse"] < expected)

    # New series: the champion cannot forecast them; the training does not fail either.
    wider = train_flow(_config(tmp_path, [*_BAD, "data.synthetic.n_series=2"]))
    tags = _tags(client, name, wider.version)
    assert tags["champion_compatible"] == "false"
    assert "does not know the series ['series_0', 'series_1']" in tags["champion_incompatible"]
    assert wider.champion and _alias(client, name, "champion") == wider.version


def test_failure_after_registering_keeps_the_champion(
    tmp_path: Path, mlflow_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real failing step: the run's artifact folder already holds a folder `report.html`."""
    champion = train_flow(_config(tmp_path, _BAD))
    config = _config(tmp_path, _GOOD)  # a better model: it would be promoted
    client = _client(config)
    experiment = client.get_experiment_by_name(config.name)
    run = client.create_run(experiment.experiment_id)
    (Path(run.info.artifact_uri.removeprefix("file://")) / "report.html").mkdir(parents=True)
    monkeypatch.setenv("MLFLOW_RUN_ID", run.info.run_id)  # the flow's run resumes this one

    with pytest.raises(IsADirectoryError):
        train_flow(config)

    versions = client.search_model_versions(f"name='{config.name}'")
    assert [v.version for v in versions] == [int(champion.version)]
    assert _alias(client, config.name, "champion") == champion.version
    assert _alias(client, config.name, "challenger") == champion.version
    assert client.get_run(run.info.run_id).info.status == "FAILED"


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


# ----------------------------------------------------------- real processes
_TRAIN = """
import json, sys
from flows.train import train_flow
from forecasting_app.config import load_config
result = train_flow(load_config(None, json.loads(sys.argv[1])))
print(json.dumps({"version": result.version, "champion": result.champion}))
"""


def _training(tmp_path: Path, overrides: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``train_flow`` in a process of its own, on this session's Prefect server."""
    from prefect.settings import get_current_settings

    env = {
        **os.environ,
        "PREFECT_API_URL": str(get_current_settings().api.url),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    argv = json.dumps(_overrides(tmp_path, overrides, "flowtest"))
    return subprocess.Popen(
        [sys.executable, "-c", _TRAIN, argv],
        cwd=_REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def test_two_concurrent_trainings_end_with_the_better_model_as_champion(
    tmp_path: Path, mlflow_uri: str
) -> None:
    client = _client(_config(tmp_path, _GOOD))
    client.search_experiments()  # a store in use: its schema exists before both start
    logs = [tmp_path / "good.log", tmp_path / "bad.log"]
    processes = [
        _training(tmp_path, _GOOD, logs[0]),
        _training(tmp_path, _BAD, logs[1]),
    ]
    for process, log in zip(processes, logs, strict=True):
        assert process.wait(timeout=300) == 0, log.read_text(errors="replace")[-3000:]

    versions = client.search_model_versions("name='flowtest'")
    assert sorted(v.version for v in versions) == [1, 2]
    assert [m.name for m in client.search_registered_models()] == ["flowtest"]  # no lock model
    scores = {str(v.version): float(v.tags["rmse"]) for v in versions}
    assert all(is_judged(v.tags) for v in versions)
    best = min(scores, key=scores.__getitem__)
    assert _alias(client, "flowtest", "champion") == best
    other = next(v for v in scores if v != best)
    tags = _tags(client, "flowtest", other)
    # Whichever finished second was judged against the first: it either lost to it, or
    # it won and took its place.
    if tags["judged_against"] == best:
        assert tags["decision"].startswith("not promoted: the champion is as good or better")
    else:
        assert _tags(client, "flowtest", best)["judged_against"] == other


def test_sigkill_during_training_leaves_the_champion_and_no_judged_version(
    tmp_path: Path, mlflow_uri: str
) -> None:
    """The test holds the promotion lock, so the better model's training registers its version
    and then waits for the lock: killed there, it has moved no alias and tagged no verdict,
    however slow the machine. The next training removes the orphan and its run is KILLED."""
    config = _config(tmp_path, _BAD)
    champion = train_flow(config)
    client = _client(config)
    store = ForecastStore(config.store.url)
    process = _training(tmp_path, _GOOD, tmp_path / "killed.log")
    deadline = time.monotonic() + 240
    with store.promotion_lock(config.registered_model_name):
        watch = sqlite3.connect(f"file:{tmp_path / 'mlflow.db'}?mode=ro", uri=True, timeout=30)
        try:
            while watch.execute("SELECT COUNT(*) FROM model_versions").fetchone()[0] < 2:
                assert process.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the training registered nothing in time"
                time.sleep(0.01)
        finally:
            watch.close()
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    store.close()

    assert _alias(client, "flowtest", "champion") == champion.version
    assert _alias(client, "flowtest", "challenger") == champion.version
    orphan = client.get_model_version("flowtest", "2")
    assert not is_judged(orphan.tags) and "decision" not in orphan.tags
    assert not orphan.aliases

    # The next training is judged against the untouched champion, and removes the orphan.
    after = train_flow(_config(tmp_path, _GOOD))
    assert after.version == "3"
    assert _tags(client, "flowtest", "3")["judged_against"] == champion.version
    versions = sorted(v.version for v in client.search_model_versions("name='flowtest'"))
    assert versions == [1, 3]
    assert client.get_run(orphan.run_id).info.status == "KILLED"
    assert [m.name for m in client.search_registered_models()] == ["flowtest"]
