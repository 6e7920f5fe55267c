"""Review queue: items, decisions, stored media, reveals, feed cursors.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

Written out in full (not importing the models), so it keeps meaning what it meant when the
models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SOURCES = "'match', 'self-report', 'user-report'"
_STATUSES = "'open', 'second-look', 'escalated', 'confirmed', 'false-positive'"
_KINDS = "'confirm', 'false-positive', 'escalate'"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.String(length=256), nullable=True),
        sa.Column("account_id", sa.String(length=256), nullable=True),
        sa.Column("urls", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("bank", sa.String(length=64), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("signal_type", sa.String(length=16), nullable=True),
        sa.Column("matched_value", sa.String(length=128), nullable=True),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("hashes", sa.JSON(), nullable=False),
        sa.Column("self_report_case_id", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claim_expires_at", _utc(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_category", sa.String(length=4), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("final_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(f"source IN ({_SOURCES})", name=op.f("ck_review_items_source")),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_review_items_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_review_items_status_priority_created_at"),
        "review_items",
        ["status", "priority", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_review_items_content_id"), "review_items", ["content_id"], unique=False
    )
    op.create_table(
        "review_decisions",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=4), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_review_decisions_kind")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_decisions_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_review_decisions_item_id"), "review_decisions", ["item_id"], unique=False
    )
    op.create_table(
        "review_media",
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_media_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_review_media")),
    )
    op.create_table(
        "review_reveals",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("over_cap", sa.Boolean(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reveals")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_review_reveals_actor_day"), "review_reveals", ["actor", "day"], unique=False
    )
    op.create_table(
        "review_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_review_cursors")),
    )


def downgrade() -> None:
    op.drop_table("review_cursors")
    op.drop_index(op.f("ix_review_reveals_actor_day"), table_name="review_reveals")
    op.drop_table("review_reveals")
    op.drop_table("review_media")
    op.drop_index(op.f("ix_review_decisions_item_id"), table_name="review_decisions")
    op.drop_table("review_decisions")
    op.drop_index(op.f("ix_review_items_content_id"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_status_priority_created_at"), table_name="review_items")
    op.drop_table("review_items")
