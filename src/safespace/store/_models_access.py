"""Models for the HTTP service: API keys, and the match events recorded for content ids.

Kept apart from :mod:`safespace.store._models` (banks), on the same ``Base`` and metadata, so
the access side can grow (audit, jobs) without touching the bank schema.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, BigId, utcnow

__all__ = ["ApiKey", "MatchEvent"]


class ApiKey(Base):
    """An API key: only the SHA-256 of the secret is stored, with a short public prefix."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("key_hash"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(64))  # comma-separated, sorted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class MatchEvent(Base):
    """One match reported for a caller's content id. No image bytes, no addresses.

    Bank and entry are copied, not referenced: an event outlives the entry it names.
    """

    __tablename__ = "match_events"
    __table_args__ = (
        Index(None, "content_id"),
        Index(None, "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[str] = mapped_column(String(256))
    bank: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[int] = mapped_column(BigInteger)
    signal_type: Mapped[str] = mapped_column(String(16))
    distance: Mapped[int] = mapped_column(Integer)
    # The caller's own hash for signal_type (not the entry's): what a false positive allows.
    query_value: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )
    # A text match (migration 0024): the listed expression it matched (the URL expression,
    # the hash, the keyword) and the span of the submitted text; never the text itself. An
    # excerpt (the span and SAFESPACE_REVIEW_TEXT_CONTEXT_CHARS either side) only when the
    # operator allows it, sealed like reviewer media (AES-256-GCM, data key wrapped).
    expression: Mapped[str | None] = mapped_column(String(2048))
    span_start: Mapped[int | None] = mapped_column(Integer)
    span_end: Mapped[int | None] = mapped_column(Integer)
    excerpt: Mapped[bytes | None] = mapped_column(LargeBinary)
    excerpt_key_id: Mapped[str | None] = mapped_column(String(16))
    excerpt_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
