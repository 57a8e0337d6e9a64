"""A real, throwaway PostgreSQL server for the tests: listens on 127.0.0.1 only, on a free port.

The server binaries come from the ``pgserver`` wheel of the ``dev`` extra (``pip install -e
'.[dev]'``, the README's test command), so no system package is needed. ``postgres`` refuses
to run as root: under root the server runs as the unprivileged user ``nobody``, from a copy of
the binaries in its own world-readable folder, since the venv may sit in a folder only root can
enter (a clone under ``mktemp -d`` or ``/root``).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["PostgresError", "PostgresServer", "server_binaries"]

_START_SECONDS = 60.0
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",  # TCP on 127.0.0.1 only
    "max_connections": "200",  # concurrent writer processes, MLflow servers' pools
    "fsync": "off",  # a throwaway cluster: durability buys nothing here
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
_INSTALL = (
    "Install the test dependencies with `pip install -e '.[dev]'` (the README's test command)."
)


class PostgresError(RuntimeError):
    """The test PostgreSQL server could not be found or started."""


def server_binaries() -> Path:
    """The folder with ``initdb`` and ``postgres`` of the installed ``pgserver`` wheel."""
    spec = importlib.util.find_spec("pgserver")  # found, not imported: its import has side effects
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError(f"The PostgreSQL tests need the `pgserver` package. {_INSTALL}")
    binaries = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (binaries / "postgres").is_file():
        raise PostgresError(
            f"`pgserver` is installed but has no {binaries / 'postgres'}. {_INSTALL}"
        )
    return binaries


def _copy_installation(binaries: Path, target: Path) -> Path:
    """Copy the installation around ``binaries`` into ``target``; returns the copy's bin folder.

    The copy keeps the wheel's layout (``pgserver/pginstall/{bin,lib,share}`` beside
    ``pgserver.libs``), since the binaries find their libraries relative to themselves.
    """
    install = binaries.parent  # .../pgserver/pginstall
    site = install.parent.parent
    copy = target / "pgserver" / "pginstall"
    for part in ("bin", "lib", "share"):
        if (install / part).is_dir():
            shutil.copytree(install / part, copy / part, symlinks=True)
    if (site / "pgserver.libs").is_dir():
        shutil.copytree(site / "pgserver.libs", target / "pgserver.libs", symlinks=True)
    for folder in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    return copy / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, started by :meth:`start`.

    Parameters
    ----------
    binaries : Path, optional
        Folder with ``initdb`` and ``postgres``; by default :func:`server_binaries`.
    """

    def __init__(self, binaries: Path | None = None) -> None:
        self.binaries = binaries
        self.port: int | None = None
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)

    def _as_user(self) -> dict[str, Any]:
        """``subprocess`` arguments that drop root, which ``postgres`` refuses to run as."""
        if os.geteuid() != 0:
            return {}
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            raise PostgresError(
                "The tests run as root, and PostgreSQL refuses to: it would run as the user "
                "`nobody`, which this system lacks. Run the tests as a regular user."
            ) from None
        return {"user": nobody.pw_uid, "group": nobody.pw_gid}

    def start(self) -> PostgresServer:
        """Create the cluster and start the server; raise :class:`PostgresError` if it fails."""
        binaries = self.binaries or server_binaries()
        if not (binaries / "initdb").is_file():
            raise PostgresError(
                f"initdb could not run: there is no {binaries / 'initdb'}. {_INSTALL}"
            )
        as_user = self._as_user()
        # Not under pytest's tmp folder, which is private to root when the tests run as root.
        self._root = Path(tempfile.mkdtemp(prefix="forecasting-postgres-"))
        if as_user:
            os.chown(self._root, as_user["user"], as_user["group"])
            self._root.chmod(0o755)
            binaries = _copy_installation(binaries, self._root / "install")
        data = self._root / "data"
        hint = (
            f"\nUnder root the server runs as `nobody`, who needs to read {binaries} and "
            f"{self._root.parent}: make those folders world-readable or run as a regular user."
            if as_user
            else ""
        )
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        try:
            init = subprocess.run(
                [*initdb, "-E", "UTF8", "--locale=C", "--no-sync"],
                capture_output=True,
                text=True,
                **as_user,
            )
        except OSError as exc:
            self.stop()
            raise PostgresError(f"initdb could not run: {exc}. {_INSTALL}{hint}") from None
        if init.returncode != 0:
            self.stop()
            raise PostgresError(f"initdb failed (exit {init.returncode}):\n{init.stderr}{hint}")
        for _attempt in range(3):  # another program may take the free port before postgres does
            self.port = _free_port()
            settings = {**_SETTINGS, "port": str(self.port)}
            options = [f"--{key}={value}" for key, value in settings.items()]
            log = self._root / "postgres.log"
            with log.open("ab") as sink:
                self._process = subprocess.Popen(
                    [str(binaries / "postgres"), "-D", str(data), *options],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    **as_user,
                )
            if self._wait_ready():
                return self
            if "could not bind" not in log.read_text(errors="replace"):
                break
        tail = (self._root / "postgres.log").read_text(errors="replace")[-3000:]
        self.stop()
        raise PostgresError(f"PostgreSQL did not start on 127.0.0.1; its log ends:\n{tail}")

    def _wait_ready(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        self._process.kill()
        self._process.wait()
        return False

    def dsn(self, database: str) -> str:
        """A libpq connection string for ``database``."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def url(self, database: str) -> str:
        """A SQLAlchemy URL (psycopg driver) for ``database``."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)  # fast shutdown: disconnects clients
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
