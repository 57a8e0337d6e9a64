"""Task runners: the backtest's folds and ensemble members on local threads, a real Dask cluster
and a real Ray."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner
from prefect_ray import RayTaskRunner

from flows.backtest import backtest_flow
from flows.runner import WORKER_ENV, describe, local_cluster, task_runner
from forecasting.backtest import METHODS, backtest
from forecasting_app.config import Config, ConfigError, RunnerConfig, load_config
from forecasting_app.sources import load_series
from forecasting_app.training import forecaster_from_config

SERIES, FOLDS = 4, 2
# A network that fits a fold in about a second: the test is about where folds run. Two
# ensemble members per fold: each fold's members run as tasks of their own too.
_TINY = [
    "data.synthetic.kind=seasonal",
    f"data.synthetic.n_series={SERIES}",
    "data.synthetic.length=120",
    "data.synthetic.seasonalities=[12]",
    "data.synthetic.noise=0.05",
    "data.synthetic.seed=3",
    "model.horizon=4",
    "model.input_width=12",
    "model.units=[4]",
    "model.members=2",
    "train.epochs=2",
    "train.seed=7",
    f"evaluation.folds={FOLDS}",
]


def _config(tmp_path: Path, *overrides: str) -> Config:
    return load_config(
        None,
        [
            "name=runners",
            f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
            f"tracking.artifact_location={tmp_path / 'artifacts'}",
            *_TINY,
            *overrides,
        ],
    )


def test_local_is_the_default_and_runs_one_task_at_a_time() -> None:
    config = RunnerConfig()
    assert describe(config) == {"kind": "local", "address": None, "workers": 1}
    assert task_runner(config) == ThreadPoolTaskRunner(max_workers=1)
    assert task_runner(RunnerConfig(workers=4)) == ThreadPoolTaskRunner(max_workers=4)


def test_a_started_dask_cluster_has_one_thread_per_worker() -> None:
    runner = task_runner(RunnerConfig(kind="dask", workers=3))
    assert isinstance(runner, DaskTaskRunner)
    assert runner.address is None
    assert runner.cluster_kwargs["n_workers"] == 3
    assert runner.cluster_kwargs["threads_per_worker"] == 1
    assert runner.cluster_kwargs["env"] == WORKER_ENV
    assert WORKER_ENV["TF_NUM_INTRAOP_THREADS"] == "1"
    assert runner.cluster_class == "flows.runner.local_cluster"


def _worker_environ() -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "TF_NUM_INTRAOP_THREADS")}


def test_a_started_dask_worker_keeps_glibcs_malloc_thresholds() -> None:
    """Dask's nanny would set MALLOC_TRIM_THRESHOLD_, which made each fold 65 % dearer."""
    from distributed import Client

    before = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    with (
        local_cluster(
            n_workers=1, threads_per_worker=1, dashboard_address=None, env=dict(WORKER_ENV)
        ) as cluster,
        Client(cluster) as client,
    ):
        (seen,) = client.run(_worker_environ).values()
    assert seen == {"MALLOC_TRIM_THRESHOLD_": before, "TF_NUM_INTRAOP_THREADS": "1"}


def test_an_address_points_at_an_existing_cluster() -> None:
    dask = task_runner(RunnerConfig(kind="dask", address="tcp://10.0.0.5:8786"))
    assert isinstance(dask, DaskTaskRunner)
    assert dask.address == "tcp://10.0.0.5:8786"
    ray = task_runner(RunnerConfig(kind="ray", address="ray://10.0.0.5:10001"))
    assert isinstance(ray, RayTaskRunner)
    assert ray.address == "ray://10.0.0.5:10001"


def test_ray_started_here_gets_workers_cpus_and_one_thread_each() -> None:
    ray = task_runner(RunnerConfig(kind="ray", workers=2))
    assert isinstance(ray, RayTaskRunner)
    assert ray.address is None
    assert ray.init_kwargs["num_cpus"] == 2
    assert ray.init_kwargs["runtime_env"] == {"env_vars": WORKER_ENV}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["runner.address=tcp://10.0.0.5:8786"],
            "`runner.address` names a Dask or Ray cluster; set `runner.kind` to 'dask' or "
            "'ray', or remove the address to run here",
        ),
        (["runner.kind=spark"], "`runner.kind`: Input should be 'local', 'dask' or 'ray'"),
        (["runner.workers=0"], "`runner.workers`: Input should be greater than or equal to 1"),
    ],
    ids=["address-without-cluster", "unknown-kind", "no-workers"],
)
def test_a_bad_runner_section_says_how_to_fix_it(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(None, overrides)


def _run(tmp_path: Path, *overrides: str) -> dict[str, Any]:
    payload = backtest_flow(_config(tmp_path, *overrides))
    return dict(json.loads(json.dumps(payload)))


def _metrics(payload: dict[str, Any]) -> dict[str, Any]:
    return {"folds": payload["folds"], "summary": payload["summary"]}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> dict[str, Any]:
    return _run(tmp_path_factory.mktemp("local"))


def test_local_flow_gives_the_in_process_backtest(local: dict[str, Any], tmp_path: Path) -> None:
    config = _config(tmp_path)
    frame = load_series(config.data)
    ev = config.evaluation
    plain = backtest(forecaster_from_config(config), frame, folds=ev.folds).to_dict()
    assert "runner" not in plain  # an in-process backtest ran on no task runner
    assert _metrics(local) == _metrics(plain)
    assert local["runner"] == {"kind": "local", "address": None, "workers": 1}
    assert [f["fold"] for f in local["folds"]] == list(range(FOLDS))
    assert list(local["summary"]) == list(METHODS)


def _run_command(tmp_path: Path, *overrides: str) -> str:
    """``forecast backtest --output`` as a user runs it: its own process, no Prefect server."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    sets = [
        "name=runners",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        f"tracking.artifact_location={tmp_path / 'artifacts'}",
        *_TINY,
        *overrides,
    ]
    out = tmp_path / "backtest.json"
    argv = ["backtest", "--config", str(empty), "--horizon", "4", "--output", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("forecast")), *argv]
        + [arg for item in sets for arg in ("--set", item)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("kind", ["dask", "ray"])
def test_a_cluster_gives_the_same_results_as_local(
    kind: str, local: dict[str, Any], tmp_path: Path
) -> None:
    overrides = (f"runner.kind={kind}", "runner.workers=2")
    if kind == "dask":
        # Through the command, which says what ran: its Dask workers are other processes,
        # so it runs a Prefect server for them (Prefect's ephemeral API is in-process only).
        printed = _run_command(tmp_path, *overrides)
        payload = json.loads((tmp_path / "backtest.json").read_text())
        address = payload["runner"]["address"]
        assert re.match(r"tcp://127\.0\.0\.1:\d+$", address), address
        assert f"runner      dask at {address}, 2 worker(s)" in printed.splitlines()
    else:
        payload = _run(tmp_path, *overrides)
        assert payload["runner"]["address"]
    assert payload["runner"]["kind"] == kind
    assert payload["runner"]["workers"] == 2  # counted on the cluster itself
    assert [f["origin"] for f in payload["folds"]] == [f["origin"] for f in local["folds"]]
    # Bit for bit: each fold is seeded, and one fold's fit runs alone wherever it runs.
    assert _metrics(payload) == _metrics(local)
