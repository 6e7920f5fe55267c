"""The lease rows behind once-per-cluster background tasks (:mod:`safespace.runtime`).

One row per task name: which process holds it and until when. A holder renews its row well
before ``expires_at``; a holder that died stops renewing, its row expires, and the next
process to look takes it over.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base

__all__ = ["RuntimeLease"]


class RuntimeLease(Base):
    """Who runs the task ``name`` across every machine on this database, until when."""

    __tablename__ = "runtime_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]
