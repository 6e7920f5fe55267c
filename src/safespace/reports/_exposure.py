"""Reviewer exposure: every reveal of blurred media is counted per reviewer per UTC day.

Past the operator's soft cap (``SAFESPACE_REVIEW_REVEAL_SOFT_CAP``) a reveal is not refused,
but needs an explicit extra confirmation each time, and is marked ``over_cap``. Each reveal
is written to the audit log in the same transaction as its count, so the count and the
record never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from safespace.reports import _audit as audit
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_queue import ReviewReveal

__all__ = ["ExposureCounter", "RevealResult"]


@dataclass(frozen=True)
class RevealResult:
    """``allowed`` false means: over the cap, ask the reviewer to confirm, then ask again."""

    allowed: bool
    count: int
    cap: int
    needs_confirmation: bool

    @property
    def over_cap(self) -> bool:
        return self.count > self.cap

    def to_dict(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "count": self.count,
            "cap": self.cap,
            "over_cap": self.over_cap,
            "needs_confirmation": self.needs_confirmation,
        }


def _day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


class ExposureCounter:
    """Reveals per reviewer per UTC day, with a soft cap."""

    def __init__(self, db: Database, cap: int, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.cap = cap
        self.clock = clock

    def count_today(self, actor: str) -> int:
        with self.db.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(ReviewReveal)
                    .where(ReviewReveal.actor == actor, ReviewReveal.day == _day(self.clock()))
                )
                or 0
            )

    def reveal(self, actor: str, item_id: int, *, confirmed: bool = False) -> RevealResult:
        """Count (and audit) one reveal, unless over the cap without ``confirmed``."""
        now = self.clock()
        day = _day(now)
        with self.db.transaction() as s:
            done = int(
                s.scalar(
                    select(func.count())
                    .select_from(ReviewReveal)
                    .where(ReviewReveal.actor == actor, ReviewReveal.day == day)
                )
                or 0
            )
            if done >= self.cap and not confirmed:
                return RevealResult(False, done, self.cap, True)
            over = done >= self.cap
            s.add(ReviewReveal(actor=actor, day=day, item_id=item_id, over_cap=over, at=now))
            details = {"count": done + 1, "cap": self.cap, "over_cap": over}
            audit.append(s, f"user:{actor}", "case.reveal", f"review:{item_id}", details, at=now)
            return RevealResult(True, done + 1, self.cap, False)
