"""Initial schema: banks, bank entries, change log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written out in full (not importing the models), so it keeps meaning what it meant when the
models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: INTEGER PRIMARY KEY AUTOINCREMENT, so ids of deleted rows are never reused.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pdq_distance", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint("kind IN ('normal', 'allow')", name=op.f("ck_banks_kind")),
        sa.CheckConstraint("pdq_distance >= 0 AND pdq_distance <= 128", name=op.f("ck_banks_dist")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banks")),
        sa.UniqueConstraint("name", name=op.f("uq_banks_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "changes",
        sa.Column("seq", _BIG_ID, nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.CheckConstraint(
            "op IN ('add', 'enable', 'disable', 'remove', 'bank-update', 'bank-delete')",
            name=op.f("ck_changes_op"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_changes")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("signal_type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=True),
        sa.Column("category", sa.String(length=256), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("added_at", _utc(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["banks.id"],
            name=op.f("fk_bank_entries_bank_id_banks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entries")),
        sa.UniqueConstraint(
            "bank_id",
            "signal_type",
            "value",
            name=op.f("uq_bank_entries_bank_id_signal_type_value"),
        ),
        sqlite_autoincrement=True,
    )
    # Matching looks hashes up across banks; the unique key above serves per-bank lookups.
    op.create_index(
        op.f("ix_bank_entries_signal_type_value"),
        "bank_entries",
        ["signal_type", "value"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bank_entries_signal_type_value"), table_name="bank_entries")
    op.drop_table("bank_entries")
    op.drop_table("changes")
    op.drop_table("banks")
