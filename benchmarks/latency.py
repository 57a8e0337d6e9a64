"""Rolling-forecast latency: a cold new process and a warm served one, against pyfunc + Keras.

*Cold* runs a new ``python -c`` process that does exactly what one scheduled forecast does:
import, resolve the ``champion`` alias in a SQLite MLflow store, load that version, forecast,
and write the forecast to a new SQLite forecast store. The parent times the whole process
(interpreter start to exit). The reference process does what serving the registered model
through MLflow and TensorFlow costs: ``import tensorflow``, ``mlflow.pyfunc.load_model(
"models:/<name>@champion")``, the bundled forecaster loaded with its Keras network, and a Keras
forecast; it writes nothing, so it is spared the store.

*Warm* starts one process per side that forecasts once (untimed), then times each further
scheduled run: resolve the champion, take the loaded version from the per-process cache,
forecast from a history one step later than the last run, and write the new rows. The
reference side does the same with the Keras network doing the forecast. The parent asks the
two processes for one run at a time, in turn, so that both meet the same load.

The champion is a small Forecaster fitted for one epoch on ``n_series`` synthetic series,
logged with :func:`forecasting.tracking.log_forecaster` and promoted to ``champion`` in a
temporary folder (:func:`setup_champion`).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Champion",
    "cold_code",
    "measure_cold",
    "measure_warm",
    "setup_champion",
    "warm_code",
]

NAME = "latency-bench"
HORIZON, INPUT_WIDTH, UNITS = 12, 48, (32, 32)
HISTORY = 96  # points of history per series in each forecast (two input widths)
_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
_HEAVY = ("tensorflow", "keras", "sklearn", "prefect")


@dataclass(frozen=True)
class Champion:
    """A registered champion and the histories the benchmarks forecast from."""

    folder: Path
    tracking_uri: str
    name: str
    n_series: int
    histories: dict[str, Path]  # CSVs: "1" and "all" (HISTORY points), "roll-1" and "roll-all"


def setup_champion(folder: Path, n_series: int = 1000, extra: int = 81, seed: int = 0) -> Champion:
    """Fit, log, register and promote a small Forecaster; write the history CSVs.

    Parameters
    ----------
    folder : Path
        An empty temporary folder: MLflow store, artifacts and CSVs go here.
    n_series : int
        Series the model is trained on (the batched run forecasts them all).
    extra : int
        Points beyond ``HISTORY`` kept per series, so warm runs can roll forward.
    seed : int
        Seed of the synthetic data and of the network.

    Returns
    -------
    Champion
    """
    from forecasting import Forecaster, tracking
    from forecasting.synthetic import generate_series

    frame = generate_series(
        kind="seasonal", n_series=n_series, length=HISTORY + extra, noise=0.05, seed=seed
    )
    forecaster = Forecaster(
        horizon=HORIZON,
        input_width=INPUT_WIDTH,
        units=UNITS,
        epochs=1,
        batch_size=512,
        validation_fraction=0.0,
        seed=seed,
        verbose=0,
    ).fit(frame.groupby("series_id").head(HISTORY + 24))  # enough to train on; quicker
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    tracking.configure(uri)
    first = frame[frame["series_id"] == frame["series_id"].iloc[0]]
    with tracking.start_run(NAME, str(folder / "artifacts")):
        version = tracking.log_forecaster(forecaster, NAME, first.tail(INPUT_WIDTH))
    tracking.promote(NAME, version, champion=True)
    histories = {}
    for key, part in (("1", first), ("all", frame)):
        histories[f"roll-{key}"] = folder / f"roll-{key}.csv"
        part.to_csv(histories[f"roll-{key}"], index=False)
        histories[key] = folder / f"history-{key}.csv"
        part.groupby("series_id").tail(HISTORY).to_csv(histories[key], index=False)
    return Champion(folder, uri, NAME, n_series, histories)


_OURS_COLD = """\
import pandas as pd
from forecasting import live, tracking
from forecasting.store import ForecastStore
tracking.configure({uri!r})
ref = tracking.resolve({name!r}, "champion")
model = tracking.load_version(ref.name, ref.version)
history = pd.read_csv({history!r}, parse_dates=["timestamp"])
forecast = model.predict(history)
rows = live.store_rows(forecast, history, ref.name, ref.version, ref.run_id, "model")
written = ForecastStore({store!r}).write_forecasts(rows)
"""

_REFERENCE_COLD = """\
import tensorflow
import mlflow
import pandas as pd
from forecasting.forecaster import Forecaster
mlflow.set_tracking_uri({uri!r})
mlflow.set_registry_uri({uri!r})
pyfunc_model = mlflow.pyfunc.load_model("models:/{name}@champion")
folder = pyfunc_model._model_impl.context.artifacts["forecaster"]
forecaster = Forecaster.load(folder)
network = forecaster.keras_model()
history = pd.read_csv({history!r}, parse_dates=["timestamp"])
forecast = forecaster.predictor_.predict(history, forward=network.predict_on_batch)
written = len(forecast)
"""

_REPORT = """\
import json, sys
print(json.dumps({{"rows": int(written), "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def cold_code(champion: Champion, side: str, series: int, store: Path) -> str:
    """The ``python -c`` program of one cold forecast (``side`` is ``ours`` or ``reference``)."""
    template = _OURS_COLD if side == "ours" else _REFERENCE_COLD
    history = champion.histories["1" if series == 1 else "all"]
    code = template.format(
        uri=champion.tracking_uri,
        name=champion.name,
        history=str(history),
        store=f"sqlite:///{store}",
    )
    return code + _REPORT.format(heavy=_HEAVY)


@dataclass(frozen=True)
class Sample:
    """One process: wall-clock seconds, CPU seconds (user + system) and what it printed."""

    wall: float
    cpu: float
    report: dict[str, Any]


def _run(code: str) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_ENV, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark process failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, cpu, json.loads(done.stdout.strip().splitlines()[-1]))


def measure_cold(
    champion: Champion,
    series: int,
    repeats: int,
    sides: tuple[str, ...] = ("ours", "reference"),
    warm_up: bool = True,
) -> dict[str, dict[str, Any]]:
    """Median wall and CPU seconds of cold forecast processes, the sides interleaved.

    With ``warm_up``, one untimed run of each side first warms the file cache (without it,
    the caller has read the same files just before). Every run writes to a new store.

    Returns
    -------
    dict
        Per side: ``wall`` and ``cpu`` (medians), ``walls`` (every run), ``rows`` and
        ``heavy`` (the heavy modules the process had imported).
    """
    samples: dict[str, list[Sample]] = {side: [] for side in sides}
    for repeat in range(repeats + warm_up):
        for side in sides:
            store = champion.folder / f"cold-{side}-{series}-{repeat}.db"
            sample = _run(cold_code(champion, side, series, store))
            if repeat or not warm_up:  # a warm-up run only fills the file cache
                samples[side].append(sample)
    return {side: _summary(found) for side, found in samples.items()}


def _summary(samples: list[Sample]) -> dict[str, Any]:
    return {
        "wall": statistics.median(s.wall for s in samples),
        "cpu": statistics.median(s.cpu for s in samples),
        "walls": [s.wall for s in samples],
        "rows": samples[-1].report["rows"],
        "heavy": samples[-1].report["heavy"],
    }


_WARM = """\
import json, sys, time
import pandas as pd
from forecasting import live, tracking
from forecasting.store import ForecastStore
tracking.configure({uri!r})
{load}
def scheduled_run(history, store):
    ref = tracking.resolve({name!r}, "champion")
    forecast = forecast_with(ref, history)
    rows = live.store_rows(forecast, history, ref.name, ref.version, ref.run_id, "model")
    return store.write_forecasts(rows)
runs, stores = {{}}, {{}}
for series, path, repeats in {histories!r}:
    full = pd.read_csv(path, parse_dates=["timestamp"])
    position = full.groupby("series_id").cumcount()
    runs[series] = [full[(position >= i) & (position < i + {n})] for i in range(repeats + 1)]
    stores[series] = ForecastStore("sqlite:///{folder}/warm-{side}-" + str(series) + ".db")
    scheduled_run(runs[series][0], stores[series])  # loads the model and connects: untimed
print("ready", flush=True)
for line in sys.stdin:  # "<series> <run>": time one scheduled run, report wall and CPU seconds
    series, i = map(int, line.split())
    start, cpu = time.perf_counter(), time.process_time()
    written = scheduled_run(runs[series][i], stores[series])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert written == series * {horizon}, written
    print(json.dumps([wall, cpu]), flush=True)
"""

_OURS_LOAD = """\
def forecast_with(ref, history):
    return tracking.load_version(ref.name, ref.version).predict(history)
"""

_REFERENCE_LOAD = """\
import functools
import mlflow
import tensorflow
from forecasting.forecaster import Forecaster
@functools.lru_cache(maxsize=1)
def keras_forecaster(name, version):
    pyfunc_model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    forecaster = Forecaster.load(pyfunc_model._model_impl.context.artifacts["forecaster"])
    return forecaster, forecaster.keras_model()
def forecast_with(ref, history):
    forecaster, network = keras_forecaster(ref.name, ref.version)
    return forecaster.predictor_.predict(history, forward=network.predict_on_batch)
"""


def warm_code(champion: Champion, side: str, runs: dict[int, int], folder: Path) -> str:
    """The program of one warm process; ``runs`` maps a number of series to its timed runs.

    It prepares every history, runs each size once untimed, prints ``ready``, then times one
    scheduled run per line ``<series> <run>`` read from stdin. Its forecast stores are created
    in ``folder``, which must not hold earlier ones.
    """
    keys = {1: "roll-1", champion.n_series: "roll-all"}
    return _WARM.format(
        uri=champion.tracking_uri,
        name=champion.name,
        load=_OURS_LOAD if side == "ours" else _REFERENCE_LOAD,
        histories=[(n, str(champion.histories[keys[n]]), count) for n, count in runs.items()],
        n=HISTORY,
        folder=str(folder),
        side=side,
        horizon=HORIZON,
    )


def measure_warm(
    champion: Champion, repeats: int, sides: tuple[str, ...] = ("ours", "reference")
) -> dict[str, dict[str, dict[str, float]]]:
    """Median seconds per warm scheduled run, for one series and for every series at once.

    One process per side, both started first; the parent then asks them for one run at a
    time, in turn, so that both sides meet the same load from other jobs. There are
    ``repeats`` runs of every series at once and four times as many of one series.

    Returns
    -------
    dict
        ``{side: {"1": {"wall": s, "cpu": s}, "<n_series>": {...}}}`` (medians).
    """
    runs = {1: 4 * repeats, champion.n_series: repeats}
    procs: dict[str, subprocess.Popen[str]] = {}
    logs = Path(tempfile.mkdtemp(prefix="warm-", dir=champion.folder))
    try:
        for side in sides:
            with (logs / f"{side}.log").open("w") as stderr:  # the child keeps its own copy
                procs[side] = subprocess.Popen(
                    [sys.executable, "-c", warm_code(champion, side, runs, logs)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                    env=_ENV,
                )
        for side, proc in procs.items():
            _reply(proc, logs / f"{side}.log")  # "ready"
        found: dict[str, dict[int, list[list[float]]]] = {s: {n: [] for n in runs} for s in sides}
        for n, count in runs.items():
            for i in range(1, count + 1):
                for side in sides if i % 2 else sides[::-1]:
                    proc = procs[side]
                    assert proc.stdin is not None
                    proc.stdin.write(f"{n} {i}\n")
                    proc.stdin.flush()
                    found[side][n].append(json.loads(_reply(proc, logs / f"{side}.log")))
    finally:
        for proc in procs.values():
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=60)
    return {
        side: {
            str(n): {
                "wall": statistics.median(t[0] for t in times),
                "cpu": statistics.median(t[1] for t in times),
            }
            for n, times in sizes.items()
        }
        for side, sizes in found.items()
    }


def _reply(proc: subprocess.Popen[str], log: Path) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=60)
        raise RuntimeError(f"warm benchmark process failed:\n{log.read_text()[-3000:]}")
    return line.strip()
