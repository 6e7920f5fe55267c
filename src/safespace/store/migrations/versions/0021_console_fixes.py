"""Review items may be closed as ``withdrawn``: a self-report's items, when the young person
who made it withdraws it (issue 11).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05

Written out in full (not importing the models), so it keeps meaning what it meant. As in
0014, SQLite's CHECK clause is rewritten in the stored table definition (recreating
``review_items`` would cascade-delete its decisions and media); PostgreSQL drops and adds the
constraint. Down again, withdrawn items go (the old check has no word for them; their hashes
were already removed when they were withdrawn).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "status IN ('open', 'second-look', 'escalated', 'confirmed', 'false-positive')"
_NEW = "status IN ('open', 'second-look', 'escalated', 'confirmed', 'false-positive', 'withdrawn')"
_CLAUSE = re.compile(r"status\s+IN\s*\([^()]*\)", re.IGNORECASE)


def upgrade() -> None:
    _set_statuses(_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM review_items WHERE status = 'withdrawn'")
    _set_statuses(_OLD)


def _set_statuses(clause: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_rewrite(bind, clause)
        return
    op.drop_constraint(op.f("ck_review_items_status"), "review_items", type_="check")
    op.create_check_constraint(op.f("ck_review_items_status"), "review_items", clause)


def _sqlite_rewrite(bind: sa.Connection, clause: str) -> None:
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'review_items'"
    ).scalar_one()
    new, found = _CLAUSE.subn(clause, sql, count=1)
    if not found:
        raise RuntimeError("review_items has no status CHECK clause to rewrite")
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
