"""The change log's check on ``op`` compares with each name, not an IN list, on SQLite.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-08

Every added, enabled, disabled or removed entry writes a ``changes`` row, and SQLite checks
``op IN ('add', ...)`` on each row by building a small lookup table of the list again: at
1,000,000 rows the inserts took 2.9 s with that check and 0.6 s with ``op = 'add' OR ...``
(or with no check at all), a tenth of a peer's whole fetch. The same rows pass both checks.
Only SQLite's stored definition changes, in place (the rows are not copied); PostgreSQL
checks an IN list against an array, once compiled, and keeps it.

Downgrade writes the IN list back.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPS = ("add", "enable", "disable", "remove", "bank-update", "bank-delete")
_IN_LIST = "op IN ({})".format(", ".join(f"'{o}'" for o in _OPS))
_EACH = " OR ".join(f"op = '{o}'" for o in _OPS)


def upgrade() -> None:
    _rewrite_check(_IN_LIST, _EACH)


def downgrade() -> None:
    _rewrite_check(_EACH, _IN_LIST)


def _rewrite_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'changes'"
    ).scalar_one()
    if sql.count(f"CHECK ({old})") != 1:
        raise RuntimeError(f"the changes table has no check ({old}) to rewrite")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'changes'",
            (sql.replace(f"CHECK ({old})", f"CHECK ({new})"),),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
