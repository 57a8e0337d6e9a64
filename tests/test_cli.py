"""The `forecast` command: help, short errors without tracebacks, and the commands end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.synthetic import generate_series
from forecasting_app.cli import build_parser, main

COMMANDS = ("train", "backtest", "predict", "serve", "inspect")


@pytest.fixture(autouse=True)
def _prefect_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`main` sets PREFECT_HOME and KERAS_HOME when unset: keep them out of the test's env."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / ".prefect"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / ".keras"))


def _csv(path: Path, n: int = 360) -> Path:
    frame = generate_series(kind="seasonal", length=n, trend=0.02, noise=0.02, freq="h", seed=1)
    frame[["timestamp", "value"]].rename(columns={"timestamp": "when", "value": "load"}).to_csv(
        path, index=False
    )
    return path


def test_help_and_import_stay_light(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import forecasting\n"
        "from forecasting_app.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'mlflow', 'prefect') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "train" in out.stdout and "HEAVY []" in out.stdout
    assert list(tmp_path.iterdir()) == [], "importing or --help wrote files"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_explains_its_options(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--config", "--csv", "--time-col", "--value-col", "--id-col", "--set"):
        assert option in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["inspect", "--csv", "missing.csv"],
            "forecast inspect: error: `missing.csv`: file not found",
        ),
        (
            ["inspect", "--set", "model.cell=xyz"],
            "error: configs/demo.yaml with --set overrides: invalid configuration",
        ),
        (
            ["inspect", "--csv", "{csv}", "--time-col", "date", "--value-col", "load"],
            "column `date` not found; the file has columns `when`, `load`",
        ),
    ],
    ids=["missing-file", "bad-config", "wrong-column"],
)
def test_bad_input_exits_2_with_a_short_message(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(Path(__file__).parents[1])
    csv = _csv(tmp_path / "load.csv")
    code = main([a.replace("{csv}", str(csv)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_inspect_summarises_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = _csv(tmp_path / "load.csv")
    assert main(["inspect", "--csv", str(csv), "--time-col", "when", "--value-col", "load"]) == 0
    out = capsys.readouterr().out
    assert "points: 360" in out and "frequency: h" in out and "season length: 24" in out


@pytest.mark.usefixtures("prefect_harness")
def test_train_then_predict_from_a_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mlflow_uri: str
) -> None:
    csv = _csv(tmp_path / "load.csv")
    common = [
        "--csv", str(csv), "--time-col", "when", "--value-col", "load",
        "--set", f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        "--set", f"tracking.artifact_location={tmp_path / 'artifacts'}",
        "--set", f"store.url=sqlite:///{tmp_path / 'forecasts.db'}",
        "--set", "forecast.selection=model",
    ]  # fmt: skip
    tiny = ["--set", "model.units=[8]", "--set", "train.epochs=2", "--set", "model.input_width=12"]
    assert main(["train", *common, *tiny, "--horizon", "4"]) == 0
    out = capsys.readouterr().out
    assert "experiment 'load'" in out
    assert "registry    load version 1:" in out
    assert "seasonal naive" in out and "report      " in out

    output = tmp_path / "forecast.csv"
    assert main(["predict", *common, "--horizon", "4", "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "stored      4 new rows" in out
    written = pd.read_csv(output)
    assert list(written["step"]) == [1, 2, 3, 4]
    bounds = written[["lo_95", "lo_80", "value", "hi_80", "hi_95"]].to_numpy()
    assert (np.diff(bounds, axis=1) > 0).all()  # the model's intervals, nested
    np.testing.assert_array_equal(written[["lower", "upper"]], written[["lo_95", "hi_95"]])


def test_whole_commands_keep_prefect_home_in_the_project_and_isolate_a_bad_series(
    tmp_path: Path,
) -> None:
    """`forecast train` keeps Prefect's state in .prefect/ and Keras' in .keras/ of the
    project, nothing in ~;
    `forecast predict` runs without Prefect, and one series too short for the model gets a
    baseline while the other keeps the model, exit 0, the series named."""
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    _csv(project / "load.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KERAS_"))}
    env["HOME"] = str(home)
    common = [
        "--csv", "load.csv", "--time-col", "when", "--value-col", "load", "--horizon", "4",
        "--set", "name=load", "--set", "forecast.selection=model",
    ]  # fmt: skip
    tiny = ["--set", "model.units=[8]", "--set", "train.epochs=2", "--set", "model.input_width=12"]
    forecast = str(Path(sys.executable).with_name("forecast"))
    trained = subprocess.run(
        [forecast, "train", *common, *tiny], cwd=project, env=env, capture_output=True, text=True
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (project / ".prefect").is_dir() and (project / ".keras" / "keras.json").is_file()
    assert not (home / ".prefect").exists() and not (home / ".keras").exists()

    from forecasting import tracking

    tracking.configure(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    tracking.promote("load", "1", champion=True)
    load = pd.read_csv(project / "load.csv")
    short = load.tail(5).assign(store="short")
    pd.concat([load.assign(store="main"), short]).to_csv(project / "two.csv", index=False)
    code = (
        "import sys\n"
        "from forecasting_app.cli import main\n"
        f"code = main(['predict', *{common!r}, '--csv', 'two.csv', '--id-col', 'store',\n"
        "             '--output', 'next.csv'])\n"
        "print('PREFECT IMPORTED' if 'prefect' in sys.modules else 'NO PREFECT')\n"
        "sys.exit(code)\n"
    )
    env["PREFECT_HOME"] = str(tmp_path / "unused-prefect-home")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "NO PREFECT" in done.stdout and "Traceback" not in done.stderr
    assert "model       load version 1 (model)" in done.stdout
    assert "series `short`: " in done.stdout and "has 5 points" in done.stdout
    assert not (tmp_path / "unused-prefect-home").exists()
    written = pd.read_csv(project / "next.csv")
    assert set(written[written["series_id"] == "main"]["method"]) == {"model"}
    fallback = written[written["series_id"] == "short"]
    assert len(fallback) == 4 and "model" not in set(fallback["method"])
    assert fallback["note"].str.contains("the model cannot forecast it").all()
