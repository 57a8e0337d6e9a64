"""The forecast store's tables, and frames checked and converted to and from their rows.

A change to the tables here is also a new revision in ``forecasting/store/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

__all__ = [
    "FORECASTS",
    "FORECAST_COLUMNS",
    "INTERVAL_COLUMNS",
    "KEY",
    "METADATA",
    "ORDER",
    "SCORES",
    "SCORE_COLUMNS",
    "check_columns",
    "check_dtype",
    "naive_utc",
    "prepare_frame",
    "to_frame",
    "to_records",
    "utc_now",
]

KEY = ("series_id", "origin", "step", "model_name", "model_version")
INTERVAL_COLUMNS = ("lo_80", "hi_80", "lo_95", "hi_95")  # the levels the store keeps


def _key(name: str, column_type: Any) -> sa.Column[Any]:
    return sa.Column(name, column_type, primary_key=True, autoincrement=False)


# The current schema: a change here is also a new revision in forecasting/store/migrations/versions.
# Column order here is the column order of the frames read back.
METADATA = sa.MetaData()
FORECASTS = sa.Table(
    "forecasts",
    METADATA,
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
SCORES = sa.Table(
    "forecast_scores",
    METADATA,
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
FORECAST_COLUMNS = tuple(FORECASTS.c.keys())
ORDER = ["series_id", "model_name", "model_version", "origin", "step"]  # of every frame read
SCORE_COLUMNS = tuple(SCORES.c.keys())


def _kind(table: sa.Table, name: str) -> str:
    column_type = table.c[name].type
    if isinstance(column_type, sa.String):
        return "str"
    if isinstance(column_type, sa.DateTime):
        return "time"
    return "int" if isinstance(column_type, sa.Integer) else "float"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def naive_utc(value: Any) -> dt.datetime:
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


def check_dtype(col: pd.Series, kind: str, where: str) -> pd.Series:
    """``col`` checked against a column kind; times converted to naive UTC datetime64[ns]."""
    if not _has_kind(col, kind):
        raise TypeError(
            f"{where} must hold {_EXPECTED[kind]}; got dtype {col.dtype}. "
            "Convert it first (e.g. with `astype` or `pd.to_datetime`)."
        )
    if kind == "time" and getattr(col.dtype, "tz", None) is not None:
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    return col.astype("datetime64[ns]") if kind == "time" else col


def check_columns(frame: Any, arg: str, required: Sequence[str], hint: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{arg}` must be a pandas DataFrame; got {type(frame).__name__}.")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        raise ValueError(
            f"`{arg}` is missing required column(s) {listed}; it needs "
            f"{', '.join(required)}{hint}. Add the missing column(s)."
        )


def prepare_frame(
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
        col = check_dtype(col, kind, f"Column `{name}` of `{arg}`")
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


def to_records(prepared: pd.DataFrame, table: sa.Table) -> list[dict[str, Any]]:
    """Plain Python values (datetime, int, float, str, None) that every DBAPI driver accepts."""
    names = [str(name) for name in prepared.columns]  # plain str: cheap to zip once per row
    lists = [_python_values(prepared[name], _kind(table, name)) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]


def to_frame(table: sa.Table, rows: Sequence[Any]) -> pd.DataFrame:
    """A frame with stable dtypes (str, datetime64[ns], int64, float64), even when empty."""
    data = {}
    for position, name in enumerate(table.c.keys()):
        values = [row[position] for row in rows]
        dtype = {"str": str, "time": "datetime64[ns]", "int": "int64", "float": "float64"}
        data[name] = pd.Series(values, dtype=dtype[_kind(table, name)])  # type: ignore[call-overload]
    return pd.DataFrame(data)
