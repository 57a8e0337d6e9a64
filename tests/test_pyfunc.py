"""The registered pyfunc is self-contained: its own code, pinned requirements, served over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from forecasting import tracking
from forecasting.forecaster import Forecaster
from forecasting.synthetic import generate_series

_HISTORY = 40

# Loads a model folder in a process where the installed `forecasting` package cannot be
# imported (no editable-install finder, the repository not on sys.path), forecasts, and
# prints what it saw as JSON.
_LOAD_AND_FORECAST = r"""
import importlib.util, json, sys
editable = lambda f: getattr(f, "__module__", type(f).__module__).startswith("__editable__")
sys.meta_path = [f for f in sys.meta_path if not editable(f)]
sys.path_hooks = [h for h in sys.path_hooks if not editable(h)]
sys.path = [p for p in sys.path if p not in ("", ".", sys.argv[3])]
sys.path_importer_cache.clear()
before = importlib.util.find_spec("forecasting")
import mlflow.pyfunc
import pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
history = pd.read_json(sys.argv[2], orient="split")
forecast = model.predict(history)
import forecasting
print(json.dumps({
    "importable_before": before is not None,
    "forecasting_file": forecasting.__file__,
    "tensorflow_imported": "tensorflow" in sys.modules,
    "values": forecast["value"].tolist(),
    "steps": forecast["step"].tolist(),
    "columns": list(forecast.columns),
    "intervals": forecast.iloc[:, 4:].to_numpy().tolist(),
    "schema": model.metadata.get_output_schema().input_names(),
}))
"""


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A tiny forecaster registered in a fresh SQLite store, and its downloaded model folder."""
    root = tmp_path_factory.mktemp("pyfunc")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    before = mlflow.get_tracking_uri()
    tracking.configure(uri)
    frame = generate_series(kind="seasonal", length=160, noise=0.02, start="2024-01-01")
    forecaster = Forecaster(horizon=3, input_width=12, units=(4,), epochs=2, seed=0).fit(frame)
    history = frame.tail(_HISTORY).reset_index(drop=True)
    with tracking.start_run("pyfunc", str(root / "artifacts")):
        version = tracking.log_forecaster(forecaster, "pyfunc", history, tags={"judged": "false"})
    folder = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/pyfunc/{version}", dst_path=str(root / "model")
    )
    expected = forecaster.predict(history, levels=(80, 95))
    yield {
        "uri": uri,
        "version": version,
        "folder": Path(folder),
        "history": history,
        "expected": expected,
        "root": root,
    }
    mlflow.set_tracking_uri(before)
    mlflow.set_registry_uri(before)


def _history_json(history: pd.DataFrame, path: Path) -> Path:
    history.to_json(path, orient="split", date_format="iso", index=False)
    return path


def _run_loader(python: str, folder: Path, history: Path, cwd: Path) -> dict[str, object]:
    repo = str(Path(__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI")}
    done = subprocess.run(
        [python, "-c", _LOAD_AND_FORECAST, str(folder), str(history), repo],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_model_ships_its_code_and_pins_only_what_it_imports(registered: dict) -> None:
    folder: Path = registered["folder"]
    assert (folder / "code" / "forecasting" / "inference.py").is_file()
    assert (folder / "code" / "forecasting" / "tracking" / "pyfunc_entry.py").is_file()
    assert not list((folder / "code").rglob("__pycache__"))
    requirements = (folder / "requirements.txt").read_text().split()
    names = sorted(r.partition("==")[0] for r in requirements)
    assert names == ["mlflow", "numpy", "pandas"]
    assert all("==" in r for r in requirements), requirements
    version = tracking.resolve("pyfunc", registered["version"])
    assert version is not None and version.tags["judged"] == "false"


def test_requirements_add_keras_only_without_a_numpy_forward_pass() -> None:
    frame = generate_series(kind="sin", length=80)
    forecaster = Forecaster(horizon=2, input_width=8, units=(4,), epochs=1).fit(frame)
    assert "tensorflow" not in " ".join(tracking.model_requirements(forecaster))
    forecaster.predictor_.weights = None  # as a network numpy_rnn cannot run
    names = {r.partition("==")[0] for r in tracking.model_requirements(forecaster)}
    assert {"tensorflow", "keras", "scikit-learn", "joblib"} <= names


def test_model_loads_from_its_own_code_where_the_package_is_not_installed(
    registered: dict, tmp_path: Path
) -> None:
    """The fast stand-in for the fresh venv: only `code_paths` can supply `forecasting`."""
    history = _history_json(registered["history"], tmp_path / "history.json")
    seen = _run_loader(sys.executable, registered["folder"], history, tmp_path)
    assert seen["importable_before"] is False
    assert str(seen["forecasting_file"]).startswith(str(registered["folder"] / "code"))
    assert seen["tensorflow_imported"] is False
    assert seen["steps"] == [1, 2, 3]
    np.testing.assert_allclose(seen["values"], registered["expected"]["value"], rtol=1e-5)
    columns = ["series_id", "timestamp", "step", "value", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert seen["schema"] == seen["columns"] == columns
    intervals = registered["expected"][columns[4:]].to_numpy()
    np.testing.assert_allclose(seen["intervals"], intervals, rtol=1e-5)
    assert np.isfinite(intervals).all()


@pytest.mark.slow  # test_model_loads_from_its_own_code_where_the_package_is_not_installed
def test_model_forecasts_in_a_fresh_venv_from_its_requirements(
    registered: dict, tmp_path: Path
) -> None:
    """A new venv with only the model's requirements.txt installed.

    About 45 s to create and install on a quiet 2-core machine with pip's cache warm (116 s
    under heavy load); the test above covers the same code path in 2 s.
    """
    venv = tmp_path / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "-r"]
    subprocess.run([*pip, str(registered["folder"] / "requirements.txt")], check=True, timeout=600)
    installed = time.monotonic() - started
    history = _history_json(registered["history"], tmp_path / "history.json")
    seen = _run_loader(python, registered["folder"], history, tmp_path)
    print(f"fresh venv: {installed:.0f} s to create and install")
    assert seen["importable_before"] is False
    assert seen["tensorflow_imported"] is False
    probe = "import importlib.util as u; print(u.find_spec('tensorflow') is None)"
    assert subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.strip() == (
        "True"
    )
    np.testing.assert_allclose(seen["values"], registered["expected"]["value"], rtol=1e-5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"`mlflow models serve` exited with {process.returncode}:\n"
                + log.read_text(errors="replace")[-3000:]
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"`mlflow models serve` did not answer {url} within {timeout:.0f} s")


def test_mlflow_models_serve_answers_invocations_over_http(
    registered: dict, tmp_path: Path
) -> None:
    port = _free_port()
    mlflow_cli = str(Path(sys.executable).with_name("mlflow"))
    bin_dir = str(Path(sys.executable).parent)  # as in an activated venv: uvicorn is found
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": str(registered["uri"]),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
    }
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    model_uri = f"models:/pyfunc/{registered['version']}"
    command = [mlflow_cli, "models", "serve", "-m", model_uri, "--env-manager", "local"]
    process = subprocess.Popen(
        [*command, "-p", str(port), "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/ping", process, log_path, timeout=120)
        history: pd.DataFrame = registered["history"]
        body = {
            "dataframe_split": json.loads(
                history.to_json(orient="split", date_format="iso", index=False)
            )
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            answer = json.loads(response.read())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        log.close()
    rows = pd.DataFrame(answer["predictions"])
    assert list(rows["step"]) == [1, 2, 3]
    assert list(rows["series_id"].unique()) == list(history["series_id"].unique())
    expected = registered["expected"]
    np.testing.assert_allclose(rows["value"], expected["value"], rtol=1e-5)
    first = pd.Timestamp(rows["timestamp"].iloc[0]).tz_localize(None)
    assert first == history["timestamp"].iloc[-1] + pd.Timedelta("1h")
