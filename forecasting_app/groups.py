"""Per-group models: which series form each group, each group's names, and chunks of series.

``data.group_by`` names a column (one group per value; the value must be constant within a
series) or an integer N (the sorted series ids cut into groups of N). Each group is trained,
registered and promoted as if it were a config of its own named ``<name>.<key>``: its own
MLflow experiment, registered model (with its own ``challenger`` and ``champion``) and
live-accuracy run. ``key`` is the group's value made safe for a registry name (letters,
digits, ``_`` and ``-``; every other run of characters becomes one ``-``), or ``part0000``,
``part0001``... for groups of N.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import pandas as pd

from forecasting.data import DEFAULT_SERIES_ID, DataError
from forecasting_app.config import Config, DataConfig

__all__ = [
    "Group",
    "chunk_frames",
    "chunk_groups",
    "chunks",
    "column_groups",
    "forecast_units",
    "group_config",
    "plan_groups",
    "read_labels",
    "safe_key",
    "split_frame",
]

_ID = "series_id"
_SHOWN = 3  # offenders an error message lists
_SEPARATORS = (";", "\t", "|")  # as forecasting.data reads a file whose header has no comma
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Group:
    """One group of series and the name part of its experiment and registered model.

    Attributes
    ----------
    key : str
        Safe name part: the group's registered model is ``<registered name>.<key>``.
    label : str
        What the group is: the column's value, or the range of series ids of a chunk.
    series : tuple of str
        The series ids in the group, sorted.
    """

    key: str
    label: str
    series: tuple[str, ...]


def safe_key(value: object) -> str:
    """A registry-safe name part for a group value: ``"North / East"`` -> ``"North-East"``.

    Letters, digits, ``_`` and ``-`` are kept; every other run of characters becomes one
    ``-``, trimmed at both ends. A value with none of the kept characters gets ``g-`` and
    the first 8 hex digits of its SHA-1, so that it still has a stable name.
    """
    text = str(value)
    key = _UNSAFE.sub("-", text).strip("-")
    return key or f"g-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def chunks(items: Sequence[Hashable], size: int) -> list[list[Hashable]]:
    """``items`` in order, cut into consecutive lists of at most ``size``."""
    if size < 1:
        raise ValueError(f"`size` must be at least 1, got {size}")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def chunk_groups(series_ids: Iterable[object], size: int) -> list[Group]:
    """The sorted series ids cut into groups of ``size``: keys ``part0000``, ``part0001``...

    Membership follows the sorted ids, so a new series can move others to the next group.
    """
    ids = sorted({str(s) for s in series_ids})
    parts = chunks(ids, size)
    return [
        Group(f"part{k:04d}", f"series {part[0]} to {part[-1]}", tuple(str(s) for s in part))
        for k, part in enumerate(parts)
    ]


def column_groups(labels: pd.DataFrame, column: str, source: str = "the data") -> list[Group]:
    """One group per value of ``column``, which must hold one value per series.

    Parameters
    ----------
    labels : DataFrame
        ``series_id`` and ``column``, one row per observation (or per series).
    column : str
        The group column.
    source : str
        Named in error messages (the file).

    Returns
    -------
    list of Group
        Sorted by key.

    Raises
    ------
    DataError
        A series without a value, one with several, or two values with the same key.
    """
    table = pd.DataFrame({_ID: labels[_ID].astype(str), "label": labels[column].astype("string")})
    blank = table[table["label"].isna() | (table["label"].str.strip() == "")]
    if len(blank):
        ids = ", ".join(f"`{s}`" for s in blank[_ID].unique()[:_SHOWN])
        raise DataError(
            f"{source}: `data.group_by` column `{column}` is empty on some rows of series "
            f"{ids}; give every row its series' group, or group by a number of series "
            "(data.group_by=N)"
        )
    values = table.drop_duplicates().groupby(_ID, sort=True)["label"]
    counts = values.nunique()
    varying = counts[counts > 1]
    if len(varying):
        sid = varying.index[0]
        seen = ", ".join(repr(str(v)) for v in sorted(values.get_group(sid).unique())[:_SHOWN])
        more = f" (and {len(varying) - 1} more series)" if len(varying) > 1 else ""
        raise DataError(
            f"{source}: `data.group_by` column `{column}` varies within series `{sid}` "
            f"({seen}){more}; a group column must hold one value per series: fix the file, "
            "or group by another column or by a number of series (data.group_by=N)"
        )
    first = values.first()
    groups: dict[str, Group] = {}
    for label, members in first.groupby(first, sort=True):
        key = safe_key(label)
        if key in groups:
            raise DataError(
                f"{source}: `data.group_by` values {groups[key].label!r} and {label!r} of "
                f"column `{column}` both make the registry name part `{key}`; rename one"
            )
        groups[key] = Group(key, str(label), tuple(sorted(str(s) for s in members.index)))
    return [groups[k] for k in sorted(groups)]


def read_labels(data: DataConfig, column: str) -> pd.DataFrame:
    """The series id and ``column`` of every row of the configured CSV, as text.

    Raises
    ------
    DataError
        When the data has no such column (a synthetic series has none).
    """
    if data.source != "csv" or data.path is None:
        raise DataError(
            f"`data.group_by` names the column `{column}`, but a synthetic series has only "
            "series_id, timestamp and value; set data.group_by to a number N for groups of "
            "N series, or read a CSV with that column"
        )
    with open(data.path, encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    sep = next((c for c in _SEPARATORS if c in header and "," not in header), ",")
    columns = list(pd.read_csv(data.path, sep=sep, nrows=0, index_col=False).columns)
    if column not in columns:
        shown = ", ".join(f"`{c}`" for c in columns)
        raise DataError(
            f"`{data.path}`: `data.group_by` column `{column}` not found; the file has "
            f"columns {shown}. Name one of them, or set data.group_by to a number N for "
            "groups of N series"
        )
    id_col = data.id_col or (_ID if _ID in columns else None)
    wanted = [c for c in dict.fromkeys([id_col, column]) if c is not None]
    raw = pd.read_csv(data.path, sep=sep, dtype=str, usecols=wanted, index_col=False)
    raw = raw.dropna(how="all")
    ids = raw[id_col] if id_col is not None else pd.Series(DEFAULT_SERIES_ID, index=raw.index)
    return pd.DataFrame({_ID: ids.astype(str), column: raw[column]})


def plan_groups(config: Config, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Group] | None]:
    """The groups of ``config.data.group_by`` over ``frame``, and the frame to model.

    Parameters
    ----------
    config : Config
        ``data.group_by`` (and, for a column, the CSV it is read from).
    frame : DataFrame
        The validated long frame of :func:`forecasting_app.sources.load_series`.

    Returns
    -------
    frame : DataFrame
        ``frame``, less the group column where it was taken as a covariate only because
        it is numeric (``data.covariates`` unset): a group is not a feature.
    groups : list of Group or None
        ``None`` without ``group_by``.

    Raises
    ------
    DataError
        An unknown column, one that varies within a series or is empty, or two values
        that make the same name.
    """
    group_by = config.data.group_by
    if group_by is None:
        return frame, None
    if isinstance(group_by, int):
        return frame, chunk_groups(frame[_ID].unique(), group_by)
    source = f"`{config.data.path}`" if config.data.path else "the data"
    groups = column_groups(read_labels(config.data, group_by), group_by, source)
    present = set(frame[_ID].astype(str).unique())
    groups = [Group(g.key, g.label, tuple(s for s in g.series if s in present)) for g in groups]
    groups = [g for g in groups if g.series]
    auto_covariate = config.data.covariates is None and group_by in frame.columns
    if auto_covariate and group_by not in (_ID, "timestamp", "value"):
        frame = frame.drop(columns=[group_by])
    return frame, groups


def group_config(config: Config, group: Group) -> Config:
    """The config of one group: name ``<name>.<key>``, registered model ``<registered>.<key>``.

    Every name derived from the config (MLflow experiment, registered model, live-accuracy
    run, Prefect artifact keys) is then the group's own.
    """
    registered = config.tracking.registered_model
    tracking = config.tracking.model_copy(
        update={"registered_model": f"{registered}.{group.key}" if registered else None}
    )
    return config.model_copy(update={"name": f"{config.name}.{group.key}", "tracking": tracking})


def split_frame(frame: pd.DataFrame, parts: Sequence[Sequence[str]]) -> list[pd.DataFrame]:
    """The rows of ``frame`` of each list of series ids, in one pass over the frame.

    Each part keeps the frame's row order and ``attrs``; a series in no part is left out.
    """
    index = {str(sid): k for k, part in enumerate(parts) for sid in part}
    codes = frame[_ID].astype(str).map(index)
    out = [frame.iloc[:0]] * len(parts)
    for code, rows in frame.groupby(codes, sort=False).indices.items():
        part = frame.iloc[rows]
        part.attrs = dict(frame.attrs)
        out[int(cast(float, code))] = part
    return out


def chunk_frames(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """``frame`` cut into chunks of at most ``size`` series, in the order the series come.

    A frame of at most ``size`` series is its only chunk, itself.
    """
    ids = list(frame["series_id"].unique())
    if len(ids) <= size:
        return [frame]
    return split_frame(frame, chunks(ids, size))  # type: ignore[arg-type]


def forecast_units(
    config: Config, frame: pd.DataFrame, found: list[Group] | None
) -> list[tuple[Config, pd.DataFrame]]:
    """The configs and series forecast by one model each: the whole frame, or each group's.

    ``found`` is the groups :func:`plan_groups` returned (``None``: one model for every series).
    """
    if found is None:
        return [(config, frame)]
    configs = [group_config(config, g) for g in found]
    return list(zip(configs, split_frame(frame, [g.series for g in found]), strict=True))
