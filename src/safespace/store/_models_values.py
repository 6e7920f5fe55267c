"""Whole values of bank entries too long for ``bank_entries.value``: ``bank_entry_values``.

A signal type whose values may not fit the 256-character value column (a video's frame
hashes) stores a digest of its canonical value there, so the bank's unique key and lookups by
value work as for every type, and the canonical value itself here, one row per entry, so
exports and the matcher get it back unchanged. Deleting the entry deletes its row.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base

__all__ = ["BankEntryValue"]


class BankEntryValue(Base):
    """The canonical value of one bank entry whose ``value`` column holds its digest."""

    __tablename__ = "bank_entry_values"

    entry_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("bank_entries.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    value: Mapped[str] = mapped_column(Text)
