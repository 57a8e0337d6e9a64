"""Backtest the default settings on real public series and on synthetic hourly and daily ones.

Each series goes the way of ``forecast backtest --csv FILE --horizon H --folds K``: it is
written to a CSV, read back with :func:`forecasting.sources.load_series`, and evaluated with
the forecaster of ``load_config(None, overrides)`` where the overrides name only the data, the
horizon and the folds, so every model setting is the package default. ``--set key=value``
adds overrides, to try other settings against the same table.

The real series are bundled with statsmodels (loaded at run time, never copied here)::

    co2       weekly Mauna Loa CO2, 1958-2001 (gaps interpolated)    trend + yearly season
    sunspots  yearly sunspot numbers, 1700-2008                      ~11-year cycle, no season
    nile      yearly Nile flow at Aswan, 1871-1970 (100 points)      level shift, no season
    elnino    monthly sea surface temperature, 1950-2010             yearly season
    realgdp   quarterly US real GDP, 1959-2009                       trend
    unemp     quarterly US unemployment rate, 1959-2009              cycles, no trend

statsmodels bundles no hourly or daily series, so seeded synthetic ones stand in: hourly with
daily and weekly seasons, daily with weekly and yearly seasons, each with and without trend,
long and short, with Gaussian noise.

Horizons follow the frequency (a useful lead time that keeps several folds inside the short
series): weekly 12, monthly 12, quarterly 8, yearly 5, daily 14, hourly 24. Three folds step
back one horizon each, so every series is judged on its last ``3 * horizon`` points and no
single lucky or unlucky origin decides. MASE is averaged over folds; the ratio divides the
model's MASE by seasonal naive's (below 1 beats seasonal naive)::

    .venv/bin/python benchmarks/real_series.py [--only co2 nile] [--set model.units=[64]]
    .venv/bin/python benchmarks/real_series.py --timing   # one 20,000-point hourly series, folds=1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from forecasting.config import load_config
from forecasting.sources import load_series
from forecasting.training import backtest_from_config

HORIZONS = {"W": 12, "MS": 12, "QS": 8, "YS": 5, "D": 14, "h": 24}


@dataclass
class Row:
    """One line of the table."""

    series: str
    freq: str
    n: int
    horizon: int
    season: int
    folds: int
    width: int
    epochs: float
    model: float
    seasonal_naive: float
    naive: float
    ratio: float
    seconds: float


def _co2() -> pd.Series:
    import statsmodels.api as sm

    data = sm.datasets.co2.load_pandas().data["co2"]
    return data  # weekly (Saturdays) with NaN gaps: the loader interpolates them


def _sunspots() -> pd.Series:
    import statsmodels.api as sm

    data = sm.datasets.sunspots.load_pandas().data
    return _yearly(data["YEAR"], data["SUNACTIVITY"])


def _nile() -> pd.Series:
    import statsmodels.api as sm

    data = sm.datasets.nile.load_pandas().data
    return _yearly(data["year"], data["volume"])


def _yearly(years: pd.Series, values: pd.Series) -> pd.Series:
    index = pd.to_datetime(years.astype(int).astype(str), format="%Y")
    return pd.Series(values.to_numpy(float), index=index)


def _elnino() -> pd.Series:
    import statsmodels.api as sm

    wide = sm.datasets.elnino.load_pandas().data.set_index("YEAR")
    long = wide.stack()  # (year, month name) in row order: Jan..Dec for each year
    index = pd.date_range(f"{int(wide.index[0])}-01-01", periods=len(long), freq="MS")
    return pd.Series(long.to_numpy(float), index=index)


def _macro(column: str) -> Callable[[], pd.Series]:
    def load() -> pd.Series:
        import statsmodels.api as sm

        data = sm.datasets.macrodata.load_pandas().data
        index = pd.date_range(f"{int(data['year'].iloc[0])}-01-01", periods=len(data), freq="QS")
        return pd.Series(data[column].to_numpy(float), index=index)

    return load


def _synthetic(
    freq: str, length: int, periods: Sequence[float], trend: float, seed: int
) -> Callable[[], pd.Series]:
    """Seasonal sines of unequal amplitude, a trend, and noise around a positive level."""

    def load() -> pd.Series:
        rng = np.random.default_rng(seed)
        t = np.arange(length, dtype=float)
        signal = sum(
            (1.0 / (i + 1)) * np.sin(2 * np.pi * t / p + rng.uniform(0, 2 * np.pi))
            for i, p in enumerate(periods)
        )
        values = 10.0 + 2.0 * signal + trend * t + 0.5 * rng.standard_normal(length)
        index = pd.date_range("2020-01-06", periods=length, freq=freq)
        return pd.Series(values, index=index)

    return load


SERIES: dict[str, tuple[str, Callable[[], pd.Series]]] = {
    "co2": ("W", _co2),
    "sunspots": ("YS", _sunspots),
    "nile": ("YS", _nile),
    "elnino": ("MS", _elnino),
    "realgdp": ("QS", _macro("realgdp")),
    "unemp": ("QS", _macro("unemp")),
    "hourly-trend-long": ("h", _synthetic("h", 8760, (24, 168), 2e-4, 1)),
    "hourly-flat-short": ("h", _synthetic("h", 720, (24, 168), 0.0, 2)),
    "daily-trend-long": ("D", _synthetic("D", 1461, (7, 365.25), 2e-3, 3)),
    "daily-flat-short": ("D", _synthetic("D", 240, (7, 365.25), 0.0, 4)),
}


def evaluate(name: str, freq: str, series: pd.Series, folds: int, extra: Sequence[str]) -> Row:
    """Backtest one series the way the CLI would, with only data, horizon and folds set."""
    horizon = HORIZONS[freq]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.csv"
        series.rename_axis("timestamp").rename("value").to_csv(path)
        config = load_config(
            None,
            [
                "data.source=csv",
                f"data.path={path}",
                "data.missing=interpolate",
                f"model.horizon={horizon}",
                f"evaluation.folds={folds}",
                *extra,
            ],
        )
        start = time.perf_counter()
        frame = load_series(config.data)
        result = backtest_from_config(config, frame)
        seconds = time.perf_counter() - start
    mase = {m: v["mase"] for m, v in result.summary.items()}
    return Row(
        series=name,
        freq=str(frame.attrs.get("freq", freq)),
        n=len(frame),
        horizon=horizon,
        season=result.season_length,
        folds=folds,
        width=int(result.model.input_width_),
        epochs=float(np.mean([len(m.history_["loss"]) for m in result.fold_models])),
        model=mase["model"],
        seasonal_naive=mase["seasonal_naive"],
        naive=mase["naive"],
        ratio=mase["model"] / mase["seasonal_naive"],
        seconds=seconds,
    )


def print_table(rows: Sequence[Row]) -> None:
    """The table, with a closing line counting the series where the model wins."""
    head = (
        f"{'series':<18}{'freq':>6}{'n':>7}{'H':>4}{'m':>4}{'K':>3}{'width':>6}{'epochs':>7}"
        f"{'model':>8}{'snaive':>8}{'naive':>8}{'ratio':>7}{'sec':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.series:<18}{r.freq:>6}{r.n:>7}{r.horizon:>4}{r.season:>4}{r.folds:>3}"
            f"{r.width:>6}{r.epochs:>7.1f}{r.model:>8.3f}{r.seasonal_naive:>8.3f}"
            f"{r.naive:>8.3f}{r.ratio:>7.3f}{r.seconds:>7.1f}"
        )
    wins = sum(r.ratio < 1 for r in rows)
    geo = float(np.exp(np.mean([np.log(r.ratio) for r in rows])))
    print(f"model beats seasonal naive on {wins}/{len(rows)}; geometric mean ratio {geo:.3f}")


def timing(extra: Sequence[str]) -> None:
    """Wall time of the defaults (one fold, as ``forecast backtest`` runs by default)."""
    series = _synthetic("h", 20_000, (24, 168), 2e-4, 5)()
    row = evaluate("hourly-20000", "h", series, folds=1, extra=extra)
    print_table([row])


def main(argv: Sequence[str] | None = None) -> None:
    """Run the table (or the timing) and optionally write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(SERIES), help="series to run")
    parser.add_argument("--folds", type=int, default=3, help="origins per series (default 3)")
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--timing", action="store_true", help="time a 20,000-point series")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.timing:
        timing(args.extra)
        return
    rows = []
    for name in args.only or SERIES:
        freq, load = SERIES[name]
        rows.append(evaluate(name, freq, load(), args.folds, args.extra))
        print(f"{name}: ratio {rows[-1].ratio:.3f} in {rows[-1].seconds:.1f} s", flush=True)
    print()
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")


if __name__ == "__main__":
    main()
