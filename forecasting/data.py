"""Load and validate time series into the long frame (series_id, timestamp, value, covariates)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral
from os import PathLike
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from forecasting._data_checks import (
    CSV_LOC,
    DECIMAL_COMMA,
    SHOWN,
    DataError,
    check_duplicates,
    check_freq,
    clean_rows,
    column_names,
    describe_gap,
    format_time,
    is_numeric,
    plural,
    quote_source,
    to_floats,
    to_timestamps,
    where_at,
)
from forecasting.frequency import season_length_for, series_offset

__all__ = [
    "DEFAULT_SERIES_ID",
    "DataError",
    "MissingPolicy",
    "infer_freq",
    "load_csv",
    "season_length_for",
    "validate_frame",
]

DEFAULT_SERIES_ID = "series"
MissingPolicy = Literal["error", "interpolate", "ffill"]

_ID, _TIME, _VALUE = "series_id", "timestamp", "value"
_FREQ_FIX = 'pass it explicitly, e.g. --set data.freq=D (or freq="D")'
_FRAME_LOC = ("row", 0)  # 0-based row position of an in-memory frame
_SEPARATORS = (";", "\t", "|")  # tried, in order, when the header line has no comma
_SNIFF_BYTES = 1 << 16


def load_csv(
    path: str | PathLike[str],
    time_col: str = "timestamp",
    value_col: str = "value",
    id_col: str | None = None,
    freq: str | None = None,
    missing: MissingPolicy = "error",
    min_length: int | None = None,
    covariates: Sequence[str] | None = None,
    *,
    min_length_reason: str | None = None,
) -> pd.DataFrame:
    """Read a CSV file (header line, one row per observation) into a validated long frame.

    Nothing is written to disk. Entirely empty lines are skipped; time-zone-aware timestamps are
    converted to UTC and stored tz-naive. Errors name CSV lines, the header being line 1.

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    time_col, value_col, id_col : str
        Column names. ``id_col=None`` uses a ``series_id`` column when the file has one, else
        the file is one series called ``DEFAULT_SERIES_ID``.
    freq, missing, min_length, min_length_reason
        As in `validate_frame`.
    covariates : sequence of str, optional
        Extra columns kept as float covariates; ``None`` keeps every other numeric column.

    Returns
    -------
    pandas.DataFrame
        ``series_id``, ``timestamp``, ``value`` then the covariates (see `validate_frame`).
    """
    _check_args(missing, min_length)
    src, file = quote_source(str(path)), Path(path)
    if not file.is_file():
        raise DataError(f"{src}: file not found (looked for `{file.resolve()}`); check the path")
    raw = _read_text_table(file, src)
    if id_col is None and _ID in raw.columns:
        id_col = _ID
    wanted = [c for c in (time_col, value_col, id_col, *(covariates or ())) if c is not None]
    absent = [c for c in wanted if c not in raw.columns]
    if absent:
        raise DataError(
            f"{src}: column {column_names(absent)} not found; the file has columns "
            f"{column_names(list(raw.columns))}. Pass the column names with --time-col/--value-col/"
            "--id-col (config keys data.time_col, data.value_col, data.id_col)"
        )
    others = [c for c in raw.columns if c not in (time_col, value_col, id_col)]
    covs = list(covariates) if covariates is not None else [c for c in others if is_numeric(raw[c])]
    if clash := [c for c in covs if c in (_ID, _TIME, _VALUE)]:
        msg = "is a reserved output name (series_id, timestamp, value); rename it in the file"
        raise DataError(f"{src}: covariate column {column_names(clash)} {msg}")
    frame = raw[[time_col, value_col, *covs]].set_axis([_TIME, _VALUE, *covs], axis=1)
    frame.insert(0, _ID, raw[id_col] if id_col is not None else DEFAULT_SERIES_ID)
    names = {_ID: id_col or _ID, _TIME: time_col, _VALUE: value_col}
    return _validate(frame, freq, missing, min_length, min_length_reason, src, CSV_LOC, names)


def _read_text_table(file: Path, src: str) -> pd.DataFrame:
    """The file's cells as text: comma-, semicolon-, tab- or bar-separated, decimal commas read."""
    with file.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise DataError(
            f"{src}: not a text file (it holds binary data); save the series as a CSV text "
            "file: a header line, then one row per observation"
        )
    header = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    sep = next((c for c in _SEPARATORS if c in header and "," not in header), ",")
    try:
        with warnings.catch_warnings():  # more fields than header names: refused, not dropped
            warnings.simplefilter("error", pd.errors.ParserWarning)
            raw = pd.read_csv(file, sep=sep, dtype=str, skip_blank_lines=False, index_col=False)
    except pd.errors.ParserWarning:
        raise DataError(
            f"{src}: rows have more fields than the header line names; quote values that "
            "contain the separator, and a file with decimal commas (3,14) needs `;` between "
            "the fields"
        ) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{src}: not UTF-8 text (byte {exc.start} cannot be decoded); save the file as "
            "UTF-8 CSV text, or check that it is the CSV you meant"
        ) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        hint = ""
        if "Expected" in str(exc) and sep == ",":
            hint = "; a file with decimal commas (3,14) needs `;` between the fields"
        raise DataError(f"{src}: not a CSV file with a header line ({exc}){hint}") from None
    raw = raw.dropna(how="all")
    if sep != ",":  # decimal commas go with semicolons or tabs between fields
        for name in raw.columns:
            cells = raw[name].dropna()
            commas = cells[cells.str.contains(",", regex=False)]
            if len(commas) and commas.str.match(DECIMAL_COMMA).all():
                raw[name] = raw[name].str.replace(",", ".", regex=False)
    return raw


def validate_frame(
    frame: pd.DataFrame,
    freq: str | None = None,
    missing: MissingPolicy = "error",
    min_length: int | None = None,
    source: str = "frame",
    *,
    min_length_reason: str | None = None,
) -> pd.DataFrame:
    """Check an in-memory long frame and put it on a regular time grid (`frame` is not modified).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``timestamp``, ``value``, optionally ``series_id`` (one series called
        ``DEFAULT_SERIES_ID`` without it); every other column is a numeric covariate.
    freq : str, optional
        Pandas offset alias (``"h"``, ``"D"``, ``"W-SUN"``, ``"MS"``...); inferred if ``None``.
    missing : {"error", "interpolate", "ffill"}
        Gaps in the grid and NaN values are refused, filled linearly in time, or carried
        forward; leading gaps take the first observed value.
    min_length : int, optional
        Fewest points each series must have on its grid.
    source : str
        Name of the data, first in every error message (rows are 0-based positions).
    min_length_reason : str, optional
        Where `min_length` comes from, e.g. ``"input_width + horizon = 24 + 12"``.

    Returns
    -------
    pandas.DataFrame
        ``series_id`` (str), ``timestamp`` (datetime64[ns]), ``value`` and covariates (float64),
        sorted by series and time, RangeIndex, ``attrs["freq"]`` set.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`frame` must be a pandas DataFrame, got {type(frame).__name__}")
    _check_args(missing, min_length)
    source = quote_source(source)
    absent = [c for c in (_TIME, _VALUE) if c not in frame.columns]
    if absent:
        raise DataError(
            f"{source}: column {column_names(absent)} not found; the frame has columns "
            f"{column_names(list(frame.columns))}. A long frame has columns `series_id` "
            "(optional), `timestamp`, `value` and numeric covariates"
        )
    data = frame.reset_index(drop=True)
    if _ID not in data.columns:
        data.insert(0, _ID, DEFAULT_SERIES_ID)
    order = [_ID, _TIME, _VALUE, *(c for c in data.columns if c not in (_ID, _TIME, _VALUE))]
    if list(data.columns) != order:
        data = data[order]
    return _validate(data, freq, missing, min_length, min_length_reason, source, _FRAME_LOC, {})


def infer_freq(frame: pd.DataFrame, source: str = "frame") -> str:
    """Return the one pandas offset alias shared by every series of a long frame.

    Each series' sorted, de-duplicated timestamps go to `pandas.infer_freq`; when gaps defeat
    it, the most common time step (or the alias of short runs of points) is used, provided
    every timestamp lies on the grid it spans.

    Raises
    ------
    DataError
        When a series has no regular spacing, or the series disagree.
    """
    source = quote_source(source)
    ids = frame[_ID] if _ID in frame.columns else pd.Series(DEFAULT_SERIES_ID, index=frame.index)
    found: dict[str, str] = {}
    for sid, stamps in frame[_TIME].groupby(ids, sort=True):
        index = pd.DatetimeIndex(stamps.unique()).sort_values()
        if len(index) < 2:
            continue
        offset = series_offset(index)
        if offset is None:
            why = f"cannot infer the frequency of series `{sid}` from its timestamps"
            raise DataError(f"{source}: {why}; {_FREQ_FIX}")
        found[str(sid)] = offset.freqstr
    if not found:
        raise DataError(f"{source}: too few timestamps to infer the frequency; {_FREQ_FIX}")
    if len(set(found.values())) > 1:
        shown = ", ".join(f"`{sid}`: {alias}" for sid, alias in list(found.items())[:SHOWN])
        raise DataError(
            f"{source}: the series have different frequencies ({shown}); put series of "
            "different frequencies in different files, or pass one with e.g. --set data.freq=D"
        )
    return next(iter(found.values()))


def _check_args(missing: object, min_length: object) -> None:
    if missing not in get_args(MissingPolicy):
        raise ValueError(f"`missing` must be 'error', 'interpolate' or 'ffill', got {missing!r}")
    if min_length is not None and (
        not isinstance(min_length, Integral) or isinstance(min_length, bool) or min_length < 1
    ):
        raise ValueError(f"`min_length` must be a positive integer or None, got {min_length!r}")


def _validate(
    frame: pd.DataFrame,
    freq: str | None,
    missing: str,
    min_length: int | None,
    reason: str | None,
    src: str,
    loc: tuple[str, int],
    names: dict[str, str],
) -> pd.DataFrame:
    if (empty := frame[_ID].isna().to_numpy()).any():
        where = where_at([frame.index[int(empty.argmax())]], loc)
        raise DataError(f"{src}: empty series id at {where}; every row needs a series id")
    columns = [c for c in frame.columns if c not in (_ID, _TIME)]
    out = pd.DataFrame(
        {
            _ID: frame[_ID].astype(str),
            _TIME: to_timestamps(frame[_TIME], names.get(_TIME, _TIME), src, loc),
            **{c: to_floats(frame[c], names.get(c, c), src, loc) for c in columns},
        },
        index=frame.index,
    )
    if out.empty:
        raise DataError(f"{src}: no data rows; expected at least one observation")
    out, codes, ids, steps = _sorted(out)
    if ((codes[1:] == codes[:-1]) & (steps == 0)).any():
        check_duplicates(out, src, loc)
    offset = to_offset(check_freq(freq, src) if freq is not None else infer_freq(out, src))
    # Series already on a gap-free grid with every value present need no reindexing: they pass
    # in one vectorised step, and only the others go through the per-series loop below.
    clean = clean_rows([out[c] for c in columns], offset, codes, steps)
    if clean.all():
        out = out.reset_index(drop=True)  # already in the output's columns and types
    parts: list[pd.DataFrame] = [out if clean.all() else out[clean]] if clean.any() else []
    lengths = pd.Series(np.bincount(codes), index=ids)  # points on each series' grid
    holes, first_gap = 0, ""
    for sid, part in out[~clean].groupby(_ID, sort=False):
        grid = pd.date_range(part[_TIME].iloc[0], part[_TIME].iloc[-1], freq=offset)
        if not (on_grid := part[_TIME].isin(grid).to_numpy()).all():
            first = int(on_grid.argmin())
            raise DataError(
                f"{src}: series `{sid}` has {plural(int((~on_grid).sum()), 'timestamp')} off the "
                f"`{offset.freqstr}` grid (first: {format_time(part[_TIME].iloc[first])} at "
                f"{where_at([part.index[first]], loc)}); check `freq` (e.g. --set data.freq=h) "
                "or the timestamps"
            )
        filled = part.set_index(_TIME)[columns].reindex(grid)
        if (blank := filled.isna().all()).any():
            raise DataError(
                f"{src}: series `{sid}` has no values in column "
                f"{column_names([names.get(c, c) for c in blank[blank].index])}; drop it or fill it"
            )
        gaps = filled.isna().any(axis=1).to_numpy()
        if gaps.any():
            holes += int(gaps.sum())
            first_gap = first_gap or describe_gap(str(sid), grid, gaps)
            if missing == "interpolate":
                filled = filled.interpolate(method="time", limit_direction="both")
            elif missing == "ffill":
                filled = filled.ffill().bfill()
        lengths.loc[str(sid)] = len(grid)
        parts.append(filled.rename_axis(_TIME).reset_index().assign(**{_ID: sid}))
    if holes and missing == "error":
        raise DataError(
            f"{src}: {plural(holes, 'missing point')} (gaps in the time grid or empty values); "
            f"the first gap is in {first_gap}. Set `data.missing` to `interpolate` or `ffill` "
            "(e.g. --set data.missing=interpolate) to fill them"
        )
    short = lengths[lengths < min_length] if min_length is not None else lengths.iloc[:0]
    if len(short):
        why = reason or f"`min_length` = {min_length}"
        more = f" (and {len(short) - 1} more series)" if len(short) > 1 else ""
        raise DataError(
            f"{src}: series `{short.index[0]}` has {short.iloc[0]} points{more}, but at least "
            f"{min_length} are needed ({why}); give it a longer history or use a shorter window"
        )
    if clean.all():
        out.attrs["freq"] = offset.freqstr
        return out
    if len(parts) == 1:
        result = parts[0].reset_index(drop=True)[[_ID, _TIME, *columns]]
    else:
        result = pd.concat(parts, ignore_index=True)[[_ID, _TIME, *columns]]
        if clean.any():  # clean and filled series interleave: restore the order
            result = result.sort_values([_ID, _TIME], kind="stable", ignore_index=True)
    result = result.astype({_ID: str, _TIME: "datetime64[ns]", **dict.fromkeys(columns, "float64")})
    result.attrs["freq"] = offset.freqstr
    return result


def _sorted(out: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.Index, np.ndarray]:
    """``out`` sorted by series then time (stable; as it is when it already is sorted).

    Also returns each row's series number (its rank among the sorted ids), the sorted ids, and
    the time steps between consecutive rows in nanoseconds.
    """
    codes, ids = pd.factorize(out[_ID], sort=True)
    times = out[_TIME].to_numpy("datetime64[ns]").view("i8")
    later = np.diff(codes)
    if (later < 0).any() or ((later == 0) & (np.diff(times) < 0)).any():
        order = np.lexsort((times, codes))  # stable, like sort_values(kind="stable")
        out, codes, times = out.iloc[order], codes[order], times[order]
    return out, codes, pd.Index(ids), np.diff(times)
