"""Leases for once-per-cluster background tasks: ``runtime_leases``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

Written out in full (not importing the models), so it keeps meaning what it meant.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runtime_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_runtime_leases")),
    )


def downgrade() -> None:
    op.drop_table("runtime_leases")
