"""Opinions that go back to bank sources (``exchange_opinions``, an outbox), and the flood
guard's quarantined entries (``entry_quarantines``).

When a reviewer's final decision confirms, or marks as a false positive, a match against an
entry that came from a bank source, one row per (item, source, upstream id) is written in
the same transaction as the decision. A once-per-cluster task sends pending rows with the
source's ``send_opinion`` and records what happened: ``sent``, or ``pending`` again with a
later ``next_attempt_at`` after a fault, or ``rejected`` once it has failed too often.

An entry that matched far more content than usual soon after it arrived is quarantined: it is
disabled (so it triggers nothing automatic) and a row says why until a lead releases it.
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

__all__ = [
    "OPINION_STATUSES",
    "QUARANTINE_STATUSES",
    "VERDICTS",
    "EntryQuarantine",
    "ExchangeOpinion",
]

VERDICTS = ("confirmed", "false_positive")
OPINION_STATUSES = ("pending", "sent", "rejected")
QUARANTINE_STATUSES = ("quarantined", "released")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ExchangeOpinion(Base):
    """One opinion for one source about one of its entries, and how sending it went."""

    __tablename__ = "exchange_opinions"
    __table_args__ = (
        CheckConstraint(f"verdict IN ({_in(VERDICTS)})", name="verdict"),
        CheckConstraint(f"status IN ({_in(OPINION_STATUSES)})", name="status"),
        UniqueConstraint("item_id", "source_id", "upstream_id"),
        Index(None, "status", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("review_items.id", ondelete="CASCADE")
    )
    source_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("exchange_sources.id", ondelete="CASCADE")
    )
    upstream_id: Mapped[str] = mapped_column(String(256))
    signal_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(256))
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EntryQuarantine(Base):
    """A bank entry the flood guard set aside: how many contents it matched, until released."""

    __tablename__ = "entry_quarantines"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(QUARANTINE_STATUSES)})", name="status"),
        Index(None, "status"),
    )

    entry_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("bank_entries.id", ondelete="CASCADE"), primary_key=True
    )
    bank: Mapped[str] = mapped_column(String(64))
    matches: Mapped[int] = mapped_column(Integer)
    usual: Mapped[int] = mapped_column(Integer)
    window_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="quarantined")
    quarantined_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(64))
