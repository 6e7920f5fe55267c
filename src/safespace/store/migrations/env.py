"""Alembic environment: run by :func:`safespace.store._database.upgrade` with a connection.

Run from the command line (for new revisions), it uses ``sqlalchemy.url`` from the Alembic
config or else SafeSpace's configured database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from safespace.store._models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_standalone() -> None:
    from safespace.config import get_settings
    from safespace.store._database import open_database

    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()
    db = open_database(url, migrate=False)
    try:
        with db.engine.begin() as connection:
            _run(connection)
    finally:
        db.close()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")

_connection = config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:
    _run_standalone()
