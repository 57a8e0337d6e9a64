"""The backtest flow end to end: a real Prefect run, a real SQLite MLflow store, a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from flows.backtest import backtest_flow, experiment_name, metric_key
from forecasting.backtest import METHODS, METRICS
from forecasting_app.config import Config, load_config

pytestmark = pytest.mark.usefixtures("prefect_harness")

FOLDS = 3
_TINY = [
    "data.synthetic.kind=seasonal",
    "data.synthetic.length=240",
    "data.synthetic.trend=0.02",
    "data.synthetic.noise=0.05",
    "model.horizon=4",
    "model.input_width=12",
    "model.units=[4]",
    "train.epochs=2",
    f"evaluation.folds={FOLDS}",
]


def _config(tmp_path: Path, overrides: list[str]) -> Config:
    return load_config(
        None,
        [
            "name=backtest-test",
            f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
            f"tracking.artifact_location={tmp_path / 'artifacts'}",
            *overrides,
        ],
    )


def test_metric_keys() -> None:
    assert metric_key("model", "rmse") == "rmse"
    assert metric_key("seasonal_naive", "mase") == "seasonal_naive_mase"
    assert metric_key("naive", "mae", per_fold=True) == "fold_naive_mae"


def test_backtest_flow_logs_every_fold_and_the_summary(tmp_path: Path, mlflow_uri: str) -> None:
    config = _config(tmp_path, _TINY)
    payload = backtest_flow(config)

    # What the CLI writes: JSON-ready, with the run, the season and every fold.
    payload = json.loads(json.dumps(payload))
    assert list(payload) == [
        "run_id",
        "season_length",
        "folds",
        "summary",
        "fell_back",
        "served_by",
        "runner",
    ]
    assert len(payload["fell_back"]) == FOLDS
    assert all(set(f) >= {"fell_back", "served_by"} for f in payload["folds"])
    assert payload["runner"] == {"kind": "local", "address": None, "workers": 1}
    assert payload["season_length"] == 24
    assert [f["fold"] for f in payload["folds"]] == list(range(FOLDS))
    assert list(payload["summary"]) == list(METHODS)

    client = MlflowClient(tracking_uri=config.tracking.uri)
    run = client.get_run(payload["run_id"])
    assert run.info.status == "FINISHED"
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == experiment_name(config) == "backtest-test-backtest"
    assert run.data.params["evaluation.folds"] == str(FOLDS)
    assert run.data.params["model.horizon"] == "4"
    assert run.data.params["evaluation.season_length_used"] == "24"
    assert len(run.data.params["data.hash"]) == 16

    for method in METHODS:
        for metric in METRICS:
            history = client.get_metric_history(
                payload["run_id"], metric_key(method, metric, per_fold=True)
            )
            assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(FOLDS))
            by_step = {m.step: m.value for m in history}
            for fold in payload["folds"]:
                expected = fold["metrics"][method][metric]
                assert by_step[fold["fold"]] == pytest.approx(expected)
            summary = run.data.metrics[metric_key(method, metric)]
            assert summary == pytest.approx(payload["summary"][method][metric])

    artifacts = {a.path for a in client.list_artifacts(payload["run_id"], "figures")}
    assert artifacts == {
        "figures/backtest.png",
        "figures/backtest_forecasts.png",
        "figures/forecast.png",
    }
    # Nothing is registered: a backtest judges, it does not publish.
    assert client.search_registered_models() == []
