"""The database schema as SQLAlchemy 2 typed models: banks, their entries, the change log.

Entry ids are the ids the PDQ index and match results use. The change log gets one row per
mutation, written in the mutation's own transaction, so a process that keeps an in-memory
matcher can catch up by replaying it (see :mod:`safespace.banks._matching`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "BANK_KINDS",
    "CHANGE_OPS",
    "Bank",
    "BankEntry",
    "BankThreshold",
    "Base",
    "Change",
    "UTCDateTime",
    "utcnow",
]

BANK_KINDS = ("normal", "allow")
CHANGE_OPS = ("add", "enable", "disable", "remove", "bank-update", "bank-delete")

# Stable constraint names, so later migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids are quoted in match results and reports: SQLite must never hand a deleted one out again.
_NO_REUSE = {"sqlite_autoincrement": True}

# SQLite only auto-assigns ids to a column typed exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Bank(Base):
    """A named hash list; ``kind='allow'`` lists benign content that suppresses matches."""

    __tablename__ = "banks"
    __table_args__ = (
        CheckConstraint("kind IN ('normal', 'allow')", name="kind"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="normal")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    thresholds: Mapped[list[BankThreshold]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", passive_deletes=True
    )


class BankThreshold(Base):
    """One match threshold of one bank for one signal type (``distance`` of a hash type...).

    Which thresholds exist, their defaults and bounds come from the signal type
    (:mod:`safespace.signals`); a bank without a row for one uses the type's default.
    """

    __tablename__ = "bank_thresholds"
    __table_args__ = (CheckConstraint("value >= 0", name="value"),)

    bank_id: Mapped[int] = mapped_column(
        ForeignKey("banks.id", ondelete="CASCADE"), primary_key=True
    )
    signal_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class BankEntry(Base):
    """One hash in one bank, with what its list said about it."""

    __tablename__ = "bank_entries"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "value"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(256))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str | None] = mapped_column(String(256))
    category: Mapped[str | None] = mapped_column(String(256))
    note: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Change(Base):
    """One mutation, in commit order; no foreign keys so it outlives what it describes."""

    __tablename__ = "changes"
    __table_args__ = (
        # each name compared, not an IN list: SQLite builds the list's lookup table again
        # for every row it checks, and a bulk add writes a row per entry (migration 0031;
        # PostgreSQL keeps the IN list, the same check)
        CheckConstraint(
            " OR ".join(
                f"op = '{o}'"
                for o in ("add", "enable", "disable", "remove", "bank-update", "bank-delete")
            ),
            name="op",
        ),
        _NO_REUSE,
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int | None] = mapped_column(BigInteger)
    op: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeLogPruned(Base):
    """How far the change log was pruned (one row, id 1): see :mod:`safespace.banks._changelog`."""

    __tablename__ = "change_log_pruned"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    through_seq: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(default=utcnow)
