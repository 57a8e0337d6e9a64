"""Scale-out: backtest folds on Prefect's local, Dask and Ray task runners; batched forecasts.

Two measurements, each printed and optionally written as JSON:

- **folds**: the same 4 backtest folds (8 series, one seeded LSTM fit of ``--epochs`` epochs
  of 60 batches per fold) as tasks ``flows.backtest.fit_fold`` on each runner: ``local``
  (one fold after another in this process), and a Dask ``LocalCluster`` and a local Ray
  instance of ``--workers`` one-thread workers. Every fold's fit is pinned to one thread
  (this process too), so the speedup is that of the runner, not of TensorFlow's own
  threads. By default each cluster is started once and its workers warmed (imports, the
  baselines' JIT) before the clock starts, as a team's long-lived cluster at
  ``runner.address`` would be, and this process is warmed the same way before ``local``;
  the start-up is reported apart. ``--cluster-per-run`` times what a command without
  ``runner.address`` waits for instead: the cluster's start, the workers' imports, the
  fits, the scoring and the results coming back. Each runner's scores must equal local's.
- **batch**: ``forecasting.inference.Predictor.predict``, the library's forecast path, on
  synthetic panels of 1k to 100k series (``input_width`` 48, horizon 12, LSTM 32-32, 96
  points of history each), as one call over the whole panel and as one call per chunk of
  ``--chunk`` series (what a fan-out over chunks of series runs on each worker): CPU and
  wall seconds (best of ``--repeats`` up to 10k series, one run above) and CPU microseconds
  per series. Linear growth is a flat cost per series.

The load average of the machine before and after each measurement is recorded, and for
the folds the CPU seconds of this process and its ended children (the workers): on a
shared machine other jobs take cores from the workers.

Run: ``.venv/bin/python benchmarks/bench_runners.py [--workers 2] [--json out.json]
[--skip folds|batch] [--sizes 1000,10000,100000] [--epochs 8] [--cluster-per-run]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flows.runner import WORKER_ENV

# Before TensorFlow is imported: this process's fits get one thread, like a worker's.
os.environ.update(WORKER_ENV)
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-runners-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import numpy as np
import pandas as pd

FOLDS, SERIES = 4, 8
_FOLD_CONFIG = [
    "name=bench-runners",
    "data.synthetic.kind=seasonal",
    f"data.synthetic.n_series={SERIES}",
    "data.synthetic.length=1200",
    "data.synthetic.noise=0.1",
    "data.synthetic.trend=0.01",
    "model.horizon=12",
    "model.input_width=48",
    "model.units=[32]",
    "train.max_steps_per_epoch=60",
    "train.seed=1",
    f"evaluation.folds={FOLDS}",
]


def _load() -> tuple[float, float, float]:
    return os.getloadavg()


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _fold_config(epochs: int) -> list[str]:
    return [*_FOLD_CONFIG, f"train.epochs={epochs}", f"train.patience={epochs}"]


def bench_folds(workers: int, kinds: list[str], epochs: int, long_lived: bool) -> dict[str, Any]:
    """Wall seconds of the 4 folds on each runner, and whether the scores match local's.

    With ``long_lived`` each cluster is started and its workers warmed before the clock
    starts (as a team's cluster at ``runner.address`` is), its start reported apart, and
    this process is warmed the same way before ``local`` runs; otherwise the task runner
    starts its own cluster inside the timing, as a command without ``runner.address`` does.
    """
    from prefect import flow, unmapped

    from flows.backtest import fit_fold
    from flows.runner import running_on, task_runner
    from forecasting.backtest import combine_folds, plan_folds
    from forecasting_app.config import load_config
    from forecasting_app.sources import load_series
    from forecasting_app.training import forecaster_from_config

    base = load_config(None, _fold_config(epochs))
    frame = load_series(base.data)
    ev = base.evaluation
    folds = plan_folds(forecaster_from_config(base), frame, ev.folds, ev.step, ev.window)
    out: dict[str, Any] = {
        "series": SERIES,
        "folds": FOLDS,
        "epochs": epochs,
        "workers": workers,
        "cluster": "long-lived, started and warmed before timing" if long_lived else "per run",
        "runs": {},
    }
    reference = None
    for kind in kinds:
        n = 1 if kind == "local" else workers
        overrides = [*_fold_config(epochs), f"runner.kind={kind}", f"runner.workers={n}"]
        with _cluster(kind, n, long_lived) as (address, started, cpu_now):
            if address:
                overrides.append(f"runner.address={address}")
            config = load_config(None, overrides)

            @flow(name="bench-folds", task_runner=task_runner(config.runner))
            def fan_out(config: Any = config) -> list[Any]:
                # The folds are the closure's, not flow parameters (Prefect caps those at 512 KB).
                return fit_fold.map(unmapped(forecaster_from_config(config)), folds).result()

            before, cpu = _load(), cpu_now()
            start = time.perf_counter()
            results = fan_out()
            wall = time.perf_counter() - start
            cpu = cpu_now() - cpu
            ran = running_on(config.runner)
        scores = combine_folds(results).scores
        if reference is None:
            reference = scores
        same = bool(scores.equals(reference))
        out["runs"][kind] = {
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 1),
            "ran": ran,
            "same_scores_as_first": same,
            "load_before": before,
            "load_after": _load(),
            **started,
        }
        print(
            f"folds  {kind:6} {wall:8.1f} s wall {cpu:7.1f} s CPU  {ran}  same scores: {same}"
            f"  load {before[0]:.2f} -> {_load()[0]:.2f}  {started}",
            flush=True,
        )
    local = out["runs"].get("local", {}).get("wall_s")
    if local:
        for run in out["runs"].values():
            run["ratio_to_local"] = round(run["wall_s"] / local, 3)
    return out


@contextmanager
def _cluster(
    kind: str, workers: int, long_lived: bool
) -> Iterator[tuple[str | None, dict[str, Any], Callable[[], float]]]:
    """A cluster started (and its workers warmed) before the clock, or none.

    Yields the address for ``runner.address`` (``None``: the runner starts its own, or
    ``local``), the start-up figures, measured apart from the folds, and a clock of CPU
    seconds: this process and its ended children, plus a long-lived Dask cluster's workers
    (a long-lived Ray's workers are not counted).
    """
    if not long_lived:
        yield None, {}, _cpu
        return
    start, load = time.perf_counter(), _load()
    if kind == "local":
        warm = [_warm_worker()]
        yield None, {"warm_s": round(time.perf_counter() - start, 1), "warm": warm}, _cpu
        return
    if kind == "dask":
        from distributed import Client

        from flows.runner import local_cluster

        with (
            local_cluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env=dict(WORKER_ENV),
            ) as cluster,
            Client(cluster) as client,
        ):
            started = time.perf_counter() - start
            warm = list(client.run(_warm_worker).values())

            def cpu() -> float:
                return _cpu() + sum(client.run(_own_cpu).values())

            yield str(cluster.scheduler_address), _started(start, started, warm, load), cpu
        return
    import ray

    context = ray.init(
        num_cpus=workers,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": dict(WORKER_ENV)},
    )
    try:
        started = time.perf_counter() - start
        # prefect-ray's runner uses the Ray already initialised in this process. One Prefect
        # task per CPU at once, each held a moment, warms the worker processes that the
        # folds' tasks will run in.
        address = str(context.address_info["gcs_address"])
        warm = _warm_on(address, workers)
        yield address, _started(start, started, warm, load), _cpu
    finally:
        ray.shutdown()


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _started(
    start: float, started: float, warm: list[dict[str, float]], load: tuple[float, ...]
) -> dict[str, Any]:
    return {
        "cluster_start_s": round(started, 1),
        "start_and_warm_s": round(time.perf_counter() - start, 1),
        "warm": warm,
        "load_at_start": load,
    }


def _warm_on(address: str, workers: int) -> list[dict[str, float]]:
    from prefect import flow, task
    from prefect_ray import RayTaskRunner

    warm_task = task(name="warm")(_warm_and_hold)

    @flow(name="bench-warm", task_runner=RayTaskRunner(address=address))
    def warm_flow() -> list[dict[str, float]]:
        futures = [warm_task.submit() for _ in range(workers)]
        return [future.result() for future in futures]

    return warm_flow()


def _warm_and_hold() -> dict[str, float]:
    out = _warm_worker()
    time.sleep(2)
    return out


def _warm_worker() -> dict[str, float]:
    """What a fresh worker pays before its first fold: imports and the baselines' JIT."""
    wall, cpu = time.perf_counter(), time.process_time()
    import keras  # noqa: F401
    import prefect  # noqa: F401

    from flows.backtest import fit_fold  # noqa: F401
    from forecasting.backtest import backtest_fold  # noqa: F401
    from forecasting.baselines import BASELINES, baseline_forecast

    imported = time.process_time() - cpu
    history = np.sin(np.arange(200) * 2 * np.pi / 24) + 5
    for method in BASELINES:
        baseline_forecast(method, history, 12, 24)
    return {
        "import_cpu_s": round(imported, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "wall_s": round(time.perf_counter() - wall, 1),
    }


def bench_worker_start(workers: int) -> dict[str, Any]:
    """Wall seconds to start a Dask ``LocalCluster`` and warm each worker, and their CPU."""
    from distributed import Client

    from flows.runner import local_cluster

    start = time.perf_counter()
    with (
        local_cluster(
            n_workers=workers,
            threads_per_worker=1,
            dashboard_address=None,
            env=dict(WORKER_ENV),
        ) as cluster,
        Client(cluster) as client,
    ):
        started = time.perf_counter() - start
        warm = client.run(_warm_worker)
    out = {
        "cluster_start_wall_s": round(started, 1),
        "start_and_warm_wall_s": round(time.perf_counter() - start, 1),
        "workers": list(warm.values()),
        "load": _load(),
    }
    print(f"start  dask {workers} workers: {out}", flush=True)
    return out


def _panel(n_series: int, length: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_series`` daily-seasonal hourly series of ``length`` points, in long format."""
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, size=(n_series, 1))
    level = rng.uniform(5, 50, size=(n_series, 1))
    values = (
        level + np.sin(2 * np.pi * t / 24 + phase) + 0.1 * rng.standard_normal((n_series, length))
    )
    ids = np.array([f"s{i:06d}" for i in range(n_series)], dtype=object)
    stamps = pd.date_range("2024-01-01", periods=length, freq="h")
    return pd.DataFrame(
        {
            "series_id": np.repeat(ids, length),
            "timestamp": np.tile(stamps.to_numpy(), n_series),
            "value": values.reshape(-1),
        }
    )


def _timed(call: Any, *args: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = call(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, out


def _linear(n: np.ndarray, seconds: np.ndarray) -> dict[str, float]:
    slope, intercept = np.polyfit(n, seconds, 1)
    fitted = slope * n + intercept
    r2 = 1 - ((seconds - fitted) ** 2).sum() / ((seconds - seconds.mean()) ** 2).sum()
    return {
        "us_per_series": round(float(slope * 1e6), 2),
        "fixed_s": round(float(intercept), 4),
        "r2": round(float(r2), 5),
    }


def bench_batch(sizes: list[int], repeats: int, chunk: int) -> dict[str, Any]:
    """CPU and wall seconds of ``Predictor.predict`` per panel size: one call, and per chunk."""
    from forecasting import Forecaster
    from forecasting.synthetic import generate_series

    train = generate_series(kind="seasonal", n_series=4, length=600, noise=0.1, seed=0)
    model = Forecaster(
        horizon=12, input_width=48, units=(32, 32), epochs=1, max_steps_per_epoch=20, verbose=0
    ).fit(train)
    predictor = model.predictor_
    rng = np.random.default_rng(0)
    length = 96
    predictor.predict(_panel(chunk, length, rng))  # warm: first-call costs are not per series
    rows = []
    for n in sizes:
        panel = _panel(n, length, rng)
        chunks = [panel.iloc[i * length : (i + chunk) * length] for i in range(0, n, chunk)]
        before = _load()
        best: dict[str, tuple[float, float]] = {}
        for _ in range(repeats if n <= 10_000 else 1):
            wall, cpu, forecast = _timed(predictor.predict, panel)
            assert len(forecast) == 12 * n and np.isfinite(forecast["value"]).all()
            best["one_call"] = min(best.get("one_call", (wall, cpu)), (wall, cpu))
            wall, cpu, parts = _timed(lambda cs: [predictor.predict(c) for c in cs], chunks)
            assert sum(len(p) for p in parts) == 12 * n
            best["chunks"] = min(best.get("chunks", (wall, cpu)), (wall, cpu))
        row: dict[str, Any] = {"series": n, "load_before": before}
        for how, (wall, cpu) in best.items():
            row[how] = {
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "cpu_us_per_series": round(cpu / n * 1e6, 1),
            }
        rows.append(row)
        print(
            f"batch  {n:>7} series  one call {best['one_call'][1] / n * 1e6:7.1f} µs/series CPU"
            f"  in chunks of {chunk} {best['chunks'][1] / n * 1e6:7.1f} µs/series CPU",
            flush=True,
        )
    n_arr = np.array(sizes, dtype=float)
    out: dict[str, Any] = {"chunk": chunk, "history_points": length, "rows": rows}
    for how in ("one_call", "chunks"):
        per = [r[how]["cpu_us_per_series"] for r in rows]
        out[f"{how}_largest_over_smallest"] = round(per[-1] / per[0], 3)
        out[f"{how}_linear_fit_cpu"] = _linear(n_arr, np.array([r[how]["cpu_s"] for r in rows]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kinds", default="local,dask,ray")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of 60 batches per fold")
    parser.add_argument(
        "--cluster-per-run",
        action="store_true",
        help="let each runner start its cluster inside the timing (default: a long-lived "
        "cluster started and warmed before, at runner.address, its start reported apart)",
    )
    parser.add_argument("--sizes", default="1000,3000,10000,30000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=2000, help="series per predict call")
    parser.add_argument("--skip", choices=["folds", "batch"])
    parser.add_argument(
        "--startup-only",
        action="store_true",
        help="only the cost of starting and warming a local Dask cluster's workers",
    )
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if args.startup_only:
        report["startup"] = bench_worker_start(args.workers)
        print(json.dumps(report, indent=2, default=str))
        return 0
    if args.skip != "batch":
        sizes = [int(s) for s in args.sizes.split(",")]
        report["batch"] = bench_batch(sizes, args.repeats, args.chunk)
    if args.skip != "folds":
        from flows.server import prefect_server

        # The workers are other processes: they need a Prefect API that is not in-process.
        log = Path(os.environ["PREFECT_HOME"]) / "server.log"
        with prefect_server(log):
            report["folds"] = bench_folds(
                args.workers, args.kinds.split(","), args.epochs, not args.cluster_per_run
            )
    text = json.dumps(report, indent=2, default=str)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
