"""Bank sources (exchanges) and what they put in their banks: ``exchange_sources`` and
``exchange_entries``.

A source row holds its settings (JSON), its credentials sealed at rest, whether it is
paused, the checkpoint it resumes from (JSON, written in the same transaction as the page it
ends) and how its fetches went. ``exchange_entries`` maps each upstream id the source listed
to the bank entry it became, so a removal or a change upstream finds its entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, utcnow

__all__ = ["ExchangeEntry", "ExchangeSource"]

_BigInt = BigInteger().with_variant(Integer(), "sqlite")


class ExchangeSource(Base):
    """One bank source: where entries come from, into which bank, and how fetching goes."""

    __tablename__ = "exchange_sources"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    credentials_key_id: Mapped[str | None] = mapped_column(String(32))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    last_fetch_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None]
    interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    fetched: Mapped[int] = mapped_column(BigInteger, default=0)
    removed: Mapped[int] = mapped_column(BigInteger, default=0)
    pages: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeEntry(Base):
    """Upstream id ``upstream_id`` of source ``source_id`` is bank entry ``entry_id``.

    No foreign keys: their per-row checks cost a peer fetch more than the entries themselves
    (migration 0028), and a fetch maps only entries it has just added or found. Triggers
    delete a mapping when its bank entry or its source is deleted, as the keys' cascades did.
    """

    __tablename__ = "exchange_entries"
    __table_args__ = (Index(None, "entry_id"),)

    source_id: Mapped[int] = mapped_column(primary_key=True)  # exchange_sources.id
    upstream_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    entry_id: Mapped[int] = mapped_column(_BigInt)  # bank_entries.id
