"""Alembic environment of the forecast store: migrates the caller's connection, or a URL.

:func:`forecasting.store.migrations.upgrade` passes its connection (already in a transaction) in
``config.attributes["connection"]``. On the command line the database is ``-x url=...`` or
``sqlalchemy.url`` of the ini file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from forecasting.store.migrations import VERSION_TABLE


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


_given = context.config.attributes.get("connection")
if _given is not None:
    _run(_given)
else:
    _url = context.get_x_argument(as_dictionary=True).get("url")
    _engine = sa.create_engine(_url or context.config.get_main_option("sqlalchemy.url") or "")
    with _engine.begin() as _connection:
        _run(_connection)
    _engine.dispose()
