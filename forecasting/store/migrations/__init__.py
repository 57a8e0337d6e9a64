"""Alembic migrations of the forecast store's schema, applied when a store is first written.

Every schema change is a new revision in ``versions/``: a file whose ``down_revision`` is the
current head and whose ``upgrade()`` makes the change with ``alembic.op`` (for instance
``op.add_column("forecasts", sa.Column("lo_80", sa.Double(), nullable=True))``), together with
the same change to the tables in :mod:`forecasting.store`; a test compares the two. The file's
skeleton, from the repository root::

    alembic -c forecasting/store/migrations/alembic.ini revision --rev-id 0002 -m "what changes"
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["VERSION_TABLE", "head", "upgrade"]

VERSION_TABLE = "forecast_store_version"  # not "alembic_version": MLflow's schema uses that name
_HERE = Path(__file__).parent
_PG_LOCK = 7_240_311_926  # pg_advisory_xact_lock key: one schema upgrade at a time per database


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("path_separator", "os")
    return config


@functools.cache
def _known() -> tuple[frozenset[str], str]:
    """Every revision this package ships, and the newest one."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    newest = script.get_current_head()  # raises if the revisions ever branch
    if newest is None:
        raise RuntimeError(f"{_HERE / 'versions'} holds no revision; reinstall forecasting.")
    return frozenset(rev.revision for rev in script.walk_revisions()), newest


def head() -> str:
    """The newest schema revision this package ships."""
    return _known()[1]


def _current(conn: sa.Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return tuple(context.get_current_heads())


def _check_known(current: tuple[str, ...], url: sa.URL) -> None:
    known, newest = _known()
    unknown = [rev for rev in current if rev not in known]
    if unknown:
        where = url.render_as_string(hide_password=True)
        raise RuntimeError(
            f"The forecast store at {where} has schema revision {', '.join(unknown)}, which this "
            f"version of forecasting does not know (its newest is {newest}): a newer version "
            "wrote it. Upgrade the forecasting package."
        )


def upgrade(engine: sa.Engine) -> None:
    """Bring the database's forecast tables to :func:`head`; one cheap read when already there.

    Concurrent callers are serialised (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction
    advisory lock), and the whole upgrade is one transaction, so a process that waited sees the
    finished schema and changes nothing.

    Parameters
    ----------
    engine : Engine
        A SQLite or PostgreSQL engine; tables made by the store before it had migrations are
        adopted as the first revision.

    Raises
    ------
    RuntimeError
        If the database carries a revision this package does not ship (a newer one wrote it).
    """
    with engine.connect() as conn:
        current = _current(conn)
    _check_known(current, engine.url)
    if current == (head(),):
        return
    from alembic import command

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock before reading
        elif engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK)))
        current = _current(conn)
        _check_known(current, engine.url)
        if current != (head(),):
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        conn.commit()
