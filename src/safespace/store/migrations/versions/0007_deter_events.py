"""Deter: interventions shown (deter_events) and the outcomes that followed (deter_outcomes).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

Written out in full (not importing the models), so it keeps meaning what it meant when the
models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OUTCOMES = "'proceeded', 'left', 'clicked_help', 'engaged_chatbot', 'triggered_again'"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deter_events",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("pseudonym", sa.String(length=256), nullable=False),
        sa.Column("context", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=512), nullable=True),
        sa.Column("rule_category", sa.String(length=200), nullable=True),
        sa.Column("experiment", sa.String(length=200), nullable=True),
        sa.Column("arm", sa.String(length=200), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=True),
        sa.Column("intervention", sa.String(length=16), nullable=False),
        sa.Column("variant", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("query_text", sa.Text(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_deter_events_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deter_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_deter_events_event_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_deter_events_created_at"), "deter_events", ["created_at"])
    op.create_index(
        op.f("ix_deter_events_pseudonym_created_at"), "deter_events", ["pseudonym", "created_at"]
    )
    op.create_index(op.f("ix_deter_events_experiment_arm"), "deter_events", ["experiment", "arm"])
    op.create_table(
        "deter_outcomes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("event_ref", _BIG_ID, nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(f"outcome IN ({_OUTCOMES})", name=op.f("ck_deter_outcomes_outcome")),
        sa.CheckConstraint(
            "via IN ('api', 'widget', 'service')", name=op.f("ck_deter_outcomes_via")
        ),
        sa.ForeignKeyConstraint(
            ["event_ref"],
            ["deter_events.id"],
            name=op.f("fk_deter_outcomes_event_ref_deter_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deter_outcomes")),
        sa.UniqueConstraint(
            "event_ref", "outcome", name=op.f("uq_deter_outcomes_event_ref_outcome")
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("deter_outcomes")
    op.drop_index(op.f("ix_deter_events_experiment_arm"), table_name="deter_events")
    op.drop_index(op.f("ix_deter_events_pseudonym_created_at"), table_name="deter_events")
    op.drop_index(op.f("ix_deter_events_created_at"), table_name="deter_events")
    op.drop_table("deter_events")
