"""The promotion lock: a transaction-scoped lock in the forecast store's own database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

__all__ = ["PromotionLockTimeout", "promotion_lock"]


class PromotionLockTimeout(TimeoutError):
    """Another process held the promotion lock for longer than the caller would wait."""


def _key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (the same in every process)."""
    digest = hashlib.blake2b(f"forecasting.promotion:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def promotion_lock(engine: sa.Engine, name: str, timeout: float = 120.0) -> Iterator[None]:
    """Hold the promotion lock of the registered model ``name`` for the body of a ``with``.

    The lock is a database transaction that stays open for the body and is rolled back after
    it, so nothing is written and nothing is left behind: a holder that dies (killed, crashed,
    its machine gone) releases the lock with its connection.

    - PostgreSQL: ``pg_advisory_xact_lock`` on a key derived from ``name``, so models are
      locked one by one, waiting at most ``timeout`` (``lock_timeout``).
    - SQLite: ``BEGIN IMMEDIATE``, the database's write lock (one holder for the whole file;
      forecasts written meanwhile wait the moment it takes), waiting at most ``timeout``.

    Parameters
    ----------
    engine : Engine
        The forecast store's engine (SQLite or PostgreSQL).
    name : str
        The registered model whose aliases are about to move.
    timeout : float
        Seconds to wait for another holder.

    Raises
    ------
    PromotionLockTimeout
        When another holder kept the lock for longer than the wait.
    """
    with engine.connect() as conn:
        busy = 0.0
        if engine.dialect.name == "sqlite":
            busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() / 1000
        try:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'"))
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_key(name))))
            else:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        except sa.exc.OperationalError as error:
            where = engine.url.render_as_string(hide_password=True)
            raise PromotionLockTimeout(
                f"another training of {name!r} held the promotion lock in {where} for over "
                f"{timeout:.0f} s; wait for it to finish and train again ({error.orig})"
            ) from None
        try:
            yield
        finally:
            conn.rollback()
            if engine.dialect.name == "sqlite":  # the pooled connection's own wait again
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(busy * 1000)}")
