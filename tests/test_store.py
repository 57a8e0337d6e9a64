"""Tests for the forecast store on real SQLite files and a real PostgreSQL server: round trips,
idempotency, atomicity, schema migrations, and writers in several processes at once."""

from __future__ import annotations

import multiprocessing
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from forecasting.store import INTERVAL_COLUMNS, KEY, ForecastStore, migrations, realised_metrics
from forecasting.store import _forecasts as store_module
from forecasting.store import _schema as store_schema
from forecasting.synthetic import generate_series

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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new store: a SQLite file not yet created, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sub' / 'forecasts.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[ForecastStore]:
    store = ForecastStore(store_url)
    yield store
    store.close()


def _backend(url: str) -> str:
    return sa.make_url(url).get_backend_name()


def test_round_trip_rows_and_dtypes(store: ForecastStore) -> None:
    frame = make_forecasts().assign(lower=lambda f: f["value"] - 1, upper=lambda f: f["value"] + 1)
    assert store.write_forecasts(frame) == 6
    got = store.read_forecasts()
    assert list(got.columns) == [
        "series_id", "origin", "target_timestamp", "step", "value", "lower", "upper",
        "model_name", "model_version", "run_id", "method", "created_at", "note",
        "lo_80", "hi_80", "lo_95", "hi_95",
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
    assert got[["lower", "upper", "run_id", "note", *INTERVAL_COLUMNS]].isna().all().all()


def test_rows_carry_the_bounds_of_every_level(store: ForecastStore) -> None:
    frame = make_forecasts()
    for width, level in ((1.0, 80), (2.0, 95)):
        frame[f"lo_{level}"] = frame["value"] - width
        frame[f"hi_{level}"] = frame["value"] + width
    frame.loc[5, ["lo_95", "hi_95"]] = np.nan  # a step without an interval
    assert store.write_forecasts(frame) == 6
    got = store.read_forecasts().sort_values(["series_id", "origin", "step"], ignore_index=True)
    expected = frame.sort_values(["series_id", "origin", "step"], ignore_index=True)
    pd.testing.assert_frame_equal(
        got[list(INTERVAL_COLUMNS)], expected[list(INTERVAL_COLUMNS)], check_dtype=False
    )


def test_a_note_says_why_a_series_got_a_baseline(store: ForecastStore) -> None:
    rows = make_forecasts(run_id=None, series=("a", "b"), horizon=1)
    rows["note"] = ["no champion yet", None]
    store.write_forecasts(rows)
    got = store.read_forecasts().set_index("series_id")["note"]
    assert got["a"] == "no champion yet" and pd.isna(got["b"])


def test_a_nullable_text_column_takes_strings_and_missing_values_together(
    store: ForecastStore,
) -> None:
    # Model rows carry a run id, baseline rows none: one object column of str and None.
    frame = make_forecasts().assign(run_id=["run1", None, "run1", None, None, "run2"])
    assert store.write_forecasts(frame) == 6
    got = store.read_forecasts()
    assert got["run_id"].isna().tolist() == [False, True, False, True, True, False]
    assert got["run_id"].dropna().tolist() == ["run1", "run1", "run2"]
    with pytest.raises(TypeError, match=re.escape("Column `run_id` of `forecasts` must hold str")):
        store.write_forecasts(make_forecasts().assign(run_id=[1, None, 2, 3, 4, 5]))


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
        if isinstance(statement, Insert) and statement.table.name == "forecasts":
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


def test_a_constraint_violation_in_the_database_rolls_back(
    store: ForecastStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bypass the frame checks so the database itself rejects the last row (NOT NULL on value).
    original = store_schema.to_records

    def records_with_null(prepared: pd.DataFrame, table: Any) -> list[dict[str, Any]]:
        rows = original(prepared, table)
        rows[-1]["value"] = None
        return rows

    monkeypatch.setattr(store_module, "_BATCH_SIZE", 2)
    monkeypatch.setattr(store_schema, "to_records", records_with_null)
    message = {
        "sqlite": "NOT NULL constraint failed: forecasts.value",
        "postgresql": 'null value in column "value" of relation "forecasts" violates not-null',
    }[_backend(store.url)]
    with pytest.raises(IntegrityError, match=re.escape(message)):
        store.write_forecasts(make_forecasts())
    assert store.read_forecasts().empty


def test_missing_columns_message(store: ForecastStore) -> None:
    frame = make_forecasts().drop(columns=["run_id", "method"])
    msg = (
        "`forecasts` is missing required column(s) `run_id`, `method`; it needs series_id, "
        "origin, target_timestamp, step, value, model_name, model_version, run_id, method "
        "(optional: lower, upper, note, created_at, lo_80, hi_80, lo_95, hi_95). "
        "Add the missing column(s)."
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
    msg = (
        "`url` 'mysql://user:***@host/db' is a mysql database; the forecast store runs on SQLite "
        "or PostgreSQL. Use e.g. 'sqlite:///data/forecasts.db' or "
        "'postgresql+psycopg://user@host/forecasts'."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        ForecastStore("mysql://user:secret@host/db")
    shown = repr(ForecastStore("postgresql://user:secret@host/db"))
    assert shown == "ForecastStore(url='postgresql+psycopg://user:***@host/db')"


# --- Schema migrations -------------------------------------------------------------------------

# The tables exactly as the store created them in SQLite before it had migrations.
_LEGACY_SQLITE_SCHEMA = [
    """CREATE TABLE forecasts (
\tseries_id VARCHAR(255) NOT NULL, \n\torigin DATETIME NOT NULL, \n\ttarget_timestamp DATETIME NOT NULL, \n\tstep INTEGER NOT NULL, \n\tvalue DOUBLE NOT NULL, \n\tlower DOUBLE, \n\tupper DOUBLE, \n\tmodel_name VARCHAR(255) NOT NULL, \n\tmodel_version VARCHAR(64) NOT NULL, \n\trun_id VARCHAR(64), \n\tmethod VARCHAR(64) NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tPRIMARY KEY (series_id, origin, step, model_name, model_version)
)""",  # noqa: E501
    """CREATE TABLE forecast_scores (
\tseries_id VARCHAR(255) NOT NULL, \n\torigin DATETIME NOT NULL, \n\ttarget_timestamp DATETIME NOT NULL, \n\tstep INTEGER NOT NULL, \n\tmodel_name VARCHAR(255) NOT NULL, \n\tmodel_version VARCHAR(64) NOT NULL, \n\tforecast DOUBLE NOT NULL, \n\tactual DOUBLE NOT NULL, \n\terror DOUBLE NOT NULL, \n\tabs_error DOUBLE NOT NULL, \n\tscored_at DATETIME NOT NULL, \n\tPRIMARY KEY (series_id, origin, step, model_name, model_version)
)""",  # noqa: E501
]


def _revisions(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        table = sa.table(migrations.VERSION_TABLE, sa.column("version_num"))
        found = [row[0] for row in conn.execute(sa.select(table.c.version_num))]
    engine.dispose()
    return found


def _schema_differences(url: str) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the store's tables."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": migrations.VERSION_TABLE, "compare_type": True}
        )
        differences = compare_metadata(context, store_schema.METADATA)
    engine.dispose()
    return list(differences)


def test_the_migrated_schema_is_the_stores_tables(store: ForecastStore) -> None:
    # Every revision applied in order gives exactly the tables the store reads and writes.
    store.write_forecasts(make_forecasts())
    assert _revisions(store.url) == [migrations.head()]
    assert _schema_differences(store.url) == []


def test_the_first_revision_is_the_schema_before_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'first.db'}"
    config = migrations._config()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    engine.dispose()
    with sqlite3.connect(tmp_path / "first.db") as conn:
        sql = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    assert [sql["forecasts"], sql["forecast_scores"]] == _LEGACY_SQLITE_SCHEMA


def test_a_store_written_before_migrations_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_row = (
        "a", "2023-12-31 00:00:00.000000", "2023-12-31 01:00:00.000000", 1, 5.0, None, None,
        "demo", "2", "run0", "model", "2023-12-31 00:00:00.000000",
    )  # fmt: skip
    with sqlite3.connect(path) as conn:
        for ddl in _LEGACY_SQLITE_SCHEMA:
            conn.execute(ddl)
        conn.execute(f"INSERT INTO forecasts VALUES ({', '.join('?' * len(old_row))})", old_row)
    store = ForecastStore(f"sqlite:///{path}")
    old = store.read_forecasts()
    assert list(old["origin"]) == [pd.Timestamp("2023-12-31")] and list(old["value"]) == [5.0]
    assert _revisions(store.url) == [migrations.head()]
    assert _schema_differences(store.url) == []
    assert store.write_forecasts(make_forecasts()) == 6
    assert len(store.read_forecasts()) == 7
    store.close()
    # Opening it again reads the schema revision and changes nothing.
    again = ForecastStore(store.url)
    assert again.write_forecasts(make_forecasts()) == 0
    assert _revisions(store.url) == [migrations.head()]
    again.close()


def test_a_store_from_a_newer_version_is_refused(store: ForecastStore) -> None:
    store.write_forecasts(make_forecasts())
    store.close()
    engine = sa.create_engine(store.url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    shown = sa.make_url(store.url).render_as_string(hide_password=True)
    msg = (
        f"The forecast store at {shown} has schema revision 9999, which this version of "
        f"forecasting does not know (its newest is {migrations.head()}): a newer version wrote "
        "it. Upgrade the forecasting package."
    )
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        ForecastStore(store.url).read_forecasts()


# --- Writers in several processes at once ------------------------------------------------------


def _read_and_close(url: str) -> pd.DataFrame:
    store = ForecastStore(url)
    try:
        return store.read_forecasts()
    finally:
        store.close()


def _rows_of(process: int, origin: pd.Timestamp, steps: int, shared: int) -> pd.DataFrame:
    """Rows every process writes (series s0, s1, ...) and rows only this one writes (series p<i>).

    Odd processes list the rows in reverse: writers that lock the same keys in opposite
    orders would deadlock on PostgreSQL unless the store orders them.
    """
    common = make_forecasts(origin, steps, series=tuple(f"s{i}" for i in range(shared)))
    own = make_forecasts(origin, steps, series=(f"p{process}",))
    rows = pd.concat([common, own], ignore_index=True)
    return rows.iloc[::-1] if process % 2 else rows


def _write_concurrently(
    url: str, process: int, sizes: tuple[int, int, int], start: Any, results: Any
) -> None:
    """One writer process: waits for the others, then writes each round's rows once."""
    rounds, steps, shared = sizes
    try:
        store = ForecastStore(url)  # a fresh store: the processes also race to create it
        start.wait(timeout=120)
        written = 0
        for round_ in range(rounds):
            origin = ORIGIN + pd.Timedelta(days=round_)
            written += store.write_forecasts(_rows_of(process, origin, steps, shared))
        store.close()
        results.put((process, written, None))
    except Exception as exc:
        results.put((process, -1, f"{type(exc).__name__}: {exc}"))


def _check_concurrent_writers(url: str, rounds: int, steps: int, shared: int) -> None:
    processes = 4
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(processes), ctx.Queue()
    sizes = (rounds, steps, shared)
    workers = [
        ctx.Process(target=_write_concurrently, args=(url, i, sizes, start, results))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=300) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert [error for _, _, error in outcomes] == [None] * processes
    assert [worker.exitcode for worker in workers] == [0] * processes
    stored = _read_and_close(url)
    assert not stored.duplicated(list(KEY)).any()
    distinct = rounds * steps * (shared + processes)
    assert len(stored) == distinct
    # Each row was written by exactly one process, and each process counted what it wrote.
    assert sum(written for _, written, _ in outcomes) == distinct
    assert all(written >= rounds * steps for _, written, _ in outcomes)  # at least its own rows
    assert _revisions(url) == [migrations.head()]


def test_several_processes_writing_the_same_rows_at_once(store_url: str) -> None:
    _check_concurrent_writers(store_url, rounds=4, steps=12, shared=3)


def test_many_overlapping_writes_in_opposite_orders_do_not_deadlock(postgres_url: str) -> None:
    # Tables made first, so that the writers start together and overlap mid-statement: without
    # key order this failed with "deadlock detected" on about half the runs.
    _read_and_close(postgres_url)
    _check_concurrent_writers(postgres_url, rounds=30, steps=48, shared=8)


# --- Two `forecast predict` commands at once ---------------------------------------------------

_HORIZON = 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[list[str]]:
    """One tiny `forecast train` in a tmp folder; yields the options that reach its model."""
    import mlflow

    from forecasting_app.cli import main

    folder = tmp_path_factory.mktemp("trained")
    csv = folder / "load.csv"
    frame = generate_series(kind="seasonal", length=360, noise=0.02, freq="h", seed=1)
    frame[["timestamp", "value"]].rename(columns={"value": "load"}).to_csv(csv, index=False)
    options = [
        "--csv", str(csv), "--value-col", "load", "--horizon", str(_HORIZON),
        "--set", f"tracking.uri=sqlite:///{folder / 'mlflow.db'}",
        "--set", f"tracking.artifact_location={folder / 'artifacts'}",
    ]  # fmt: skip
    tiny = ["--set", "model.units=[8]", "--set", "model.input_width=12", "--set", "train.epochs=2"]
    before = mlflow.get_tracking_uri()
    try:
        train_store = f"store.url=sqlite:///{folder / 'unused.db'}"
        assert main(["train", *options, *tiny, "--set", train_store]) == 0
    finally:
        mlflow.set_tracking_uri(before)
        mlflow.set_registry_uri(before)
    yield [*options, "--model", "models:/load/1"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_forecast_predict_commands_at_once_store_each_row_once(
    trained: list[str], backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL

    url = (
        f"sqlite:///{tmp_path / 'forecasts.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    command_path = Path(sys.executable).with_name("forecast")
    argv = [str(command_path), "predict", *trained, "--set", f"store.url={url}"]
    argv += ["--set", "forecast.selection=model"]  # the model's rows, as the assertions read
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # the test session's Prefect server
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    runs = [
        subprocess.Popen(
            argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n\n".join(outputs)
    written = []
    for output in outputs:
        found = re.search(r"^stored +(\d+) new rows", output, flags=re.MULTILINE)
        assert found, output
        written.append(int(found.group(1)))
    stored = _read_and_close(url)
    assert not stored.duplicated(list(KEY)).any()
    assert len(stored) == _HORIZON and sum(written) == _HORIZON
    assert set(stored["method"]) == {"model"} and set(stored["model_version"]) == {"1"}


def test_a_postgres_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    from postgres import PostgresError, PostgresServer

    with pytest.raises(PostgresError) as error:
        PostgresServer(binaries=tmp_path).start()  # a folder without the server binaries
    assert str(error.value) == (
        f"initdb could not run: there is no {tmp_path / 'initdb'}. Install the test "
        "dependencies with `pip install -e '.[dev]'` (the README's test command)."
    )
