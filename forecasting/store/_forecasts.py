"""Forecast store: forecasts and their realised scores in SQL tables, written idempotently."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from forecasting.store import _schema as schema
from forecasting.store import migrations
from forecasting.store._lock import promotion_lock
from forecasting.store._schema import INTERVAL_COLUMNS, KEY

__all__ = ["DEFAULT_URL", "INTERVAL_COLUMNS", "KEY", "ForecastStore", "realised_metrics"]

DEFAULT_URL = "sqlite:///data/forecasts.db"
_BATCH_SIZE = 1000  # rows per INSERT statement; all batches share one transaction
_SQLITE_BUSY_SECONDS = 60.0  # how long a SQLite writer waits for another process's write lock
_BACKENDS = ("sqlite", "postgresql")


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
    created and upgraded by Alembic (:mod:`forecasting.store.migrations`) on first use. Constructing
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

    @contextmanager
    def promotion_lock(self, name: str, timeout: float = 120.0) -> Iterator[None]:
        """Hold the promotion lock of registered model ``name`` in this store's database.

        Only one holder at a time moves ``name``'s aliases; a holder that dies releases the
        lock with its connection, and nothing is written (see
        :func:`forecasting.store.promotion_lock`). A SQLite store's file is created here.

        Raises
        ------
        PromotionLockTimeout
            When another holder kept it for longer than ``timeout`` seconds.
        """
        with promotion_lock(self._engine_for_write(), name, timeout):
            yield

    def _insert_new(self, table: sa.Table, prepared: pd.DataFrame) -> int:
        """Insert the rows whose key is new, in one transaction; return how many were inserted.

        Each batch is one ``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING step``: the
        database skips keys that exist, including those a concurrent writer committed a moment
        ago, and the returned rows count exactly what this call wrote. Rows go in key order, so
        concurrent writers of the same keys wait for each other instead of deadlocking.
        """
        engine = self._engine_for_write()
        records = schema.to_records(prepared.sort_values(list(KEY)), table)
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
        required = [c for c in schema.FORECAST_COLUMNS if c not in optional]
        schema.check_columns(
            forecasts, "forecasts", required, f" (optional: {', '.join(optional)})"
        )
        prepared = schema.prepare_frame(
            forecasts, schema.FORECASTS, schema.FORECAST_COLUMNS, "forecasts"
        )
        if "created_at" not in forecasts.columns:
            prepared["created_at"] = pd.Timestamp(schema.utc_now())
        return self._insert_new(schema.FORECASTS, prepared) if len(prepared) else 0

    def read_forecasts(
        self,
        series_id: str | None = None,
        model_name: str | None = None,
        origin: Any = None,
        model_version: str | None = None,
    ) -> pd.DataFrame:
        """Stored forecasts, optionally filtered, sorted by series, model, version, origin, step."""
        given = {"series_id": series_id, "model_name": model_name, "model_version": model_version}
        conditions = [schema.FORECASTS.c[k] == v for k, v in given.items() if v is not None]
        if origin is not None:
            conditions.append(schema.FORECASTS.c.origin == schema.naive_utc(origin))
        return self._read(schema.FORECASTS, conditions)

    def _fetch(self, stmt: sa.Select[Any]) -> Sequence[Any]:
        engine = self._engine_for_read()
        if engine is None:
            return []
        with engine.connect() as conn:
            return conn.execute(stmt).all()

    def _read(self, table: sa.Table, conditions: list[Any]) -> pd.DataFrame:
        # Sorted here, not by ORDER BY: a PostgreSQL collation may order strings differently.
        frame = schema.to_frame(table, self._fetch(sa.select(table).where(*conditions)))
        return frame.sort_values(schema.ORDER, ignore_index=True)

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
        schema.check_columns(actuals, "actuals", ["series_id", "timestamp", "value"], "")
        known = actuals.loc[actuals["value"].notna(), ["series_id", "timestamp", "value"]]
        known = known.rename(columns={"timestamp": "target_timestamp", "value": "actual"})
        times = schema.check_dtype(
            known["target_timestamp"], "time", "Column `timestamp` of `actuals`"
        )
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
        columns = [*schema.FORECAST_COLUMNS, "actual"]
        if known.empty:
            return schema.to_frame(schema.FORECASTS, []).assign(actual=np.float64())[columns]
        f, s = schema.FORECASTS, schema.SCORES
        joined = f.outerjoin(s, sa.and_(*(f.c[name] == s.c[name] for name in KEY)))
        conditions = [
            s.c.series_id.is_(None),
            f.c.target_timestamp.between(
                schema.naive_utc(times.min()), schema.naive_utc(times.max())
            ),
        ]
        rows = self._fetch(sa.select(f).select_from(joined).where(*conditions))
        pending = schema.to_frame(f, rows).merge(known, on=["series_id", "target_timestamp"])
        return pending.sort_values(schema.ORDER, ignore_index=True)[columns]

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
        schema.check_columns(scored, "scored", required, " (`value` is accepted for `forecast`)")
        given = [c for c in schema.SCORE_COLUMNS if c in required or c in scored.columns]
        prepared = schema.prepare_frame(
            scored, schema.SCORES, [c for c in given if "error" not in c], "scored"
        )
        error = prepared["actual"] - prepared["forecast"]
        prepared["error"], prepared["abs_error"] = error, error.abs()
        if "scored_at" not in scored.columns:
            prepared["scored_at"] = pd.Timestamp(schema.utc_now())
        return self._insert_new(schema.SCORES, prepared) if len(prepared) else 0

    def read_scores(self, model_name: str | None = None) -> pd.DataFrame:
        """Stored scores (optionally of one model), sorted like :meth:`read_forecasts`."""
        conditions = [] if model_name is None else [schema.SCORES.c.model_name == model_name]
        return self._read(schema.SCORES, conditions)

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
        f, s = schema.FORECASTS, schema.SCORES
        conditions = [
            s.c[k] == v
            for k, v in (("model_name", model_name), ("model_version", model_version))
            if v is not None
        ]
        joined = s.join(f, sa.and_(*(s.c[name] == f.c[name] for name in KEY)))
        stmt = sa.select(s, *(f.c[name] for name in INTERVAL_COLUMNS)).select_from(joined)
        rows = self._fetch(stmt.where(*conditions))
        scores = schema.to_frame(s, [row[: len(schema.SCORE_COLUMNS)] for row in rows])
        bounds = pd.DataFrame(
            [row[len(schema.SCORE_COLUMNS) :] for row in rows],
            columns=list(INTERVAL_COLUMNS),
            dtype="float64",
        )
        return pd.concat([scores, bounds], axis=1).sort_values(schema.ORDER, ignore_index=True)

    def origins(self, model_name: str | None = None) -> list[pd.Timestamp]:
        """Distinct forecast origins (optionally of one model), oldest first."""
        stmt = sa.select(schema.FORECASTS.c.origin).distinct().order_by(schema.FORECASTS.c.origin)
        if model_name is not None:
            stmt = stmt.where(schema.FORECASTS.c.model_name == model_name)
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
    schema.check_columns(scores, "scores", ["step", "error"], "")
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
