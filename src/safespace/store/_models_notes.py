"""Reviewers' notes on review items (``review_notes``, migration 0025).

A note is short free text a reviewer adds to an item for the next person who looks at it
("same account as last week's", "asked the platform for context"). Notes are kept with the
item (deleted with it), shown in the item's history and audited when written.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, BigId, utcnow

__all__ = ["MAX_NOTE", "ReviewNote"]

MAX_NOTE = 1000  # characters: a note, not a report


class ReviewNote(Base):
    """One reviewer's note on one item."""

    __tablename__ = "review_notes"
    __table_args__ = (
        CheckConstraint(f"length(text) BETWEEN 1 AND {MAX_NOTE}", name="text_length"),
        Index(None, "item_id", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("review_items.id", ondelete="CASCADE")
    )
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(String(MAX_NOTE))
