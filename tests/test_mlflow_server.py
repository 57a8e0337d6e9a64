"""A shared MLflow tracking server on PostgreSQL: train, register, promote, forecast over HTTP.

``mlflow server`` runs for real here, its backend store a database of the session's PostgreSQL
server and its artifacts in a folder it serves; the forecast store is another database of the
same server (MLflow and the store each keep their own Alembic version table).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import pytest
import sqlalchemy as sa
from mlflow import MlflowClient

from flows.forecast import forecast_flow
from flows.train import train_flow
from forecasting.store import ForecastStore
from forecasting_app.config import load_config

if TYPE_CHECKING:
    from postgres import PostgresServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

_START_SECONDS = 240.0  # a fresh PostgreSQL schema is migrated first; the machine may be busy
HORIZON = 4
# A steep trend over a daily season: the model beats seasonal naive, so it is promoted.
_MODEL = [
    "data.synthetic.kind=seasonal",
    "data.synthetic.length=240",
    "data.synthetic.trend=0.1",
    "data.synthetic.noise=0.02",
    f"model.horizon={HORIZON}",
    "model.input_width=12",
    "model.units=[4]",
    "train.epochs=2",
    "train.learning_rate=0.01",
    "forecast.selection=model",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def mlflow_server(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """``mlflow server`` on PostgreSQL; yields its URL, its backend URL and artifact folder."""
    artifacts = tmp_path / "served-artifacts"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "mlflow-server.log"
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri",
        postgres_url,
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + _START_SECONDS
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"mlflow server did not answer /health; its log ends:\n{tail}")
            time.sleep(0.5)
        yield url, postgres_url, artifacts
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the server and its uvicorn worker
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_train_register_promote_and_forecast_through_the_server(
    mlflow_server: tuple[str, str, Path], postgres_server: PostgresServer
) -> None:
    url, backend_url, served = mlflow_server
    store_url = postgres_server.create_database("store")
    before = mlflow.get_tracking_uri()
    config = load_config(
        None,
        [
            "name=shared",
            f"tracking.uri={url}",
            # Artifacts go up to the server, which keeps them under --artifacts-destination.
            # (`mlflow-artifacts:` with no host: the server's own artifact store).
            "tracking.artifact_location=mlflow-artifacts:/shared",
            f"store.url={store_url}",
            *_MODEL,
        ],
    )
    try:
        trained = train_flow(config)
        assert trained.champion, trained.decision
        assert trained.version == "1"

        client = MlflowClient(tracking_uri=url, registry_uri=url)
        assert client.get_run(trained.run_id).info.status == "FINISHED"
        assert client.get_model_version_by_alias("shared", "champion").version == "1"
        assert client.get_model_version_by_alias("shared", "challenger").version == "1"

        forecast = forecast_flow(config)
        assert (forecast.model_version, forecast.method) == ("1", "model")
        assert forecast.rows_written == HORIZON
    finally:
        mlflow.set_tracking_uri(before)
        mlflow.set_registry_uri(before)

    # The forecast rows are in PostgreSQL, carrying the version and run the server holds.
    rows = ForecastStore(store_url).read_forecasts()
    assert len(rows) == HORIZON
    assert set(rows["model_version"]) == {"1"} and set(rows["run_id"]) == {trained.run_id}
    # The server kept everything: the run and the registry in its PostgreSQL database...
    engine = sa.create_engine(backend_url)
    try:
        with engine.connect() as conn:
            run_ids = set(conn.execute(sa.text("SELECT run_uuid FROM runs")).scalars())
            names = set(conn.execute(sa.text("SELECT name FROM registered_models")).scalars())
    finally:
        engine.dispose()
    assert trained.run_id in run_ids
    assert "shared" in names
    # ...and the model's files in its artifact folder, uploaded over HTTP.
    uploaded = [p.name for p in served.rglob("*") if p.is_file()]
    assert "MLmodel" in uploaded, uploaded
