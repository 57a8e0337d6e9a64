"""Tests for the forecast store on real SQLite files: round trips, idempotency, atomicity."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from forecasting import store as store_module
from forecasting.store import ForecastStore, realised_metrics

ORIGIN = pd.Timestamp("2024-01-01 00:00")


def make_forecasts(
    origin: pd.Timestamp = ORIGIN,
    horizon: int = 3,
    series: tuple[str, ...] = ("a", "b"),
    model_name: str = "demo",
    model_version: str = "3",
    run_id: str | None = "run1",
) -> pd.DataFrame:
    """One forecast per series and step, value = 10 * step (+ 100 for series "b")."""
    rows = [
        {
            "series_id": sid,
            "origin": origin,
            "target_timestamp": origin + pd.Timedelta(hours=step),
            "step": step,
            "value": 10.0 * step + (100.0 if sid == "b" else 0.0),
            "model_name": model_name,
            "model_version": model_version,
            "run_id": run_id,
            "method": "model",
        }
        for sid in series
        for step in range(1, horizon + 1)
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def store(tmp_path: Path) -> ForecastStore:
    return ForecastStore(f"sqlite:///{tmp_path / 'sub' / 'forecasts.db'}")


def test_round_trip_rows_and_dtypes(store: ForecastStore) -> None:
    frame = make_forecasts().assign(lower=lambda f: f["value"] - 1, upper=lambda f: f["value"] + 1)
    assert store.write_forecasts(frame) == 6
    got = store.read_forecasts()
    assert list(got.columns) == [
        "series_id", "origin", "target_timestamp", "step", "value", "lower", "upper",
        "model_name", "model_version", "run_id", "method", "created_at",
    ]  # fmt: skip
    assert got["origin"].dtype == "datetime64[ns]"
    assert got["created_at"].dtype == "datetime64[ns]"
    assert got["step"].dtype == "int64"
    assert got["value"].dtype == "float64"
    for name in ("series_id", "model_name", "model_version", "run_id", "method"):
        assert pd.api.types.is_string_dtype(got[name]), name
    assert got["created_at"].notna().all()
    pd.testing.assert_frame_equal(
        got[frame.columns], frame, check_dtype=False, check_index_type=False
    )


def test_empty_read_keeps_dtypes_and_optional_columns_default_to_null(
    store: ForecastStore,
) -> None:
    empty = store.read_forecasts()
    assert empty.empty
    assert empty["origin"].dtype == "datetime64[ns]" and empty["step"].dtype == "int64"
    store.write_forecasts(make_forecasts(run_id=None, series=("a",), horizon=1))
    got = store.read_forecasts()
    assert got[["lower", "upper", "run_id"]].isna().all().all()


def test_writing_the_same_forecasts_twice_writes_nothing(store: ForecastStore) -> None:
    assert store.write_forecasts(make_forecasts()) == 6
    assert store.write_forecasts(make_forecasts()) == 0
    assert store.write_forecasts(make_forecasts().iloc[:0]) == 0
    # A partly new frame writes only its new rows.
    assert store.write_forecasts(make_forecasts(series=("a", "b", "c"))) == 3
    assert len(store.read_forecasts()) == 9


def test_two_origins_are_stored_separately(store: ForecastStore) -> None:
    later = ORIGIN + pd.Timedelta(hours=1)
    store.write_forecasts(make_forecasts(ORIGIN))
    assert store.write_forecasts(make_forecasts(later)) == 6
    assert store.origins() == [ORIGIN, later]
    assert store.origins(model_name="other") == []
    assert len(store.read_forecasts(origin=later)) == 6
    assert list(store.read_forecasts(series_id="a", origin=ORIGIN)["step"]) == [1, 2, 3]


def test_new_model_version_for_the_same_origin_is_new_rows(store: ForecastStore) -> None:
    store.write_forecasts(make_forecasts(model_version="3"))
    assert store.write_forecasts(make_forecasts(model_version="seasonal_naive")) == 6
    got = store.read_forecasts(model_name="demo")
    assert sorted(set(got["model_version"])) == ["3", "seasonal_naive"]
    assert len(store.read_forecasts(model_version="3")) == 6


def test_integer_versions_and_tz_aware_times_are_normalised(store: ForecastStore) -> None:
    created = pd.Timestamp("2024-01-01 12:00", tz="UTC")
    frame = make_forecasts().assign(model_version=4, created_at=created)
    frame["origin"] = frame["origin"].dt.tz_localize("Europe/Paris")
    frame["target_timestamp"] = frame["target_timestamp"].dt.tz_localize("Europe/Paris")
    store.write_forecasts(frame)
    got = store.read_forecasts()
    assert set(got["model_version"]) == {"4"}
    assert set(got["origin"]) == {ORIGIN - pd.Timedelta(hours=1)}  # Paris is UTC+1 in January
    assert set(got["created_at"]) == {created.tz_localize(None)}


def test_a_write_failing_half_way_leaves_nothing(
    store: ForecastStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_BATCH_SIZE", 2)
    inserts = []
    original = Connection.execute

    def failing_execute(self: Connection, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(statement, Insert):
            inserts.append(statement)
            if len(inserts) == 2:
                raise RuntimeError("disk full")
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(Connection, "execute", failing_execute)
    with pytest.raises(RuntimeError, match="disk full"):
        store.write_forecasts(make_forecasts())
    monkeypatch.setattr(Connection, "execute", original)
    assert len(inserts) == 2  # the first batch was inserted before the failure...
    assert store.read_forecasts().empty  # ...and rolled back with it
    assert store.write_forecasts(make_forecasts()) == 6


def test_a_concurrent_writer_of_the_same_keys_is_retried(
    store: ForecastStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process stores the same forecasts between our key lookup and our insert.
    other = ForecastStore(store.url)
    original = Connection.execute
    raced = []

    def racing_execute(self: Connection, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(statement, Insert) and not raced:
            raced.append(-1)  # set first: the other writer's own insert comes through here too
            raced[0] = other.write_forecasts(make_forecasts())
        return original(self, statement, *args, **kwargs)

    store.write_forecasts(make_forecasts(series=("z",)))  # create the file and tables first
    monkeypatch.setattr(Connection, "execute", racing_execute)
    assert store.write_forecasts(make_forecasts()) == 0
    assert raced == [6]
    assert len(store.read_forecasts()) == 9
    other.close()


def test_a_constraint_violation_in_the_database_rolls_back(
    store: ForecastStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bypass the frame checks so the database itself rejects the last row (NOT NULL on value).
    original = store_module._records

    def records_with_null(prepared: pd.DataFrame, table: Any) -> list[dict[str, Any]]:
        rows = original(prepared, table)
        rows[-1]["value"] = None
        return rows

    monkeypatch.setattr(store_module, "_BATCH_SIZE", 2)
    monkeypatch.setattr(store_module, "_records", records_with_null)
    with pytest.raises(
        IntegrityError, match=re.escape("NOT NULL constraint failed: forecasts.value")
    ):
        store.write_forecasts(make_forecasts())
    assert store.read_forecasts().empty


def test_missing_columns_message(store: ForecastStore) -> None:
    frame = make_forecasts().drop(columns=["run_id", "method"])
    msg = (
        "`forecasts` is missing required column(s) `run_id`, `method`; it needs series_id, "
        "origin, target_timestamp, step, value, model_name, model_version, run_id, method "
        "(optional: lower, upper, created_at). Add the missing column(s)."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        store.write_forecasts(frame)


@pytest.mark.parametrize(
    ("change", "error", "msg"),
    [
        pytest.param(
            {"step": 1.5},
            TypeError,
            "Column `step` of `forecasts` must hold integers; got dtype float64.",
            id="float-step",
        ),
        pytest.param(
            {"origin": "2024-01-01"},
            TypeError,
            "Column `origin` of `forecasts` must hold datetime64 timestamps; got dtype",
            id="string-origin",
        ),
        pytest.param(
            {"value": np.nan},
            ValueError,
            "Column `value` of `forecasts` has missing values (rows [0, 1, 2, 3, 4]); every "
            "row needs a `value`. Drop or fill those rows.",
            id="nan-value",
        ),
    ],
)
def test_bad_values_are_rejected_before_writing(
    store: ForecastStore, change: dict[str, Any], error: type[Exception], msg: str
) -> None:
    with pytest.raises(error, match=re.escape(msg)):
        store.write_forecasts(make_forecasts().assign(**change))
    assert store.read_forecasts().empty


def test_duplicate_keys_in_one_frame_are_rejected(store: ForecastStore) -> None:
    frame = pd.concat([make_forecasts(), make_forecasts().iloc[:1]], ignore_index=True)
    msg = "`forecasts` has rows with the same key (series_id, origin, step, model_name, "
    with pytest.raises(ValueError, match=re.escape(msg)):
        store.write_forecasts(frame)


def actuals_for(hours: range, series: tuple[str, ...] = ("a", "b")) -> pd.DataFrame:
    """Actual value 10 * hour + 1 (series "a") or + 100 more (series "b")."""
    return pd.DataFrame(
        [
            {
                "series_id": sid,
                "timestamp": ORIGIN + pd.Timedelta(hours=h),
                "value": 10.0 * h + 1 + (100.0 if sid == "b" else 0.0),
            }
            for sid in series
            for h in hours
        ]
    )


def test_unscored_then_write_scores(store: ForecastStore) -> None:
    store.write_forecasts(make_forecasts())
    store.write_forecasts(make_forecasts(model_version="seasonal_naive"))
    assert store.unscored(actuals_for(range(0, 1))).empty  # nothing due at the origin itself
    # Steps 1 and 2 have actuals (plus a NaN actual for step 3 of series "a", ignored).
    actuals = pd.concat(
        [actuals_for(range(1, 3)), actuals_for(range(3, 4), ("a",)).assign(value=np.nan)]
    )
    pending = store.unscored(actuals)
    assert len(pending) == 8  # 2 series x 2 steps x 2 versions
    assert set(pending["step"]) == {1, 2}
    np.testing.assert_allclose(pending["actual"] - pending["value"], 1.0)
    assert store.write_scores(pending) == 8
    assert store.unscored(actuals).empty
    assert store.write_scores(pending) == 0  # idempotent
    # Step 3 becomes due once its actuals arrive.
    later = store.unscored(actuals_for(range(1, 4)))
    assert len(later) == 4 and set(later["step"]) == {3}
    scores = store.read_scores(model_name="demo")
    assert len(scores) == 8
    np.testing.assert_allclose(scores["error"], 1.0)
    np.testing.assert_allclose(scores["abs_error"], 1.0)
    assert scores["scored_at"].notna().all()


def test_write_scores_missing_columns_message(store: ForecastStore) -> None:
    msg = (
        "`scored` is missing required column(s) `forecast`, `actual`; it needs series_id, origin, "
        "step, model_name, model_version, target_timestamp, forecast, actual "
        "(`value` is accepted for `forecast`). Add the missing column(s)."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        store.write_scores(make_forecasts().drop(columns="value"))


def test_realised_metrics_hand_computed() -> None:
    scores = pd.DataFrame({"step": [2, 1, 1, 2, 2], "error": [3.0, -1.0, 1.0, -4.0, 0.0]})
    got = realised_metrics(scores)
    expected = pd.DataFrame(
        {
            "step": [1, 2],
            "n": [2, 3],
            "rmse": [1.0, np.sqrt((9 + 16 + 0) / 3)],
            "mae": [1.0, 7 / 3],
        }
    )
    pd.testing.assert_frame_equal(got, expected)
    assert realised_metrics(scores.iloc[:0]).empty


def test_reads_and_construction_create_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    default = ForecastStore()
    assert default.read_forecasts().empty
    assert default.read_scores().empty
    assert default.origins() == []
    assert default.unscored(actuals_for(range(1, 2))).empty
    assert list(tmp_path.iterdir()) == []
    assert default.write_forecasts(make_forecasts()) == 6
    assert (tmp_path / "data" / "forecasts.db").is_file()
    default.close()


def test_import_and_construction_touch_no_disk(tmp_path: Path) -> None:
    code = "import forecasting.store as s; s.ForecastStore(); s.ForecastStore(s.DEFAULT_URL)"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    assert list(tmp_path.iterdir()) == []


def test_bad_url_and_repr_hides_password() -> None:
    with pytest.raises(ValueError, match=re.escape("`url` is not a SQLAlchemy database URL")):
        ForecastStore("not a url")
    assert "secret" not in repr(ForecastStore("postgresql://user:secret@host/db"))
