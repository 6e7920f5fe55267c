"""API keys and match events (the HTTP service).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Written out in full (not importing the models), so it keeps meaning what it meant when the
models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "match_events",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("content_id", sa.String(length=256), nullable=False),
        sa.Column("bank", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("signal_type", sa.String(length=16), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_match_events_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_match_events_content_id"), "match_events", ["content_id"], unique=False
    )
    op.create_index(
        op.f("ix_match_events_created_at"), "match_events", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_match_events_created_at"), table_name="match_events")
    op.drop_index(op.f("ix_match_events_content_id"), table_name="match_events")
    op.drop_table("match_events")
    op.drop_table("api_keys")
