"""Tests for forecasting.data: CSV loading, validation, frequency inference and season lengths."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.data import (
    DEFAULT_SERIES_ID,
    DataError,
    infer_freq,
    load_csv,
    season_length_for,
    validate_frame,
)

CO2 = Path(__file__).resolve().parents[1] / "data" / "co2_weekly.csv"
COLUMN_FIX = (
    "Pass the column names with --time-col/--value-col/--id-col "
    "(config keys data.time_col, data.value_col, data.id_col)"
)
MISSING_FIX = (
    "Set `data.missing` to `interpolate` or `ffill` (e.g. --set data.missing=interpolate) "
    "to fill them"
)
FREQ_FIX = 'pass it explicitly, e.g. --set data.freq=D (or freq="D")'
TIME_FIX = "write dates and times like 2020-01-31 or 2020-01-31 13:00:00"
NUMBER_FIX = "write plain numbers such as 3.14 (leave the cell empty if missing)"


def write_csv(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def hourly_csv(n: int = 6, start: str = "2020-01-01") -> str:
    stamps = pd.date_range(start, periods=n, freq="h")
    return "timestamp,value\n" + "".join(f"{t},{i}\n" for i, t in enumerate(stamps))


# --- loading ---------------------------------------------------------------------------------


def test_load_csv_returns_the_long_frame(tmp_path):
    frame = load_csv(write_csv(tmp_path, hourly_csv(6)))

    assert list(frame.columns) == ["series_id", "timestamp", "value"]
    assert frame["series_id"].dtype == pd.Series(["x"]).astype(str).dtype
    assert frame["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert frame["value"].dtype == np.dtype("float64")
    assert isinstance(frame.index, pd.RangeIndex)
    assert set(frame["series_id"]) == {DEFAULT_SERIES_ID}
    assert frame["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert frame.attrs["freq"] == "h"


def test_load_csv_sorts_unsorted_rows(tmp_path):
    text = "timestamp,value\n2020-01-03,3\n2020-01-01,1\n2020-01-02,2\n"

    frame = load_csv(write_csv(tmp_path, text))

    assert frame["timestamp"].dt.day.tolist() == [1, 2, 3]
    assert frame["value"].tolist() == [1.0, 2.0, 3.0]
    assert frame.attrs["freq"] == "D"


def test_load_csv_writes_nothing(tmp_path):
    path = write_csv(tmp_path, hourly_csv(4))
    before = sorted(p.name for p in tmp_path.iterdir())

    load_csv(path)

    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("id_col", ["store", None], ids=["id-col-given", "series_id-column-found"])
def test_load_csv_reads_several_series(tmp_path, id_col):
    name = id_col or "series_id"
    text = (
        f"day,{name},sales\n"
        "2020-01-02,b,20\n2020-01-01,b,10\n2020-01-03,b,30\n"
        "2020-01-01,a,1\n2020-01-02,a,2\n2020-01-03,a,3\n"
    )

    frame = load_csv(write_csv(tmp_path, text), time_col="day", value_col="sales", id_col=id_col)

    assert frame["series_id"].tolist() == ["a", "a", "a", "b", "b", "b"]
    assert frame["value"].tolist() == [1.0, 2.0, 3.0, 10.0, 20.0, 30.0]
    assert list(frame.columns) == ["series_id", "timestamp", "value"]


@pytest.mark.parametrize(
    ("covariates", "expected"),
    [
        pytest.param(None, ["temp", "promo"], id="numeric-columns-by-default"),
        pytest.param(["promo"], ["promo"], id="explicit-list"),
        pytest.param([], [], id="none"),
    ],
)
def test_load_csv_covariates(tmp_path, covariates, expected):
    text = (
        "timestamp,value,temp,note,promo\n"
        "2020-01-01,1,20.5,cold,0\n2020-01-02,2,,warm,1\n2020-01-03,3,22.5,hot,0\n"
    )

    frame = load_csv(write_csv(tmp_path, text), covariates=covariates, missing="interpolate")

    assert list(frame.columns) == ["series_id", "timestamp", "value", *expected]
    assert all(frame[c].dtype == np.dtype("float64") for c in expected)
    if "temp" in expected:
        assert frame["temp"].tolist() == [20.5, 21.5, 22.5]


def test_load_csv_converts_tz_aware_timestamps_to_naive_utc(tmp_path):
    text = (
        "timestamp,value\n"
        "2020-01-01T01:00:00+01:00,1\n2020-01-01T02:00:00+01:00,2\n2020-01-01T03:00:00+01:00,3\n"
    )

    frame = load_csv(write_csv(tmp_path, text))

    assert frame["timestamp"].dt.tz is None
    assert frame["timestamp"].dt.hour.tolist() == [0, 1, 2]


def test_load_csv_accepts_iso_timestamps_of_mixed_precision(tmp_path):
    text = "timestamp,value\n2020-01-01,1\n2020-01-01 12:00,2\n2020-01-02T00:00:00,3\n"

    frame = load_csv(write_csv(tmp_path, text))

    assert frame["timestamp"].dt.hour.tolist() == [0, 12, 0]
    assert frame.attrs["freq"] == "12h"


def test_load_csv_skips_blank_lines_but_counts_them(tmp_path):
    path = write_csv(tmp_path, "timestamp,value\n2020-01-01,1\n\n2020-01-02,2\n2020-01-03,x\n")

    msg = f"`{path}`: value 'x' in column `value` at line 5 is not a finite number; {NUMBER_FIX}"
    with pytest.raises(DataError, match=re.escape(msg)):
        load_csv(path)
    assert len(load_csv(write_csv(tmp_path, "timestamp,value\n\n2020-01-01,1\n\n"), freq="D")) == 1


# --- one clear error per problem -------------------------------------------------------------

GAPPY = "timestamp,value\n2020-01-01,1\n2020-01-02,2\n2020-01-05,5\n2020-01-06,\n2020-01-07,7\n"
DUPES = "timestamp,value\n2020-01-01,1\n2020-01-01,1\n2020-01-02,2\n2020-01-02,2\n2020-01-03,3\n"
MANY_DUPES = "series_id,timestamp,value\n" + "".join(
    f"{s},2020-01-0{d},1\n{s},2020-01-0{d},2\n" for s in "ab" for d in (1, 2)
)

ERRORS = [
    pytest.param(
        None,
        {},
        "{path}: file not found (looked for `{resolved}`); check the path",
        id="missing-file",
    ),
    pytest.param(
        "date,co2\n2020-01-01,1\n",
        {},
        f"{{path}}: column `timestamp`, `value` not found; the file has columns `date`, `co2`. "
        f"{COLUMN_FIX}",
        id="missing-columns",
    ),
    pytest.param(
        "date,co2\n2020-01-01,1\n",
        {"time_col": "date", "value_col": "co2", "id_col": "store"},
        f"{{path}}: column `store` not found; the file has columns `date`, `co2`. {COLUMN_FIX}",
        id="missing-id-column",
    ),
    pytest.param(
        "timestamp,value\n2020-01-01,1\n2020-01-02,2\n2020-01-0x,3\n",
        {},
        f"{{path}}: cannot parse timestamp '2020-01-0x' in column `timestamp` at line 4; "
        f"{TIME_FIX}",
        id="bad-timestamp",
    ),
    pytest.param(
        "timestamp,value\n2020-01-01,1\n,2\n",
        {},
        f"{{path}}: cannot parse timestamp '' in column `timestamp` at line 3; {TIME_FIX}",
        id="empty-timestamp",
    ),
    pytest.param(
        "day,y\n2020-01-01,1\n2020-01-02,1.5kg\n",
        {"time_col": "day", "value_col": "y"},
        f"{{path}}: value '1.5kg' in column `y` at line 3 is not a finite number; {NUMBER_FIX}",
        id="non-numeric-value",
    ),
    pytest.param(
        "timestamp,value\n2020-01-01,1\n2020-01-02,inf\n",
        {},
        f"{{path}}: value 'inf' in column `value` at line 3 is not a finite number; {NUMBER_FIX}",
        id="infinite-value",
    ),
    pytest.param(
        "timestamp,value,temp\n2020-01-01,1,2\n2020-01-02,1,warm\n",
        {"covariates": ["temp"]},
        f"{{path}}: value 'warm' in column `temp` at line 3 is not a finite number; {NUMBER_FIX}",
        id="non-numeric-covariate",
    ),
    pytest.param(
        DUPES,
        {},
        "{path}: 2 duplicate timestamps: series `series` at 2020-01-01 (lines 2, 3); series "
        "`series` at 2020-01-02 (lines 4, 5); keep one row per series and timestamp (a file of "
        "several series needs --id-col / data.id_col)",
        id="duplicate-timestamps",
    ),
    pytest.param(
        MANY_DUPES,
        {},
        "{path}: 4 duplicate timestamps: series `a` at 2020-01-01 (lines 2, 3); series `a` at "
        "2020-01-02 (lines 4, 5); series `b` at 2020-01-01 (lines 6, 7) and 1 more; keep one "
        "row per series and timestamp",
        id="duplicates-first-few",
    ),
    pytest.param(
        GAPPY,
        {},
        "{path}: 3 missing points (gaps in the time grid or empty values); the first gap is in "
        f"series `series` from 2020-01-03 to 2020-01-04 (2 points). {MISSING_FIX}",
        id="gap-and-nan",
    ),
    pytest.param(
        "timestamp,value\n2020-01-01 00:00,1\n2020-01-01 01:00,\n2020-01-01 02:00,3\n",
        {},
        "{path}: 1 missing point (gaps in the time grid or empty values); the first gap is in "
        f"series `series` at 2020-01-01 01:00:00 (1 point). {MISSING_FIX}",
        id="empty-value",
    ),
    pytest.param(
        hourly_csv(10),
        {"min_length": 36, "min_length_reason": "input_width + horizon = 24 + 12"},
        "{path}: series `series` has 10 points, but at least 36 are needed "
        "(input_width + horizon = 24 + 12); give it a longer history or use a shorter window",
        id="too-short-with-reason",
    ),
    pytest.param(
        "series_id,timestamp,value\n"
        + "".join(f"{s},2020-01-0{d},1\n" for s in "abc" for d in range(1, 4)),
        {"min_length": 5},
        "{path}: series `a` has 3 points (and 2 more series), but at least 5 are needed "
        "(`min_length` = 5); give it a longer history or use a shorter window",
        id="too-short-several",
    ),
    pytest.param(
        "timestamp,value\n2020-01-01 00:00,1\n2020-01-01 00:07,2\n2020-01-01 00:19,3\n"
        "2020-01-01 01:00,4\n",
        {},
        "{path}: cannot infer the frequency of series `series` from its timestamps; " + FREQ_FIX,
        id="irregular-frequency",
    ),
    pytest.param(
        "timestamp,value\n2020-01-01,1\n",
        {},
        "{path}: too few timestamps to infer the frequency; " + FREQ_FIX,
        id="too-few-timestamps",
    ),
    pytest.param(
        "series_id,timestamp,value\na,2020-01-01,1\na,2020-01-02,2\n"
        "b,2020-01-01 00:00,1\nb,2020-01-01 01:00,2\n",
        {},
        "{path}: the series have different frequencies (`a`: D, `b`: h); put series of "
        "different frequencies in different files, or pass one with e.g. --set data.freq=D",
        id="mixed-frequencies",
    ),
    pytest.param(
        hourly_csv(4),
        {"freq": "D"},
        "{path}: series `series` has 3 timestamps off the `D` grid (first: 2020-01-01 "
        "01:00:00 at line 3); check `freq` (e.g. --set data.freq=h) or the timestamps",
        id="off-grid-for-given-freq",
    ),
    pytest.param(
        hourly_csv(4),
        {"freq": "fortnightly"},
        "{path}: `freq` 'fortnightly' is not a pandas frequency alias; use one such as h, "
        "30min, D, B, W-SUN, MS, QS or YS",
        id="unknown-freq-alias",
    ),
    pytest.param(
        "store,timestamp,value\na,2020-01-01,1\n,2020-01-02,2\n",
        {"id_col": "store"},
        "{path}: empty series id at line 3; every row needs a series id",
        id="empty-series-id",
    ),
    pytest.param(
        "timestamp,value\n2020-01-01,\n2020-01-02,\n",
        {"missing": "interpolate"},
        "{path}: series `series` has no values in column `value`; drop it or fill it",
        id="all-values-missing",
    ),
    pytest.param(
        "timestamp,value\n",
        {},
        "{path}: no data rows; expected at least one observation",
        id="header-only",
    ),
    pytest.param(
        "",
        {},
        "{path}: not a CSV file with a header line (No columns to parse from file)",
        id="empty-file",
    ),
    pytest.param(
        "date,y,value\n2020-01-01,1,3\n",
        {"time_col": "date", "value_col": "y"},
        "{path}: covariate column `value` is a reserved output name (series_id, timestamp, "
        "value); rename it in the file",
        id="reserved-covariate-name",
    ),
]


@pytest.mark.parametrize(("text", "kwargs", "template"), ERRORS)
def test_load_csv_errors(tmp_path, text, kwargs, template):
    path = tmp_path / "bad.csv" if text is None else write_csv(tmp_path, text, "bad.csv")
    msg = template.format(path=f"`{path}`", resolved=path.resolve())

    with pytest.raises(DataError, match=re.escape(msg)):
        load_csv(path, **kwargs)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        pytest.param(
            {"missing": "drop"},
            "`missing` must be 'error', 'interpolate' or 'ffill', got 'drop'",
            id="unknown-missing-policy",
        ),
        pytest.param(
            {"min_length": 0},
            "`min_length` must be a positive integer or None, got 0",
            id="min-length-zero",
        ),
    ],
)
def test_bad_arguments(tmp_path, kwargs, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        load_csv(write_csv(tmp_path, hourly_csv(3)), **kwargs)


# --- missing-value policies ------------------------------------------------------------------


def test_interpolate_is_linear_in_time_over_the_grid(tmp_path):
    # Monthly steps differ in length (31, 29 and 31 days), so time-linear is not index-linear.
    text = "timestamp,value\n2020-01-01,0\n2020-02-01,\n2020-04-01,91\n2020-05-01,121\n"

    frame = load_csv(write_csv(tmp_path, text), missing="interpolate")

    assert frame.attrs["freq"] == "MS"
    assert frame["timestamp"].dt.month.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(frame["value"], [0.0, 31.0, 60.0, 91.0, 121.0])


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        pytest.param("interpolate", [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 5.0], id="interpolate"),
        pytest.param("ffill", [1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 5.0], id="ffill"),
    ],
)
def test_missing_policies_fill_gaps_and_edges(tmp_path, missing, expected):
    text = "timestamp,value\n2020-01-01 00:00,\n2020-01-01 01:00,1\n2020-01-01 05:00,5\n" + (
        "2020-01-01 06:00,\n"
    )

    frame = load_csv(write_csv(tmp_path, text), missing=missing)

    assert frame["timestamp"].dt.hour.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert frame["value"].tolist() == expected
    assert frame["series_id"].tolist() == [DEFAULT_SERIES_ID] * 7


@pytest.mark.parametrize("missing", ["interpolate", "ffill"])
def test_gap_free_and_gappy_series_keep_their_order_and_values(missing):
    # Gap-free series skip the per-series reindexing; the result must not show it.
    stamps = pd.date_range("2020-01-01", periods=6, freq="h")
    parts = {
        "a": pd.Series([0.0, 1, 2, 3, 4, 5]),
        "b": pd.Series([0.0, np.nan, 2, 3, 4, 5]),  # an empty value
        "c": pd.Series([0.0, 1, 2, 3, 4, 5]),
        "d": pd.Series([0.0, 1, 2, 3, 4, 5]).drop(index=3),  # a missing timestamp
    }
    frame = pd.concat(
        pd.DataFrame({"series_id": sid, "timestamp": stamps[v.index], "value": v.to_numpy()})
        for sid, v in reversed(parts.items())
    )
    out = validate_frame(frame, missing=missing)
    expected = pd.concat(
        [validate_frame(frame[frame["series_id"] == sid], missing=missing) for sid in parts],
        ignore_index=True,
    )

    pd.testing.assert_frame_equal(out, expected)
    assert out["series_id"].unique().tolist() == ["a", "b", "c", "d"]
    assert out.groupby("series_id").size().tolist() == [6, 6, 6, 6]


def test_short_series_error_counts_gap_free_and_gappy_series_alike():
    stamps = pd.date_range("2020-01-01", periods=4, freq="D")
    frame = pd.DataFrame(
        {
            "series_id": ["a"] * 3 + ["b"] * 2 + ["c"] * 4,
            "timestamp": [*stamps[:3], stamps[0], stamps[2], *stamps],
            "value": np.arange(9.0),
        }
    )
    msg = (
        "`frame`: series `a` has 3 points (and 1 more series), but at least 4 are needed "
        "(`min_length` = 4); give it a longer history or use a shorter window"
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        validate_frame(frame, freq="D", missing="interpolate", min_length=4)


# --- frequency -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alias", ["h", "30min", "D", "B", "W-SAT", "W-SUN", "MS", "ME", "QS-JAN", "QE-DEC", "YS-JAN"]
)
@pytest.mark.parametrize("gaps", [False, True], ids=["regular", "with-gaps"])
def test_infer_freq(alias, gaps):
    stamps = pd.date_range("2021-01-01", periods=40, freq=alias)
    if gaps:
        stamps = stamps.delete([3, 4, 10, 21, 22, 23])
    frame = pd.DataFrame({"timestamp": stamps[::-1], "value": 1.0})

    assert infer_freq(frame) == alias
    assert validate_frame(frame, missing="ffill").attrs["freq"] == alias


@pytest.mark.parametrize("alias", ["MS", "ME", "QS-JAN", "QE-DEC", "YS-JAN", "YE-DEC", "W-SUN"])
def test_infer_freq_of_a_short_calendar_series_with_a_gap(alias):
    # Four points, the third missing: too few regular runs for pd.infer_freq to help.
    stamps = pd.date_range("2021-04-01", periods=5, freq=alias).delete(2)
    frame = pd.DataFrame({"timestamp": stamps, "value": 1.0})

    assert infer_freq(frame) == alias


def test_infer_freq_needs_one_frequency_for_all_series():
    frame = pd.DataFrame(
        {
            "series_id": ["a"] * 3 + ["b"] * 3,
            "timestamp": pd.date_range("2020", periods=3, freq="D").append(
                pd.date_range("2020", periods=3, freq="W-SUN")
            ),
            "value": 1.0,
        }
    )
    msg = (
        "`weekly.csv`: the series have different frequencies (`a`: D, `b`: W-SUN); put series "
        "of different frequencies in different files, or pass one with e.g. --set data.freq=D"
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        infer_freq(frame, source="weekly.csv")


@pytest.mark.parametrize(
    ("freq", "season"),
    [
        ("h", 24),
        ("2h", 12),
        ("30min", 48),
        ("15min", 96),
        ("D", 7),
        ("B", 5),
        ("W", 52),
        ("W-SAT", 52),
        ("MS", 12),
        ("ME", 12),
        ("3ME", 4),
        ("QS", 4),
        ("QE-DEC", 4),
        ("YS", 1),
        ("YE", 1),
        ("s", 1),
        ("7h", 1),
    ],
    ids=lambda v: str(v),
)
def test_season_length_for(freq, season):
    assert season_length_for(freq) == season


# --- in-memory frames ------------------------------------------------------------------------


def test_validate_frame_adds_series_id_and_keeps_input_unchanged():
    frame = pd.DataFrame(
        {"timestamp": pd.date_range("2020", periods=3, freq="D", tz="UTC"), "value": [1, 2, 3]}
    )
    before = frame.copy()

    out = validate_frame(frame)

    pd.testing.assert_frame_equal(frame, before)
    assert out["series_id"].tolist() == [DEFAULT_SERIES_ID] * 3
    assert out["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert out["value"].dtype == np.dtype("float64")
    assert validate_frame(out).equals(out)


@pytest.mark.parametrize(
    ("frame", "msg"),
    [
        pytest.param(
            pd.DataFrame({"ds": ["2020-01-01"], "y": [1.0]}),
            "`history`: column `timestamp`, `value` not found; the frame has columns `ds`, `y`. "
            "A long frame has columns `series_id` (optional), `timestamp`, `value` and numeric "
            "covariates",
            id="missing-columns",
        ),
        pytest.param(
            pd.DataFrame(
                {"timestamp": ["2020-01-01", "2020-01-02", "2020-01-03"], "value": [1, "two", 3]},
                index=[10, 11, 12],
            ),
            f"`history`: value 'two' in column `value` at row 1 is not a finite number; "
            f"{NUMBER_FIX}",
            id="rows-are-positions",
        ),
    ],
)
def test_validate_frame_errors(frame, msg):
    with pytest.raises(DataError, match=re.escape(msg)):
        validate_frame(frame, source="`history`")


def test_validate_frame_refuses_non_frames():
    with pytest.raises(TypeError, match=re.escape("`frame` must be a pandas DataFrame, got list")):
        validate_frame([1, 2, 3])  # type: ignore[arg-type]


# --- the bundled CO2 series ------------------------------------------------------------------


def test_bundled_co2_loads_weekly_with_interpolation():
    frame = load_csv(CO2, missing="interpolate")

    assert frame.attrs["freq"] == "W-SAT"
    assert season_length_for(frame.attrs["freq"]) == 52
    assert len(frame) == 2284
    assert not frame["value"].isna().any()
    assert frame["timestamp"].iloc[0] == pd.Timestamp("1958-03-29")
    assert frame["timestamp"].diff().dropna().eq(pd.Timedelta(weeks=1)).all()


def test_bundled_co2_refuses_gaps_by_default():
    msg = (
        f"`{CO2}`: 59 missing points (gaps in the time grid or empty values); the first gap is "
        f"in series `series` at 1958-05-10 (1 point). {MISSING_FIX}"
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        load_csv(CO2)


def test_bundled_co2_with_dropped_rows_still_resolves_to_weekly(tmp_path):
    # Without the empty weeks the rows themselves have gaps, which defeats pd.infer_freq.
    rows = CO2.read_text().splitlines()
    kept = [line for line in rows if not line.endswith(",")]
    path = write_csv(tmp_path, "\n".join(kept) + "\n", "co2_dropped.csv")

    frame = load_csv(path, missing="ffill")

    assert frame.attrs["freq"] == "W-SAT"
    assert len(frame) == 2284
