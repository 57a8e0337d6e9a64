"""Shared pytest fixtures: headless plotting, one Prefect test server, temporary MLflow stores."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from postgres import PostgresServer

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A test that reaches MLflow without a URI of its own must not create mlflow.db in the project.
os.environ.setdefault(
    "MLFLOW_TRACKING_URI", f"sqlite:///{tempfile.mkdtemp(prefix='mlflow-default-')}/mlflow.db"
)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for the whole session (it takes ~10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session, on 127.0.0.1 and a free port; never skipped."""
    from postgres import PostgresError, PostgresServer

    server = PostgresServer()
    try:
        server.start()
    except PostgresError as exc:
        pytest.fail(f"PostgreSQL test server: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh empty database on the session's PostgreSQL server, as a SQLAlchemy URL."""
    return postgres_server.create_database()


@pytest.fixture
def mlflow_uri(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite MLflow store; the global tracking URI is restored afterwards."""
    import mlflow

    before = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    yield uri
    mlflow.set_tracking_uri(before)
    mlflow.set_registry_uri(before)


@pytest.fixture(scope="session", autouse=True)
def _no_store_in_the_project() -> Iterator[None]:
    """Tests keep their forecast stores in temporary folders, never in the project's data/."""
    default = Path(__file__).resolve().parents[1] / "data" / "forecasts.db"
    existed = default.exists()
    yield
    if default.exists() and not existed:
        default.unlink()
        pytest.fail(f"a test wrote the project's own forecast store {default}", pytrace=False)
