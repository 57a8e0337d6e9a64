"""The evaluation corpus: real series that installed packages ship, split into two fixed halves.

Every series is read at run time from a package's own data files (nothing is downloaded and
nothing is copied into this project): statsmodels' datasets, the CSVs that sktime and river
bundle, pvlib's typical-meteorological-year weather files and plotly's stock sample. The
packages are the ``bench`` extra: ``pip install -e '.[bench]'``.

A *unit* is one univariate series or one panel (several series modelled together); each unit
gets one MASE per method, and the tables take geometric means over units.

The halves are fixed by a rule applied before any tuning, never by results (:func:`half`):
within each frequency, the units are ordered by ``sha256(name)`` and alternate, the first
to the **tuning** half, the second to the **validation** half, and so on, so both halves
hold every frequency. Defaults are chosen on the tuning half only; the validation half is
only ever reported.

Units added later (``batch=2``: strongly seasonal series, so that seasonal data is well
represented in both halves) are split by the same rule among themselves, so no earlier unit
changes half. Synthetic stress series (``batch=0``) belong to the tuning half only.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["HORIZONS", "UNITS", "Unit", "half", "is_seasonal", "load"]

# Lead times per frequency: a useful horizon that still leaves several folds in short series.
HORIZONS = {"30min": 48, "h": 24, "D": 14, "B": 10, "W": 12, "MS": 12, "QS": 8, "YS": 5}


@dataclass(frozen=True)
class Unit:
    """One entry of the corpus."""

    name: str
    freq: str
    kind: str  # a few words: what the series is and what makes it hard
    source: str  # the package that ships it
    loader: Callable[[], pd.DataFrame]
    batch: int = 1  # 1: the first corpus; 2: seasonal units added later; 0: synthetic
    seasonal: bool = False  # strongly seasonal (multiplicative, long or several seasons)

    @property
    def horizon(self) -> int:
        """The forecast horizon for this unit's frequency."""
        return HORIZONS[self.freq]


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def half(name: str) -> str:
    """``"tuning"`` or ``"validation"``: the unit's place among its frequency, by hash.

    Among the units of its frequency and batch; synthetic units (batch 0) are tuning only.
    """
    unit = next(u for u in UNITS if u.name == name)
    if unit.batch == 0:
        return "tuning"
    peers = sorted(
        (u.name for u in UNITS if u.freq == unit.freq and u.batch == unit.batch), key=_digest
    )
    return "tuning" if peers.index(name) % 2 == 0 else "validation"


def _package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the corpus needs the package {package!r}: pip install -e '.[bench]'"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _frame(values: dict[str, pd.Series]) -> pd.DataFrame:
    """Long frame from named series (each indexed by timestamp)."""
    parts = [
        pd.DataFrame(
            {
                "series_id": name,
                "timestamp": pd.DatetimeIndex(s.index),
                "value": s.to_numpy(float),
            }
        )
        for name, s in values.items()
    ]
    return pd.concat(parts, ignore_index=True)


def _one(name: str, series: pd.Series) -> pd.DataFrame:
    return _frame({name: series})


# ----------------------------------------------------------------------------- statsmodels
def _sm(dataset: str) -> pd.DataFrame:
    import statsmodels.api as sm

    return getattr(sm.datasets, dataset).load_pandas().data


def _yearly(years: pd.Series, values: pd.Series) -> pd.Series:
    index = pd.to_datetime(years.astype(int).astype(str), format="%Y")
    return pd.Series(values.to_numpy(float), index=index)


def _co2() -> pd.DataFrame:
    data = _sm("co2")["co2"].interpolate(limit_direction="both")
    return _one("co2", data.asfreq("W-SAT"))


def _sunspots() -> pd.DataFrame:
    data = _sm("sunspots")
    return _one("sunspots", _yearly(data["YEAR"], data["SUNACTIVITY"]))


def _nile() -> pd.DataFrame:
    data = _sm("nile")
    return _one("nile", _yearly(data["year"], data["volume"]))


def _elnino() -> pd.DataFrame:
    wide = _sm("elnino").set_index("YEAR")
    long = wide.stack()
    index = pd.date_range(f"{int(wide.index[0])}-01-01", periods=len(long), freq="MS")
    return _one("elnino", pd.Series(long.to_numpy(float), index=index))


def _quarterly(dataset: str, column: str, start: str) -> Callable[[], pd.DataFrame]:
    """One column of a quarterly statsmodels dataset, from its first quarter ``start``."""

    def load() -> pd.DataFrame:
        data = _sm(dataset)
        index = pd.date_range(start, periods=len(data), freq="QS")
        return _one(column, pd.Series(data[column].to_numpy(float), index=index))

    return load


def _fertility() -> pd.DataFrame:
    """Eight countries' yearly fertility rates, 1960-2013: the first 8 complete rows."""
    data = _sm("fertility").set_index("Country Code")
    years = [c for c in data.columns if c.isdigit()]
    years = [y for y in years if data[y].notna().any()]
    complete = data[years].dropna().iloc[:8]
    index = pd.to_datetime(years, format="%Y")
    return _frame(
        {
            str(code): pd.Series(row.to_numpy(float), index=index)
            for code, row in complete.iterrows()
        }
    )


# -------------------------------------------------------------------------------- sktime
def _sktime_csv(folder: str) -> pd.DataFrame:
    return pd.read_csv(_package_dir("sktime") / "datasets" / "data" / folder / f"{folder}.csv")


def _airline() -> pd.DataFrame:
    data = _sktime_csv("Airline")
    index = pd.date_range("1949-01-01", periods=len(data), freq="MS")
    return _one("airline", pd.Series(data.iloc[:, -1].to_numpy(float), index=index))


def _lynx() -> pd.DataFrame:
    data = _sktime_csv("Lynx")
    index = pd.date_range("1821-01-01", periods=len(data), freq="YS")
    return _one("lynx", pd.Series(data.iloc[:, -1].to_numpy(float), index=index))


def _seatbelts() -> pd.DataFrame:
    data = _sktime_csv("seatbelts")
    index = pd.date_range("1969-01-01", periods=len(data), freq="MS")
    return _one("seatbelts_ksi", pd.Series(data["KSI"].to_numpy(float), index=index))


def _solar() -> pd.DataFrame:
    data = _sktime_csv("solar")
    stamps = pd.to_datetime(data["datetime_gmt"], utc=True).dt.tz_localize(None)
    series = pd.Series(data["solar_gen"].to_numpy(float), index=stamps)
    return _one("uk_solar", series.asfreq("30min").interpolate())


def _uschange() -> pd.DataFrame:
    data = _sktime_csv("Uschange")
    index = pd.date_range("1970-01-01", periods=len(data), freq="QS")
    columns = ("Consumption", "Income", "Production", "Savings", "Unemployment")
    return _frame({c.lower(): pd.Series(data[c].to_numpy(float), index=index) for c in columns})


# --------------------------------------------------------------------------------- river
def _river(*parts: str) -> pd.DataFrame:
    path = _package_dir("river").joinpath(*parts)
    if path.suffix == ".gz":
        with gzip.open(path, "rt") as handle:
            return pd.read_csv(handle)
    return pd.read_csv(path)


def _water_flow() -> pd.DataFrame:
    data = _river("datasets", "water-flow.csv")
    stamps = pd.to_datetime(data["Time"], utc=True).dt.tz_localize(None)
    series = pd.Series(data.iloc[:, 1].to_numpy(float), index=stamps)
    series = series[~series.index.duplicated()].asfreq("h").interpolate()
    return _one("water_flow", series)


def _trading(
    file: str, date: str, value: str, name: str, fmt: str | None = None
) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        data = _river("drift", "datasets", file)
        stamps = pd.to_datetime(data[date], format=fmt)
        series = pd.Series(data[value].to_numpy(float), index=stamps)
        series = series[series.index.dayofweek < 5]
        grid = pd.bdate_range(series.index[0], series.index[-1])
        return _one(name, series.reindex(grid).interpolate())  # holidays: interpolated

    return load


def _uk_coal() -> pd.DataFrame:
    data = _river("drift", "datasets", "uk_coal_employment.csv")
    return _one("uk_coal_employment", _yearly(data["Year"], data["Employment"]))


def _uk_air() -> pd.DataFrame:
    data = _river("drift", "datasets", "airline_passengers.csv")
    index = pd.date_range("1977-01-01", periods=len(data), freq="MS")
    return _one("uk_air_passengers", pd.Series(data.iloc[:, 1].to_numpy(float), index=index))


def _trump() -> pd.DataFrame:
    data = _river("datasets", "trump_approval.csv.gz")
    stamps = pd.DatetimeIndex([pd.Timestamp.fromordinal(int(d)) for d in data["ordinal_date"]])
    return _frame({c: pd.Series(data[c].to_numpy(float), index=stamps) for c in data.columns[1:]})


def _sp500() -> pd.DataFrame:
    data = _river("datasets", "sp500.csv.gz")
    stamps = pd.to_datetime(data["date"])
    columns = [c for c in data.columns[1:] if c != "next_day_return"][:6]
    grid = pd.bdate_range(stamps.iloc[0], stamps.iloc[-1])
    return _frame(
        {
            c.lower(): pd.Series(data[c].to_numpy(float), index=stamps).reindex(grid).fillna(0.0)
            for c in columns
        }
    )


# --------------------------------------------------------------------------------- pvlib
def _tmy(file: str, column: str, name: str) -> Callable[[], pd.DataFrame]:
    """An hourly variable of a TMY3 file: 8,760 hours stitched from typical months."""

    def load() -> pd.DataFrame:
        data = pd.read_csv(_package_dir("pvlib") / "data" / file, skiprows=1)
        index = pd.date_range("2001-01-01 01:00", periods=len(data), freq="h")
        return _one(name, pd.Series(data[column].to_numpy(float), index=index))

    return load


def _tmy2(column: str, name: str) -> Callable[[], pd.DataFrame]:
    """An hourly variable of pvlib's TMY2 file for Miami: 8,760 hours."""

    def load() -> pd.DataFrame:
        from pvlib.iotools import read_tmy2

        data, _ = read_tmy2(str(_package_dir("pvlib") / "data" / "12839.tm2"))
        index = pd.date_range("2001-01-01 01:00", periods=len(data), freq="h")
        return _one(name, pd.Series(data[column].to_numpy(float), index=index))

    return load


# ----------------------------------------------------------------- seasonal units (batch 2)
def _elec_equip() -> pd.DataFrame:
    path = _package_dir("statsmodels") / "datasets" / "elec_equip" / "elec_equip.csv"
    data = pd.read_csv(path)
    index = pd.date_range("1995-01-01", periods=len(data), freq="MS")
    return _one("elec_equip", pd.Series(data.iloc[:, -1].to_numpy(float), index=index))


def _pbs() -> pd.DataFrame:
    data = _sktime_csv("PBS_dataset")
    index = pd.date_range("1991-07-01", periods=len(data), freq="MS")
    return _one("pbs_scripts", pd.Series(data["Scripts"].to_numpy(float), index=index))


def _synthetic(
    name: str, freq: str, length: int, periods: tuple[int, ...]
) -> Callable[[], pd.DataFrame]:
    """A seeded series with multiplicative seasons on a growing level: a tuning stress test."""

    def load() -> pd.DataFrame:
        rng = np.random.default_rng(len(name))
        t = np.arange(length, dtype=float)
        level = 50.0 * np.exp(t / len(t))
        season = np.prod([1.0 + 0.4 * np.sin(2 * np.pi * t / p) for p in periods], axis=0)
        noise = np.exp(rng.normal(0.0, 0.08, len(t)))
        index = pd.date_range("2000-01-01", periods=len(t), freq=freq)
        return _one(name, pd.Series(level * season * noise, index=index))

    return load


# -------------------------------------------------------------------------------- plotly
def _stocks() -> pd.DataFrame:
    path = _package_dir("plotly") / "package_data" / "datasets" / "stocks.csv.gz"
    data = pd.read_csv(path)
    stamps = pd.to_datetime(data["date"])
    return _frame(
        {c.lower(): pd.Series(data[c].to_numpy(float), index=stamps) for c in data.columns[1:]}
    )


UNITS: tuple[Unit, ...] = (
    Unit("co2", "W", "weekly CO2 at Mauna Loa: trend + yearly season", "statsmodels", _co2),
    Unit("sunspots", "YS", "yearly sunspots: ~11-year cycle", "statsmodels", _sunspots),
    Unit("nile", "YS", "yearly Nile flow: level shift, short", "statsmodels", _nile),
    Unit("elnino", "MS", "monthly sea temperature: yearly season", "statsmodels", _elnino),
    *(
        Unit(
            c,
            "QS",
            f"quarterly US macro: {c}",
            "statsmodels",
            _quarterly("macrodata", c, "1959-01-01"),
        )
        for c in (
            "realgdp",
            "realcons",
            "realinv",
            "realgovt",
            "realdpi",
            "cpi",
            "m1",
            "tbilrate",
            "unemp",
            "pop",
            "infl",
            "realint",
        )
    ),
    Unit(
        "danish_lrm",
        "QS",
        "quarterly Danish money: short",
        "statsmodels",
        _quarterly("danish_data", "lrm", "1974-01-01"),
    ),
    Unit(
        "danish_ibo",
        "QS",
        "quarterly Danish bond rate: short",
        "statsmodels",
        _quarterly("danish_data", "ibo", "1974-01-01"),
    ),
    Unit(
        "german_inflation",
        "QS",
        "quarterly inflation: noisy",
        "statsmodels",
        _quarterly("interest_inflation", "Dp", "1972-04-01"),
    ),
    Unit(
        "german_rate",
        "QS",
        "quarterly interest rate",
        "statsmodels",
        _quarterly("interest_inflation", "R", "1972-04-01"),
    ),
    Unit("fertility", "YS", "panel: 8 countries' fertility", "statsmodels", _fertility),
    Unit("airline", "MS", "monthly air passengers: trend x season", "sktime", _airline),
    Unit("lynx", "YS", "yearly lynx trappings: cycle", "sktime", _lynx),
    Unit("seatbelts_ksi", "MS", "monthly UK road casualties", "sktime", _seatbelts),
    Unit("uk_solar", "30min", "half-hourly UK solar generation, 6 days", "sktime", _solar),
    Unit("uschange", "QS", "panel: 5 US quarterly growth rates", "sktime", _uschange),
    Unit("water_flow", "h", "hourly pipeline water flow", "river", _water_flow),
    Unit(
        "brent",
        "B",
        "Brent crude, trading days 1987-2019: long random walk",
        "river",
        _trading("brent_crude_oil.csv", "day", "DPB", "brent", "%m/%d/%Y"),
    ),
    Unit(
        "apple",
        "B",
        "Apple close, trading days 1996-2004",
        "river",
        _trading("apple.csv", "Date", "Close", "apple"),
    ),
    Unit("uk_coal_employment", "YS", "yearly UK coal employment: collapse", "river", _uk_coal),
    Unit("uk_air_passengers", "MS", "monthly UK air passengers 1977-2015", "river", _uk_air),
    Unit("approval", "D", "panel: 6 daily approval-poll averages", "river", _trump),
    Unit("returns", "B", "panel: 6 stocks' daily returns (noise)", "river", _sp500),
    Unit(
        "greensboro_temp",
        "h",
        "hourly dry-bulb temperature (TMY3), long",
        "pvlib",
        _tmy("723170TYA.CSV", "Dry-bulb (C)", "greensboro_temp"),
    ),
    Unit(
        "greensboro_ghi",
        "h",
        "hourly solar irradiance (TMY3), long",
        "pvlib",
        _tmy("723170TYA.CSV", "GHI (W/m^2)", "greensboro_ghi"),
    ),
    Unit(
        "sandpoint_temp",
        "h",
        "hourly dry-bulb temperature, Alaska (TMY3), long",
        "pvlib",
        _tmy("703165TY.csv", "Dry-bulb (C)", "sandpoint_temp"),
    ),
    Unit(
        "sandpoint_rh",
        "h",
        "hourly relative humidity, Alaska (TMY3), long",
        "pvlib",
        _tmy("703165TY.csv", "RHum (%)", "sandpoint_rh"),
    ),
    Unit("stocks", "W", "panel: 6 weekly normalised stock prices", "plotly", _stocks),
    Unit(
        "elec_equip",
        "MS",
        "monthly euro-area electrical equipment orders: multiplicative yearly season",
        "statsmodels",
        _elec_equip,
        batch=2,
        seasonal=True,
    ),
    Unit(
        "pbs_scripts",
        "MS",
        "monthly Australian prescription counts: small, intermittent",
        "sktime",
        _pbs,
        batch=2,
    ),
    Unit(
        "miami_temp",
        "h",
        "hourly dry-bulb temperature, Miami (TMY2): daily season",
        "pvlib",
        _tmy2("DryBulb", "miami_temp"),
        batch=2,
        seasonal=True,
    ),
    Unit(
        "miami_ghi",
        "h",
        "hourly solar irradiance, Miami (TMY2): daily season, zero nights",
        "pvlib",
        _tmy2("GHI", "miami_ghi"),
        batch=2,
        seasonal=True,
    ),
    Unit(
        "synthetic_two_seasons",
        "h",
        "synthetic hourly: growing level x daily x weekly multiplicative seasons",
        "numpy",
        _synthetic("synthetic_two_seasons", "h", 24 * 7 * 40, (24, 168)),
        batch=0,
        seasonal=True,
    ),
    Unit(
        "synthetic_half_hourly",
        "30min",
        "synthetic half-hourly: growing level x daily x weekly multiplicative seasons",
        "numpy",
        _synthetic("synthetic_half_hourly", "30min", 48 * 7 * 20, (48, 336)),
        batch=0,
        seasonal=True,
    ),
    Unit(
        "synthetic_monthly",
        "MS",
        "synthetic monthly: growing level x multiplicative yearly season",
        "numpy",
        _synthetic("synthetic_monthly", "MS", 240, (12,)),
        batch=0,
        seasonal=True,
    ),
)

# Strongly seasonal units of the first corpus (a yearly season the series is mostly made of,
# a daily cycle in hourly data, or a season whose amplitude grows with the level).
_SEASONAL_FIRST = {
    "co2",
    "elnino",
    "airline",
    "seatbelts_ksi",
    "uk_solar",
    "uk_air_passengers",
    "greensboro_temp",
    "greensboro_ghi",
    "sandpoint_temp",
}


def is_seasonal(unit: Unit) -> bool:
    """Whether the unit counts among the strongly seasonal ones."""
    return unit.seasonal or unit.name in _SEASONAL_FIRST


def load(unit: Unit) -> pd.DataFrame:
    """The unit's long frame (``series_id``, ``timestamp``, ``value``), finite values only."""
    frame = unit.loader()
    if not np.isfinite(frame["value"]).all():
        raise ValueError(f"{unit.name}: non-finite values after loading")
    return frame
