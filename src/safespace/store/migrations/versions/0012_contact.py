"""Contact decisions: suspicious-adult signals, cleared flags, supportive prompts and outcomes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

Written out in full (not importing the models), so it keeps meaning what it meant when the
models move on.

Rows hold keyed hashes of the platform's account ids (never the ids) and no message text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KINDS = (
    "'block', 'report', 'request_sent', 'request_accepted', 'request_ignored', "
    "'message_to_non_connection'"
)
_OUTCOMES = "'blocked', 'reported', 'accepted', 'restored_default', 'clicked_help'"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contact_events",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("other", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_contact_events_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_contact_events_created_at"), "contact_events", ["created_at"])
    op.create_index(
        op.f("ix_contact_events_subject_created_at"), "contact_events", ["subject", "created_at"]
    )
    op.create_table(
        "contact_flag_clearances",
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("cleared_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_contact_flag_clearances")),
    )
    op.create_table(
        "contact_prompts",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("moment", sa.String(length=32), nullable=False),
        sa.Column("experiment", sa.String(length=200), nullable=True),
        sa.Column("arm", sa.String(length=200), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=True),
        sa.Column("variant", sa.String(length=200), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_contact_prompts_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_prompts")),
        sa.UniqueConstraint("event_id", name=op.f("uq_contact_prompts_event_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_contact_prompts_created_at"), "contact_prompts", ["created_at"])
    op.create_index(
        op.f("ix_contact_prompts_experiment_arm"), "contact_prompts", ["experiment", "arm"]
    )
    op.create_table(
        "contact_prompt_outcomes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("prompt_ref", _BIG_ID, nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(
            f"outcome IN ({_OUTCOMES})", name=op.f("ck_contact_prompt_outcomes_outcome")
        ),
        sa.CheckConstraint("via IN ('api', 'widget')", name=op.f("ck_contact_prompt_outcomes_via")),
        sa.ForeignKeyConstraint(
            ["prompt_ref"],
            ["contact_prompts.id"],
            name=op.f("fk_contact_prompt_outcomes_prompt_ref_contact_prompts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_prompt_outcomes")),
        sa.UniqueConstraint(
            "prompt_ref", "outcome", name=op.f("uq_contact_prompt_outcomes_prompt_ref_outcome")
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("contact_prompt_outcomes")
    op.drop_index(op.f("ix_contact_prompts_experiment_arm"), table_name="contact_prompts")
    op.drop_index(op.f("ix_contact_prompts_created_at"), table_name="contact_prompts")
    op.drop_table("contact_prompts")
    op.drop_table("contact_flag_clearances")
    op.drop_index(op.f("ix_contact_events_subject_created_at"), table_name="contact_events")
    op.drop_index(op.f("ix_contact_events_created_at"), table_name="contact_events")
    op.drop_table("contact_events")
