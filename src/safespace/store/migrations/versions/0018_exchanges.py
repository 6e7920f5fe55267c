"""Bank sources (exchanges): ``exchange_sources`` and ``exchange_entries`` (issue 14).

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-05

A source row holds a source's settings, its sealed credentials, its checkpoint and how its
fetches went; ``exchange_entries`` maps each upstream id to the bank entry it became.
Written out in full (not importing the models), so it keeps meaning what it meant.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exchange_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("credentials", sa.LargeBinary(), nullable=True),
        sa.Column("credentials_key_id", sa.String(32), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("checkpoint", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("last_fetch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("fetched", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["banks.id"],
            name=op.f("fk_exchange_sources_bank_id_banks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_exchange_sources_name")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_exchange_sources_bank_id"), "exchange_sources", ["bank_id"], unique=False
    )
    op.create_table(
        "exchange_entries",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("upstream_id", sa.String(256), nullable=False),
        sa.Column("entry_id", _BIG, nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["exchange_sources.id"],
            name=op.f("fk_exchange_entries_source_id_exchange_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name=op.f("fk_exchange_entries_entry_id_bank_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "upstream_id", name=op.f("pk_exchange_entries")),
    )
    op.create_index(
        op.f("ix_exchange_entries_entry_id"), "exchange_entries", ["entry_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_exchange_entries_entry_id"), table_name="exchange_entries")
    op.drop_table("exchange_entries")
    op.drop_index(op.f("ix_exchange_sources_bank_id"), table_name="exchange_sources")
    op.drop_table("exchange_sources")
