"""`forecast predict` as a whole command, against the library path inside it.

Three kinds of new process forecast one hourly series with the same registered champion
(``latency.setup_champion``: input width 48, horizon 12, LSTM 32-32), each into a new
SQLite forecast store, interleaved, after one untimed run of each (a warm file cache):

- **command**: ``forecast predict --csv history.csv ...``, the installed command: the
  config, the CSV validated, the champion resolved and loaded, the forecast, the store
  written, earlier forecasts scored, live accuracy and a figure logged to MLflow.
- **library**: the library path alone (``latency.cold_code``): import, resolve the
  champion, ``load_version``, ``predict``, ``store_rows`` and ``write_forecasts``.
- **flow**: the same steps as the Prefect flow ``forecast_flow`` in Prefect's ephemeral
  mode: the temporary Prefect server that ``forecast predict`` started before it ran the
  steps in its own process (``--no-flow`` leaves it out).

Every figure is the median over ``--repeats`` runs of wall-clock seconds from start to exit,
and of CPU seconds (user + system), which other jobs on a shared machine disturb less.

Run: ``.venv/bin/python benchmarks/bench_predict.py [--repeats 5] [--no-flow] [--json out]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import latency

_FLOW = """\
from flows.forecast import forecast_flow
from forecasting_app.config import load_config
forecast_flow(load_config(None, {overrides!r}))
"""


def _overrides(champion: latency.Champion, store: Path) -> list[str]:
    return [
        f"name={champion.name}",
        "data.source=csv",
        f"data.path={champion.histories['1']}",
        f"model.horizon={latency.HORIZON}",
        f"tracking.uri={champion.tracking_uri}",
        f"tracking.artifact_location={champion.folder / 'artifacts'}",
        f"store.url=sqlite:///{store}",
    ]


def _command(side: str, champion: latency.Champion, store: Path) -> list[str]:
    if side == "command":
        sets = [arg for o in _overrides(champion, store)[3:] for arg in ("--set", o)]
        return [
            str(Path(sys.executable).with_name("forecast")),
            "predict",
            "--csv",
            str(champion.histories["1"]),
            "--set",
            f"name={champion.name}",
            *sets,
        ]
    if side == "library":
        return [sys.executable, "-c", latency.cold_code(champion, "ours", 1, store)]
    return [sys.executable, "-c", _FLOW.format(overrides=_overrides(champion, store))]


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:2]} failed:\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(repeats: int, flow: bool) -> dict[str, Any]:
    """Median wall and CPU seconds per side; every run writes to a new store."""
    sides = ("command", "library", *(("flow",) if flow else ()))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        champion = latency.setup_champion(folder, n_series=1)
        env = {**latency._ENV, "PREFECT_HOME": str(folder / ".prefect")}
        env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
        runs: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        for repeat in range(repeats + 1):
            for side in sides:
                store = folder / f"{side}-{repeat}.db"
                sample = _run(_command(side, champion, store), folder, env)
                if repeat:  # the first round only warms the file cache
                    runs[side].append(sample)
    result: dict[str, Any] = {
        side: {
            "wall": statistics.median(w for w, _ in samples),
            "cpu": statistics.median(c for _, c in samples),
            "walls": [round(w, 3) for w, _ in samples],
        }
        for side, samples in runs.items()
    }
    result["ratio"] = result["command"]["wall"] / result["library"]["wall"]
    result["load"] = os.getloadavg()
    return result


def _table(result: dict[str, Any]) -> str:
    lib = result["library"]
    lines = [
        "| process | wall (median) | CPU (median) | wall / library |",
        "| --- | ---: | ---: | ---: |",
    ]
    names = {
        "command": "`forecast predict` (whole command)",
        "library": "library path (resolve, load, predict, store write)",
        "flow": "the same steps as a Prefect flow, ephemeral server",
    }
    for side, name in names.items():
        if side in result:
            r = result[side]
            lines.append(
                f"| {name} | {r['wall']:.2f} s | {r['cpu']:.2f} s | {r['wall'] / lib['wall']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side")
    parser.add_argument("--no-flow", action="store_true", help="leave out the Prefect flow")
    parser.add_argument("--json", metavar="FILE", help="also write every figure here")
    args = parser.parse_args()
    result = measure(args.repeats, flow=not args.no_flow)
    print(_table(result))
    print(f"\nload average during the run: {', '.join(f'{x:.1f}' for x in result['load'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
