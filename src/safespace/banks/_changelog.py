"""Pruning the change log, which every bank change appends to and nothing else removes.

Workers follow the log to stay fresh and snapshots replay it from their position, so a
change may go only when nothing still needs it: older than the retention period (a running
worker is a second behind, not days) and older than the newest snapshot this machine would
start from. Two rows always stay: the first (the database's identity, which snapshots are
keyed by) and the one at the bound (a snapshot's mark). ``change_log_pruned`` records how far
pruning went, so a matcher or snapshot from before that reloads instead of missing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from safespace.store import Change, ChangeLogPruned, Database
from safespace.store._models import utcnow

__all__ = ["Pruned", "prune_change_log", "pruned_through"]

_BATCH = 50_000


@dataclass(frozen=True)
class Pruned:
    deleted: int
    through_seq: int  # changes up to here may be gone (the first row excepted)


def pruned_through(s: Session) -> int:
    """Changes with ``seq`` at or below this may have been pruned (0: never pruned)."""
    return int(s.scalar(select(ChangeLogPruned.through_seq).where(ChangeLogPruned.id == 1)) or 0)


def prune_change_log(db: Database, *, before: datetime, keep_from_seq: int | None) -> Pruned:
    """Delete changes made before ``before`` and below ``keep_from_seq`` (the newest local
    snapshot's position; None: no snapshot to keep). One transaction per batch, so a
    long log never holds the write lock for long; each moves the marker with its deletion."""
    deleted = 0
    while True:
        with db.transaction() as s:
            first = s.scalar(select(func.min(Change.seq)))
            if first is None:
                return Pruned(deleted, pruned_through(s))
            by_time = s.scalar(select(func.min(Change.seq)).where(Change.at >= before))
            top = int(s.scalar(select(func.max(Change.seq))) or 0)
            bound = int(by_time) if by_time is not None else top
            if keep_from_seq is not None:
                bound = min(bound, keep_from_seq)
            victims = (
                select(Change.seq)
                .where(Change.seq > first, Change.seq < bound)
                .order_by(Change.seq)
                .limit(_BATCH)
            )
            last = s.scalar(select(func.max(victims.subquery().c.seq)))
            if last is None:
                return Pruned(deleted, pruned_through(s))
            gone = s.execute(delete(Change).where(Change.seq > first, Change.seq <= last))
            count = int(getattr(gone, "rowcount", 0) or 0)
            _mark(s, last, count)  # in the same transaction as the deletion
            deleted += count


def _mark(s: Session, through: int, deleted: int) -> None:
    row = s.get(ChangeLogPruned, 1)
    if row is None:
        s.add(ChangeLogPruned(id=1, through_seq=through, deleted=deleted, at=utcnow()))
    else:
        row.through_seq = max(row.through_seq, through)
        row.deleted += deleted
        row.at = utcnow()
