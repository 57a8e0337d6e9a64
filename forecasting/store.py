"""Forecast store: forecasts and their realised scores in SQL tables, written idempotently."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from forecasting import migrations

__all__ = ["DEFAULT_URL", "INTERVAL_COLUMNS", "KEY", "ForecastStore", "realised_metrics"]

DEFAULT_URL = "sqlite:///data/forecasts.db"
KEY = ("series_id", "origin", "step", "model_name", "model_version")
INTERVAL_COLUMNS = ("lo_80", "hi_80", "lo_95", "hi_95")  # the levels the store keeps
_BATCH_SIZE = 1000  # rows per INSERT statement; all batches share one transaction
_SQLITE_BUSY_SECONDS = 60.0  # how long a SQLite writer waits for another process's write lock
_BACKENDS = ("sqlite", "postgresql")


def _key(name: str, column_type: Any) -> sa.Column[Any]:
    return sa.Column(name, column_type, primary_key=True, autoincrement=False)


# The current schema: a change here is also a new revision in forecasting/migrations/versions.
# Column order here is the column order of the frames read back.
_metadata = sa.MetaData()
_forecasts = sa.Table(
    "forecasts",
    _metadata,
    _key("series_id", sa.String(255)),
    _key("origin", sa.DateTime()),
    sa.Column("target_timestamp", sa.DateTime(), nullable=False),
    _key("step", sa.Integer()),
    sa.Column("value", sa.Double(), nullable=False),
    sa.Column("lower", sa.Double(), nullable=True),
    sa.Column("upper", sa.Double(), nullable=True),
    _key("model_name", sa.String(255)),
    _key("model_version", sa.String(64)),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("method", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    # Why a series got a baseline instead of the model (null for the model's own rows).
    sa.Column("note", sa.Text(), nullable=True),
    # Prediction interval bounds per level (lower and upper repeat the 95% ones).
    *(sa.Column(name, sa.Double(), nullable=True) for name in INTERVAL_COLUMNS),
)
_scores = sa.Table(
    "forecast_scores",
    _metadata,
    _key("series_id", sa.String(255)),
    _key("origin", sa.DateTime()),
    sa.Column("target_timestamp", sa.DateTime(), nullable=False),
    _key("step", sa.Integer()),
    _key("model_name", sa.String(255)),
    _key("model_version", sa.String(64)),
    sa.Column("forecast", sa.Double(), nullable=False),
    sa.Column("actual", sa.Double(), nullable=False),
    sa.Column("error", sa.Double(), nullable=False),
    sa.Column("abs_error", sa.Double(), nullable=False),
    sa.Column("scored_at", sa.DateTime(), nullable=False),
)
_FORECAST_COLUMNS = tuple(_forecasts.c.keys())
_ORDER = ["series_id", "model_name", "model_version", "origin", "step"]  # of every frame read
_SCORE_COLUMNS = tuple(_scores.c.keys())


def _kind(table: sa.Table, name: str) -> str:
    column_type = table.c[name].type
    if isinstance(column_type, sa.String):
        return "str"
    if isinstance(column_type, sa.DateTime):
        return "time"
    return "int" if isinstance(column_type, sa.Integer) else "float"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _naive_utc(value: Any) -> dt.datetime:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


_EXPECTED = {
    "str": "strings",
    "time": "datetime64 timestamps",
    "int": "integers",
    "float": "numbers",
}


def _has_kind(col: pd.Series, kind: str) -> bool:
    if kind == "str":  # strings, some of them possibly missing (an object column of both)
        present = col.dropna()
        return present.empty or pd.api.types.is_string_dtype(present)
    if kind == "time":
        return pd.api.types.is_datetime64_any_dtype(col)
    if kind == "int":
        return pd.api.types.is_integer_dtype(col)
    return pd.api.types.is_numeric_dtype(col) and col.dtype != bool


def _check_dtype(col: pd.Series, kind: str, where: str) -> pd.Series:
    """``col`` checked against a column kind; times converted to naive UTC datetime64[ns]."""
    if not _has_kind(col, kind):
        raise TypeError(
            f"{where} must hold {_EXPECTED[kind]}; got dtype {col.dtype}. "
            "Convert it first (e.g. with `astype` or `pd.to_datetime`)."
        )
    if kind == "time" and getattr(col.dtype, "tz", None) is not None:
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    return col.astype("datetime64[ns]") if kind == "time" else col


def _check_columns(frame: Any, arg: str, required: Sequence[str], hint: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{arg}` must be a pandas DataFrame; got {type(frame).__name__}.")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        raise ValueError(
            f"`{arg}` is missing required column(s) {listed}; it needs "
            f"{', '.join(required)}{hint}. Add the missing column(s)."
        )


def _prepare(
    frame: pd.DataFrame, table: sa.Table, columns: Sequence[str], arg: str
) -> pd.DataFrame:
    """Coerce ``frame`` to the table's types (naive UTC times, str versions) and reject nulls."""
    out = {}
    for name in columns:
        if name not in frame.columns:  # an optional column the caller left out
            out[name] = pd.Series(None, index=frame.index, dtype=object)
            continue
        col, kind = frame[name], _kind(table, name)
        if kind == "str" and name == "model_version" and pd.api.types.is_integer_dtype(col):
            col = col.astype(str)
        col = _check_dtype(col, kind, f"Column `{name}` of `{arg}`")
        if not table.c[name].nullable and col.isna().any():
            rows = list(frame.index[col.isna().to_numpy()][:5])
            raise ValueError(
                f"Column `{name}` of `{arg}` has missing values (rows {rows}); "
                f"every row needs a `{name}`. Drop or fill those rows."
            )
        out[name] = col
    prepared = pd.DataFrame({name: col.array for name, col in out.items()}, index=frame.index)
    duplicated = prepared.duplicated(list(KEY), keep=False)
    if duplicated.any():
        rows = list(frame.index[duplicated.to_numpy()][:5])
        raise ValueError(
            f"`{arg}` has rows with the same key ({', '.join(KEY)}) at rows {rows}; "
            "keep one row per key."
        )
    return prepared


_NUMPY_DTYPE: dict[str, Any] = {
    "time": "datetime64[us]",  # whole microseconds become datetime.datetime objects
    "int": np.int64,
    "float": np.float64,
    "str": object,
}


def _python_values(col: pd.Series, kind: str) -> list[Any]:
    """One column as plain Python values (datetime, int, float, str), missing ones as None."""
    missing = col.isna().to_numpy()
    if missing.all():  # also an optional column the caller left out
        return [None] * len(col)
    if kind == "str":
        values = col.astype(str).to_numpy(dtype=object)
    elif kind == "time":
        values = col.to_numpy(_NUMPY_DTYPE[kind]).astype(object)
    else:
        values = col.to_numpy(_NUMPY_DTYPE[kind], na_value=0)
    out: list[Any] = values.tolist()
    for position in np.flatnonzero(missing):
        out[position] = None
    return out


def _records(prepared: pd.DataFrame, table: sa.Table) -> list[dict[str, Any]]:
    """Plain Python values (datetime, int, float, str, None) that every DBAPI driver accepts."""
    names = [str(name) for name in prepared.columns]  # plain str: cheap to zip once per row
    lists = [_python_values(prepared[name], _kind(table, name)) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]


def _frame(table: sa.Table, rows: Sequence[Any]) -> pd.DataFrame:
    """A frame with stable dtypes (str, datetime64[ns], int64, float64), even when empty."""
    data = {}
    for position, name in enumerate(table.c.keys()):
        values = [row[position] for row in rows]
        dtype = {"str": str, "time": "datetime64[ns]", "int": "int64", "float": "float64"}
        data[name] = pd.Series(values, dtype=dtype[_kind(table, name)])  # type: ignore[call-overload]
    return pd.DataFrame(data)


def _parse_url(url: str) -> sa.URL:
    """``url`` parsed; a PostgreSQL URL without a driver gets psycopg (version 3), a dependency."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ValueError(
            f"`url` is not a SQLAlchemy database URL: {url!r}. Use e.g. {DEFAULT_URL!r} or "
            "'postgresql+psycopg://user@host/forecasts'."
        ) from exc
    if parsed.get_backend_name() not in _BACKENDS:
        raise ValueError(
            f"`url` {parsed.render_as_string(hide_password=True)!r} is a "
            f"{parsed.get_backend_name()} database; the forecast store runs on SQLite or "
            "PostgreSQL. Use e.g. 'sqlite:///data/forecasts.db' or "
            "'postgresql+psycopg://user@host/forecasts'."
        )
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def _insert_skipping_existing(table: sa.Table, backend: str) -> sa.Insert:
    """``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING step``: one row back per row written."""
    insert = postgresql.insert(table) if backend == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_nothing(index_elements=list(KEY)).returning(table.c.step)


def _sqlite_file(url: sa.URL) -> Path | None:
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database)


class ForecastStore:
    """Forecasts and realised scores in two SQL tables, on SQLite or PostgreSQL.

    Table ``forecasts`` is keyed by (series_id, origin, step, model_name, model_version) and table
    ``forecast_scores`` by the same key. Times are stored as naive UTC. Writes are idempotent (rows
    whose key exists are skipped, by ``INSERT ... ON CONFLICT DO NOTHING``, also when several
    processes write the same rows at once) and atomic (all new rows or none). The schema is
    created and upgraded by Alembic (:mod:`forecasting.migrations`) on first use. Constructing
    the store is cheap: nothing connects and nothing touches disk until the first read or write;
    a SQLite file (and its folder) is only created by the first write.

    Parameters
    ----------
    url : str, default "sqlite:///data/forecasts.db"
        SQLAlchemy database URL, e.g. ``"postgresql+psycopg://user@host/forecasts"`` for a team
        (``postgresql://`` means the same: psycopg is the driver).
    """

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self._url = _parse_url(url)
        self._sqlite_path = _sqlite_file(self._url)
        self.url = url
        self._engine: sa.Engine | None = None

    def __repr__(self) -> str:
        return f"ForecastStore(url={self._url.render_as_string(hide_password=True)!r})"

    def _engine_for_write(self) -> sa.Engine:
        """The engine with tables created; a SQLite file and its folder are made here, once."""
        path = self._sqlite_path
        if path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.close()  # a new (or deleted) file: connect again and create the tables
        if self._engine is None:
            connect_args = {"timeout": _SQLITE_BUSY_SECONDS} if self._sqlite_path else {}
            engine = sa.create_engine(self._url, connect_args=connect_args)
            try:
                migrations.upgrade(engine)
            except BaseException:
                engine.dispose()
                raise
            self._engine = engine
        return self._engine

    def _engine_for_read(self) -> sa.Engine | None:
        """None for a SQLite file never written: reading creates no file."""
        path = self._sqlite_path
        return None if path is not None and not path.exists() else self._engine_for_write()

    def close(self) -> None:
        """Release pooled connections; the store reconnects on next use."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _insert_new(self, table: sa.Table, prepared: pd.DataFrame) -> int:
        """Insert the rows whose key is new, in one transaction; return how many were inserted.

        Each batch is one ``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING step``: the
        database skips keys that exist, including those a concurrent writer committed a moment
        ago, and the returned rows count exactly what this call wrote. Rows go in key order, so
        concurrent writers of the same keys wait for each other instead of deadlocking.
        """
        engine = self._engine_for_write()
        records = _records(prepared.sort_values(list(KEY)), table)
        statement = _insert_skipping_existing(table, engine.dialect.name)
        written = 0
        with engine.begin() as conn:  # commits on success, rolls everything back on error
            for start in range(0, len(records), _BATCH_SIZE):
                written += len(conn.execute(statement, records[start : start + _BATCH_SIZE]).all())
        return written

    def write_forecasts(self, forecasts: pd.DataFrame) -> int:
        """Store forecast rows whose key is new; return how many were written.

        Parameters
        ----------
        forecasts : DataFrame
            Columns series_id, origin, target_timestamp, step, value, model_name, model_version
            (str; integers are converted), run_id (may be null) and method; optional lower,
            upper, note, created_at (UTC now when absent) and the interval bounds lo_80,
            hi_80, lo_95, hi_95. Tz-naive times are taken as UTC.

        Returns
        -------
        int
            Rows written: 0 when every key was already stored. One transaction: on error nothing
            is written.
        """
        optional = ("lower", "upper", "note", "created_at", *INTERVAL_COLUMNS)
        required = [c for c in _FORECAST_COLUMNS if c not in optional]
        _check_columns(forecasts, "forecasts", required, f" (optional: {', '.join(optional)})")
        prepared = _prepare(forecasts, _forecasts, _FORECAST_COLUMNS, "forecasts")
        if "created_at" not in forecasts.columns:
            prepared["created_at"] = pd.Timestamp(_utc_now())
        return self._insert_new(_forecasts, prepared) if len(prepared) else 0

    def read_forecasts(
        self,
        series_id: str | None = None,
        model_name: str | None = None,
        origin: Any = None,
        model_version: str | None = None,
    ) -> pd.DataFrame:
        """Stored forecasts, optionally filtered, sorted by series, model, version, origin, step."""
        given = {"series_id": series_id, "model_name": model_name, "model_version": model_version}
        conditions = [_forecasts.c[k] == v for k, v in given.items() if v is not None]
        if origin is not None:
            conditions.append(_forecasts.c.origin == _naive_utc(origin))
        return self._read(_forecasts, conditions)

    def _fetch(self, stmt: sa.Select[Any]) -> Sequence[Any]:
        engine = self._engine_for_read()
        if engine is None:
            return []
        with engine.connect() as conn:
            return conn.execute(stmt).all()

    def _read(self, table: sa.Table, conditions: list[Any]) -> pd.DataFrame:
        # Sorted here, not by ORDER BY: a PostgreSQL collation may order strings differently.
        frame = _frame(table, self._fetch(sa.select(table).where(*conditions)))
        return frame.sort_values(_ORDER, ignore_index=True)

    def unscored(self, actuals: pd.DataFrame) -> pd.DataFrame:
        """Forecasts (any model) with an actual in ``actuals`` and no score yet.

        Parameters
        ----------
        actuals : DataFrame
            Long frame with series_id, timestamp and value; rows with a missing value are ignored.

        Returns
        -------
        DataFrame
            The forecast columns plus ``actual``, ready for :meth:`write_scores`.
        """
        _check_columns(actuals, "actuals", ["series_id", "timestamp", "value"], "")
        known = actuals.loc[actuals["value"].notna(), ["series_id", "timestamp", "value"]]
        known = known.rename(columns={"timestamp": "target_timestamp", "value": "actual"})
        times = _check_dtype(known["target_timestamp"], "time", "Column `timestamp` of `actuals`")
        known = known.assign(
            series_id=known["series_id"].astype(str),
            target_timestamp=times,
            actual=known["actual"].astype("float64"),
        )
        if known.duplicated(["series_id", "target_timestamp"]).any():
            raise ValueError(
                "`actuals` has more than one value for the same (series_id, timestamp); "
                "keep one row per timestamp."
            )
        columns = [*_FORECAST_COLUMNS, "actual"]
        if known.empty:
            return _frame(_forecasts, []).assign(actual=np.float64())[columns]
        f, s = _forecasts, _scores
        joined = f.outerjoin(s, sa.and_(*(f.c[name] == s.c[name] for name in KEY)))
        conditions = [
            s.c.series_id.is_(None),
            f.c.target_timestamp.between(_naive_utc(times.min()), _naive_utc(times.max())),
        ]
        rows = self._fetch(sa.select(f).select_from(joined).where(*conditions))
        pending = _frame(f, rows).merge(known, on=["series_id", "target_timestamp"])
        return pending.sort_values(_ORDER, ignore_index=True)[columns]

    def write_scores(self, scored: pd.DataFrame) -> int:
        """Store realised scores whose key is new; return how many were written.

        Parameters
        ----------
        scored : DataFrame
            Typically :meth:`unscored`'s output: the key columns, target_timestamp, actual and the
            forecast in ``forecast`` (or ``value``); optional scored_at (UTC now when absent).
            error (actual - forecast) and abs_error are computed here.

        Returns
        -------
        int
            Rows written; idempotent and transactional like :meth:`write_forecasts`.
        """
        if isinstance(scored, pd.DataFrame) and "forecast" not in scored.columns:
            scored = scored.rename(columns={"value": "forecast"})
        required = [*KEY, "target_timestamp", "forecast", "actual"]
        _check_columns(scored, "scored", required, " (`value` is accepted for `forecast`)")
        given = [c for c in _SCORE_COLUMNS if c in required or c in scored.columns]
        prepared = _prepare(scored, _scores, [c for c in given if "error" not in c], "scored")
        error = prepared["actual"] - prepared["forecast"]
        prepared["error"], prepared["abs_error"] = error, error.abs()
        if "scored_at" not in scored.columns:
            prepared["scored_at"] = pd.Timestamp(_utc_now())
        return self._insert_new(_scores, prepared) if len(prepared) else 0

    def read_scores(self, model_name: str | None = None) -> pd.DataFrame:
        """Stored scores (optionally of one model), sorted like :meth:`read_forecasts`."""
        conditions = [] if model_name is None else [_scores.c.model_name == model_name]
        return self._read(_scores, conditions)

    def read_scored(
        self, model_name: str | None = None, model_version: str | None = None
    ) -> pd.DataFrame:
        """Stored scores with the interval bounds of the forecasts they score.

        Parameters
        ----------
        model_name, model_version : str, optional
            Keep one model's (and one version's) scores only.

        Returns
        -------
        DataFrame
            The score columns, sorted like :meth:`read_scores`, plus ``lo_80, hi_80, lo_95,
            hi_95`` (NaN where the forecast had no interval).
        """
        f, s = _forecasts, _scores
        conditions = [
            s.c[k] == v
            for k, v in (("model_name", model_name), ("model_version", model_version))
            if v is not None
        ]
        joined = s.join(f, sa.and_(*(s.c[name] == f.c[name] for name in KEY)))
        stmt = sa.select(s, *(f.c[name] for name in INTERVAL_COLUMNS)).select_from(joined)
        rows = self._fetch(stmt.where(*conditions))
        scores = _frame(s, [row[: len(_SCORE_COLUMNS)] for row in rows])
        bounds = pd.DataFrame(
            [row[len(_SCORE_COLUMNS) :] for row in rows],
            columns=list(INTERVAL_COLUMNS),
            dtype="float64",
        )
        return pd.concat([scores, bounds], axis=1).sort_values(_ORDER, ignore_index=True)

    def origins(self, model_name: str | None = None) -> list[pd.Timestamp]:
        """Distinct forecast origins (optionally of one model), oldest first."""
        stmt = sa.select(_forecasts.c.origin).distinct().order_by(_forecasts.c.origin)
        if model_name is not None:
            stmt = stmt.where(_forecasts.c.model_name == model_name)
        return [pd.Timestamp(row[0]) for row in self._fetch(stmt)]


def realised_metrics(scores: pd.DataFrame) -> pd.DataFrame:
    """RMSE and MAE of realised errors per forecast step.

    Parameters
    ----------
    scores : DataFrame
        Rows with ``step`` and ``error`` (e.g. :meth:`ForecastStore.read_scores` of one model; pass
        one model's scores, the rows are not split by model).

    Returns
    -------
    DataFrame
        Columns step, n, rmse (sqrt of mean squared error) and mae (mean absolute error), by step.
        When ``scores`` has the bounds of a level (``lo_80`` and ``hi_80``, as from
        :meth:`ForecastStore.read_scored`) and ``actual``, also ``coverage_80`` (the share of
        actuals inside the interval) and ``width_80`` (its mean width), over the rows that have
        bounds (NaN for a step with none).
    """
    _check_columns(scores, "scores", ["step", "error"], "")
    error = scores["error"].to_numpy(dtype="float64")
    parts = pd.DataFrame({"step": scores["step"].to_numpy(), "sq": error**2, "abs": np.abs(error)})
    levels = [
        name[3:]
        for name in INTERVAL_COLUMNS
        if name.startswith("lo_") and {name, f"hi_{name[3:]}", "actual"} <= set(scores.columns)
    ]
    for level in levels:
        lower = scores[f"lo_{level}"].to_numpy(dtype="float64")
        upper = scores[f"hi_{level}"].to_numpy(dtype="float64")
        actual = scores["actual"].to_numpy(dtype="float64")
        known = np.isfinite(lower) & np.isfinite(upper)
        inside = (actual >= lower) & (actual <= upper)
        parts[f"coverage_{level}"] = np.where(known, inside.astype("float64"), np.nan)
        parts[f"width_{level}"] = np.where(known, upper - lower, np.nan)
    grouped = parts.groupby("step", sort=True)
    out = pd.DataFrame(
        {"n": grouped.size(), "rmse": np.sqrt(grouped["sq"].mean()), "mae": grouped["abs"].mean()}
    )
    for level in levels:  # the mean of the rows with bounds; NaN when a step has none
        out[f"coverage_{level}"] = grouped[f"coverage_{level}"].mean()
        out[f"width_{level}"] = grouped[f"width_{level}"].mean()
    out = out.reset_index()
    return out.astype({"step": "int64", "n": "int64", "rmse": "float64", "mae": "float64"})
