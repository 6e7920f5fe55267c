"""The change log can be pruned: ``change_log_pruned`` says how far.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25

Written out in full (not importing the models), so it keeps meaning what it meant when the
models move on.

One row (id 1) once the log has been pruned: every change with ``seq`` up to
``through_seq`` may be gone (except the first row, the database's identity). A matcher or a
snapshot older than that cannot catch up from the log and reloads instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_log_pruned",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("through_seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_change_log_pruned_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log_pruned")),
    )


def downgrade() -> None:
    op.drop_table("change_log_pruned")
