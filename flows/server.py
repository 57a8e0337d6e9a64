"""A local Prefect server for `forecast serve`: ephemeral mode runs no scheduler."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["api_for_workers", "prefect_server"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def prefect_server(log: Path, timeout: float = 180.0) -> Iterator[str]:
    """Use the configured Prefect API, or run Prefect's server here while the block lasts.

    Prefect's ephemeral mode, which ``forecast train`` and ``forecast backtest`` use, starts
    no scheduler, so scheduled runs would never be created (``forecast predict`` runs the
    steps without Prefect). Serving therefore needs a real server: the one
    ``PREFECT_API_URL`` points at (a team's), or ``prefect server start`` on a free local
    port, stopped again when the block ends; it keeps its database in ``PREFECT_HOME``,
    which the ``forecast`` command sets to ``.prefect/`` of the project.

    Parameters
    ----------
    log : Path
        Where the local server writes its output.
    timeout : float
        Seconds to wait for the local server to answer.

    Yields
    ------
    str
        The API URL in use.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = PREFECT_API_URL.value()
    if configured:
        yield str(configured)
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log.parent.mkdir(parents=True, exist_ok=True)
    prefect = Path(sys.executable).with_name("prefect")
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PREFECT_UI_ENABLED": "false"},
        )
        try:
            deadline = time.monotonic() + timeout
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the local Prefect server did not start (see {log}); "
                        "set PREFECT_API_URL to a running server instead"
                    )
                time.sleep(0.5)
            with temporary_settings({PREFECT_API_URL: url}):
                yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def api_for_workers(kind: str, name: str) -> Iterator[None]:
    """A Prefect API that the task runner's workers can reach, while the block lasts.

    A local runner's tasks run in this process, so Prefect's ephemeral mode serves them. A
    Dask or Ray worker is another process, which cannot reach an ephemeral API: the block then
    uses the server ``PREFECT_API_URL`` names, or starts one here (:func:`prefect_server`, its
    log ``<name>-server.log`` in ``PREFECT_HOME``).

    Parameters
    ----------
    kind : str
        The config's ``runner.kind``: ``"local"``, ``"dask"`` or ``"ray"``.
    name : str
        The flow's name, for the server's log file.
    """
    if kind == "local":
        yield
        return
    from prefect.settings import PREFECT_HOME

    with prefect_server(Path(PREFECT_HOME.value()) / f"{name}-server.log"):
        yield
