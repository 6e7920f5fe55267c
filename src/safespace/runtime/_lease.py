"""Leases in the database: one holder per task name across every process on it.

:meth:`Leases.acquire` takes a free or expired lease, or renews one its caller already holds,
in one write transaction (the database's writer lock makes it atomic on SQLite and on
PostgreSQL alike). A holder that dies stops renewing; once ``expires_at`` has passed, the next
process to ask takes the lease over. Times are passed in, so tests drive them.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from safespace.store import Database, RuntimeLease

__all__ = ["Leases", "new_holder_id"]


def new_holder_id() -> str:
    """This process's name as a lease holder: host, process id and a random part."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    """The ``runtime_leases`` table of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """True if ``holder`` holds ``name`` until ``now + ttl`` (taken, renewed or taken over)."""
        until = now + ttl
        with self.db.transaction() as s:
            row = s.get(RuntimeLease, name)
            if row is None:
                s.add(RuntimeLease(name=name, holder=holder, acquired_at=now, expires_at=until))
                return True
            if row.holder != holder and row.expires_at > now:
                return False
            taken = s.execute(
                update(RuntimeLease)
                .where(RuntimeLease.name == name)
                .where((RuntimeLease.holder == holder) | (RuntimeLease.expires_at <= now))
                .values(
                    holder=holder,
                    expires_at=until,
                    acquired_at=row.acquired_at if row.holder == holder else now,
                )
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(taken, "rowcount", 0))

    def release(self, name: str, holder: str) -> None:
        """Give ``name`` up at once (on a clean stop), if ``holder`` still holds it."""
        with self.db.transaction() as s:
            s.execute(
                delete(RuntimeLease)
                .where(RuntimeLease.name == name, RuntimeLease.holder == holder)
                .execution_options(synchronize_session=False)
            )

    def holder(self, name: str, *, now: datetime) -> str | None:
        """Who holds ``name`` at ``now``; None when nobody does (or the lease expired)."""
        with self.db.session() as s:
            row = s.scalar(select(RuntimeLease).where(RuntimeLease.name == name))
            if row is None or row.expires_at <= now:
                return None
            return row.holder
