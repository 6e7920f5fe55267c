"""Opinions that go back to bank sources (``exchange_opinions``, an outbox) and the flood
guard's ``entry_quarantines`` (issue 14).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05

A reviewer's final confirmation or false positive on a match against an entry from a source
queues one row per (item, source, upstream id), in the decision's transaction; a
once-per-cluster task sends them with retries. An entry that floods (matches far more
content than usual soon after it arrived) gets an ``entry_quarantines`` row until a lead
releases it. Written out in full (not importing the
models), so it keeps meaning what it meant.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_opinions",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("upstream_id", sa.String(256), nullable=False),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", _UTC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", _UTC, nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.CheckConstraint(
            "verdict IN ('confirmed', 'false_positive')", name=op.f("ck_exchange_opinions_verdict")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'rejected')", name=op.f("ck_exchange_opinions_status")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_exchange_opinions_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["exchange_sources.id"],
            name=op.f("fk_exchange_opinions_source_id_exchange_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_opinions")),
        sa.UniqueConstraint(
            "item_id",
            "source_id",
            "upstream_id",
            name=op.f("uq_exchange_opinions_item_id_source_id_upstream_id"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_exchange_opinions_status_next_attempt_at"),
        "exchange_opinions",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "entry_quarantines",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("bank", sa.String(64), nullable=False),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.Column("usual", sa.Integer(), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("quarantined_at", _UTC, nullable=False),
        sa.Column("released_at", _UTC, nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "status IN ('quarantined', 'released')", name=op.f("ck_entry_quarantines_status")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name=op.f("fk_entry_quarantines_entry_id_bank_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_entry_quarantines")),
    )
    op.create_index(
        op.f("ix_entry_quarantines_status"), "entry_quarantines", ["status"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_entry_quarantines_status"), table_name="entry_quarantines")
    op.drop_table("entry_quarantines")
    op.drop_index(
        op.f("ix_exchange_opinions_status_next_attempt_at"), table_name="exchange_opinions"
    )
    op.drop_table("exchange_opinions")
