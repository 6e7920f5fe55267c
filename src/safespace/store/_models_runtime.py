"""Rows that machines on one database share: the leases behind once-per-cluster background
tasks (:mod:`safespace.runtime`), API keys' rate-limit buckets when the operator limits
per cluster (:mod:`safespace.access`), and the instance's identity among federated peers
(:meth:`~safespace.store.Database.instance_id`).

A lease is one row per task name: which process holds it and until when. A holder renews its
row well before ``expires_at``; a holder that died stops renewing, its row expires, and the
next process to look takes it over.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, utcnow

__all__ = ["InstanceIdentity", "RateLimitBucket", "RuntimeLease"]


class RuntimeLease(Base):
    """Who runs the task ``name`` across every machine on this database, until when."""

    __tablename__ = "runtime_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class RateLimitBucket(Base):
    """One token bucket of a rate-limited key (a hash of it, never the key), for every machine:
    ``tokens`` left as of ``updated_at`` (epoch seconds), and whether the last take was
    allowed."""

    __tablename__ = "rate_limit_buckets"

    key_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    allowed: Mapped[bool] = mapped_column(Boolean)


class InstanceIdentity(Base):
    """The one row naming this SafeSpace (every machine on the database) to its peers: a
    random id made by migration 0029. A peer records where each entry it copies began as
    ``"<instance id>/<entry id>"``, so an echo of an entry finds its way home."""

    __tablename__ = "instance_identity"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
