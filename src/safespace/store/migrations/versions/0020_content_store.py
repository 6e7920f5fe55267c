"""Retro-matching: the opt-in content-hash store (``content_signals``), the hits already
queued (``retro_hits``), and ``review_items.source`` may be ``retro``.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-05

Written out in full (not importing the models), so it keeps meaning what it meant. The
source CHECK clause is changed as 0014 changed it: on SQLite by rewriting the stored table
definition (recreating ``review_items`` would cascade-delete its decisions and media), on
PostgreSQL by dropping and adding the constraint.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD = "source IN ('match', 'self-report', 'user-report', 'conversation')"
_NEW = "source IN ('match', 'self-report', 'user-report', 'conversation', 'retro')"
_CLAUSE = re.compile(r"source\s+IN\s*\([^()]*\)", re.IGNORECASE)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "content_signals",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("content_id", sa.String(length=256), nullable=False),
        sa.Column("signal_type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("first_seen_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_signals")),
        sa.UniqueConstraint(
            "content_id",
            "signal_type",
            "value",
            name=op.f("uq_content_signals_content_id_signal_type_value"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_content_signals_signal_type_value"),
        "content_signals",
        ["signal_type", "value"],
        unique=False,
    )
    op.create_index(
        op.f("ix_content_signals_expires_at"), "content_signals", ["expires_at"], unique=False
    )
    op.create_table(
        "retro_hits",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("content_id", sa.String(length=256), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("review_item_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("seen_at", _utc(), nullable=False),
        sa.Column("found_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retro_hits")),
        sa.UniqueConstraint(
            "content_id", "entry_id", name=op.f("uq_retro_hits_content_id_entry_id")
        ),
        sqlite_autoincrement=True,
    )
    _set_sources(_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM review_items WHERE source = 'retro'")
    _set_sources(_OLD)
    op.drop_table("retro_hits")
    op.drop_index(op.f("ix_content_signals_expires_at"), table_name="content_signals")
    op.drop_index(op.f("ix_content_signals_signal_type_value"), table_name="content_signals")
    op.drop_table("content_signals")


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
