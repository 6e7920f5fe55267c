"""Rows that machines on one database share: the leases behind once-per-cluster background
tasks (:mod:`safespace.runtime`), and API keys' rate-limit buckets when the operator limits
per cluster (:mod:`safespace.access`).

A lease is one row per task name: which process holds it and until when. A holder renews its
row well before ``expires_at``; a holder that died stops renewing, its row expires, and the
next process to look takes it over.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base

__all__ = ["RateLimitBucket", "RuntimeLease"]


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
