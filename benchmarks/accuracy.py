"""Accuracy of the defaults on the real-series corpus, tuning and validation halves apart.

Every unit of :mod:`corpus` goes the way of
``forecast backtest --csv FILE --horizon H --folds K`` with every model setting left at the
package default: it is written to a CSV, read back with
:func:`forecasting_app.sources.load_series`, and backtested by
:func:`forecasting_app.training.backtest_from_config` (the CLI's own path), for ``--folds 1``
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

``--timing --set key=value`` times the command with that setting (both runs get it).

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

METHODS = (
    "model",
    "reference",
    "naive",
    "seasonal_naive",
    "ets",
    "theta",
    "stat_ensemble",
    "combination",
    "served",
)
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
    from forecasting_app.config import load_config
    from forecasting_app.sources import load_series
    from forecasting_app.training import backtest_from_config

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
                "seasonal": corpus.is_seasonal(unit),
                "fell_back": result.fell_back[folds - k :],
                "served_by": {
                    str(m): int(n) for m, n in last["served_by"].dropna().value_counts().items()
                },
                # Per fold, series and method: MASE after the origin, and on each validation
                # window before it, so that other choices can be judged on the same fits.
                "detail": [
                    [int(r.fold), str(r.series_id), str(r.method), _round(r.mase)]
                    for r in last.itertuples()
                    if r.method != "served"
                ],
                "validation": [
                    [
                        int(r.fold),
                        str(r.series_id),
                        str(r.method),
                        int(r.window),
                        _round(r.validation_mase),
                    ]
                    for r in result.validation.itertuples()
                    if int(r.fold) >= folds - k
                ],
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


def _round(value: Any) -> float | None:
    number = float(value)
    return round(number, 5) if math.isfinite(number) else None


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


def _unit_means(rows: Sequence[dict[str, Any]], folds: int) -> dict[str, dict[str, Any]]:
    """Per unit: its MASE per method, each the mean over the seeds that ran it."""
    units: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["folds"] == folds:
            units.setdefault(row["unit"], []).append(row)
    out = {}
    for name, runs in units.items():
        methods = set.intersection(*(set(r["mase"]) for r in runs))
        if any(runs[0]["mase"].get(m, 1.0) <= 0 for m in ("seasonal_naive", "ets", "reference")):
            print(f"{name}: a baseline forecast it exactly (MASE 0); left out of the ratios")
            continue
        out[name] = {
            "runs": runs,
            "mase": {m: sum(r["mase"][m] for r in runs) / len(runs) for m in methods},
        }
    return out


def table(rows: Sequence[dict[str, Any]], folds: int) -> tuple[str, dict[str, float]]:
    """Markdown table of one half and fold setting, and its headline figures.

    ``served`` is what the scheduled forecast serves (the per-series choice); ``model`` the
    network with its reference, ``reference`` the reference alone; ratios below 1 favour
    the first named.
    """
    units = _unit_means(rows, folds)
    lines = [
        "| unit | freq | seasonal | series × points | horizon | served | model | reference | "
        "seasonal naive | ETS | stat. ens. | served / sn | served / ETS | served / stat. ens. | "
        "model / ETS | model / reference | served by | seeds | s per fit |",
        "| --- | --- | :---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
        "---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    ratios: dict[str, list[float]] = {
        k: []
        for k in (
            "served_sn",
            "served_ets",
            "served_ens",
            "model_sn",
            "model_ets",
            "model_ens",
            "model_ref",
            "ets_sn",
            "ens_sn",
            "served_worst",
        )
    }
    for name in sorted(units):
        runs, m = units[name]["runs"], units[name]["mase"]
        served, model, ref = m["served"], m["model"], m.get("reference", math.nan)
        sn, ets, ens = m["seasonal_naive"], m["ets"], m["stat_ensemble"]
        for key, value in (
            ("served_sn", served / sn),
            ("served_ets", served / ets),
            ("served_ens", served / ens),
            ("model_sn", model / sn),
            ("model_ets", model / ets),
            ("model_ens", model / ens),
            ("model_ref", model / ref),
            ("ets_sn", ets / sn),
            ("ens_sn", ens / sn),
            ("served_worst", served / min(sn, ets)),
        ):
            ratios[key].append(value)
        counts: dict[str, int] = {}
        for r in runs:
            for method, n in r.get("served_by", {}).items():
                counts[method] = counts.get(method, 0) + n
        by = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        unit = next(u for u in corpus.UNITS if u.name == name)
        secs = sum(r["seconds"] for r in runs) / len(runs) / folds
        lines.append(
            f"| {name} | {unit.freq} | {'yes' if corpus.is_seasonal(unit) else ''} | "
            f"{runs[0]['series']} × {runs[0]['points']} | {unit.horizon} | {served:.3f} | "
            f"{model:.3f} | {ref:.3f} | {sn:.3f} | {ets:.3f} | {ens:.3f} | {served / sn:.3f} | "
            f"{served / ets:.3f} | {served / ens:.3f} | {model / ets:.3f} | {model / ref:.3f} | "
            f"{by} | {len(runs)} | {secs:.1f} |"
        )
    headline: dict[str, float] = {
        "units": len(units),
        "served_beats_seasonal_naive": sum(v < 1 for v in ratios["served_sn"]),
        "model_beats_seasonal_naive": sum(v < 1 for v in ratios["model_sn"]),
        "ets_beats_seasonal_naive": sum(v < 1 for v in ratios["ets_sn"]),
        "worst_served_vs_better_of_sn_ets": max(ratios["served_worst"], default=math.nan),
    }
    for key, values in ratios.items():
        if key != "served_worst":
            headline[f"gmean_{key}"] = _gmean(values)
    return "\n".join(lines), headline


def frequency_table(rows: Sequence[dict[str, Any]], folds: int) -> str:
    """Geometric means per frequency (and over the strongly seasonal units) of one half."""
    units = _unit_means(rows, folds)
    groups: dict[str, list[str]] = {}
    for name in units:
        unit = next(u for u in corpus.UNITS if u.name == name)
        groups.setdefault(unit.freq, []).append(name)
        if corpus.is_seasonal(unit):
            groups.setdefault("strongly seasonal", []).append(name)
    groups["all"] = list(units)
    lines = [
        "| frequency | units | served / sn | served / ETS | served / stat. ens. | "
        "model / sn | model / ETS | model / reference | served beats sn |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    order = [*HORIZON_ORDER, "strongly seasonal", "all"]
    for freq in sorted(groups, key=lambda f: order.index(f) if f in order else len(order)):
        names = groups[freq]
        m = [units[n]["mase"] for n in names]
        lines.append(
            f"| {freq} | {len(names)} | "
            f"{_gmean([x['served'] / x['seasonal_naive'] for x in m]):.3f} | "
            f"{_gmean([x['served'] / x['ets'] for x in m]):.3f} | "
            f"{_gmean([x['served'] / x['stat_ensemble'] for x in m]):.3f} | "
            f"{_gmean([x['model'] / x['seasonal_naive'] for x in m]):.3f} | "
            f"{_gmean([x['model'] / x['ets'] for x in m]):.3f} | "
            f"{_gmean([x['model'] / x.get('reference', math.nan) for x in m]):.3f} | "
            f"{sum(x['served'] < x['seasonal_naive'] for x in m)} of {len(m)} |"
        )
    return "\n".join(lines)


HORIZON_ORDER = list(corpus.HORIZONS)


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
    interval_methods = [m for m in METHODS if m != "reference"]
    hits: dict[str, dict[str, float]] = {m: {"80": 0.0, "95": 0.0} for m in interval_methods}
    points = 0.0
    vs_sn, vs_ets, ets_sn = [], [], []
    for name in sorted(units):
        row = units[name]
        unit = next(u for u in corpus.UNITS if u.name == name)
        weight = row["rows"] * unit.horizon
        points += weight
        for m in interval_methods:
            for level in ("80", "95"):
                hits[m][level] += row[f"coverage_{level}"].get(m, math.nan) * weight
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
    for m in interval_methods:
        for level in ("80", "95"):
            headline[f"{m}_coverage_{level}"] = hits[m][level] / points if points else math.nan
    headline["msis_gmean_vs_seasonal_naive"] = _gmean(vs_sn)
    headline["msis_gmean_vs_ets"] = _gmean(vs_ets)
    headline["ets_msis_gmean_vs_seasonal_naive"] = _gmean(ets_sn)
    return "\n".join(lines), headline


def timing(points: int = 20_000, overrides: Sequence[str] = ()) -> dict[str, float]:
    """Seconds of the whole CLI command and of the library backtest inside it.

    ``overrides`` (``key=value``) go to both, as ``--set`` to the command.
    """
    import subprocess

    from forecasting.synthetic import generate_series
    from forecasting_app.config import load_config
    from forecasting_app.sources import load_series
    from forecasting_app.training import backtest_from_config

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
            *[arg for item in overrides for arg in ("--set", item)],
        ]
        start = time.perf_counter()
        subprocess.run(command, cwd=tmp, check=True, capture_output=True)
        whole = time.perf_counter() - start
        summary = json.loads((Path(tmp) / "backtest.json").read_text())["summary"]
        config = load_config(
            None, ["data.source=csv", f"data.path={path}", "model.horizon=24", *overrides]
        )
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


def _print_tables(
    rows: Sequence[dict[str, Any]], halves: Sequence[str], folds_list: Sequence[int]
) -> None:
    for name in halves:
        if not any(r["half"] == name for r in rows):
            continue
        part = [r for r in rows if r["half"] == name]
        for folds in folds_list:
            text, headline = table(part, folds)
            print(f"\n### {name} half, --folds {folds}\n\n{text}\n")
            print(json.dumps({k: round(v, 3) for k, v in headline.items()}))
            print(f"\n### {name} half, --folds {folds}, per frequency\n")
            print(frequency_table(part, folds) + "\n")
            text, headline = interval_table(part, folds)
            print(f"\n### {name} half, --folds {folds}, intervals\n\n{text}\n")
            print(json.dumps({k: round(v, 3) for k, v in headline.items()}))


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
    parser.add_argument("--tables", type=Path, help="print the tables of an --out JSON only")
    args = parser.parse_args(argv)
    if args.timing:
        timing(overrides=args.overrides)
        return 0
    if args.tables:
        _print_tables(json.loads(args.tables.read_text()), ("tuning", "validation"), args.folds)
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
    _print_tables(rows, halves, args.folds)
    print(f"\n{len(rows)} backtests in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
