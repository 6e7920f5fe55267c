"""This SafeSpace's identity among federated peers (``instance_identity``).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07

One row, made here with a random id. A peer's feed names the instance it comes from and,
for an entry it took in from elsewhere, the instance and the entry there it began as (its
origin). A fetch that meets a copy of one of its own entries knows it is an echo: one whose
original was removed since is not brought back (before, such an entry went round two
servers that share a bank both ways for ever). Written out in full (not importing the
models), so it keeps meaning what it meant.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "instance_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_instance_identity_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_identity")),
    )
    op.bulk_insert(
        table, [{"id": 1, "instance_id": secrets.token_hex(8), "created_at": datetime.now(UTC)}]
    )


def downgrade() -> None:
    op.drop_table("instance_identity")
