"""Models for Deter: one row per intervention shown, and the outcomes that followed it.

An outcome row points at its intervention's row and goes with it (``ON DELETE CASCADE``), so
the retention purge deletes whole records. Rows hold a pseudonym and rule ids, never the text
typed (``query_text`` stays NULL unless the operator turned storing it on) and never an
address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, BigId, utcnow

__all__ = ["DETER_OUTCOMES", "DeterEventRow", "DeterOutcomeRow"]

DETER_OUTCOMES = ("proceeded", "left", "clicked_help", "engaged_chatbot", "triggered_again")
_OUTCOME_SQL = ", ".join(f"'{o}'" for o in DETER_OUTCOMES)


class DeterEventRow(Base):
    """An intervention shown: who (pseudonym), why (rule), which arm, where and when."""

    __tablename__ = "deter_events"
    __table_args__ = (
        UniqueConstraint("event_id"),
        Index(None, "created_at"),
        Index(None, "pseudonym", "created_at"),
        Index(None, "experiment", "arm"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    pseudonym: Mapped[str] = mapped_column(String(256), default="")
    context: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str | None] = mapped_column(String(512))
    rule_category: Mapped[str | None] = mapped_column(String(200))
    experiment: Mapped[str | None] = mapped_column(String(200))
    arm: Mapped[str | None] = mapped_column(String(200))
    epoch: Mapped[int | None] = mapped_column(BigInteger)
    intervention: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(35))
    query_text: Mapped[str | None] = mapped_column(Text)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )


class DeterOutcomeRow(Base):
    """What the person did next; one row per outcome kind per intervention."""

    __tablename__ = "deter_outcomes"
    __table_args__ = (
        UniqueConstraint("event_ref", "outcome"),
        CheckConstraint(f"outcome IN ({_OUTCOME_SQL})", name="outcome"),
        CheckConstraint("via IN ('api', 'widget', 'service')", name="via"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_ref: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("deter_events.id", ondelete="CASCADE"),
    )
    outcome: Mapped[str] = mapped_column(String(24))
    via: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
