"""Whole values of bank entries whose value column holds a digest: ``bank_entry_values``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

Issue 15: a vPDQ value (every frame's PDQ hash, quality and time) does not fit
``bank_entries.value`` (256 characters); such an entry stores the SHA-256 of its canonical
value there (so the bank's unique key and lookups by value work as for every type) and the
canonical value here. Written out in full (not importing the models), so it keeps meaning
what it meant.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bank_entry_values",
        sa.Column("entry_id", _BIG_ID, autoincrement=False, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name=op.f("fk_bank_entry_values_entry_id_bank_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_bank_entry_values")),
    )


def downgrade() -> None:
    op.drop_table("bank_entry_values")
