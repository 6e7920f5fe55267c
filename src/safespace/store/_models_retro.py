"""Models for retro-matching: the opt-in content-hash store and the hits already queued.

``content_signals`` keeps, for each content id a platform sent with ``/v1/match`` (or a
backfill stored) while retention was on, one row per signal: the hash (never the media, never
an address; a video's good sampled frames are PDQ rows with their time, ``frame_seconds``),
when it was first and last seen, and until when it may be kept. A row's id is
its key in the in-memory PDQ index of stored content. ``retro_hits`` records every (content,
bank entry) pair a sweep found, so a re-run never queues the same hit twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, BigId, utcnow

__all__ = ["ContentSignal", "RetroHit"]


class ContentSignal(Base):
    """One stored hash of one piece of content, kept until ``expires_at``."""

    __tablename__ = "content_signals"
    __table_args__ = (
        UniqueConstraint("content_id", "signal_type", "value"),
        Index(None, "signal_type", "value"),
        Index(None, "expires_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[str] = mapped_column(String(256))
    signal_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(256))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # A video's sampled frame (a PDQ row): its time in seconds (migration 0027); None otherwise.
    frame_seconds: Mapped[float | None] = mapped_column(Float)


class RetroHit(Base):
    """A stored content's hash found by a retro-match sweep in a bank entry."""

    __tablename__ = "retro_hits"
    __table_args__ = (
        UniqueConstraint("content_id", "entry_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[str] = mapped_column(String(256))
    entry_id: Mapped[int] = mapped_column(BigInteger)
    review_item_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))  # queued, allowed
    seen_at: Mapped[datetime]
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
