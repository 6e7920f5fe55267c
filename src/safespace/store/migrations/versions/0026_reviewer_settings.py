"""Reviewer wellbeing settings (``reviewer_settings``, issue 11).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06

One row per console user who changed a default: blur strength (strong, medium or light;
never none), whether revealed media stays greyscale, the break reminder's minutes (NULL: the
operator's default, 0: off), the categories the reviewer opted out of, and until when the
break notice was put off. Deleted with the user. Written out in full (not importing the
models), so it keeps meaning what it meant.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reviewer_settings",
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("blur", sa.String(8), nullable=False),
        sa.Column("keep_grey", sa.Boolean(), nullable=False),
        sa.Column("break_minutes", sa.Integer(), nullable=True),
        sa.Column("opt_out", sa.JSON(), nullable=False),
        sa.Column("break_snoozed_until", _UTC, nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.CheckConstraint(
            "blur IN ('strong', 'medium', 'light')", name=op.f("ck_reviewer_settings_blur")
        ),
        sa.CheckConstraint(
            "break_minutes IS NULL OR break_minutes BETWEEN 0 AND 480",
            name=op.f("ck_reviewer_settings_break_minutes"),
        ),
        sa.ForeignKeyConstraint(
            ["user_name"],
            ["users.name"],
            name=op.f("fk_reviewer_settings_user_name_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_reviewer_settings")),
    )


def downgrade() -> None:
    op.drop_table("reviewer_settings")
