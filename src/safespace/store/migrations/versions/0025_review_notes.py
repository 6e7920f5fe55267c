"""Reviewers' notes on review items (``review_notes``, issue 11).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05

A reviewer adds a short note (1 to 1000 characters) to an item; notes show in the item's
history and are audited (``case.note``). Deleted with their item. Written out in full (not
importing the models), so it keeps meaning what it meant.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_notes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.CheckConstraint(
            "length(text) BETWEEN 1 AND 1000", name=op.f("ck_review_notes_text_length")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_notes_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_notes")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_review_notes_item_id_created_at"),
        "review_notes",
        ["item_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_review_notes_item_id_created_at"), table_name="review_notes")
    op.drop_table("review_notes")
