"""Models for report and remove: the audit chain, evidence items, webhook actions.

The audit log is append-only: the migration adds triggers that refuse UPDATE and DELETE, and
``prev_hash`` is unique, so two writers can never both extend the same head (a fork fails
with an integrity error instead of forking the chain). ``seq`` is assigned by the writer
(head + 1 under the write lock), not by a sequence, so a gap always means a deleted record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    "ACTION_KINDS",
    "ACTION_STATUSES",
    "SECRET_SOURCES",
    "AuditRecord",
    "EvidenceItem",
    "WebhookAction",
    "WebhookAttempt",
    "WebhookEndpoint",
]

ACTION_KINDS = ("take_down_content", "restrict_account", "preserve_evidence")
ACTION_STATUSES = ("pending", "delivered", "failing", "cancelled")
SECRET_SOURCES = ("settings", "sealed", "unset")


class AuditRecord(Base):
    """One entry of the hash-chained audit log (see :mod:`safespace.reports._audit`)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "actor"), Index(None, "subject"))

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON text, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class EvidenceItem(Base):
    """Metadata of one encrypted evidence file; ``wrapped_key`` is NULL once purged."""

    __tablename__ = "evidence_items"
    __table_args__ = (Index(None, "case_id"), Index(None, "retain_until"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retain_until: Mapped[datetime]
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    purged_at: Mapped[datetime | None]


class WebhookEndpoint(Base):
    """Where actions are sent. The signing secret itself is never stored in plain text.

    ``secret_source`` says where the secret comes from: ``settings`` (the operator's
    configuration; only ``secret_check``, a salted scrypt verifier, is kept to notice a
    changed secret), ``sealed`` (``sealed_secret`` is AES-256-GCM ciphertext under a key
    derived from the evidence master key whose id is ``key_id``) or ``unset`` (no usable
    secret: a plaintext secret removed by migration 0010; deliveries wait for a new one).
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret_source: Mapped[str] = mapped_column(String(16), server_default="unset")
    secret_check: Mapped[str | None] = mapped_column(String(128))
    sealed_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAction(Base):
    """The outbox: one action to deliver, retried until the endpoint acknowledges it."""

    __tablename__ = "webhook_actions"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('take_down_content', 'restrict_account', 'preserve_evidence')",
            name="kind",
        ),
        CheckConstraint(
            "status IN ('pending', 'delivered', 'failing', 'cancelled')", name="status"
        ),
        Index(None, "status", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body that is signed and sent
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One delivery attempt: when, the HTTP status (or the network error), how long."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index(None, "action_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    action_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_actions.id", ondelete="CASCADE")
    )
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
