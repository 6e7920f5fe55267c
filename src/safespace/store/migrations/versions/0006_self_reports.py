"""Self-reports: cases (case number, PIN hash, status, answers) and their hashed items.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Written out in full (not importing the models), so it keeps meaning what it meant when the
models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "'received', 'under-review', 'actioned', 'withdrawn'"
_AGE_BANDS = "'under-13', '13-15', '16-17', '18-plus', 'prefer-not-to-say'"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "self_report_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=16), nullable=False),
        sa.Column("pin_hash", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("age_band", sa.String(length=24), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("seen_at_urls", sa.JSON(), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("withdrawn_at", _utc(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", _utc(), nullable=True),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_self_report_cases_status")),
        sa.CheckConstraint(
            f"age_band IN ({_AGE_BANDS})", name=op.f("ck_self_report_cases_age_band")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_report_cases")),
        sa.UniqueConstraint("case_number", name=op.f("uq_self_report_cases_case_number")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "self_report_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("media_kind", sa.String(length=8), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "media_kind IN ('image', 'video')", name=op.f("ck_self_report_items_media_kind")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["self_report_cases.id"],
            name=op.f("fk_self_report_items_case_id_self_report_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_report_items")),
        sqlite_autoincrement=True,
    )
    for column in ("case_id", "md5", "pdq"):
        op.create_index(
            op.f(f"ix_self_report_items_{column}"), "self_report_items", [column], unique=False
        )


def downgrade() -> None:
    for column in ("pdq", "md5", "case_id"):
        op.drop_index(op.f(f"ix_self_report_items_{column}"), table_name="self_report_items")
    op.drop_table("self_report_items")
    op.drop_table("self_report_cases")
