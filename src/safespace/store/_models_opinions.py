"""Opinions that go back to bank sources: ``exchange_opinions``, an outbox.

When a reviewer's final decision confirms, or marks as a false positive, a match against an
entry that came from a bank source, one row per (item, source, upstream id) is written in
the same transaction as the decision. A once-per-cluster task sends pending rows with the
source's ``send_opinion`` and records what happened: ``sent``, or ``pending`` again with a
later ``next_attempt_at`` after a transient fault, or ``rejected`` when the source refused.
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

__all__ = ["OPINION_STATUSES", "VERDICTS", "ExchangeOpinion"]

VERDICTS = ("confirmed", "false_positive")
OPINION_STATUSES = ("pending", "sent", "rejected")


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
