"""Review items from conversation-risk scoring: ``review_items.source`` may be
``conversation``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

Written out in full (not importing the models), so it keeps meaning what it meant. On
SQLite the CHECK clause is rewritten in the stored table definition (the ``writable_schema``
edit SQLite documents for changing CHECK constraints), because recreating ``review_items``
would cascade-delete its decisions and media; PostgreSQL drops and adds the constraint.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "source IN ('match', 'self-report', 'user-report')"
_NEW = "source IN ('match', 'self-report', 'user-report', 'conversation')"
_CLAUSE = re.compile(r"source\s+IN\s*\([^()]*\)", re.IGNORECASE)


def upgrade() -> None:
    _set_sources(_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM review_items WHERE source = 'conversation'")
    _set_sources(_OLD)


def _set_sources(clause: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_rewrite(bind, clause)
        return
    op.drop_constraint(op.f("ck_review_items_source"), "review_items", type_="check")
    op.create_check_constraint(op.f("ck_review_items_source"), "review_items", clause)


def _sqlite_rewrite(bind: sa.Connection, clause: str) -> None:
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'review_items'"
    ).scalar_one()
    new, found = _CLAUSE.subn(clause, sql, count=1)
    if not found:
        raise RuntimeError("review_items has no source CHECK clause to rewrite")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'review_items'",
            (new,),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
