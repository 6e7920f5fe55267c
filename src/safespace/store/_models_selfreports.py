"""Models for self-reports: a case (what the person told us) and its items (hashes only).

Deliberately missing: client address, user agent, file names, image bytes. The PIN is kept
only as a scrypt hash. ``failed_attempts``/``locked_until`` limit PIN guessing per case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, utcnow

__all__ = ["AGE_BANDS", "CASE_STATUSES", "SelfReportCase", "SelfReportItem"]

AGE_BANDS = ("under-13", "13-15", "16-17", "18-plus", "prefer-not-to-say")
CASE_STATUSES = ("received", "under-review", "actioned", "withdrawn")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class SelfReportCase(Base):
    """One report. Contact and URLs are emptied, and items deleted, when it is withdrawn."""

    __tablename__ = "self_report_cases"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(CASE_STATUSES)})", name="status"),
        CheckConstraint(f"age_band IN ({_in(AGE_BANDS)})", name="age_band"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_number: Mapped[str] = mapped_column(String(16), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="received")
    age_band: Mapped[str] = mapped_column(String(24))
    locale: Mapped[str] = mapped_column(String(16))
    seen_at_urls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]


class SelfReportItem(Base):
    """One picked file, as hashes: its MD5, and its PDQ (images the browser could decode)."""

    __tablename__ = "self_report_items"
    __table_args__ = (
        CheckConstraint("media_kind IN ('image', 'video')", name="media_kind"),
        Index(None, "case_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("self_report_cases.id", ondelete="CASCADE"))
    media_kind: Mapped[str] = mapped_column(String(8))
    # Columns named after the signal types the browser computes (indexed: withdrawal looks
    # them up); reports/_selfreport_input.py finds them through the registry.
    md5: Mapped[str] = mapped_column(String(32), index=True)
    pdq: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
