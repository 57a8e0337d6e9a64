"""Accuracy of the defaults on the real-series corpus, tuning and validation halves apart.

Every unit of :mod:`corpus` goes the way of
``forecast backtest --csv FILE --horizon H --folds K`` with every model setting left at the
package default: it is written to a CSV, read back with
:func:`forecasting.sources.load_series`, and backtested by
:func:`forecasting.training.backtest_from_config` (the CLI's own path), for ``--folds 1``
and ``--folds 3`` and three seeds. The last fold of a K-fold backtest is exactly the
1-fold backtest (same training points, same seed, and a CPU fit is deterministic), so one
3-fold backtest per seed gives both tables. The backtest scores the model, naive, seasonal naive,
AutoETS and AutoTheta (statsforecast) on the same folds; MASE is averaged over folds and
the series of a panel. Per unit, the model's MASE is the mean over seeds; the tables give
its ratio to seasonal naive, to ETS and to Theta (below 1: the model is better) and their
geometric means over the units of each half::

    .venv/bin/python benchmarks/accuracy.py --half tuning --jobs 2
    .venv/bin/python benchmarks/accuracy.py --half validation --jobs 2 --out results.json
    .venv/bin/python benchmarks/accuracy.py --half tuning --seeds 0 --set model.units=[64]

``--timing`` times the whole ``forecast backtest --folds 1`` command (a new process, in a
new folder) on a seeded 20,000-point hourly series against the library call inside it
(``backtest_from_config`` in-process, measured in the same run).

``--set key=value`` tries another setting against the same table (tuning half only: the
validation half is for reporting the chosen defaults). ``--folds`` and ``--seeds`` narrow the
protocol for quick comparisons; the published tables use the full one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus

METHODS = ("model", "naive", "seasonal_naive", "ets", "theta")
INTERVALS = ("coverage_80", "coverage_95", "msis")


def _threads(count: int) -> None:
    """Pin TensorFlow and BLAS to ``count`` threads (one per worker process)."""
    os.environ["OMP_NUM_THREADS"] = str(count)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(count)
    tf.config.threading.set_inter_op_parallelism_threads(count)


def run_one(
    name: str, folds: int, seed: int, overrides: Sequence[str], subsets: Sequence[int]
) -> list[dict[str, Any]]:
    """Backtest one unit as ``forecast backtest --csv`` would; MASE per method, seconds.

    One row per entry of ``subsets``: the MASE over the last ``k`` folds of the backtest,
    which is what ``--folds k`` measures.
    """
    from forecasting.config import load_config
    from forecasting.sources import load_series
    from forecasting.training import backtest_from_config

    unit = next(u for u in corpus.UNITS if u.name == name)
    frame = corpus.load(unit)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.csv"
        frame.to_csv(path, index=False)
        config = load_config(
            None,
            [
                "data.source=csv",
                f"data.path={path}",
                "data.id_col=series_id",
                f"model.horizon={unit.horizon}",
                f"evaluation.folds={folds}",
                f"train.seed={seed}",
                *overrides,
            ],
        )
        start = time.perf_counter()
        data = load_series(config.data)
        result = backtest_from_config(config, data)
        seconds = time.perf_counter() - start
    scores = result.scores
    rows = []
    for k in subsets:
        last = scores[scores["fold"] >= folds - k]
        means = last.groupby("method")[["mase", *INTERVALS]].mean()
        rows.append(
            {
                "unit": name,
                "half": corpus.half(name),
                "freq": unit.freq,
                "series": int(frame["series_id"].nunique()),
                "points": int(frame.groupby("series_id").size().min()),
                "folds": k,
                "seed": seed,
                "season": result.season_length,
                "width": int(result.model.input_width_),
                "fell_back": [bool(getattr(m, "fell_back_", False)) for m in result.fold_models],
                "mase": {m: float(means.loc[m, "mase"]) for m in METHODS if m in means.index},
                **{
                    key: {m: float(means.loc[m, key]) for m in METHODS if m in means.index}
                    for key in INTERVALS
                },
                "rows": len(last[last["method"] == "model"]),
                "seconds": round(seconds / folds * k, 2),
            }
        )
    return rows


def _job(args: tuple[str, int, int, tuple[str, ...], int, tuple[int, ...]]) -> list[dict[str, Any]]:
    name, folds, seed, overrides, threads, subsets = args
    _threads(threads)
    try:
        return run_one(name, folds, seed, overrides, subsets)
    except Exception as error:  # one unit's failure is a result too: report it, go on
        print(f"{name} seed={seed}: {type(error).__name__}: {error}", flush=True)
        return []


def _gmean(values: Sequence[float]) -> float:
    finite = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(map(math.log, finite)) / len(finite)) if finite else float("nan")


def table(rows: Sequence[dict[str, Any]], folds: int) -> tuple[str, dict[str, float]]:
    """Markdown table of one half and fold setting, and its headline figures."""
    units: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["folds"] == folds:
            units.setdefault(row["unit"], []).append(row)
    lines = [
        "| unit | freq | series × points | horizon | model MASE | seasonal naive | ETS | "
        "Theta | model / sn | model / ETS | model / Theta | seeds | s per fit |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    vs_sn, vs_ets, vs_theta, vs_best = [], [], [], []
    ets_sn, best_sn = [], []
    for name in sorted(units):
        runs = units[name]
        model = sum(r["mase"]["model"] for r in runs) / len(runs)
        base = runs[0]["mase"]
        sn, ets, theta = base["seasonal_naive"], base["ets"], base["theta"]
        vs_sn.append(model / sn)
        vs_ets.append(model / ets)
        vs_theta.append(model / theta)
        vs_best.append(model / min(ets, theta))
        ets_sn.append(ets / sn)
        best_sn.append(min(ets, theta) / sn)
        unit = next(u for u in corpus.UNITS if u.name == name)
        secs = sum(r["seconds"] for r in runs) / len(runs) / folds
        lines.append(
            f"| {name} | {unit.freq} | {runs[0]['series']} × {runs[0]['points']} | "
            f"{unit.horizon} | {model:.3f} | {sn:.3f} | {ets:.3f} | {theta:.3f} | "
            f"{model / sn:.3f} | {model / ets:.3f} | {model / theta:.3f} | {len(runs)} | "
            f"{secs:.1f} |"
        )
    n = len(vs_sn)
    headline = {
        "units": n,
        "beats_seasonal_naive": sum(v < 1 for v in vs_sn),
        "beats_ets": sum(v < 1 for v in vs_ets),
        "gmean_vs_seasonal_naive": _gmean(vs_sn),
        "gmean_vs_ets": _gmean(vs_ets),
        "gmean_vs_theta": _gmean(vs_theta),
        "gmean_vs_best_of_ets_theta": _gmean(vs_best),
        "ets_gmean_vs_seasonal_naive": _gmean(ets_sn),
        "ets_beats_seasonal_naive": sum(v < 1 for v in ets_sn),
        "hindsight_best_of_ets_theta_vs_seasonal_naive": _gmean(best_sn),
    }
    return "\n".join(lines), headline


def interval_table(rows: Sequence[dict[str, Any]], folds: int) -> tuple[str, dict[str, float]]:
    """Markdown table of interval calibration and sharpness for one half and fold setting.

    Coverage is pooled over the series, steps and folds of every unit (each unit weighs by
    its number of forecast points); MSIS (M4's mean scaled interval score at 95 %) is compared
    per unit, by geometric mean. Seed 0 only, so the figures are those of one fit per fold.
    """
    units = {
        r["unit"]: r
        for r in rows
        if r["folds"] == folds
        and r["seed"] == min(x["seed"] for x in rows if x["unit"] == r["unit"])
        and "msis" in r
    }
    lines = [
        "| unit | horizon | model cov. 80 | model cov. 95 | sn cov. 95 | ETS cov. 95 | "
        "model MSIS | sn MSIS | ETS MSIS | model / sn | model / ETS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    hits: dict[str, dict[str, float]] = {m: {"80": 0.0, "95": 0.0} for m in METHODS}
    points = 0.0
    vs_sn, vs_ets, ets_sn = [], [], []
    for name in sorted(units):
        row = units[name]
        unit = next(u for u in corpus.UNITS if u.name == name)
        weight = row["rows"] * unit.horizon
        points += weight
        for m in METHODS:
            for level in ("80", "95"):
                hits[m][level] += row[f"coverage_{level}"][m] * weight
        msis = row["msis"]
        vs_sn.append(msis["model"] / msis["seasonal_naive"])
        vs_ets.append(msis["model"] / msis["ets"])
        ets_sn.append(msis["ets"] / msis["seasonal_naive"])
        cov80, cov95 = row["coverage_80"], row["coverage_95"]
        lines.append(
            f"| {name} | {unit.horizon} | {cov80['model']:.1%} | {cov95['model']:.1%} | "
            f"{cov95['seasonal_naive']:.1%} | {cov95['ets']:.1%} | {msis['model']:.2f} | "
            f"{msis['seasonal_naive']:.2f} | {msis['ets']:.2f} | "
            f"{vs_sn[-1]:.3f} | {vs_ets[-1]:.3f} |"
        )
    headline: dict[str, float] = {"units": len(units)}
    for m in METHODS:
        for level in ("80", "95"):
            headline[f"{m}_coverage_{level}"] = hits[m][level] / points if points else math.nan
    headline["msis_gmean_vs_seasonal_naive"] = _gmean(vs_sn)
    headline["msis_gmean_vs_ets"] = _gmean(vs_ets)
    headline["ets_msis_gmean_vs_seasonal_naive"] = _gmean(ets_sn)
    return "\n".join(lines), headline


def timing(points: int = 20_000) -> dict[str, float]:
    """Seconds of the whole CLI command and of the library backtest inside it."""
    import subprocess

    from forecasting.config import load_config
    from forecasting.sources import load_series
    from forecasting.synthetic import generate_series
    from forecasting.training import backtest_from_config

    frame = generate_series(
        kind="seasonal", length=points, seasonalities=(24, 168), noise=0.3, trend=2e-4, seed=5
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hourly.csv"
        frame.drop(columns="series_id").to_csv(path, index=False)
        command = [
            str(Path(sys.executable).with_name("forecast")),
            "backtest",
            "--csv",
            str(path),
            "--horizon",
            "24",
            "--folds",
            "1",
            "--output",
            str(Path(tmp) / "backtest.json"),
        ]
        start = time.perf_counter()
        subprocess.run(command, cwd=tmp, check=True, capture_output=True)
        whole = time.perf_counter() - start
        summary = json.loads((Path(tmp) / "backtest.json").read_text())["summary"]
        config = load_config(None, ["data.source=csv", f"data.path={path}", "model.horizon=24"])
        start = time.perf_counter()
        backtest_from_config(config, load_series(config.data))
        library = time.perf_counter() - start
    figures = {
        "command_s": whole,
        "library_s": library,
        "ratio": whole / library,
        "model_mase": summary["model"]["mase"],
        "seasonal_naive_mase": summary["seasonal_naive"]["mase"],
    }
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tuning", "validation", "both"), default="tuning")
    parser.add_argument("--only", nargs="*", default=None, help="unit names")
    parser.add_argument("--folds", nargs="*", type=int, default=[1, 3])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--out", type=Path, help="write every run as JSON here")
    parser.add_argument("--timing", action="store_true", help="time a 20,000-point backtest")
    args = parser.parse_args(argv)
    if args.timing:
        timing()
        return 0
    if args.overrides and args.half != "tuning":
        parser.error("--set tries settings: only on the tuning half")
    units = [
        u.name
        for u in corpus.UNITS
        if (args.half == "both" or corpus.half(u.name) == args.half)
        and (args.only is None or u.name in args.only)
    ]
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    # Longest first, so the slow units do not finish last on one worker.
    sizes = {u.name: len(corpus.load(u)) for u in corpus.UNITS if u.name in units}
    subsets = tuple(sorted(args.folds))
    jobs = [
        (name, subsets[-1], seed, tuple(args.overrides), threads, subsets)
        for name in sorted(units, key=lambda n: -sizes[n])
        for seed in args.seeds
    ]
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for batch in pool.map(_job, jobs):
            rows.extend(batch)
            if args.out:  # every finished unit at once: a stopped run keeps what it measured
                args.out.write_text(json.dumps(rows, indent=1))
            for row in batch:
                print(
                    f"{row['unit']:22s} folds={row['folds']} seed={row['seed']} "
                    + " ".join(f"{m}={v:.3f}" for m, v in row["mase"].items())
                    + f" fell_back={row['fell_back']} {row['seconds']:.0f}s",
                    flush=True,
                )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    halves = ("tuning", "validation") if args.half == "both" else (args.half,)
    for name in halves:
        part = [r for r in rows if r["half"] == name]
        for folds in args.folds:
            text, headline = table(part, folds)
            print(f"\n### {name} half, --folds {folds}\n\n{text}\n")
            print(json.dumps({k: round(v, 3) for k, v in headline.items()}))
            text, headline = interval_table(part, folds)
            print(f"\n### {name} half, --folds {folds}, intervals\n\n{text}\n")
            print(json.dumps({k: round(v, 3) for k, v in headline.items()}))
    print(f"\n{len(rows)} backtests in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
