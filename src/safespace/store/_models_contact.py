"""Models for contact decisions: suspicious-adult signals, cleared flags, and prompt records.

Nothing here holds a raw account id or any message text: ``subject`` and ``other`` are
keyed hashes (HMAC-SHA256 with the server's contact key) of the platform's ids, and an
event says only what kind of thing happened and when. Events expire after the retention
period set in the contact policy (the purge tick deletes them).

- ``contact_events``: one signal about an adult (``subject``) towards a child (``other``).
- ``contact_flag_clearances``: a lead cleared the flag on ``subject`` at ``cleared_at``;
  events up to then no longer count towards a flag.
- ``contact_prompts`` / ``contact_prompt_outcomes``: a supportive prompt shown to a child
  (which experiment arm and variant), and what the child did next.
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, BigId, utcnow

__all__ = [
    "CONTACT_EVENT_TYPES",
    "CONTACT_PROMPT_OUTCOMES",
    "ContactEventRow",
    "ContactFlagClearance",
    "ContactPromptOutcomeRow",
    "ContactPromptRow",
]

CONTACT_EVENT_TYPES = (
    "block",
    "report",
    "request_sent",
    "request_accepted",
    "request_ignored",
    "message_to_non_connection",
)
CONTACT_PROMPT_OUTCOMES = ("blocked", "reported", "accepted", "restored_default", "clicked_help")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ContactEventRow(Base):
    """A signal about an adult (keyed hash) towards a child (keyed hash), and when."""

    __tablename__ = "contact_events"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(CONTACT_EVENT_TYPES)})", name="kind"),
        Index(None, "created_at"),
        Index(None, "subject", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    other: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactFlagClearance(Base):
    """A lead cleared the flag on ``subject``: events up to ``cleared_at`` no longer count."""

    __tablename__ = "contact_flag_clearances"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    cleared_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactPromptRow(Base):
    """A supportive prompt shown to a child: which moment, experiment arm and variant."""

    __tablename__ = "contact_prompts"
    __table_args__ = (
        UniqueConstraint("event_id"),
        Index(None, "created_at"),
        Index(None, "experiment", "arm"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    pseudonym: Mapped[str] = mapped_column(String(64))
    moment: Mapped[str] = mapped_column(String(32))
    experiment: Mapped[str | None] = mapped_column(String(200))
    arm: Mapped[str | None] = mapped_column(String(200))
    epoch: Mapped[int | None] = mapped_column(BigInteger)
    variant: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(35))
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )


class ContactPromptOutcomeRow(Base):
    """What the child did after a prompt; one row per outcome kind per prompt."""

    __tablename__ = "contact_prompt_outcomes"
    __table_args__ = (
        UniqueConstraint("prompt_ref", "outcome"),
        CheckConstraint(f"outcome IN ({_in(CONTACT_PROMPT_OUTCOMES)})", name="outcome"),
        CheckConstraint("via IN ('api', 'widget')", name="via"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prompt_ref: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("contact_prompts.id", ondelete="CASCADE"),
    )
    outcome: Mapped[str] = mapped_column(String(24))
    via: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
