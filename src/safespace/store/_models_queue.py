"""Models for the review queue: items to review, their decisions, stored media, reveals.

Items are fed by match events, self-reports and user reports. A claim (``claimed_by`` with
``claim_expires_at``) is taken by one conditional UPDATE, so two reviewers can never hold the
same item. Media is kept only when the operator turns it on, and is deleted when the item is
decided for good.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, BigId, utcnow

__all__ = [
    "DECISION_KINDS",
    "ITEM_SOURCES",
    "ITEM_STATUSES",
    "OPEN_ITEM_STATUSES",
    "ReviewCursor",
    "ReviewDecision",
    "ReviewItem",
    "ReviewMedia",
    "ReviewReveal",
]

ITEM_SOURCES = ("match", "self-report", "user-report", "conversation", "retro")
# "withdrawn": the young person withdrew the self-report the item was raised for (0021).
ITEM_STATUSES = ("open", "second-look", "escalated", "confirmed", "false-positive", "withdrawn")
OPEN_ITEM_STATUSES = ("open", "second-look", "escalated")
DECISION_KINDS = ("confirm", "false-positive", "escalate")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ReviewItem(Base):
    """One piece of content to review; ``priority`` 0 is most urgent."""

    __tablename__ = "review_items"
    __table_args__ = (
        CheckConstraint(f"source IN ({_in(ITEM_SOURCES)})", name="source"),
        CheckConstraint(f"status IN ({_in(ITEM_STATUSES)})", name="status"),
        Index(None, "status", "priority", "created_at"),
        Index(None, "content_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[int] = mapped_column(Integer)
    content_id: Mapped[str | None] = mapped_column(String(256))
    account_id: Mapped[str | None] = mapped_column(String(256))
    urls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    reports: Mapped[int] = mapped_column(Integer, default=0)
    bank: Mapped[str | None] = mapped_column(String(64))
    entry_id: Mapped[int | None] = mapped_column(BigInteger)
    signal_type: Mapped[str | None] = mapped_column(String(16))
    matched_value: Mapped[str | None] = mapped_column(String(2048))  # URL expressions too
    distance: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(32))
    hashes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Text matches' spans (0024): event id, signal type, expression, start, end; no text.
    text_spans: Mapped[list[Any] | None] = mapped_column(JSON)
    self_report_case_id: Mapped[int | None] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_expires_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_category: Mapped[str | None] = mapped_column(String(4))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    final_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewDecision(Base):
    """Every decision taken on an item, first look and second look, with its reason."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(DECISION_KINDS)})", name="kind"),
        Index(None, "item_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("review_items.id", ondelete="CASCADE")
    )
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(Text)
    final: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewMedia(Base):
    """The reported file, kept only with ``SAFESPACE_REVIEW_STORE_MEDIA``; deleted when final."""

    __tablename__ = "review_media"

    item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True
    )
    media_type: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)  # AES-256-GCM ciphertext when wrapped_key
    key_id: Mapped[str | None] = mapped_column(String(16))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewReveal(Base):
    """One reveal of blurred media by one reviewer: counted per UTC day."""

    __tablename__ = "review_reveals"
    __table_args__ = (Index(None, "actor", "day"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, UTC
    item_id: Mapped[int] = mapped_column(BigInteger)
    over_cap: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewCursor(Base):
    """How far the queue has read a feed (match events, self-report cases)."""

    __tablename__ = "review_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
