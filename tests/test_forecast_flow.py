"""The scheduled rolling forecast: real Prefect runs, MLflow registry, SQLite forecast store."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from flows.forecast import deployment, forecast_flow
from flows.train import train_flow
from forecasting import tracking
from forecasting.baselines import baseline_forecast, baseline_forecasts, best_baseline
from forecasting.metrics import mase
from forecasting.store import ForecastStore
from forecasting.synthetic import generate_series
from forecasting_app.config import Config, load_config
from forecasting_app.scheduled import run_forecast

pytestmark = pytest.mark.usefixtures("prefect_harness")

HORIZON = 4
_SERIES = generate_series(
    kind="seasonal", length=400, trend=0.02, noise=0.02, start="2024-01-01", freq="h", seed=3
)
_MODEL = [
    f"model.horizon={HORIZON}",
    "model.input_width=12",
    "model.units=[8]",
    "train.epochs=8",
    "train.learning_rate=0.01",
    # These tests follow the model and its fallback; the per-series choice has its own test.
    "forecast.selection=model",
]


def _write_csv(path: Path, n: int) -> None:
    _SERIES.iloc[:n][["timestamp", "value"]].to_csv(path, index=False)


def _config(tmp_path: Path, *extra: str) -> Config:
    return load_config(
        None,
        [
            "name=live",
            "data.source=csv",
            f"data.path={tmp_path / 'series.csv'}",
            f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
            f"tracking.artifact_location={tmp_path / 'artifacts'}",
            f"store.url=sqlite:///{tmp_path / 'forecasts.db'}",
            *_MODEL,
            *extra,
        ],
    )


def test_without_champion_each_series_gets_its_best_baseline(
    tmp_path: Path, mlflow_uri: str
) -> None:
    seasonal = _SERIES.iloc[:300][["timestamp", "value"]].assign(series_id="seasonal")
    level = seasonal.assign(series_id="level", value=np.r_[np.full(150, 5.0), np.full(150, 9.0)])
    pd.concat([seasonal, level]).to_csv(tmp_path / "series.csv", index=False)
    config = _config(tmp_path)
    result = forecast_flow(config)
    rows = ForecastStore(config.store.url).read_forecasts()
    assert len(rows) == 2 * HORIZON
    assert rows["run_id"].isna().all()
    for sid, part in (("seasonal", seasonal), ("level", level)):
        got = rows[rows["series_id"] == sid]
        history = part["value"].to_numpy()
        best = best_baseline(history, HORIZON, 24)
        assert set(got["method"]) == set(got["model_version"]) == {best}
        expected = baseline_forecast(best, history, HORIZON, 24)
        assert got["value"].to_numpy() == pytest.approx(expected)
    # A level shift is forecast exactly by naive: the simplest baseline wins the tie.
    assert set(rows[rows["series_id"] == "level"]["method"]) == {"naive"}
    assert result.model_version == result.method == ", ".join(sorted(set(rows["method"])))
    assert result.notes[0].startswith("no champion yet: each series forecast with its best")
    assert result.forecast["note"].str.startswith("no champion yet").all()


def test_a_series_the_champion_cannot_forecast_gets_a_baseline_the_rest_the_model(
    tmp_path: Path, mlflow_uri: str
) -> None:
    _write_csv(tmp_path / "series.csv", 300)
    config = _config(tmp_path, "train.epochs=1")
    trained = train_flow(config)
    tracking.promote(config.registered_model_name, trained.version, champion=True)
    known = _SERIES.iloc[:300][["timestamp", "value"]].assign(series_id="series")
    tiny = known.tail(5).assign(series_id="tiny")  # shorter than the input width of 12
    pd.concat([known, tiny]).to_csv(tmp_path / "series.csv", index=False)

    result = forecast_flow(config)
    rows = ForecastStore(config.store.url).read_forecasts()
    model_rows = rows[rows["series_id"] == "series"]
    assert len(model_rows) == HORIZON
    assert set(model_rows["method"]) == {"model"}
    assert set(model_rows["model_version"]) == {trained.version}
    assert model_rows[["lo_80", "hi_80", "lo_95", "hi_95"]].notna().all().all()
    fallback = rows[rows["series_id"] == "tiny"]
    best = best_baseline(tiny["value"].to_numpy(), HORIZON, 24)
    assert len(fallback) == HORIZON
    assert set(fallback["method"]) == set(fallback["model_version"]) == {best}
    assert fallback["run_id"].isna().all()
    _, bounds = baseline_forecast(best, tiny["value"].to_numpy(), HORIZON, 24, (80, 95))
    np.testing.assert_allclose(fallback["lo_95"], bounds[95][0])
    np.testing.assert_allclose(fallback["hi_80"], bounds[80][1])
    assert result.model_version == trained.version and result.method == "model"
    assert len(result.notes) == 1
    assert result.notes[0].startswith(f"series `tiny`: {best} instead; the model cannot forecast")
    assert "has 5 points" in result.notes[0]
    notes = result.forecast.set_index("series_id")["note"]
    assert notes.loc["series"].isna().all()
    assert notes.loc["tiny"].str.contains("the model needs the last 12").all()


def test_each_series_is_served_what_scores_best_on_its_own_last_horizon(
    tmp_path: Path, mlflow_uri: str
) -> None:
    seasonal = _SERIES.iloc[:300][["timestamp", "value"]].assign(series_id="seasonal")
    steps = np.random.default_rng(0).normal(0.0, 1.0, 300).cumsum()
    walk = seasonal.assign(series_id="walk", value=50.0 + steps)
    pd.concat([seasonal, walk]).to_csv(tmp_path / "series.csv", index=False)
    config = _config(tmp_path, "train.epochs=2", "forecast.selection=validation")
    trained = train_flow(config)
    tracking.promote(config.registered_model_name, trained.version, champion=True)

    run_forecast(config)
    rows = ForecastStore(config.store.url).read_forecasts()
    champion = tracking.load_version(config.registered_model_name, trained.version)
    served = set()
    for sid, part in (("seasonal", seasonal), ("walk", walk)):
        values = part["value"].to_numpy()
        # By hand: every candidate forecasts each of the last two horizons (the default
        # `evaluation.validation_windows`) from the points before it; the mean MASE decides.
        scores: dict[str, float] = {}
        for k in (1, 2):
            cut = len(values) - k * HORIZON
            past, window = values[:cut], values[cut : cut + HORIZON]
            model = champion.predict(part.iloc[:cut])["value"].to_numpy()
            stats = baseline_forecasts(
                ("ets", "theta", "arima", "stat_ensemble", "seasonal_naive"), past, HORIZON, 24
            )
            candidates = {
                "combination": np.median(
                    [model, stats["ets"][0], stats["theta"][0], stats["arima"][0]], axis=0
                ),
                "model": model,
                "stat_ensemble": stats["stat_ensemble"][0],
                "seasonal_naive": stats["seasonal_naive"][0],
            }
            for m, f in candidates.items():
                scores[m] = scores.get(m, 0.0) + mase(window, f, past, 24) / 2
        best = min(candidates, key=lambda m: scores[m])  # ties: the earlier candidate
        got = rows[rows["series_id"] == sid].sort_values("step")
        assert set(got["method"]) == {best}, scores
        served.add(best)
        # What is stored is the chosen method's forecast from the whole history.
        whole = champion.predict(part)["value"].to_numpy()
        full = baseline_forecasts(("ets", "theta", "arima", "stat_ensemble"), values, HORIZON, 24)
        final = {
            "combination": np.median(
                [whole, full["ets"][0], full["theta"][0], full["arima"][0]], axis=0
            ),
            "model": whole,
            "stat_ensemble": full["stat_ensemble"][0],
            "seasonal_naive": baseline_forecast("seasonal_naive", values, HORIZON, 24),
        }
        np.testing.assert_allclose(got["value"], final[best], rtol=1e-6)
        assert set(got["model_version"]) == (
            {trained.version} if best in ("model", "combination") else {best}
        )
        assert got[["lo_80", "hi_80", "lo_95", "hi_95"]].notna().all().all()


def test_rolling_forecasts_score_store_and_follow_the_champion(
    tmp_path: Path, mlflow_uri: str
) -> None:
    csv = tmp_path / "series.csv"
    _write_csv(csv, 300)
    config = _config(tmp_path)
    trained = train_flow(config)
    assert trained.champion, trained.decision
    store = ForecastStore(config.store.url)

    first = forecast_flow(config, output=str(tmp_path / "out.csv"))
    assert (first.model_version, first.method, first.rows_written) == ("1", "model", HORIZON)
    assert first.scored == 0
    rows = store.read_forecasts()
    assert list(rows["step"]) == [1, 2, 3, 4]
    assert (rows["origin"] == _SERIES["timestamp"].iloc[299]).all()
    assert list(rows["target_timestamp"]) == list(_SERIES["timestamp"].iloc[300:304])
    assert set(rows["run_id"]) == {trained.run_id}
    assert len(pd.read_csv(tmp_path / "out.csv")) == HORIZON

    # The same scheduled run again writes nothing new.
    again = forecast_flow(config)
    assert again.rows_written == 0
    assert len(store.read_forecasts()) == HORIZON

    # New actuals arrive: the first origin is scored, a second origin is forecast.
    _write_csv(csv, 304)
    second = forecast_flow(config)
    assert second.scored == HORIZON and second.rows_written == HORIZON
    assert len(store.origins()) == 2
    scores = store.read_scores()
    assert len(scores) == HORIZON
    actual = _SERIES["value"].iloc[300:304].to_numpy()
    assert scores["actual"].to_numpy() == pytest.approx(actual)
    assert list(second.realised["step"]) == [1, 2, 3, 4]

    client = MlflowClient(tracking_uri=config.tracking.uri)
    monitor = tracking.monitor_run(config.name, config.tracking.artifact_location)
    history = client.get_metric_history(monitor, "realised_rmse_step_1")
    assert len(history) == 1 and history[0].step == 2  # third run of the flow
    assert history[0].value == pytest.approx(abs(scores["error"].iloc[0]))
    assert len(client.get_metric_history(monitor, "forecast_rows")) == 3

    # An operator moves `champion` to another version: the next rows carry it.
    worse = train_flow(_config(tmp_path, "train.epochs=1", "train.learning_rate=0.0000001"))
    tracking.promote(config.registered_model_name, worse.version, champion=True)
    _write_csv(csv, 308)
    third = forecast_flow(config)
    assert third.model_version == worse.version == "2"
    latest = store.read_forecasts(model_name=config.name)
    assert set(latest[latest["origin"] == latest["origin"].max()]["model_version"]) == {"2"}


def test_degradation_is_flagged_and_can_retrain(tmp_path: Path, mlflow_uri: str) -> None:
    csv = tmp_path / "series.csv"
    _write_csv(csv, 300)
    config = _config(
        tmp_path, "forecast.degradation_factor=0.000001", "forecast.retrain_on_degradation=true"
    )
    train_flow(config)
    forecast_flow(config)
    _write_csv(csv, 304)
    result = forecast_flow(config)
    assert result.degraded
    assert result.degradation.startswith("degraded: realised RMSE")
    assert result.retrained
    assert result.notes[-1].startswith("retrained: version 2")


def test_unknown_model_uri_is_a_clear_error(tmp_path: Path, mlflow_uri: str) -> None:
    _write_csv(tmp_path / "series.csv", 300)
    config = _config(tmp_path)
    with pytest.raises(ValueError, match=r"`--model` models:/nope@champion: no such registered"):
        forecast_flow(config, model_uri="models:/nope@champion")
    assert ForecastStore(config.store.url).read_forecasts().empty


def test_schedule_is_readable_through_the_prefect_client(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client

    config = _config(tmp_path, "forecast.interval_seconds=90")
    deployment_id = deployment(config).apply()

    async def read() -> object:
        async with get_client() as client:
            return await client.read_deployment(deployment_id)

    stored = asyncio.run(read())
    schedules = stored.schedules  # type: ignore[attr-defined]
    assert len(schedules) == 1
    assert schedules[0].schedule.interval.total_seconds() == 90
    assert stored.parameters["config"]["name"] == "live"  # type: ignore[attr-defined]

    cron = _config(tmp_path, "forecast.cron='0 6 * * *'")
    cron_id = deployment(cron).apply()

    async def read_cron() -> object:
        async with get_client() as client:
            return await client.read_deployment(cron_id)

    assert asyncio.run(read_cron()).schedules[0].schedule.cron == "0 6 * * *"  # type: ignore[attr-defined]


@pytest.mark.slow
def test_serve_runs_the_forecast_on_its_schedule(tmp_path: Path) -> None:
    """`forecast serve` starts a Prefect server with its scheduler; a run lands in the store."""
    import signal
    import subprocess
    import sys
    import time

    _write_csv(tmp_path / "series.csv", 300)
    store_url = f"sqlite:///{tmp_path / 'forecasts.db'}"
    command = [
        str(Path(sys.executable).with_name("forecast")), "serve",
        "--csv", str(tmp_path / "series.csv"),
        "--set", "name=served", "--set", f"store.url={store_url}",
        "--set", f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        "--set", f"tracking.artifact_location={tmp_path / 'artifacts'}",
        "--set", "forecast.interval_seconds=10", "--horizon", str(HORIZON),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        rows = pd.DataFrame()
        while time.monotonic() < deadline and rows.empty and process.poll() is None:
            time.sleep(5)
            rows = ForecastStore(store_url).read_forecasts()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    assert len(rows) == HORIZON, (tmp_path / "serve.log").read_text()[-3000:]
    best = best_baseline(_SERIES["value"].to_numpy()[:300], HORIZON, 24)  # no champion yet
    assert set(rows["model_version"]) == set(rows["method"]) == {best}


def test_chunks_of_series_give_the_rows_of_one_batch(tmp_path: Path, mlflow_uri: str) -> None:
    """chunk_size=1 (each series a task, or one call after another without Prefect) writes
    the rows of the default single chunk, a series the model cannot forecast included."""
    panel = generate_series(
        kind="seasonal", n_series=3, length=300, trend=0.02, noise=0.02, freq="h", seed=5
    )
    panel.to_csv(tmp_path / "series.csv", index=False)
    trained = train_flow(_config(tmp_path, "train.epochs=1"))
    tracking.promote("live", trained.version, champion=True)
    tiny = panel[panel["series_id"] == "series_0"].tail(5).assign(series_id="tiny")
    pd.concat([panel, tiny]).to_csv(tmp_path / "series.csv", index=False)

    def rows(name: str, *extra: str, flow: bool = True) -> pd.DataFrame:
        config = _config(tmp_path, f"store.url=sqlite:///{tmp_path / name}", *extra)
        (forecast_flow if flow else run_forecast)(config)
        stored = ForecastStore(config.store.url).read_forecasts().drop(columns=["created_at"])
        return stored.sort_values(["series_id", "step"], ignore_index=True)

    whole = rows("whole.db")
    assert len(whole) == 4 * HORIZON
    assert set(whole[whole["series_id"] != "tiny"]["method"]) == {"model"}
    assert set(whole[whole["series_id"] == "tiny"]["method"]) != {"model"}
    pd.testing.assert_frame_equal(rows("tasks.db", "forecast.chunk_size=1"), whole)
    pd.testing.assert_frame_equal(rows("plain.db", "forecast.chunk_size=2", flow=False), whole)
