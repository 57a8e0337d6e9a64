"""Malformed input through `forecast train`: exit 2, one line, no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting_app.cli import main

_STAMPS = pd.date_range("2024-01-01", periods=400, freq="h")
_VALUES = 10 + np.sin(np.arange(400) * 2 * np.pi / 24)


@pytest.fixture(autouse=True)
def _prefect_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`main` sets PREFECT_HOME when it is unset: keep that out of the test process's env."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / ".prefect"))


def _series(n: int = 400, **columns: object) -> pd.DataFrame:
    frame = pd.DataFrame({"timestamp": _STAMPS[:n], "value": _VALUES[:n]})
    return frame.assign(**columns)


def _write(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame.to_csv(path, index=False)

    return write


def _text(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


def _bytes(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _edited(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    return _write(edit(_series().astype({"timestamp": object, "value": object})))


def _set_cell(row: int, column: str, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame

    return edit


_GOOD = _write(_series())
_SEMICOLON_COMMA_DECIMALS = "".join(
    f"{t:%Y-%m-%d %H:%M};{str(round(v, 3)).replace('.', ',')}\n"
    for t, v in zip(_STAMPS[:400], _VALUES[:400], strict=True)
)
_TWO_FREQUENCIES = pd.concat(
    [
        _series(200, series_id="a"),
        pd.DataFrame(
            {
                "timestamp": pd.date_range("2024-01-01", periods=200, freq="D"),
                "value": 1.0,
                "series_id": "b",
            }
        ),
    ]
)
_IRREGULAR = pd.DataFrame(
    {
        "timestamp": pd.Timestamp("2024-01-01")
        + pd.to_timedelta(np.cumsum(np.random.default_rng(0).integers(1, 500, 300)), unit="min"),
        "value": 1.0,
    }
)

# id, what the file holds, extra arguments, a fragment of the one-line message
CASES: list[tuple[str, Callable[[Path], None], list[str], str]] = [
    ("empty-file", _text(""), [], "not a CSV file with a header line"),
    ("header-only", _text("timestamp,value\n"), [], "no data rows"),
    ("blank-lines-only", _text("timestamp,value\n\n\n"), [], "no data rows"),
    ("bad-timestamp", _edited(_set_cell(5, "timestamp", "yesterday")), [], "cannot parse"),
    ("text-value", _edited(_set_cell(7, "value", "abc")), [], "is not a finite number"),
    ("inf-value", _edited(_set_cell(7, "value", "inf")), [], "is not a finite number"),
    ("huge-value-1e30", _edited(_set_cell(9, "value", 1e30)), [], "beyond ±1e+15"),
    ("all-values-1e30", _write(_series().assign(value=_VALUES * 1e30)), [], "rescale the column"),
    (
        "duplicate-timestamps",
        _write(pd.concat([_series(), _series(3)])),
        [],
        "duplicate timestamps",
    ),
    ("gap", _write(_series().drop(index=[50, 51, 52])), [], "missing points"),
    ("empty-value", _edited(_set_cell(60, "value", None)), [], "missing point"),
    ("too-short", _write(_series(20)), [], "training needs at least"),
    ("irregular-timestamps", _write(_IRREGULAR), [], "cannot infer the frequency"),
    (
        "off-grid-timestamp",
        _edited(_set_cell(100, "timestamp", _STAMPS[100] + pd.Timedelta("7min"))),
        ["--set", "data.freq=h"],
        "off the `h` grid",
    ),
    (
        "decimal-commas-with-commas",
        _text("timestamp,value\n2024-01-01 00:00,3,5\n2024-01-01 01:00,4,25\n"),
        [],
        "needs `;` between the fields",
    ),
    (
        "semicolons-wrong-header",
        _text("time;load\n" + _SEMICOLON_COMMA_DECIMALS),
        [],
        "column `timestamp`, `value` not found; the file has columns `time`, `load`",
    ),
    ("binary-garbage", _bytes(bytes(range(256)) * 40), [], "`data.csv`: not a text file"),
    (
        "latin-1-text",
        _bytes("timestamp,valeur\n2024-01-01,caf\xe9\n".encode("latin-1")),
        [],
        "`data.csv`: not UTF-8 text",
    ),
    ("wrong-columns", _write(_series().rename(columns={"value": "y"})), [], "`value` not found"),
    ("unknown-id-column", _GOOD, ["--id-col", "store"], "column `store` not found"),
    ("two-frequencies", _write(_TWO_FREQUENCIES), [], "different frequencies"),
    (
        "empty-series-id",
        _write(_series(series_id="a").astype({"series_id": object}).assign(series_id=None)),
        ["--id-col", "series_id"],
        "empty series id",
    ),
    (
        "reserved-covariate",
        _write(_series(value2=1.0)),
        ["--set", "data.covariates=[value]"],
        "reserved output name",
    ),
    ("unknown-config-key", _GOOD, ["--set", "model.colour=red"], "invalid configuration"),
    ("unknown-config-section", _GOOD, ["--set", "colour.red=1"], "invalid configuration"),
    ("bad-type", _GOOD, ["--set", "train.epochs=many"], "invalid configuration"),
    ("override-without-value", _GOOD, ["--set", "model.horizon"], "not of the form key=value"),
    ("zero-horizon", _GOOD, ["--horizon", "0"], "invalid configuration"),
    ("negative-horizon", _GOOD, ["--horizon", "-3"], "invalid configuration"),
    ("huge-horizon", _GOOD, ["--horizon", "100000"], "training needs at least"),
    ("zero-folds", _GOOD, ["--set", "evaluation.folds=0"], "invalid configuration"),
    ("too-many-folds", _GOOD, ["--set", "evaluation.folds=40"], "training needs at least"),
    ("bad-frequency", _GOOD, ["--set", "data.freq=fortnightly"], "not a pandas frequency alias"),
    ("missing-file", lambda path: None, [], "`data.csv`: file not found"),
    ("missing-config", _GOOD, ["--config", "nope.yaml"], "nope.yaml"),
]


def _project(tmp_path: Path, make: Callable[[Path], None]) -> set[str]:
    make(tmp_path / "data.csv")
    (tmp_path / "home").mkdir()
    return {p.name for p in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("make", "extra", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_line_and_writes_nothing(
    make: Callable[[Path], None],
    extra: list[str],
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    before = _project(tmp_path, make)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code = main(["train", "--csv", "data.csv", *extra])
    out, err = capfd.readouterr()
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("forecast train: error: ")
    assert fragment in lines[0]
    # Nothing written: no MLflow store, no forecast store, no Prefect home, here or in ~.
    assert {p.name for p in tmp_path.iterdir()} == before
    assert list((tmp_path / "home").iterdir()) == []


def test_the_real_command_prints_the_same_one_line(tmp_path: Path) -> None:
    """The installed `forecast` in a new process: exit 2, the message alone, before Prefect."""
    before = _project(tmp_path, _write(_series(20)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("forecast")), "train", "--csv", "data.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "forecast train: error: `data.csv`: series `series` has 20 points, but training needs "
        "at least 26: input_width 2 + horizon 12 for one training window and its validation "
        "tail, then 12 held out for evaluation (1 fold(s) of horizon 12); give it a longer "
        "history, or lower --horizon, "
        "model.input_width or evaluation.folds"
    ]
    assert {p.name for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("timestamp;value\n" + _SEMICOLON_COMMA_DECIMALS, 400),
        ("timestamp\tvalue\n" + _SEMICOLON_COMMA_DECIMALS.replace(";", "\t"), 400),
    ],
    ids=["semicolons-and-decimal-commas", "tabs-and-decimal-commas"],
)
def test_other_separators_and_decimal_commas_are_read(
    text: str, points: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "data.csv"
    csv.write_text(text)
    assert main(["inspect", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert f"points: {points}" in out and "frequency: h" in out
    from forecasting.data import load_csv

    frame = load_csv(csv)
    assert frame["value"].to_numpy() == pytest.approx(np.round(_VALUES, 3))


@pytest.mark.usefixtures("prefect_harness")
def test_diverging_training_stops_with_the_causes_and_registers_nothing(
    tmp_path: Path, mlflow_uri: str, prefect_harness: None
) -> None:
    """The real command in a new process: Prefect's flow run and TensorFlow log as they would.

    It runs against the test session's Prefect server, as a team's commands would run against
    theirs, instead of migrating a temporary server's new database of its own.
    """
    from mlflow import MlflowClient
    from prefect.settings import PREFECT_API_URL

    _series().to_csv(tmp_path / "data.csv", index=False)
    argv = [
        str(Path(sys.executable).with_name("forecast")),
        "train", "--csv", str(tmp_path / "data.csv"), "--horizon", "4",
        "--set", f"tracking.uri={mlflow_uri}",
        "--set", f"tracking.artifact_location={tmp_path / 'artifacts'}",
        "--set", "model.input_width=12", "--set", "model.units=[8]",
        "--set", "train.epochs=50", "--set", "train.learning_rate=1e30",
        "--set", "train.clipnorm=null",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    out, err = done.stdout, done.stderr
    assert done.returncode == 2, err
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("forecast train: error:")]
    assert len(errors) == 1, err  # Prefect's own INFO lines about its server may surround it
    last = errors[0]
    assert last.startswith("forecast train: error: training diverged: the loss became NaN")
    for cause in ("`learning_rate` 1e+30", "extreme magnitude", "`clipnorm` None"):
        assert cause in last
    assert MlflowClient(tracking_uri=mlflow_uri).search_model_versions() == []
